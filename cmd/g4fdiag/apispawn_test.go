package main

import (
	"bytes"
	"encoding/json"
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

// TestDefaultAPISpawnFindsTaskSwitch: the default `check --api-spawn` — no
// --modes, no --concurrency — finds the hang of a fresh g4f api without
// uvloop (nest_asyncio's task switch) in its api-sse cell: every cell has a
// server of its own, forked for it, and sends two requests at once. No
// process outlives the scan.
func TestDefaultAPISpawnFindsTaskSwitch(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	mark := markEnv(t)
	out := filepath.Join(t.TempDir(), "nest.json")
	cmd := exec.Command(bin, "check", "--demo", "--api-spawn", "-p", "StreamAsync", "--loops", "nest",
		"--python", python, "--format", "json", "--output", out)
	cmd.Env = append(os.Environ(), mark)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	if left := marked(mark); len(left) > 0 {
		t.Errorf("processes outlived the scan: %v", left)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFailures {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitFailures, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Plan struct {
			Concurrency    int `json:"concurrency"`
			APIConcurrency int `json:"api_concurrency"`
		} `json:"plan"`
		Environment struct {
			Loops []struct {
				Loop, Isolation string
			}
		} `json:"environment"`
		Cells []struct {
			cellJSON
			Concurrency int `json:"concurrency"`
			Calls       []struct {
				Outcome   string `json:"outcome"`
				ServerLog string `json:"server_log"`
			} `json:"calls"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Plan.Concurrency != 1 || r.Plan.APIConcurrency != 2 {
		t.Errorf("plan concurrency %d, api %d; want 1 and 2", r.Plan.Concurrency, r.Plan.APIConcurrency)
	}
	if len(r.Environment.Loops) != 1 || !strings.Contains(r.Environment.Loops[0].Isolation, "fork per cell") ||
		strings.Contains(r.Environment.Loops[0].Isolation, "API servers") {
		t.Errorf("loops %+v: want the nest API servers forked per cell, like the workers", r.Environment.Loops)
	}
	found := false
	for _, c := range r.Cells {
		if c.Concurrency != 2 || len(c.Calls) != 2 {
			t.Errorf("%s/%s: concurrency %d, %d calls; want two at once", c.Mode, c.Loop, c.Concurrency, len(c.Calls))
		}
		if c.Mode != "api-sse" {
			continue
		}
		found = true
		if c.Verdict != "loop-reentry" || c.Signature != "reentry-nest-task" || !strings.Contains(c.Evidence, "Cannot enter into task") {
			t.Errorf("api-sse/nest = %s [%s]: %s; want loop-reentry [reentry-nest-task]", c.Verdict, c.Signature, c.Evidence)
		}
		for i, call := range c.Calls {
			if call.Outcome != "pending" || !strings.Contains(call.ServerLog, "RuntimeError: Cannot enter into task") {
				t.Errorf("api-sse/nest call %d: %s, server log %q", i, call.Outcome, call.ServerLog)
			}
		}
	}
	if !found {
		t.Error("no api-sse cell")
	}
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
