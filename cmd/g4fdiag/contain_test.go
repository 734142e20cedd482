//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

// TestInterruptLeavesNoProcess: a scan interrupted while a provider hangs,
// after it left a process in a session of its own, exits 130 and leaves
// nothing running: in-process cells and --api-spawn servers alike.
func TestInterruptLeavesNoProcess(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	for _, api := range []bool{false, true} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			name := map[bool]string{false: "in-process", true: "api-spawn"}[api] + "/" + sig.String()
			t.Run(name, func(t *testing.T) {
				dir, mark := reprotest.Escapee(t)
				args := []string{"check", "--python", python, "--provider", "EscapeeHang", "--loops", "asyncio", "--timeout", "60s"}
				if api {
					args = append(args, "--api-spawn", "--modes", "api-json")
				} else {
					args = append(args, "--modes", "baseline")
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = append(repro.WithPythonPath(os.Environ(), dir), reprotest.EscapeeVar+"="+mark)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if !reprotest.Await(func() []int { return reprotest.ArgvMarked(mark + "-left") }, true, 30*time.Second) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the provider left no process; stderr: %s", stderr.String())
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				cmd.Wait()
				if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
					t.Errorf("exit code = %d, want %d; stderr: %s", code, exitInterrupted, stderr.String())
				}
				if !reprotest.Await(func() []int { return reprotest.ArgvMarked(mark) }, false, 30*time.Second) {
					t.Errorf("processes a provider started outlived g4fdiag:%s", reprotest.Describe(reprotest.ArgvMarked(mark)))
				}
			})
		}
	}
}
