package diag

import (
	"bytes"
	"io"

	"fmt"
)

// keyLine is k.String() with the class painted.
func keyLine(k CellKey, p *painter) string {
	s := fmt.Sprintf("%s %s/%s: %s", SingleLine(k.Provider), SingleLine(string(k.Mode)), SingleLine(string(k.Loop)), p.Paint(k.Class, SingleLine(string(k.Class))))
	if sig := SingleLine(k.Signature); sig != "" {
		s += " [" + sig + "]"
	}
	return s
}

// RenderComparison writes the comparison as a section for the table: the
// summary line, then the new failures and the fixed cells one line each.
// Still-failing cells are only counted: the table above shows them.
func RenderComparison(w io.Writer, c Comparison, o RenderOptions) error {
	p := NewPainter(o.Color)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s\n", p.Bold(c.Summary()))
	list := func(head string, keys []CellKey) {
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
