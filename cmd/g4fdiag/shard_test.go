package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// shardedReport is the part of a JSON report the shard tests compare.
type shardedReport struct {
	Plan struct {
		Shard string `json:"shard"`
	} `json:"plan"`
	Cells []struct {
		Provider  string `json:"provider"`
		Mode      string `json:"mode"`
		Loop      string `json:"loop"`
		End       string `json:"end"`
		Verdict   string `json:"verdict"`
		Signature string `json:"signature"`
	} `json:"cells"`
	Summary struct {
		Cells        int            `json:"cells"`
		Counts       map[string]int `json:"counts"`
		LoopFailures int            `json:"loop_failures"`
		Conflict     int            `json:"conflict"`
		LikelyCause  string         `json:"likely_cause"`
	} `json:"summary"`
}

func readSharded(t *testing.T, path string) shardedReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r shardedReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// verdicts lists a report's cells one a line, in report order.
func (r shardedReport) verdicts() string {
	var b strings.Builder
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "%-12s %-9s %-8s %-12s %-14s %s\n", c.Provider, c.Mode, c.Loop, c.End, c.Verdict, c.Signature)
	}
	return b.String()
}

// TestShardedScanMergesToTheWholeScan is the done-when of sharding: the demo
// scanned as 1, 2, 3 and 4 shards and merged gives the unsharded report,
// verdict for verdict, summary and exit code included. A subset of the
// demo's fast providers keeps the eleven scans short; it still has loop
// failures and cells decided without running (not working, needs auth).
func TestShardedScanMergesToTheWholeScan(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	scanArgs := []string{"check", "--demo", "--python", python,
		"--provider", "EchoSync,StreamAsync,NetFail,ThreadLoop,Retired,AuthNeeded",
		"--modes", "baseline,sync,async", "--format", "json"}

	wholeFile := filepath.Join(dir, "whole.json")
	wholeCode, _, stderr := run(t, os.Environ(), append(scanArgs, "--output", wholeFile)...)
	if wholeCode != exitFailures {
		t.Fatalf("unsharded scan: exit %d, want %d (stderr %s)", wholeCode, exitFailures, stderr)
	}
	whole := readSharded(t, wholeFile)
	if len(whole.Cells) != 6*3*3 {
		t.Fatalf("unsharded scan has %d cells, want 54", len(whole.Cells))
	}
	_, wholeTable, _ := run(t, os.Environ(), "report", wholeFile)

	for n := 1; n <= 4; n++ {
		var files []string
		cells := 0
		for i := 1; i <= n; i++ {
			f := filepath.Join(dir, fmt.Sprintf("scan-%d-of-%d.json", i, n))
			code, _, stderr := run(t, os.Environ(), append(scanArgs, "--shard", fmt.Sprintf("%d/%d", i, n), "--output", f)...)
			if code != exitOK && code != exitFailures {
				t.Fatalf("shard %d/%d: exit %d (stderr %s)", i, n, code, stderr)
			}
			r := readSharded(t, f)
			if want := fmt.Sprintf("%d/%d", i, n); n > 1 && r.Plan.Shard != want {
				t.Errorf("shard %d/%d's report says shard %q", i, n, r.Plan.Shard)
			}
			if n > 1 && (len(r.Cells) < 54/n || len(r.Cells) > 54/n+1) {
				t.Errorf("shard %d/%d has %d cells, want a balanced share of 54", i, n, len(r.Cells))
			}
			cells += len(r.Cells)
			files = append(files, f)
		}
		if cells != len(whole.Cells) {
			t.Errorf("%d shards hold %d cells, want %d", n, cells, len(whole.Cells))
		}

		mergedFile := filepath.Join(dir, fmt.Sprintf("merged-%d.json", n))
		code, _, stderr := run(t, os.Environ(), append([]string{"merge", "--format", "json", "--output", mergedFile}, files...)...)
		if code != wholeCode || stderr != "" {
			t.Errorf("merge of %d shards: exit %d, stderr %q; want exit %d, no stderr", n, code, stderr, wholeCode)
		}
		merged := readSharded(t, mergedFile)
		if got, want := merged.verdicts(), whole.verdicts(); got != want {
			t.Errorf("%d shards merged differ from the unsharded scan:\n%s", n, reprotest.LineDiff(want, got))
		}
		if got, want := fmt.Sprintf("%+v", merged.Summary), fmt.Sprintf("%+v", whole.Summary); got != want {
			t.Errorf("%d shards merged: summary\n%s\nwant\n%s", n, got, want)
		}
		if merged.Plan.Shard != "" {
			t.Errorf("%d shards merged: the report keeps shard %q", n, merged.Plan.Shard)
		}
		_, table, _ := run(t, os.Environ(), append([]string{"merge"}, files...)...)
		if got, want := numbers.ReplaceAllString(table, "N"), numbers.ReplaceAllString(wholeTable, "N"); got != want {
			t.Errorf("%d shards merged print another table than the unsharded scan:\n%s", n, reprotest.LineDiff(want, got))
		}
	}
}

