package render

import (
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func sampleHeader() report.Header {
	return report.Header{Tool: "g4fdiag", Version: "0.1.0-test", Command: sample.Command,
		Plan: sample.Plan(), Environment: sample.Environment(), Providers: sample.Providers}
}

func sampleReport() report.Report { return report.Build(sampleHeader(), sample.Observations(), false) }

// evidenceSample is a smaller scan for the evidence and JSON golden files.
func evidenceSample() report.Report {
	h := sampleHeader()
	h.Plan.Modes = sample.EvidenceModes
	return report.Build(h, sample.EvidenceObservations(), true)
}

// markdownSample is the sample scan run with --verify-fixes: every loop
// failure re-run under each remedy scan.PlanRemedies plans for it.
func markdownSample() report.Report {
	h := sampleHeader()
	obs := sample.Observations()
	var failing []scan.Cell
	for _, c := range report.Build(h, obs, false).Cells {
		if c.LoopFailure() {
			failing = append(failing, c.Cell)
		}
	}
	r := report.Build(h, append(obs, sample.Remedies(failing)...), false)
	for i := range r.Cells {
		for j := range r.Cells[i].Remedies {
			if rc := r.Cells[i].Remedies[j].Cell; rc != nil {
				rc.Started = sample.Start
			}
		}
	}
	return r
}

// sampleWith is the sample scan with some cells replaced (by provider, mode
// and loop) and some left out.
func sampleWith(replace []scan.Observation, drop ...scan.Cell) report.Report {
	return report.Build(sampleHeader(), sample.ObservationsWith(replace, drop...), false)
}
