package render

import (
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// cellStanding is what the run's gate (report.Gate) says of one cell; JUnit
// and GitHub output read it, so what they mark failed is what the exit code
// counts.
type cellStanding int

const (
	// standingPass: the cell does not fail the run (ok, did not run, or
	// failing outside the --fail-on set).
	standingPass cellStanding = iota
	// standingFails: the cell fails the run: in the --fail-on set and, with
	// a baseline, a new failure.
	standingFails
	// standingStill: in the --fail-on set, but it failed in the baseline
	// too: it does not fail the run.
	standingStill
	// standingFixed: it failed in the baseline and runs without failing now.
	standingFixed
)

// gateView is a report's gate, looked up by cell.
type gateView struct {
	gate  *report.Gate
	of    map[string]cellStanding
	fixed map[string]report.CellKey // the baseline's verdict of each fixed cell
}

// newGateView reads the report's gate; a report with no gate set is gated
// as the command gates it without flags: --fail-on loop, no baseline.
func newGateView(r report.Report) gateView {
	g := r.Gate
	if g == nil {
		g = report.NewGate(r, diag.ClassSet{}, "", nil)
	}
	v := gateView{gate: g, of: map[string]cellStanding{}, fixed: map[string]report.CellKey{}}
	for _, k := range g.Failing {
		v.of[cellID(k)] = standingFails
	}
	if cmp := g.Comparison; cmp != nil {
		for _, k := range cmp.Still {
			v.of[cellID(k)] = standingStill
		}
		for _, k := range cmp.Fixed {
			v.of[cellID(k)] = standingFixed
			v.fixed[cellID(k)] = k
		}
	}
	return v
}

func cellID(k report.CellKey) string {
	return scan.Cell{Provider: k.Provider, Mode: k.Mode, Loop: k.Loop}.Key()
}

// standing is the cell's standing under the gate.
func (v gateView) standing(c diag.CellReport) cellStanding { return v.of[c.Key()] }

// failOn is the --fail-on set as the command line spells it.
func (v gateView) failOn() string { return v.gate.FailOn.String() }

// line says on one line what fails the run: "2 cells fail the run
// (--fail-on any)", or the baseline comparison.
func (v gateView) line() string {
	if cmp := v.gate.Comparison; cmp != nil {
		return cmp.Summary()
	}
	n, verb := len(v.gate.Failing), "fail"
	if n == 1 {
		verb = "fails"
	}
	return strconv.Itoa(n) + " cell" + diag.Plural(n) + " " + verb + " the run (--fail-on " + v.failOn() + ")"
}

// codeLocation is where a cell's failure sits in code, as a path a CI
// system can find in the checked-out repository: the user's own frame when
// its path is relative, or else g4f's innermost frame ("g4f/...", relative
// to the directory holding the g4f package, as in g4f's own repository).
// ok is false when neither has such a path: a scan's cells have no user
// frame, and a frame outside g4f is shortened to a path that exists nowhere.
func codeLocation(c diag.CellReport) (file string, line int, ok bool) {
	if u := c.User; u != nil && u.Line > 0 {
		if p := pytext.SlashPath(u.File); repoPath(p) {
			return p, u.Line, true
		}
	}
	// Frame is FormatFrame's "path:line in func" or "path:line".
	at, _, _ := strings.Cut(c.Frame, " in ")
	i := strings.LastIndex(at, ":")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(at[i+1:])
	p := at[:i]
	if err != nil || n <= 0 || !strings.HasPrefix(p, "g4f/") || !repoPath(p) {
		return "", 0, false
	}
	return p, n, true
}

// repoPath reports whether a slash path can name a file of a repository:
// relative, not a notebook cell or a pseudo-file, not climbing out.
func repoPath(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~") && !strings.HasPrefix(p, "<") &&
		!strings.HasPrefix(p, "Cell In") && !strings.HasPrefix(p, "Input In") && !strings.Contains(p, ":") &&
		!strings.Contains(p, "../") && !strings.HasPrefix(p, "..")
}
