//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
)

// escapeeG4F is a copy of the miniature g4f with the providers of
// repro/testdata/escapee.py, which leave a process in a session of its own
// (setsid, a double fork) with the returned mark in its argv.
func escapeeG4F(t *testing.T) (dir, mark string) {
	t.Helper()
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "repro", "testdata", "escapee.py"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "g4f", "Provider")
	if err := os.WriteFile(filepath.Join(pkg, "Escapee.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	init, err := os.OpenFile(filepath.Join(pkg, "__init__.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = init.WriteString("\nfrom .Escapee import Escapee, EscapeeHang\n" +
		"__providers__ += [Escapee, EscapeeHang]\n" +
		"for _cls in (Escapee, EscapeeHang):\n" +
		"    __map__[_cls.__name__] = _cls\n" +
		"    ProviderUtils.convert[_cls.__name__] = _cls\n")
	init.Close()
	if err != nil {
		t.Fatal(err)
	}
	mark = fmt.Sprintf("g4fdiag-escapee-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { // what a failed test left must not stay for 300 s
		for _, pid := range markedProcesses(mark) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return dir, mark
}

// markedProcesses lists the running processes with mark in their argv.
func markedProcesses(mark string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		argv, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(argv, []byte(mark)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitMarked waits (generously) until a process with mark runs, or until
// none does, and says whether that happened.
func waitMarked(mark string, running bool) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if (len(markedProcesses(mark)) > 0) == running {
			return true
		}
	}
	return false
}

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
				dir, mark := escapeeG4F(t)
				args := []string{"check", "--python", python, "--provider", "EscapeeHang", "--loops", "asyncio", "--timeout", "60s"}
				if api {
					args = append(args, "--api-spawn", "--modes", "api-json")
				} else {
					args = append(args, "--modes", "baseline")
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = append(repro.WithPythonPath(os.Environ(), dir), "ESCAPEE_MARK="+mark)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if !waitMarked(mark+"-left", true) {
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
				if !waitMarked(mark, false) {
					t.Errorf("processes a provider started outlived g4fdiag: %v", markedProcesses(mark))
				}
			})
		}
	}
}
