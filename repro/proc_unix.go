//go:build unix && !linux

package repro

import "syscall"

// ProcAttr is the SysProcAttr of every process g4fdiag starts for a scan
// (workers, scripts, doctor, API servers): a process group of its own,
// whose id is its pid, so that ending the group ends what it started.
// Pdeathsig is Linux's: here a process outlives a g4fdiag killed by
// SIGKILL, while every other end of g4fdiag still ends the groups.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
