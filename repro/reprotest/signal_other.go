//go:build !unix

package reprotest

import (
	"errors"
	"os"
)

// Kill kills process pid. There are no process groups here: a negative pid
// names none.
func Kill(pid int) error {
	if pid < 0 {
		return errors.New("no process groups on this system")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// Exists reports whether process pid is there (a negative pid: never).
func Exists(pid int) bool {
	if pid < 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		p.Release()
	}
	return err == nil
}
