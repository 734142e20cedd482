package render

import (
	"io"

	"github.com/g4fdiag/g4fdiag/diag/report"
)

func renderJSON(w io.Writer, r report.Report, _ Options) error { return report.WriteJSON(w, r) }

func renderJSONL(w io.Writer, r report.Report, _ Options) error { return report.WriteJSONL(w, r) }
