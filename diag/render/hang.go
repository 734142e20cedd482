package render

import (
	"bytes"
	"fmt"

	"github.com/g4fdiag/g4fdiag/diag"
)

// writeHang prints the hang summary of a cell, when it has one, as the
// "hang:" block of its evidence.
func writeHang(buf *bytes.Buffer, c diag.CellReport) {
	h, ok := diag.SummarizeHang(c)
	if !ok {
		return
	}
	fmt.Fprintf(buf, "hang:\n  %s\n", h.Sentence)
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(buf, "  %-12s %s\n", name+":", value)
		}
	}
	line("loop thread", h.LoopThread)
	waits := h.WaitsOn
	if h.WaitFrame != "" {
		if waits == "" {
			waits = "?"
		}
		waits += ", from " + h.WaitFrame
	}
	line("waits on", waits)
	line("re-entered", h.Reentered)
}
