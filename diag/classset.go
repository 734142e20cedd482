package diag

import (
	"fmt"
	"strings"
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
