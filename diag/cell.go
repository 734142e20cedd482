package diag

import "github.com/g4fdiag/g4fdiag/repro/scan"

// CellReport is one cell of a report: the observation and its verdict, encoded
// as one flat JSON object (provider, mode, loop, ..., verdict, signature,
// evidence, calls, duration_ms).
type CellReport struct {
	scan.Observation
	Verdict
	// Remedies are the fixes tried for this cell (--verify-fixes).
	Remedies []RemedyResult `json:"remedies,omitempty"`
}
