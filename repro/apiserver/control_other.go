//go:build !unix

package apiserver

import (
	"errors"
	"net"
	"os"
)

// errNoControl: API servers are started only where scans run (see
// repro.ScansSupported).
var errNoControl = errors.New("API servers need Unix sockets (Linux or macOS)")

func controlPair() (theirs, mine *os.File, err error) { return nil, nil, errNoControl }

func sendWithFile(*net.UnixConn, []byte, *os.File) error { return errNoControl }
