package diag

import "github.com/g4fdiag/g4fdiag/diag/internal/sample"

func sampleHeader() Header {
	return Header{Tool: "g4fdiag", Version: "0.1.0-test", Command: sample.Command,
		Plan: sample.Plan(), Environment: sample.Environment(), Providers: sample.Providers}
}

func sampleReport() Report { return Build(sampleHeader(), sample.Observations(), false) }

// evidenceSample is a smaller scan for the evidence and JSON golden files.
func evidenceSample() Report {
	h := sampleHeader()
	h.Plan.Modes = sample.EvidenceModes
	return Build(h, sample.EvidenceObservations(), true)
}
