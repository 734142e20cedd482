//go:build !linux

package repro

import "os/exec"

// StartContained starts cmd. Without subreapers (Linux only), containment
// is the process groups that the callers end.
func StartContained(cmd *exec.Cmd) error { return cmd.Start() }

// ReapAdopted does nothing where g4fdiag cannot adopt orphans.
func ReapAdopted() int { return 0 }
