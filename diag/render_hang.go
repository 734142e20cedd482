package diag

import (
	"bytes"

	"fmt"
)

// writeHang prints the hang summary of a cell, when it has one, as the
// "hang:" block of its evidence.
func writeHang(buf *bytes.Buffer, c CellReport) {
	h, ok := SummarizeHang(c)
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
