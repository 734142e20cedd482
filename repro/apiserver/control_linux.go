package apiserver

import (
	"os"
	"syscall"
)

// controlPair is the fork server's control socket: theirs for the harness
// (fd 3), mine for Go. SOCK_SEQPACKET keeps each record whole and tells the
// harness when Go closes its end.
func controlPair() (theirs, mine *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "fork-server-control"), os.NewFile(uintptr(fds[1]), "fork-server-control"), nil
}
