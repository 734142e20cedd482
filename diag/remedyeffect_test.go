package diag

import "testing"

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
