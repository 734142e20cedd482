//go:build !unix

package repro

import (
	"errors"
	"os"
	"syscall"
)

// ScansSupported reports whether scans can run here: they need process
// groups and signals, which this system does not have as Unix does.
// Commands that start no process (explain, report, merge) work.
const ScansSupported = false

// ProcAttr is nil: there are no process groups to put a process in.
func ProcAttr() *syscall.SysProcAttr { return nil }

// KillGroup kills process pgid only: there are no process groups.
func KillGroup(pgid int) {
	if p, err := os.FindProcess(pgid); err == nil {
		_ = p.Kill()
	}
}

// TermGroup kills process pgid: there is no SIGTERM to send.
func TermGroup(pgid int) { KillGroup(pgid) }

// signalDump fails: there is no SIGUSR1 for faulthandler.
func signalDump(int) error { return errors.New("no signal for a stack dump on this system") }
