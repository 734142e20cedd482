//go:build unix && !linux

package apiserver

import (
	"errors"
	"os"
	"syscall"
)

// controlPair is the fork server's control socket: theirs for the harness
// (fd 3), mine for Go. SOCK_SEQPACKET where the system has it for Unix
// sockets; else (macOS) SOCK_DGRAM, which keeps each record whole too and
// is reliable between the two ends of a pair. It has no end-of-file for
// the harness to read, which there does not need one: it cannot fork on
// macOS, so it sends its ready record and exits.
func controlPair() (theirs, mine *os.File, err error) {
	// No SOCK_CLOEXEC here: mark both before any other fork can copy them.
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EPROTOTYPE) {
		fds, err = syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	}
	if err != nil {
		return nil, nil, err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return os.NewFile(uintptr(fds[0]), "fork-server-control"), os.NewFile(uintptr(fds[1]), "fork-server-control"), nil
}