// writeReport writes a report of cells decided without running (the
// provider needs auth), so merge tests need no Python.
func writeReport(t *testing.T, path string, shard scan.Shard, modes []scan.Mode, names ...string) {
	t.Helper()
	var catalog []providers.Provider
	for _, n := range names {
		catalog = append(catalog, providers.Provider{Name: n, Working: true, NeedsAuth: true})
	}
	plan := scan.Plan{Providers: names, Modes: modes, Loops: scan.AllLoops, Concurrency: 1, Repeat: 1,
		Jobs: 2, Timeout: 5 * time.Second, BlockThreshold: 2 * time.Second, Shard: shard}
	env := scan.Environment{Python: "/usr/bin/python3", PythonVersion: "3.11.2", Demo: true}
	var obs []scan.Observation
	for _, c := range plan.Cells(catalog) {
		o, _ := repro.Decide(plan, c, catalog[0], env)
		obs = append(obs, o)
	}
	h := report.Header{Tool: "g4fdiag", Version: "test", Command: "check", Plan: plan, Environment: env, Providers: catalog}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := render.Render(f, "json", report.Build(h, obs, false), render.Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestMergeCommand pins merge's arguments, messages and exit codes.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	both := []scan.Mode{scan.ModeSync, scan.ModeAsync}
	for i := 1; i <= 3; i++ {
		writeReport(t, path(fmt.Sprintf("s%d.json", i)), scan.Shard{Index: i, Count: 3}, both, "A", "B")
	}
	writeReport(t, path("sync-only.json"), scan.Shard{Index: 2, Count: 3}, []scan.Mode{scan.ModeSync}, "A", "B")
	writeReport(t, path("again-1.json"), scan.Shard{Index: 1, Count: 3}, both, "A", "B")
	if err := os.WriteFile(path("notes.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no files", []string{"merge"}, exitUsage,
			"g4fdiag: merge needs at least one FILE (json or jsonl reports of check --shard i/n)\n"},
		{"flags after files", []string{"merge", path("s1.json"), path("s2.json"), path("s3.json"), "--format", "json"}, exitOK, ""},
		{"file twice", []string{"merge", path("s1.json"), path("s1.json")}, exitUsage,
			"g4fdiag: merge: " + path("s1.json") + " is given twice\n"},
		{"unknown format", []string{"merge", "--format", "yaml", path("s1.json")}, exitUsage,
			"g4fdiag: unknown --format \"yaml\"; use one of " + formatsList() + "\n"},
		{"missing file", []string{"merge", path("s1.json"), path("nope.json")}, exitUsage,
			"g4fdiag: cannot read " + path("nope.json") + ": no such file or directory\n"},
		{"not a report", []string{"merge", path("notes.txt")}, exitUsage,
			"g4fdiag: " + path("notes.txt") + " is not a g4fdiag report: diag: reading report: line 1: not a g4fdiag report (want a JSON object or JSON lines)\n"},
		{"different plans", []string{"merge", path("s1.json"), path("sync-only.json")}, exitUsage,
			"g4fdiag: cannot merge: " + path("s1.json") + " and " + path("sync-only.json") + " scanned different plans: modes sync,async vs sync\n"},
		{"bad fail-on", []string{"merge", "--fail-on", "nonsense", path("s1.json")}, exitUsage,
			"g4fdiag: --fail-on: unknown class \"nonsense\" (want …"},
		{"missing baseline", []string{"merge", "--baseline", path("nope.json"), path("s1.json")}, exitUsage,
			"g4fdiag: cannot read --baseline " + path("nope.json") + ": no such file or directory\n"},
		{"same shard twice", []string{"merge", path("s1.json"), path("again-1.json")}, exitUsage,
			"g4fdiag: cannot merge: " + path("s1.json") + " and " + path("again-1.json") + " are both shard 1/3\n"},
		{"some shards", []string{"merge", path("s3.json"), path("s1.json")}, exitOK,
			"g4fdiag: warning: merged 2 of 3 shards; missing 2/3; 4 cell(s) of the plan are in no report\n"},
		{"all shards", []string{"merge", path("s1.json"), path("s2.json"), path("s3.json")}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, os.Environ(), tt.args...)
			want, ok := strings.CutSuffix(tt.stderr, "…")
			if ok && strings.HasPrefix(stderr, want) {
				stderr = tt.stderr // the rest lists the classes: not merge's to pin
			}
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}

	out, junit := path("merged.json"), path("junit.xml")
	code, table, stderr := run(t, os.Environ(), "merge", path("s2.json"), path("s1.json"), path("s3.json"),
		"-o", "json="+out, "-o", "junit="+junit)
	if code != exitOK {
		t.Fatalf("merge: exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(table, "needs auth") && !strings.Contains(table, "skipped") {
		t.Errorf("merge -o FORMAT=FILE printed no table on stdout:\n%s", table)
	}
	r := readSharded(t, out)
	if len(r.Cells) != 12 || r.Plan.Shard != "" {
		t.Errorf("merged report: %d cells, shard %q; want 12, none", len(r.Cells), r.Plan.Shard)
	}
	if data, err := os.ReadFile(junit); err != nil || !strings.Contains(string(data), "<testsuite") {
		t.Errorf("merged junit report: %v\n%s", err, data)
	}
	// Against a baseline of itself nothing is new, so nothing fails.
	if code, _, stderr := run(t, os.Environ(), "merge", "--baseline", out, path("s1.json"), path("s2.json"), path("s3.json")); code != exitOK {
		t.Errorf("merge --baseline: exit %d, stderr %s", code, stderr)
	}
}

func TestShardFlag(t *testing.T) {
	tests := []struct {
		arg, msg string
	}{
		{"5/4", "g4fdiag: --shard 5/4: index must be between 1 and 4, got 5\n"},
		{"0/4", "g4fdiag: --shard 0/4: index must be between 1 and 4, got 0\n"},
		{"2", "g4fdiag: --shard 2: want INDEX/COUNT, such as 2/4\n"},
		{"1/0", "g4fdiag: --shard 1/0: count must be at least 1, got 0\n"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, os.Environ(), "check", "--demo", "--shard", tt.arg)
		if code != exitUsage || stderr != tt.msg {
			t.Errorf("--shard %s: exit %d, stderr %q; want %d, %q", tt.arg, code, stderr, exitUsage, tt.msg)
		}
	}
}
