package diag

import (
	"slices"
	"testing"
)

// TestClassTableIsWellFormed holds classTable to what the code relies on:
// one row per class, Classes (the legend's order) a permutation of it, loop
// classes first and ok last, codes short and unique, and the columns that
// only make sense together set together.
func TestClassTableIsWellFormed(t *testing.T) {
	t.Parallel()
	seen := map[Class]bool{}
	codes := map[string]Class{}
	lastLoop, firstOther := -1, len(classTable)
	for i, row := range classTable {
		c := row.class
		if seen[c] {
			t.Errorf("class %s has two rows", c)
		}
		seen[c] = true
		if c.rank() != i {
			t.Errorf("%s: rank %d, want its position %d", c, c.rank(), i)
		}
		if n := len([]rune(row.code)); n == 0 || n > 4 {
			t.Errorf("%s: code %q is not 1-4 characters", c, row.code)
		}
		if other, dup := codes[row.code]; dup {
			t.Errorf("%s and %s share the code %q", other, c, row.code)
		}
		codes[row.code] = c
		if row.meaning == "" || row.color == nil {
			t.Errorf("%s: needs a meaning and a colour", c)
		}
		if row.loop {
			lastLoop = i
			if !row.failing {
				t.Errorf("%s: a loop class must be failing", c)
			}
			if row.cause == "" {
				t.Errorf("%s: a loop class needs a cause of causeTable", c)
			}
		} else {
			firstOther = min(firstOther, i)
			if row.cause != "" {
				t.Errorf("%s: cause %q on a class that is not a loop class", c, row.cause)
			}
		}
		if row.warn && !row.failing {
			t.Errorf("%s: warns but is not failing", c)
		}
		if row.hang != hangNever && !row.failing {
			t.Errorf("%s: hangs but is not failing", c)
		}
	}
	if lastLoop > firstOther {
		t.Errorf("loop classes must come first in classTable")
	}
	if classTable[len(classTable)-1].class != ClassOK {
		t.Errorf("ok must be the last row of classTable (the least severe)")
	}
	if len(Classes) != len(classTable) {
		t.Errorf("Classes has %d classes, classTable %d rows", len(Classes), len(classTable))
	}
	for _, c := range Classes {
		if !seen[c] {
			t.Errorf("Classes lists %s, which has no row in classTable", c)
		}
		delete(seen, c)
	}
	for c := range seen {
		t.Errorf("class %s has a row but is not in Classes", c)
	}
}

// TestClassColumns pins what each column decides, so a row edited by mistake
// shows here before it shows in a golden.
func TestClassColumns(t *testing.T) {
	t.Parallel()
	pick := func(keep func(Class) bool) []Class {
		var out []Class
		for _, row := range classTable {
			if keep(row.class) {
				out = append(out, row.class)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		got  []Class
		want []Class
	}{
		{"loop", pick(Class.IsLoop),
			[]Class{ClassLoopReentry, ClassLoopMissing, ClassLoopClosed, ClassLoopMismatch, ClassDeadlock, ClassLoopBlocked}},
		{"not failing", pick(func(c Class) bool { return !Verdict{Class: c}.Failing() }),
			[]Class{ClassNotWorking, ClassUnavailable, ClassSkipped, ClassOK}},
		{"github warns", pick(Class.GitHubWarns),
			[]Class{ClassCrashed, ClassStall, ClassTimeout, ClassFlaky, ClassProtocol}},
		{"hangs", pick(func(c Class) bool { return hung(CellReport{Verdict: Verdict{Class: c}}) }),
			[]Class{ClassDeadlock, ClassLoopBlocked, ClassStall, ClassTimeout}},
		{"hangs when logged", pick(func(c Class) bool {
			return hung(CellReport{Verdict: Verdict{Class: c, Evidence: "hung after the worker logged X"}})
		}),
			[]Class{ClassLoopReentry, ClassDeadlock, ClassLoopBlocked, ClassStall, ClassTimeout}},
		{"keeps the re-entry frame", pick(func(c Class) bool { return c.info().reentry }),
			[]Class{ClassLoopReentry, ClassDeadlock}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestUnknownClass: a class from a report of another version is failing,
// nothing else, and sorts just before ok.
func TestUnknownClass(t *testing.T) {
	t.Parallel()
	c := Class("from-the-future")
	if c.IsLoop() || !(Verdict{Class: c}).Failing() || c.GitHubWarns() || hung(CellReport{Verdict: Verdict{Class: c}}) {
		t.Errorf("unknown class: loop %v failing %v warns %v", c.IsLoop(), Verdict{Class: c}.Failing(), c.GitHubWarns())
	}
	if c.Code() != "?" || c.Meaning() != "unknown class" || c.Color() != nil {
		t.Errorf("unknown class: code %q meaning %q colour %v", c.Code(), c.Meaning(), c.Color())
	}
	if !Worse(c, ClassOK) || !Worse(ClassNotWorking, c) {
		t.Errorf("unknown class must sort just before ok")
	}
}
