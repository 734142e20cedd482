package diag

import (
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestRemedyEffect(t *testing.T) {
	t.Parallel()
	reentry := Verdict{Class: ClassLoopReentry, Signature: string(SigReentryUvloop)}
	tests := []struct {
		name        string
		orig, rerun Verdict
		want        string
	}{
		{"fixed", reentry, Verdict{Class: ClassOK, Signature: "ok"}, "fixes it (ok)"},
		{"the same", reentry, reentry, "does not fix it (loop-reentry [reentry-uvloop])"},
		{"offline: the loop error goes, the network stays", reentry, Verdict{Class: ClassNetwork, Signature: "network-url"},
			"removes the loop error; the call then fails on the network (network [network-url])"},
		{"another loop failure", reentry, Verdict{Class: ClassDeadlock, Signature: "deadlock-loop-thread"},
			"does not fix it (deadlock [deadlock-loop-thread])"},
		{"no loop error to remove", Verdict{Class: ClassTimeout, Signature: "no-answer"}, Verdict{Class: ClassNetwork, Signature: "network-url"},
			"does not fix it (network [network-url])"},
		{"a class from a newer version", reentry, Verdict{Class: "quantum", Signature: "x"}, "does not fix it (quantum [x])"},
	}
	for _, tt := range tests {
		if got := RemedyEffect(tt.orig, tt.rerun); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Every failing class that is not a loop class says how a call reads once
// its loop error is gone; no other class does.
func TestClassThen(t *testing.T) {
	t.Parallel()
	for _, c := range Classes {
		want := c.failing() && !c.IsLoop()
		if got := c.Then() != ""; got != want {
			t.Errorf("%s: then %q, want one: %v", c, c.Then(), want)
		}
	}
}

// A cell with remedies run for it gets its remedy text from what they did;
// one with none run keeps its signature's advice.
func TestMeasuredRemedy(t *testing.T) {
	t.Parallel()
	failing := scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopUvloop}
	other := scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopAsyncio}
	remedy := func(r scan.Remedy, c scan.Cell, v Verdict, end scan.End) CellReport {
		rc := c
		rc.Remedy, rc.Of = r, failing.Key()
		return CellReport{Observation: scan.Observation{Cell: rc, End: end}, Verdict: v}
	}
	static := "Inside async code use g4f.client.AsyncClient."
	cells := AttachRemedies([]CellReport{
		{Observation: scan.Observation{Cell: failing, End: scan.EndCompleted}, Verdict: Verdict{Class: ClassLoopReentry, Signature: "reentry-uvloop", Remedy: static}},
		{Observation: scan.Observation{Cell: other, End: scan.EndCompleted}, Verdict: Verdict{Class: ClassLoopReentry, Signature: "reentry-stdlib", Remedy: static}},
		remedy(scan.RemedyNoUvloop, failing, Verdict{Class: ClassNetwork, Signature: "network-url"}, scan.EndCompleted),
		remedy(scan.RemedyAsync, failing, Verdict{Class: ClassOK, Signature: "ok"}, scan.EndCompleted),
		remedy(scan.RemedyNest, failing, Verdict{}, scan.EndSkipped),
	})
	want := "Measured here (--verify-fixes): uvloop hidden before g4f is imported: the stdlib loop — removes the loop error; " +
		"the call then fails on the network (network [network-url]); the same call through AsyncClient — fixes it (ok)."
	if cells[0].Remedy != want {
		t.Errorf("measured remedy\n got %q\nwant %q", cells[0].Remedy, want)
	}
	if cells[1].Remedy != static {
		t.Errorf("a cell with no remedy run: %q, want its signature's advice", cells[1].Remedy)
	}
}
