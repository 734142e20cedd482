package report

import (
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func sampleHeader() Header {
	return Header{Tool: "g4fdiag", Version: "0.1.0-test", Command: sample.Command,
		Plan: sample.Plan(), Environment: sample.Environment(), Providers: sample.Providers}
}

func sampleReport() Report { return Build(sampleHeader(), sample.Observations(), false) }

// markdownSample is the sample scan run with --verify-fixes: every loop
// failure re-run under each remedy scan.PlanRemedies plans for it.
func markdownSample() Report {
	h := sampleHeader()
	obs := sample.Observations()
	var failing []scan.Cell
	for _, c := range Build(h, obs, false).Cells {
		if c.LoopFailure() {
			failing = append(failing, c.Cell)
		}
	}
	r := Build(h, append(obs, sample.Remedies(failing)...), false)
	for i := range r.Cells {
		for j := range r.Cells[i].Remedies {
			if rc := r.Cells[i].Remedies[j].Cell; rc != nil {
				rc.Started = sample.Start
			}
		}
	}
	return r
}
