//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

// hostileG4F writes a g4f package whose __init__ is body and returns the
// environment that imports it, with TMPDIR a fresh dir the test checks is
// left empty.
func hostileG4F(t *testing.T, body string) (environ []string, tmp string) {
	t.Helper()
	dir := reprotest.WriteG4F(t, body, nil)
	tmp = t.TempDir()
	return append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1", "TMPDIR="+tmp), tmp
}

// `import g4f` writing 100 MiB to fd 3 without a newline: an environment
// error (exit 3) at once, not a scan that waits for ever.
func TestStartOversizeLineExits3(t *testing.T) {
	environ, tmp := hostileG4F(t, reprotest.FloodFD3)
	bin := buildBinary(t)
	cmd := exec.Command(bin, "check", "--python", testPython(t), "--modes", "async")
	cmd.Env = environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running after 30 s; stderr: %s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitEnv {
		t.Errorf("exit %d, want %d", code, exitEnv)
	}
	if !strings.Contains(stderr.String(), "wrote no ready line: a protocol line over the 1048576-byte limit was skipped before it; check what `import g4f` writes to file descriptor 3") {
		t.Errorf("stderr: %s", stderr.String())
	}
	reprotest.EmptyDir(t, tmp)
}

// A worker that never gets ready (it writes to fd 3 for ever, a little at a
// time, and ignores SIGTERM): SIGINT and SIGTERM end the scan at once, with
// exit 130, no process and no temp dir left.
func TestSignalDuringStart(t *testing.T) {
	bin := buildBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			environ, tmp := hostileG4F(t, reprotest.TrickleFD3)
			cmd := exec.Command(bin, "check", "--python", testPython(t))
			cmd.Env = environ
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var workers []int
			for deadline := time.Now().Add(20 * time.Second); len(workers) < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				workers = descendants(cmd.Process.Pid)
			}
			if len(workers) < 3 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("workers: %v", workers)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatal("still running 20 s after the signal")
			}
			if took := time.Since(sent); took > 5*time.Second {
				t.Errorf("took %s after the signal", took)
			}
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit %d, want %d", code, exitInterrupted)
			}
			for _, pid := range workers {
				waitGoneOrFail(t, pid)
			}
			reprotest.EmptyDir(t, tmp)
		})
	}
}

func waitGoneOrFail(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
	t.Errorf("process %d outlived the scan", pid)
}
