package render

import (
	"io"

	"github.com/g4fdiag/g4fdiag/diag"
)

func renderJSON(w io.Writer, r diag.Report, _ Options) error { return diag.WriteJSON(w, r) }

func renderJSONL(w io.Writer, r diag.Report, _ Options) error { return diag.WriteJSONL(w, r) }
