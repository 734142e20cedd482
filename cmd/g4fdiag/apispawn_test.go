package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// markEnv returns an environment variable unique to one test: every process
// g4fdiag starts inherits it, so the test can find what outlived the scan,
// reparented orphans included.
func markEnv(t *testing.T) string {
	return fmt.Sprintf("G4FDIAG_TEST_MARK=%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
}

// marked lists the live processes whose environment holds mark, with their
// command lines. A zombie's environment reads empty: it does not count.
func marked(mark string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, append([]byte(mark), 0)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.Join(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), " ")
	}
	return out
}

// TestInterruptLeavesNoServer: Ctrl-C while forked servers hang leaves no
// process behind: not the fork servers, not their children, not the
// workers.
func TestInterruptLeavesNoServer(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	mark := markEnv(t)
	cmd := exec.Command(bin, "check", "--demo", "--api-spawn", "-p", "StreamAsync,DeadlockLoop", "--loops", "nest,uvloop",
		"--python", python, "--timeout", "60s")
	cmd.Env = append(os.Environ(), mark)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// a fork server and at least one server it forked share a command line
	forked := func() bool {
		n := 0
		for _, c := range marked(mark) {
			if strings.Contains(c, "--fork-server") {
				n++
			}
		}
		return n >= 3
	}
	for deadline := time.Now().Add(60 * time.Second); !forked(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no forked server; processes %v; stderr: %s", marked(mark), stderr.String())
		}
	}
	seen := marked(mark)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d; stderr: %s", code, exitInterrupted, stderr.String())
	}
	if left := marked(mark); len(left) > 0 {
		t.Errorf("processes outlived g4fdiag: %v (of %d seen)", left, len(seen))
	}
}
