package diag

import (
	"fmt"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// DoctorProbeProvider is the probe doctor measures with: a provider on
// g4f's own async generator base, the base most providers build on.
const DoctorProbeProvider = "ProbeAsyncGenerator"

// DoctorProbeModes are the calls doctor measures inside a running loop:
// the sync client and AsyncClient, each plain and streaming.
var DoctorProbeModes = []scan.Mode{scan.ModeSync, scan.ModeSyncStream, scan.ModeAsync, scan.ModeAsyncStream}

// ProbeFindings sums up the probe's cells (classified, remedies attached,
// as report.Build gives them) for doctor: each mode × loop, and each
// remedy's outcome over the cells that failed with a loop class.
func ProbeFindings(env scan.Environment, cells []CellReport) *scan.DoctorProbe {
	p := &scan.DoctorProbe{Provider: DoctorProbeProvider, Stdlib: scan.LoopAsyncio}
	if li, ok := env.Loop(scan.LoopNest); ok && li.Available {
		p.Stdlib = scan.LoopNest
	}
	type tally struct {
		fixed, failed []string
		firstFail     string
		note          string
	}
	tallies := map[scan.Remedy]*tally{}
	for _, c := range cells {
		if c.Provider != DoctorProbeProvider || c.Cell.Remedy != "" {
			continue
		}
		pc := scan.DoctorProbeCell{Mode: c.Mode, Loop: c.Loop, Verdict: string(c.Class), Signature: c.Signature}
		if !c.LoopFailure() {
			p.Cells = append(p.Cells, pc) // its evidence is timings: left out, the report stays comparable
			continue
		}
		pc.Evidence = c.Evidence
		p.Cells = append(p.Cells, pc)
		where := string(c.Mode) + "/" + string(c.Loop)
		for _, res := range c.Remedies {
			t := tallies[res.Remedy]
			if t == nil {
				t = &tally{}
				tallies[res.Remedy] = t
			}
			switch {
			case res.Outcome == OutcomeNotRun || res.Cell == nil:
				if t.note == "" {
					t.note = res.Note
				}
			case res.Outcome == OutcomeFixes:
				t.fixed = append(t.fixed, where)
			default:
				t.failed = append(t.failed, where)
				if t.firstFail == "" {
					t.firstFail = fmt.Sprintf("%s [%s] in %s%s", res.Cell.Class, res.Cell.Signature, where, whyRemedyFails(*res.Cell))
				}
			}
		}
	}
	for _, spec := range scan.Remedies {
		t := tallies[spec.Remedy]
		if t == nil {
			continue
		}
		r := scan.DoctorRemedy{Remedy: spec.Remedy, Does: spec.Does, Fixed: t.fixed, Failed: t.failed}
		switch {
		case len(t.fixed) == 0 && len(t.failed) == 0:
			r.Outcome, r.Detail = "not-run", t.note
		case len(t.failed) == 0:
			r.Outcome, r.Detail = "fixes", "ok in "+strings.Join(t.fixed, ", ")
		case len(t.fixed) == 0:
			r.Outcome, r.Detail = "fails", t.firstFail
		default:
			r.Outcome, r.Detail = "partly", "ok in "+strings.Join(t.fixed, ", ")+"; fails: "+t.firstFail
		}
		p.Remedies = append(p.Remedies, r)
	}
	return p
}

// whyRemedyFails explains a re-run that still fails on the loop where the
// reason is known: AsyncClient failing like the sync client means this g4f
// routes it through the same sync wrapper (0.3.5.8 streams that way).
func whyRemedyFails(rerun CellReport) string {
	if rerun.Class == ClassLoopReentry && !rerun.Mode.SyncClient() && rerun.Mode.CallStyle() != nil {
		return ": this g4f's AsyncClient goes through the sync wrapper"
	}
	return ""
}

// probeFailures lists the probe's loop failures on loop with the given
// client ("sync" or "async"), and whether the probe ran that client there.
func probeFailures(p *scan.DoctorProbe, loop scan.Loop, client string) (fails []scan.DoctorProbeCell, ran bool) {
	for _, c := range p.Cells {
		style := c.Mode.CallStyle()
		if c.Loop != loop || style == nil || style.Client != client || Class(c.Verdict) == ClassUnavailable {
			continue
		}
		ran = true
		if Class(c.Verdict).IsLoop() {
			fails = append(fails, c)
		}
	}
	return fails, ran
}

// describeFailures is the evidence of measured failures, one line.
func describeFailures(fails []scan.DoctorProbeCell) string {
	parts := make([]string, len(fails))
	for i, c := range fails {
		parts[i] = fmt.Sprintf("%s/%s %s [%s]", c.Mode, c.Loop, c.Verdict, c.Signature)
	}
	return "measured with " + DoctorProbeProvider + ": " + strings.Join(parts, ", ")
}

// measuredAdvice is what the probe's remedies say to do about the failures
// of client ("sync" or "async") on loop: those that fixed every such cell
// they ran for, then those that fixed some; "" when none fixed any.
func measuredAdvice(p *scan.DoctorProbe, loop scan.Loop, client string) string {
	on := func(cells []string) int {
		n := 0
		for _, c := range cells {
			mode, l, _ := strings.Cut(c, "/")
			style := scan.Mode(mode).CallStyle()
			if l == string(loop) && style != nil && style.Client == client {
				n++
			}
		}
		return n
	}
	var fixes, partly, fails []string
	for _, r := range p.Remedies {
		fixed, failed := on(r.Fixed), on(r.Failed)
		switch {
		case fixed > 0 && failed == 0:
			fixes = append(fixes, r.Does)
		case fixed > 0:
			partly = append(partly, r.Does+" (in part)")
		case failed > 0:
			fails = append(fails, r.Does)
		}
	}
	if len(fixes)+len(partly) == 0 {
		return ""
	}
	s := "measured here, these fix it: " + strings.Join(append(fixes, partly...), "; ")
	if len(fails) > 0 {
		s += "; these do not: " + strings.Join(fails, "; ")
	}
	return s
}
