//go:build unix

package apiserver

import (
	"net"
	"os"
	"syscall"
)

// sendWithFile writes one record with f's descriptor attached (SCM_RIGHTS).
func sendWithFile(conn *net.UnixConn, record []byte, f *os.File) error {
	_, _, err := conn.WriteMsgUnix(record, syscall.UnixRights(int(f.Fd())), nil)
	return err
}
