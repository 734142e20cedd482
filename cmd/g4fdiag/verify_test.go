package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyFixes runs the remedies for real against the miniature: for the
// async-generator provider under uvloop every remedy that applies fixes the
// in-process call, while over HTTP removing uvloop trades the error for
// nest_asyncio's hang; for the deadlock provider removing uvloop fixes
// nothing and no remedy is said to fix what it does not.
func TestVerifyFixes(t *testing.T) {
	python := testPython(t)
	out := filepath.Join(t.TempDir(), "fixes.json")
	code, _, stderr := run(t, os.Environ(), "repro", "--demo", "--python", python, "--provider", "StreamAsync,DeadlockLoop",
		"--loops", "uvloop", "--modes", "sync,api-sse", "--api", "--verify-fixes", "--format", "json", "--output", out)
	if code != exitFailures {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Cells []struct {
			Provider, Mode, Loop, Verdict string
			Remedies                      []struct {
				Remedy, Outcome, Note string
				Cell                  *struct {
					Mode, Loop, Verdict, Signature string
				}
			}
		}
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	type key struct{ provider, mode, remedy string }
	got := map[key]string{}
	for _, c := range r.Cells {
		if c.Loop != "uvloop" {
			t.Errorf("a remedy cell is listed as a cell of its own: %+v", c)
		}
		for _, rem := range c.Remedies {
			v := rem.Outcome
			if rem.Cell != nil {
				v += " " + rem.Cell.Verdict + " " + rem.Cell.Signature
				if rem.Outcome == "fixes" && rem.Cell.Verdict != "ok" {
					t.Errorf("%s %s: %s is said to fix it, but its re-run is %s", c.Provider, c.Mode, rem.Remedy, rem.Cell.Verdict)
				}
			} else {
				v += ": " + rem.Note
			}
			got[key{c.Provider, c.Mode, rem.Remedy}] = v
		}
	}
	want := map[key]string{
		{"StreamAsync", "sync", "uvloop-removed"}: "fixes ok ok",
		{"StreamAsync", "sync", "async"}:          "fixes ok ok",
		{"StreamAsync", "sync", "nest-asyncio"}:   "not-run: nest_asyncio cannot patch uvloop (not run)",
		{"StreamAsync", "sync", "to-thread"}:      "fixes ok ok",

		{"StreamAsync", "api-sse", "uvloop-removed"}: "changes loop-reentry reentry-nest-task",
		{"StreamAsync", "api-sse", "async"}:          "not-run: the API server's code decides how it calls g4f",
		{"StreamAsync", "api-sse", "nest-asyncio"}:   "not-run: nest_asyncio cannot patch uvloop (not run)",
		{"StreamAsync", "api-sse", "to-thread"}:      "not-run: the API server's code decides where its sync calls run",

		{"DeadlockLoop", "sync", "uvloop-removed"}: "no-change deadlock deadlock-loop-thread",
		{"DeadlockLoop", "sync", "async"}:          "fixes ok ok",
		{"DeadlockLoop", "sync", "nest-asyncio"}:   "not-run: nest_asyncio cannot patch uvloop (not run)",
		{"DeadlockLoop", "sync", "to-thread"}:      "fixes ok ok",

		{"DeadlockLoop", "api-sse", "uvloop-removed"}: "no-change deadlock deadlock-loop-thread",
		{"DeadlockLoop", "api-sse", "async"}:          "not-run: the API server's code decides how it calls g4f",
		{"DeadlockLoop", "api-sse", "nest-asyncio"}:   "not-run: nest_asyncio cannot patch uvloop (not run)",
		{"DeadlockLoop", "api-sse", "to-thread"}:      "not-run: the API server's code decides where its sync calls run",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s %s/uvloop, remedy %s:\n got %q\nwant %q", k.provider, k.mode, k.remedy, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d remedy results, want %d: %v", len(got), len(want), got)
	}
}
