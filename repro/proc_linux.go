package repro

import "syscall"

// ProcAttr is the SysProcAttr of every process g4fdiag starts for a scan
// (workers, scripts, doctor, API servers): a process group of its own,
// whose id is its pid, so that ending the group ends what it started; and
// killed with g4fdiag (Pdeathsig), so that not even a SIGKILL of g4fdiag
// leaves it running.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
