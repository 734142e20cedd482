//go:build unix

package reprotest

import (
	"errors"
	"syscall"
)

// Kill sends SIGKILL to process pid; a negative pid names a process group.
func Kill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// Exists reports whether process pid is there, a zombie not yet reaped
// included; a negative pid names a process group.
func Exists(pid int) bool { return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
