package diag

import "io"

func renderJSON(w io.Writer, r Report, _ RenderOptions) error { return WriteJSON(w, r) }

func renderJSONL(w io.Writer, r Report, _ RenderOptions) error { return WriteJSONL(w, r) }
