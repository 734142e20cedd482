package diag

import (
	"fmt"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Remedy outcomes: what trying a remedy did to a failing cell.
const (
	OutcomeFixes    = "fixes"     // the re-run is ok
	OutcomeNoChange = "no-change" // the re-run fails the same way (same class)
	OutcomeChanges  = "changes"   // the re-run fails another way
	OutcomeNotRun   = "not-run"   // the remedy does not apply; Note says why
)

// RemedyResult is one remedy tried (or not) for a failing cell.
type RemedyResult struct {
	Remedy  scan.Remedy `json:"remedy"`
	Outcome string      `json:"outcome"`
	Note    string      `json:"note,omitempty"`
	Cell    *CellReport `json:"cell,omitempty"` // the re-run; nil when not run
}

// outcomeOf compares a remedy's re-run with the cell it was tried for.
func outcomeOf(orig, rerun Verdict) string {
	switch {
	case rerun.Class == ClassOK:
		return OutcomeFixes
	case rerun.Class == orig.Class && rerun.Signature == orig.Signature:
		return OutcomeNoChange
	}
	// Another class, or the same class by another mechanism: the error
	// traded for nest_asyncio's hang is loop-reentry too, but not the same.
	return OutcomeChanges
}

// RemedyEffect says in words what a remedy's re-run did to a cell that
// failed with orig: "fixes it (ok)", "does not fix it (...)", or, when the
// loop error went away and the call then failed for another reason (as it
// does offline: the loop is fixed, the provider is out of reach), "removes
// the loop error; the call then fails on the network (...)".
func RemedyEffect(orig, rerun Verdict) string {
	got := fmt.Sprintf("%s [%s]", rerun.Class, rerun.Signature)
	switch {
	case rerun.Class == ClassOK:
		return "fixes it (ok)"
	case orig.Class.IsLoop() && !rerun.Class.IsLoop() && rerun.Class.Then() != "":
		return "removes the loop error; the call then " + rerun.Class.Then() + " (" + got + ")"
	}
	return "does not fix it (" + got + ")"
}

// attachRemedies moves the remedy cells into the Remedies of the cells they
// were tried for, in scan.AllRemedies order, and returns the other cells.
func AttachRemedies(cells []CellReport) []CellReport {
	var main []CellReport
	byKey := map[string]int{}
	var remedies []CellReport
	for _, c := range cells {
		if c.Cell.Remedy != "" {
			remedies = append(remedies, c)
			continue
		}
		byKey[c.Key()] = len(main)
		main = append(main, c)
	}
	for _, rc := range remedies {
		i, ok := byKey[rc.Cell.Of]
		if !ok {
			continue // the cell it was tried for is not in this report
		}
		res := RemedyResult{Remedy: rc.Cell.Remedy}
		switch rc.End {
		case scan.EndSkipped:
			res.Outcome, res.Note = OutcomeNotRun, rc.SkipReason
		case scan.EndInterrupted: // kept, but it says nothing of the remedy
			rcCopy := rc
			res.Cell = &rcCopy
			res.Outcome, res.Note = OutcomeNotRun, "the scan was interrupted before the re-run finished"
		default:
			rcCopy := rc
			res.Cell = &rcCopy
			res.Outcome = outcomeOf(main[i].Verdict, rc.Verdict)
		}
		main[i].Remedies = append(main[i].Remedies, res)
	}
	for i := range main {
		sortRemedies(main[i].Remedies)
		if measured := measuredRemedy(main[i]); measured != "" {
			main[i].Remedy = measured
		}
	}
	return main
}

// measuredRemedy is a cell's remedy text from the remedies that were run for
// it (--verify-fixes): what each did here, in the remedy table's order; ""
// when none was run, and the cell keeps its signature's advice.
func measuredRemedy(c CellReport) string {
	var parts []string
	for _, res := range c.Remedies {
		if res.Cell == nil || res.Outcome == OutcomeNotRun {
			continue
		}
		does := string(res.Remedy)
		if spec, ok := scan.RemedyOf(res.Remedy); ok {
			does = spec.Does
		}
		parts = append(parts, does+" — "+RemedyEffect(c.Verdict, res.Cell.Verdict))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Measured here (--verify-fixes): " + strings.Join(parts, "; ") + "."
}

func sortRemedies(rs []RemedyResult) {
	rank := map[scan.Remedy]int{}
	for i, r := range scan.AllRemedies {
		rank[r] = i
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rank[rs[j].Remedy] < rank[rs[j-1].Remedy]; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
