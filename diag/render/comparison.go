package render

import (
	"bytes"
	"fmt"
	"io"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

// keyLine is k.String() with the class painted.
func keyLine(k report.CellKey, p *Painter) string {
	s := fmt.Sprintf("%s %s/%s: %s", diag.SingleLine(k.Provider), diag.SingleLine(string(k.Mode)), diag.SingleLine(string(k.Loop)), p.Paint(k.Class, diag.SingleLine(string(k.Class))))
	if sig := diag.SingleLine(k.Signature); sig != "" {
		s += " [" + sig + "]"
	}
	return s
}

// Comparison writes the comparison as a section for the table: the
// summary line, then the new failures and the fixed cells one line each.
// Still-failing cells are only counted: the table above shows them.
func Comparison(w io.Writer, c report.Comparison, o Options) error {
	p := NewPainter(o.Color)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s\n", p.Bold(c.Summary()))
	list := func(head string, keys []report.CellKey) {
		if len(keys) == 0 {
			return
		}
		fmt.Fprintf(&buf, "%s\n", head)
		for i, k := range keys {
			if i == maxCellLines {
				fmt.Fprintf(&buf, "  … %d more\n", len(keys)-i)
				break
			}
			line := "  " + k.String()
			if o.Width > 0 && len([]rune(line)) > o.Width {
				line = truncateRunes(line, o.Width, "…")
			} else {
				line = "  " + keyLine(k, p)
			}
			buf.WriteString(line + "\n")
		}
	}
	list("new failures (not in the baseline):", c.New)
	list("fixed since the baseline:", c.Fixed)
	list("failing in the baseline, not run now:", c.Gone)
	_, err := w.Write(buf.Bytes())
	return err
}
