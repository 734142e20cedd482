package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Cells cut short by an interruption are in the report: skipped, counted in
// the summary, said in every renderer, and no loop failure; an interrupted
// remedy re-run is not run, never a change, and survives a saved scan.
func TestInterruptedCells(t *testing.T) {
	t.Parallel()
	failing := sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted,
		scan.Call{Outcome: scan.OutcomeError, Chain: []scan.PyException{{Type: "RuntimeError", Message: "this event loop is already running."}}})
	cut := sample.Observation("P", scan.ModeAsync, scan.LoopUvloop, scan.EndInterrupted)
	remedy := sample.Observation("P", scan.ModeSync, scan.LoopNest, scan.EndInterrupted)
	remedy.Cell.Remedy, remedy.Cell.Of = scan.RemedyNoUvloop, failing.Cell.Key()

	h := report.Header{Plan: scan.Plan{Providers: []string{"P"}}}
	r := report.Build(h, []scan.Observation{failing, cut, remedy}, true)
	if r.Summary.Cells != 2 || r.Summary.Interrupted != 1 || r.Summary.Counts[diag.ClassSkipped] != 1 || r.Summary.LoopFailures != 1 {
		t.Errorf("summary %+v: want 2 cells, 1 interrupted and skipped, 1 loop failure", r.Summary)
	}
	for _, c := range r.Cells {
		if c.End == scan.EndInterrupted && (c.Signature != "interrupted" || c.Class != diag.ClassSkipped || c.LoopFailure()) {
			t.Errorf("interrupted cell: %s [%s]", c.Class, c.Signature)
		}
	}
	rems := r.Cells[0].Remedies
	if len(rems) != 1 || rems[0].Outcome != diag.OutcomeNotRun || rems[0].Cell == nil || !strings.Contains(rems[0].Note, "interrupted") {
		t.Fatalf("remedies %+v: want the interrupted re-run not run, kept", rems)
	}

	for format, want := range map[string]string{
		"table":    "1 cell cut short is marked interrupted",
		"markdown": "1 cell cut short is marked interrupted",
		"github":   "1 cell cut short is marked interrupted",
		"json":     `"interrupted": 1`,
	} {
		var buf bytes.Buffer
		if err := Render(&buf, format, r, Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s does not say %q:\n%s", format, want, buf.String())
		}
	}

	var buf bytes.Buffer
	if err := Render(&buf, "jsonl", r, Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Summary.Interrupted != 1 || len(back.Cells[0].Remedies) != 1 || back.Cells[0].Remedies[0].Cell == nil ||
		back.Cells[0].Remedies[0].Cell.End != scan.EndInterrupted {
		t.Errorf("saved and read back: summary %+v, remedies %+v", back.Summary, back.Cells[0].Remedies)
	}
}
