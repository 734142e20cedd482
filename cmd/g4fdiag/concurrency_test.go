package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Past scan.MaxConcurrency --concurrency is a usage error that names the
// maximum.
func TestConcurrencyOverMax(t *testing.T) {
	over := fmt.Sprint(scan.MaxConcurrency + 1)
	for _, cmd := range []string{"check", "repro"} {
		code, _, stderr := run(t, nil, cmd, "--demo", "--provider", "EchoSync", "--concurrency", over)
		want := "g4fdiag: --concurrency must be at most 1000, got 1001; use --repeat for more calls\n"
		if code != exitUsage || stderr != want {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", cmd, code, stderr, exitUsage, want)
		}
	}
}

// A healthy provider at the maximum concurrency is ok in every in-process
// mode and loop: a thousand calls on one loop keep it busy, not blocked, and
// the harness's own threads keep up.
func TestHealthyAtMaxConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand calls per cell")
	}
	code, stdout, stderr := run(t, os.Environ(), "check", "--demo", "--python", testPython(t), "--provider", "EchoSync",
		"--modes", "baseline,sync,sync-stream,async,async-stream", "--concurrency", fmt.Sprint(scan.MaxConcurrency),
		"--timeout", "60s", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var report reportJSON
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("%v\n%.500s", err, stdout)
	}
	if len(report.Cells) != 15 {
		t.Fatalf("%d cells", len(report.Cells))
	}
	for _, c := range report.Cells {
		if c.Verdict != "ok" || len(c.Calls) != scan.MaxConcurrency {
			t.Errorf("%s %s/%s: %d calls, %s [%s] %s", c.Provider, c.Mode, c.Loop, len(c.Calls), c.Verdict, c.Signature, c.Evidence)
		}
	}
	if t.Failed() {
		t.Log(strings.TrimSpace(stderr))
	}
}
