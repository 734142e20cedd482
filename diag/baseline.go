package diag

import (
	"fmt"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro"
)

// Keywords of a class set besides the class names.
const (
	classSetLoop = "loop" // the loop classes, and flaky cells with one among their calls
	classSetAny  = "any"  // every failing class (Verdict.Failing)
)

// ClassSet is the set of classes that make a cell fail for the exit code and
// for a baseline comparison (--fail-on). The zero ClassSet is the default,
// "loop": the cells that fail like the documented conflict, as
// Verdict.LoopFailure says.
type ClassSet struct {
	loop, any bool
	classes   []Class // in Classes order
}

// ParseClassSet reads a comma-separated list of class names and the keywords
// "loop" (the loop classes, the default) and "any" (every failing class).
// Names are case-insensitive and blanks around them are ignored; an empty
// string is the default set. An unknown name is an error that lists the
// valid ones.
func ParseClassSet(s string) (ClassSet, error) {
	var set ClassSet
	known := map[Class]bool{}
	for _, c := range Classes {
		known[c] = true
	}
	chosen := map[Class]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
		case name == classSetLoop:
			set.loop = true
		case name == classSetAny:
			set.any = true
		case Class(name) == ClassOK:
			return ClassSet{}, fmt.Errorf("diag: class %q is not a failure (want %s)", name, validClassNames())
		case known[Class(name)]:
			chosen[Class(name)] = true
		default:
			return ClassSet{}, fmt.Errorf("diag: unknown class %q (want %s)", name, validClassNames())
		}
	}
	for _, c := range Classes {
		if chosen[c] {
			set.classes = append(set.classes, c)
		}
	}
	if set.isDefault() {
		set.loop = true
	}
	return set, nil
}

// validClassNames lists what ParseClassSet accepts, for its errors.
func validClassNames() string {
	names := []string{classSetLoop, classSetAny}
	for _, c := range Classes {
		if c != ClassOK {
			names = append(names, string(c))
		}
	}
	return strings.Join(names, ", ")
}

func (s ClassSet) isDefault() bool { return !s.any && len(s.classes) == 0 }

// String is the set as ParseClassSet reads it: "loop", "any",
// "loop,timeout".
func (s ClassSet) String() string {
	var names []string
	if s.loop || s.isDefault() {
		names = append(names, classSetLoop)
	}
	if s.any {
		names = append(names, classSetAny)
	}
	for _, c := range s.classes {
		names = append(names, string(c))
	}
	return strings.Join(names, ",")
}

// MarshalText writes the set as String does, so it reads back with
// UnmarshalText and shows as a string in JSON.
func (s ClassSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a set as ParseClassSet does.
func (s *ClassSet) UnmarshalText(b []byte) error {
	set, err := ParseClassSet(string(b))
	if err != nil {
		return err
	}
	*s = set
	return nil
}

// Fails reports whether a verdict fails under the set: "loop" takes
// Verdict.LoopFailure, "any" Verdict.Failing, and a class name matches a
// cell of that class or a flaky cell with a call of that class — the way a
// flaky cell with a loop-reentry call counts as a loop failure.
func (s ClassSet) Fails(v Verdict) bool {
	if (s.loop || s.isDefault()) && v.LoopFailure() {
		return true
	}
	if s.any && v.Failing() {
		return true
	}
	for _, c := range s.classes {
		if v.Class == c || (v.Class == ClassFlaky && v.Split[c] > 0) {
			return true
		}
	}
	return false
}

// CellKey names a cell and how it failed.
type CellKey struct {
	Provider  string     `json:"provider"`
	Mode      repro.Mode `json:"mode"`
	Loop      repro.Loop `json:"loop"`
	Class     Class      `json:"class"`
	Signature string     `json:"signature"`
}

func cellKeyOf(c CellReport) CellKey {
	return CellKey{Provider: c.Provider, Mode: c.Mode, Loop: c.Loop, Class: c.Class, Signature: c.Signature}
}

// String is "provider mode/loop: class [signature]", cleaned.
func (k CellKey) String() string {
	s := fmt.Sprintf("%s %s/%s: %s", SingleLine(k.Provider), SingleLine(string(k.Mode)), SingleLine(string(k.Loop)), SingleLine(string(k.Class)))
	if sig := SingleLine(k.Signature); sig != "" {
		s += " [" + sig + "]"
	}
	return s
}

// cellID is a cell's identity across two reports: provider, mode and loop.
func (k CellKey) cellID() string {
	return repro.Cell{Provider: k.Provider, Mode: k.Mode, Loop: k.Loop}.Key()
}

// Failing lists the cells of a report that fail under failOn, in report
// order: with no baseline, the exit code is 1 when it is not empty.
func Failing(r Report, failOn ClassSet) []CellKey {
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
	FailOn ClassSet `json:"fail_on"`
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
func Compare(base, cur Report, failOn ClassSet) Comparison {
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
		if c.Failing() || c.Class == ClassOK {
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
