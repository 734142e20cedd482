//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A Ctrl-C during a scan keeps the cell it cut short: the report holds it
// with end "interrupted", as a skipped cell of signature "interrupted",
// counted in the summary, and every output says so; the exit stays 130 and
// the cell is no loop failure. The cell that had finished keeps its verdict.
func TestInterruptedCellReachesReport(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	sigs := make(chan os.Signal, 1)
	var stderr lockedBuffer
	stdio := IO{Out: &lockedBuffer{}, Err: &stderr, Environ: os.Environ(), Signals: sigs}
	jsonl := filepath.Join(dir, "r.jsonl")
	exited := make(chan int, 1)
	go func() {
		// EchoSync answers at once; StallStream's stream never ends, so
		// its cell runs until the signal (the deadline is far off).
		exited <- Main([]string{"g4fdiag", "check", "--demo", "--python", python,
			"--provider", "EchoSync,StallStream", "--modes", "baseline", "--loops", "asyncio",
			"--timeout", "120s", "--jobs", "2", "-q",
			"-o", "json=" + filepath.Join(dir, "r.json"), "-o", "jsonl=" + jsonl,
			"-o", "table=" + filepath.Join(dir, "r.txt"), "-o", "markdown=" + filepath.Join(dir, "r.md"),
			"-o", "junit=" + filepath.Join(dir, "r.xml")}, stdio)
	}()

	r := &matrixRun{dir: dir}
	for deadline := time.Now().Add(60 * time.Second); r.countObservations() < 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("EchoSync never finished; stderr:\n%s", stderr.String())
		}
	}
	time.Sleep(500 * time.Millisecond) // StallStream is past its two chunks
	sigs <- syscall.SIGINT
	var code int
	select {
	case code = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the scan did not stop after SIGINT")
	}
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}

	data, err := os.ReadFile(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Interrupted bool       `json:"interrupted"`
		Cells       []cellJSON `json:"cells"`
		Summary     struct {
			Counts       map[string]int `json:"counts"`
			LoopFailures int            `json:"loop_failures"`
			Interrupted  int            `json:"interrupted"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]cellJSON{}
	for _, c := range rep.Cells {
		got[c.Provider] = c
	}
	if c := got["EchoSync"]; c.End != "completed" || c.Verdict != "ok" {
		t.Errorf("EchoSync: end %q verdict %q, want completed ok", c.End, c.Verdict)
	}
	stall, ok := got["StallStream"]
	if !ok {
		t.Fatalf("the interrupted cell is not in the report: %+v", rep.Cells)
	}
	if stall.End != "interrupted" || stall.Verdict != "skipped" || stall.Signature != "interrupted" {
		t.Errorf("StallStream: end %q verdict %q signature %q, want interrupted skipped interrupted",
			stall.End, stall.Verdict, stall.Signature)
	}
	if stall.DurationMS < 400 {
		t.Errorf("StallStream ran %.0f ms by the report: its time until the signal is lost", stall.DurationMS)
	}
	if !rep.Interrupted || rep.Summary.Interrupted != 1 || rep.Summary.Counts["skipped"] != 1 || rep.Summary.LoopFailures != 0 {
		t.Errorf("report interrupted %v, summary %+v; want interrupted, 1 cut short, 1 skipped, no loop failure",
			rep.Interrupted, rep.Summary)
	}

	// The saved scan gives the same report.
	saved := savedReport(t, jsonl)
	if !saved.Interrupted || saved.Summary.Interrupted != 1 {
		t.Errorf("jsonl report: interrupted %v, %d cut short", saved.Interrupted, saved.Summary.Interrupted)
	}

	for name, want := range map[string]string{
		"r.txt": "1 cell cut short is marked interrupted",
		"r.md":  "1 cell cut short is marked interrupted",
		"r.xml": "the scan was interrupted before the cell finished",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not say %q:\n%s", name, want, b)
		}
	}
}
