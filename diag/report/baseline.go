package report

import (
	"fmt"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// CellKey names a cell and how it failed.
type CellKey struct {
	Provider  string     `json:"provider"`
	Mode      scan.Mode  `json:"mode"`
	Loop      scan.Loop  `json:"loop"`
	Class     diag.Class `json:"class"`
	Signature string     `json:"signature"`
}

func cellKeyOf(c diag.CellReport) CellKey {
	return CellKey{Provider: c.Provider, Mode: c.Mode, Loop: c.Loop, Class: c.Class, Signature: c.Signature}
}

// String is "provider mode/loop: class [signature]", cleaned.
func (k CellKey) String() string {
	s := fmt.Sprintf("%s %s/%s: %s", diag.SingleLine(k.Provider), diag.SingleLine(string(k.Mode)), diag.SingleLine(string(k.Loop)), diag.SingleLine(string(k.Class)))
	if sig := diag.SingleLine(k.Signature); sig != "" {
		s += " [" + sig + "]"
	}
	return s
}

// cellID is a cell's identity across two reports: provider, mode and loop.
func (k CellKey) cellID() string {
	return scan.Cell{Provider: k.Provider, Mode: k.Mode, Loop: k.Loop}.Key()
}

// Failing lists the cells of a report that fail under failOn, in report
// order: with no baseline, the exit code is 1 when it is not empty.
func Failing(r Report, failOn diag.ClassSet) []CellKey {
	out := []CellKey{}
	seen := map[string]bool{}
	for _, c := range r.Cells {
		if seen[c.Key()] {
			continue
		}
		seen[c.Key()] = true
		if failOn.Fails(c.Verdict) {
			out = append(out, cellKeyOf(c))
		}
	}
	return out
}

// Comparison is a scan compared with a baseline scan, cell by cell
// (provider, mode, loop). New and Still carry the cell's verdict now, Fixed
// and Gone its verdict in the baseline.
type Comparison struct {
	FailOn diag.ClassSet `json:"fail_on"`
	// New fails now and did not fail in the baseline, or was not in it.
	New []CellKey `json:"new"`
	// Fixed failed in the baseline and ran now without failing.
	Fixed []CellKey `json:"fixed"`
	// Still fails in both (maybe another way: the class is today's).
	Still []CellKey `json:"still"`
	// Gone failed in the baseline and is not in this scan, or did not run in
	// it (skipped, not-working, unavailable): neither fixed nor failing.
	Gone []CellKey `json:"gone"`
}

// Compare compares the scan cur with the baseline base: which cells fail
// under failOn that did not before, which stopped failing, which still fail.
// Each list is in its report's order: New and Still in cur's, Fixed and Gone
// in base's.
func Compare(base, cur Report, failOn diag.ClassSet) Comparison {
	cmp := Comparison{FailOn: failOn, New: []CellKey{}, Fixed: []CellKey{}, Still: []CellKey{}, Gone: []CellKey{}}
	baseFailing := Failing(base, failOn)
	before := map[string]bool{}
	for _, k := range baseFailing {
		before[k.cellID()] = true
	}
	ran := map[string]bool{}
	failing := map[string]bool{}
	for _, k := range Failing(cur, failOn) {
		failing[k.cellID()] = true
		if before[k.cellID()] {
			cmp.Still = append(cmp.Still, k)
		} else {
			cmp.New = append(cmp.New, k)
		}
	}
	for _, c := range cur.Cells {
		if c.Failing() || c.Class == diag.ClassOK {
			ran[c.Key()] = true
		}
	}
	for _, k := range baseFailing {
		switch id := k.cellID(); {
		case failing[id]:
		case ran[id]:
			cmp.Fixed = append(cmp.Fixed, k)
		default:
			cmp.Gone = append(cmp.Gone, k)
		}
	}
	return cmp
}

// Regressed reports whether the scan fails in a cell where the baseline did
// not: with --baseline, the exit code is 1 exactly then.
func (c Comparison) Regressed() bool { return len(c.New) > 0 }

// Summary is the comparison on one line: "baseline: 1 new, 2 fixed, 5 still
// failing", and how many baseline failures did not run now, when any.
func (c Comparison) Summary() string {
	s := fmt.Sprintf("baseline: %d new, %d fixed, %d still failing", len(c.New), len(c.Fixed), len(c.Still))
	if len(c.Gone) > 0 {
		s += fmt.Sprintf(", %d not run now", len(c.Gone))
	}
	return s + " (fail on: " + c.FailOn.String() + ")"
}

// Gate is what fails a run, decided once before any output is rendered: the
// classes that fail it (--fail-on) and, with --baseline, the comparison with
// the baseline. The exit code and every renderer read it from the report,
// so they cannot disagree.
type Gate struct {
	FailOn diag.ClassSet
	// Baseline is the path of the baseline report; "" without one.
	Baseline string
	// Comparison is the scan compared with the baseline; nil without one.
	Comparison *Comparison
	// Failing lists the cells that fail the run: with a baseline, the new
	// failures (Comparison.New); without, every cell that fails under FailOn.
	Failing []CellKey
}

// NewGate decides the gate of r: base is the baseline report read from
// path, or nil without --baseline.
func NewGate(r Report, failOn diag.ClassSet, path string, base *Report) *Gate {
	g := &Gate{FailOn: failOn, Baseline: path}
	if base == nil {
		g.Failing = Failing(r, failOn)
		return g
	}
	cmp := Compare(*base, r, failOn)
	g.Comparison = &cmp
	g.Failing = cmp.New
	return g
}

// Failed reports whether the run fails: the exit code is 1 exactly then.
func (g *Gate) Failed() bool { return len(g.Failing) > 0 }
