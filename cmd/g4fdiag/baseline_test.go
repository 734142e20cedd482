package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestBaseline: a scan compared with itself exits 0; against a baseline in
// which one of its loop-class cells did not fail, it exits 1 and names that
// cell — for `check --baseline` and for `report --baseline`.
func TestBaseline(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	cur := filepath.Join(dir, "cur.json")
	scanArgs := []string{"check", "--demo", "--python", python, "--provider", "StreamAsync,EchoSync,NetFail",
		"--modes", "baseline,sync", "--loops", "asyncio,uvloop"}
	code, _, stderr := run(t, os.Environ(), append(scanArgs, "--format", "json", "--output", cur)...)
	if code != exitFailures {
		t.Fatalf("scan: exit %d, stderr %s", code, stderr)
	}
	code, out, stderr := run(t, os.Environ(), "report", cur, "--baseline", cur)
	if code != exitOK || !strings.Contains(out, "baseline: 0 new") {
		t.Errorf("report against itself: exit %d, stderr %s\n%s", code, stderr, out)
	}

	// The baseline: the same scan in which StreamAsync sync/uvloop answered.
	r := savedReport(t, cur)
	basePath := writeBaseline(t, dir, r, func(o scan.Observation) bool {
		return o.Provider == "StreamAsync" && o.Mode == scan.ModeSync && o.Loop == scan.LoopUvloop
	})

	const named = "StreamAsync sync/uvloop: loop-reentry [reentry-uvloop]"
	code, out, _ = run(t, os.Environ(), "report", cur, "--baseline", basePath)
	if code != exitFailures || !strings.Contains(out, "baseline: 1 new") || !strings.Contains(out, named) {
		t.Errorf("report against a baseline without that failure: exit %d\n%s", code, out)
	}
	code, out, stderr = run(t, os.Environ(), append(scanArgs, "--baseline", basePath)...)
	if code != exitFailures || !strings.Contains(out, named) {
		t.Errorf("check --baseline: exit %d, stderr %s\n%s", code, stderr, out)
	}
	code, _, _ = run(t, os.Environ(), append(scanArgs, "--baseline", cur)...)
	if code != exitOK {
		t.Errorf("check --baseline of the same scan: exit %d, want 0", code)
	}
}

// TestFailOn widens and narrows what fails the run.
func TestFailOn(t *testing.T) {
	python := testPython(t)
	base := []string{"check", "--demo", "--python", python, "--modes", "baseline", "--loops", "asyncio"}
	if code, _, _ := run(t, os.Environ(), append(base, "--provider", "NetFail")...); code != exitOK {
		t.Errorf("a network failure failed the default gate: exit %d", code)
	}
	if code, _, _ := run(t, os.Environ(), append(base, "--provider", "NetFail", "--fail-on", "any")...); code != exitFailures {
		t.Errorf("--fail-on any passed a network failure: exit %d", code)
	}
	if code, _, _ := run(t, os.Environ(), append(base, "--provider", "ThreadLoop", "--fail-on", "network")...); code != exitOK {
		t.Errorf("--fail-on network failed on loop-missing: exit %d", code)
	}
	code, _, stderr := run(t, nil, "check", "--fail-on", "loops")
	if code != exitUsage || !strings.HasPrefix(stderr, `g4fdiag: --fail-on: unknown class "loops"`) {
		t.Errorf("bad --fail-on: exit %d, %q", code, stderr)
	}
}

// TestSeveralOutputs writes json and junit files beside the table on stdout.
func TestSeveralOutputs(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	j, x := filepath.Join(dir, "scan.json"), filepath.Join(dir, "junit.xml")
	code, out, stderr := run(t, os.Environ(), "check", "--demo", "--python", python, "--provider", "StreamAsync",
		"--modes", "sync", "--loops", "uvloop", "-o", "json="+j, "-o", "junit="+x)
	if code != exitFailures {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, "StreamAsync") || !strings.Contains(out, "legend:") {
		t.Errorf("no table on stdout:\n%s", out)
	}
	for path, want := range map[string]string{j: `"cells": [`, x: "<testsuites"} {
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s (%v) lacks %q:\n%.300s", path, err, want, data)
		}
	}
}

