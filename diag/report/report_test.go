package report

import (
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
)

// TestCauseTable: one row per key, the catch-all last, and every re-entry
// refinement names a re-entry signature and a row.
func TestCauseTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i, c := range causeTable {
		if seen[c.key] {
			t.Errorf("cause %s has two rows", c.key)
		}
		seen[c.key] = true
		if c.name == "" || c.line == nil {
			t.Errorf("cause %s needs a name and a line", c.key)
		}
		if causeIndex(c.key) != i {
			t.Errorf("cause %s: index %d, want %d", c.key, causeIndex(c.key), i)
		}
	}
	for _, c := range diag.Classes {
		if c.IsLoop() && causeIndex(c.Cause()) == causeIndex(causeOther) {
			t.Errorf("%s: a loop class needs a cause of causeTable, got %q", c, c.Cause())
		}
	}
	if causeTable[len(causeTable)-1].key != causeOther {
		t.Errorf("%s must be the last cause", causeOther)
	}
	for id, key := range reentryCauses {
		s, ok := diag.Lookup(id)
		if !ok || s.Class != diag.ClassLoopReentry {
			t.Errorf("reentryCauses: %s is not a loop-reentry signature", id)
		}
		if !seen[key] {
			t.Errorf("reentryCauses: %s files under %q, which has no row", id, key)
		}
	}
}
