package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestRemediesAttachAndRoundTrip(t *testing.T) {
	t.Parallel()
	failing := sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted,
		scan.Call{Outcome: scan.OutcomeError, Chain: []scan.PyException{{Type: "RuntimeError", Message: "this event loop is already running."}}})
	fixed := failing
	fixed.Cell.Loop, fixed.Cell.Remedy, fixed.Cell.Of = scan.LoopNest, scan.RemedyNoUvloop, failing.Cell.Key()
	fixed.Calls = []scan.Call{{Outcome: scan.OutcomeOK}}
	same := failing
	same.Cell.Remedy, same.Cell.Of = scan.RemedyToThread, failing.Cell.Key()
	notRun := scan.RemedyPlan{Remedy: scan.RemedyNest, Note: "nest_asyncio cannot patch uvloop (not run)"}.NotRun(failing.Cell)

	h := report.Header{Plan: scan.Plan{Providers: []string{"P"}}}
	r := report.Build(h, []scan.Observation{notRun, same, failing, fixed}, false)
	if len(r.Cells) != 1 || r.Summary.Cells != 1 {
		t.Fatalf("remedy cells counted as cells: %d cells, summary %d", len(r.Cells), r.Summary.Cells)
	}
	var got []string
	for _, rem := range r.Cells[0].Remedies {
		got = append(got, string(rem.Remedy)+"="+rem.Outcome)
	}
	if s := strings.Join(got, " "); s != "uvloop-removed=fixes nest-asyncio=not-run to-thread=no-change" {
		t.Errorf("remedies = %s", s)
	}
	var buf bytes.Buffer
	if err := Render(&buf, "jsonl", r, Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cells) != 1 || len(back.Cells[0].Remedies) != 3 || back.Cells[0].Remedies[1].Note != notRun.SkipReason {
		t.Errorf("round trip lost remedies: %+v", back.Cells)
	}
	buf.Reset()
	if err := Render(&buf, "table", r, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"remedies tried", "sync/uvloop RE", "fixes", "= RE", "n/a nest-asyncio: nest_asyncio cannot patch uvloop (not run)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}