// TestGateAgrees: the exit code and the comparison the table shows are read
// from one gate in the report. With --baseline and --fail-on any, a network
// failure the baseline lacks is new, named, and fails the run; under the
// default --fail-on it is none of those. For check and for report.
func TestGateAgrees(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	cur := filepath.Join(dir, "cur.json")
	scanArgs := []string{"check", "--demo", "--python", python, "--provider", "EchoSync,NetFail",
		"--modes", "baseline,sync", "--loops", "asyncio"}
	code, _, stderr := run(t, os.Environ(), append(scanArgs, "--format", "json", "--output", cur)...)
	if code != exitOK {
		t.Fatalf("scan: exit %d, stderr %s", code, stderr)
	}
	r := savedReport(t, cur)
	// The baseline: the same scan in which NetFail answered.
	netFails := 0
	for _, c := range r.Cells {
		if c.Provider == "NetFail" && c.Failing() {
			netFails++
		}
	}
	if netFails == 0 {
		t.Fatalf("NetFail did not fail:\n%+v", r.Cells)
	}
	basePath := writeBaseline(t, dir, r, func(o scan.Observation) bool { return o.Provider == "NetFail" })

	summary := regexp.MustCompile(`(?m)^baseline: (\d+) new, .*\(fail on: (\S+)\)$`)
	tests := []struct {
		name    string
		args    []string
		failOn  string
		wantNew int
	}{
		{"check --fail-on any", append(append([]string{}, scanArgs...), "--baseline", basePath, "--fail-on", "any"), "any", netFails},
		{"check", append(append([]string{}, scanArgs...), "--baseline", basePath), "loop", 0},
		{"report --fail-on any", []string{"report", cur, "--baseline", basePath, "--fail-on", "any"}, "any", netFails},
		{"report", []string{"report", cur, "--baseline", basePath}, "loop", 0},
	}
	for _, tc := range tests {
		code, out, stderr := run(t, os.Environ(), tc.args...)
		m := summary.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("%s: no comparison (exit %d, stderr %s):\n%s", tc.name, code, stderr, out)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		named := strings.Count(out, "\n  NetFail ")
		if n != tc.wantNew || m[2] != tc.failOn || named != n {
			t.Errorf("%s: %d new (%d named), fail on %s; want %d, %s:\n%s", tc.name, n, named, m[2], tc.wantNew, tc.failOn, out)
		}
		if want := map[bool]int{true: exitFailures, false: exitOK}[n > 0]; code != want {
			t.Errorf("%s: the table says %d new, the exit is %d (want %d); stderr %s", tc.name, n, code, want, stderr)
		}
	}
}

// TestGateReadsReport: the exit code is the report's gate, not a verdict
// count of its own.
func TestGateReadsReport(t *testing.T) {
	k := report.CellKey{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Class: diag.ClassNetwork}
	var failures *failuresError
	r := report.Report{Gate: &report.Gate{Failing: []report.CellKey{k}, Comparison: &report.Comparison{New: []report.CellKey{k}}}}
	if err := gate(r); !errors.As(err, &failures) || failures.n != 1 || !failures.new {
		t.Errorf("a gate with one new failure: %v", err)
	}
	r.Gate = &report.Gate{Comparison: &report.Comparison{}}
	if err := gate(r); err != nil {
		t.Errorf("a gate with no failure: %v", err)
	}
}

// writeBaseline writes, as dir/base.json, the scan r in which the cells
// answered picks gave an answer, and returns its path.
func writeBaseline(t *testing.T, dir string, r report.Report, answered func(scan.Observation) bool) string {
	t.Helper()
	var obs []scan.Observation
	for _, o := range r.Observations() {
		if answered(o) {
			o.Calls = []scan.Call{{Outcome: scan.OutcomeOK, Chunks: 1, Text: "hello"}}
		}
		obs = append(obs, o)
	}
	path := filepath.Join(dir, "base.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := render.Render(f, "json", report.Build(r.Header(), obs, false), render.Options{}); err != nil {
		t.Fatal(err)
	}
	return path
}
