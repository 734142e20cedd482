//go:build unix

package repro

import "syscall"

// ScansSupported reports whether scans can run here: they need process
// groups and signals (Linux and macOS, and the other Unix systems).
const ScansSupported = true

// KillGroup kills process group pgid (SIGKILL): a process started with
// ProcAttr and everything it started that stayed in its group.
func KillGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// TermGroup asks process group pgid to end (SIGTERM).
func TermGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGTERM) }

// signalDump asks the harness process pid for every thread's stack
// (SIGUSR1: faulthandler).
func signalDump(pid int) error { return syscall.Kill(pid, syscall.SIGUSR1) }
