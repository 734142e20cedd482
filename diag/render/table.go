package render

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// codeWidth is the width of a class code in a table cell.
const codeWidth = 4

// abbrevLoop names a loop in the table's second header row.
func abbrevLoop(l scan.Loop) string {
	if a := l.Short(); a != "" {
		return a
	}
	return truncateRunes(diag.Clean(string(l)), codeWidth, "")
}

// grid is the table's shape: rows of providers, columns of modes, and inside
// each column one code per loop.
type grid struct {
	providers []string
	modes     []scan.Mode
	loops     []scan.Loop
	cells     map[string]diag.CellReport // by Cell.Key()
}

func newGrid(r report.Report) grid {
	g := grid{cells: map[string]diag.CellReport{}}
	seenP := map[string]bool{}
	modes := map[scan.Mode]bool{}
	loops := map[scan.Loop]bool{}
	for _, c := range r.Cells {
		if !seenP[c.Provider] {
			seenP[c.Provider] = true
			g.providers = append(g.providers, c.Provider)
		}
		modes[c.Mode], loops[c.Loop] = true, true
		if _, dup := g.cells[c.Key()]; !dup {
			g.cells[c.Key()] = c
		}
	}
	g.modes = ordered(report.Modes, modes)
	g.loops = ordered(report.Loops, loops)
	return g
}

// ordered lists the keys of set, known ones in known order, the rest by name.
func ordered[K ~string](known []K, set map[K]bool) []K {
	var out, rest []K
	for _, k := range known {
		if set[k] {
			out = append(out, k)
		}
	}
	isKnown := map[K]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for k := range set {
		if !isKnown[k] {
			rest = append(rest, k)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return append(out, rest...)
}

func padRight(s string, width int) string {
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func truncateRunes(s string, width int, ellipsis string) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width <= len([]rune(ellipsis)) {
		return string(r[:width])
	}
	return string(r[:width-len([]rune(ellipsis))]) + ellipsis
}

// columnWidth is the content width of one mode column.
func (g grid) columnWidth(m scan.Mode) int {
	w := len(g.loops)*(codeWidth+1) - 1
	if n := len([]rune(string(m))); n > w {
		w = n
	}
	return w
}

func renderTable(w io.Writer, r report.Report, o Options) error {
	p := NewPainter(o.Color)
	g := newGrid(r)
	var folded []foldedRow
	if !o.All {
		g, folded = foldUnrun(g)
	}
	var buf bytes.Buffer
	if len(r.Cells) == 0 {
		buf.WriteString("no cells\n")
	} else if len(g.providers) == 0 {
		buf.WriteString("no provider ran in any cell\n")
	} else if err := writeGrid(&buf, g, p, o.Width); err != nil {
		return err
	}
	writeFolded(&buf, folded)
	writeLegend(&buf, r, g, p)
	writeSummary(&buf, r, p)
	writeRemedies(&buf, r, p)
	_, err := w.Write(buf.Bytes())
	return err
}

// writeGrid writes the matrix. One that is wider than maxWidth is laid out
// as blocks of mode columns, each a table of its own under the one before,
// never wrapped; provider names are cut only when a single mode column does
// not fit beside them.
func writeGrid(buf *bytes.Buffer, g grid, p *Painter, maxWidth int) error {
	names := make([]string, len(g.providers))
	provWidth := len("provider")
	for i, name := range g.providers {
		names[i] = strings.TrimSpace(strings.Join(strings.Fields(diag.Clean(name)), " "))
		if n := len([]rune(names[i])); n > provWidth {
			provWidth = n
		}
	}
	blocks := [][]scan.Mode{g.modes}
	if maxWidth > 0 {
		blocks = modeBlocks(g, provWidth, maxWidth)
		widest := provWidth + 4
		for _, m := range g.modes {
			widest = max(widest, provWidth+4+g.columnWidth(m)+3)
		}
		if widest > maxWidth {
			provWidth = max(8, provWidth-(widest-maxWidth))
			for i := range names {
				names[i] = truncateRunes(names[i], provWidth, "…")
			}
		}
	}
	for i, modes := range blocks {
		if i > 0 {
			buf.WriteString("\n")
		}
		block := g
		block.modes = modes
		if err := writeBlock(buf, block, names, provWidth, p); err != nil {
			return err
		}
	}
	return nil
}

// modeBlocks packs g's mode columns into as few blocks as fit in maxWidth
// beside the provider column, in report order; a column that fits nowhere
// gets a block of its own.
func modeBlocks(g grid, provWidth, maxWidth int) [][]scan.Mode {
	var blocks [][]scan.Mode
	var cur []scan.Mode
	width := provWidth + 4 // "│ name " + final "│"
	for _, m := range g.modes {
		w := g.columnWidth(m) + 3
		if len(cur) > 0 && width+w > maxWidth {
			blocks = append(blocks, cur)
			cur, width = nil, provWidth+4
		}
		cur = append(cur, m)
		width += w
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// writeBlock writes one table of the matrix: the providers, and g's modes.
func writeBlock(buf *bytes.Buffer, g grid, names []string, provWidth int, p *Painter) error {

	header := []any{"provider"}
	for _, m := range g.modes {
		abbrevs := make([]string, len(g.loops))
		for i, l := range g.loops {
			abbrevs[i] = padRight(abbrevLoop(l), codeWidth)
		}
		cw := g.columnWidth(m)
		header = append(header, padRight(diag.Clean(string(m)), cw)+"\n"+padRight(strings.Join(abbrevs, " "), cw))
	}
	t := tablewriter.NewTable(buf,
		tablewriter.WithEastAsian(tw.Off),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	t.Header(header...)
	for i, prov := range g.providers {
		row := []any{padRight(names[i], provWidth)}
		for _, m := range g.modes {
			codes := make([]string, len(g.loops))
			for k, l := range g.loops {
				code, class := "-", diag.Class("")
				if c, ok := g.cells[scan.Cell{Provider: prov, Mode: m, Loop: l}.Key()]; ok {
					code, class = c.Class.Code(), c.Class
				}
				pad := ""
				if k < len(g.loops)-1 {
					pad = strings.Repeat(" ", codeWidth+1-len([]rune(code)))
				}
				codes[k] = p.Paint(class, code) + pad
			}
			row = append(row, strings.Join(codes, ""))
		}
		if err := t.Append(row...); err != nil {
			return fmt.Errorf("diag: table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("diag: table: %w", err)
	}
	return nil
}

// foldedRow is a provider whose row was folded: what kept all its cells
// from running.
type foldedRow struct {
	provider string
	why      string // the skip reason its cells share
}

// foldUnrun takes out of g the providers none of whose cells ran (not
// working, needing auth, skipped): a real g4f has dozens, and rows of
// "nw nw nw" hide the rows that matter.
func foldUnrun(g grid) (grid, []foldedRow) {
	var kept []string
	var folded []foldedRow
	for _, prov := range g.providers {
		ran, why, any := false, "", false
		for _, m := range g.modes {
			for _, l := range g.loops {
				c, ok := g.cells[scan.Cell{Provider: prov, Mode: m, Loop: l}.Key()]
				if !ok {
					continue
				}
				any = true
				if c.End != scan.EndNotWorking && c.End != scan.EndSkipped {
					ran = true
				} else if why == "" {
					why = c.SkipReason
				}
			}
		}
		if ran || !any {
			kept = append(kept, prov)
			continue
		}
		folded = append(folded, foldedRow{provider: prov, why: why})
	}
	g.providers = kept
	return g, folded
}

// writeFolded says which providers' rows were folded, grouped by why, and
// how to see them.
func writeFolded(buf *bytes.Buffer, folded []foldedRow) {
	if len(folded) == 0 {
		return
	}
	var order []string
	byWhy := map[string][]string{}
	for _, f := range folded {
		why := diag.SingleLine(f.why)
		if why == "" {
			why = "not run"
		}
		if _, seen := byWhy[why]; !seen {
			order = append(order, why)
		}
		byWhy[why] = append(byWhy[why], diag.SingleLine(f.provider))
	}
	fmt.Fprintf(buf, "not run in any cell, %d provider%s (--all shows their rows):\n", len(folded), diag.Plural(len(folded)))
	for _, why := range order {
		names := byWhy[why]
		list := strings.Join(names, ", ")
		if len(names) > 8 {
			list = strings.Join(names[:8], ", ") + fmt.Sprintf(", … %d more", len(names)-8)
		}
		fmt.Fprintf(buf, "  %s: %s\n", why, list)
	}
}

func writeLegend(buf *bytes.Buffer, r report.Report, g grid, p *Painter) {
	if len(r.Cells) == 0 {
		return
	}
	var loops []string
	for _, l := range g.loops {
		loops = append(loops, abbrevLoop(l)+" = "+diag.Clean(l.Meaning()))
	}
	fmt.Fprintf(buf, "loops: %s\n", strings.Join(loops, ", "))
	present := map[diag.Class]int{}
	for _, c := range r.Cells {
		present[c.Class]++
	}
	buf.WriteString("legend:\n")
	for _, c := range diag.OrderedClasses(present) {
		fmt.Fprintf(buf, "  %s  %-20s %s\n", p.Paint(c, c.Code())+strings.Repeat(" ", codeWidth-len([]rune(c.Code()))), diag.Clean(string(c)), c.Meaning())
	}
	if missingCells(g) {
		fmt.Fprintf(buf, "  %s  %-20s %s\n", padRight("-", codeWidth), "", "not in the scan")
	}
}

func missingCells(g grid) bool {
	return len(g.cells) < len(g.providers)*len(g.modes)*len(g.loops)
}

func writeSummary(buf *bytes.Buffer, r report.Report, p *Painter) {
	s := r.Summary
	var counts []string
	for _, c := range diag.OrderedClasses(s.Counts) {
		counts = append(counts, fmt.Sprintf("%d %s", s.Counts[c], p.Paint(c, diag.Clean(string(c)))))
	}
	fmt.Fprintf(buf, "\n%s %d cell%s", p.Bold("summary:"), s.Cells, diag.Plural(s.Cells))
	if len(counts) > 0 {
		fmt.Fprintf(buf, ": %s", strings.Join(counts, ", "))
	}
	buf.WriteString("\n")
	fmt.Fprintf(buf, "documented loop conflict reproduced in %d cell%s\n", s.Conflict, diag.Plural(s.Conflict))
	fmt.Fprintf(buf, "loop failures: %d cell%s\n", s.LoopFailures, diag.Plural(s.LoopFailures))
	fmt.Fprintf(buf, "likely cause: %s\n", diag.Clean(s.LikelyCause))
	fmt.Fprintf(buf, "environment: %s\n", environmentLine(r.Environment))
	if loops := loopsLine(r.Environment); loops != "" {
		fmt.Fprintf(buf, "loops available: %s\n", loops)
	}
	if r.Interrupted {
		fmt.Fprintf(buf, "interrupted: %s\n", s.InterruptedNote())
	}
	if line := notRunLine(r); line != "" {
		fmt.Fprintf(buf, "not run: %s\n", line)
	}
	shown := 0
	for _, c := range r.Cells {
		if !c.LoopFailure() {
			continue
		}
		if shown == 0 {
			buf.WriteString("failing loop cells:\n")
		}
		if shown == maxCellLines {
			fmt.Fprintf(buf, "  … %d more (g4fdiag repro shows every one)\n", s.LoopFailures-shown)
			break
		}
		fmt.Fprintf(buf, "  %s\n", cellLine(c, p))
		shown++
	}
}

// notRunLine says which cells were not run because of their provider, and
// how to include them; "" when every provider ran.
func notRunLine(r report.Report) string {
	auth, retired := map[string]bool{}, map[string]bool{}
	for _, c := range r.Cells {
		switch {
		case c.End == scan.EndNotWorking:
			retired[c.Provider] = true
		case c.End == scan.EndSkipped && strings.Contains(c.SkipReason, "--include-auth"):
			auth[c.Provider] = true
		}
	}
	var parts []string
	if n := len(auth); n > 0 {
		parts = append(parts, fmt.Sprintf("%d provider%s needing auth (--include-auth runs them: without keys they fail fast, "+
			"which still shows a loop conflict; with keys they make real calls)", n, diag.Plural(n)))
	}
	if n := len(retired); n > 0 {
		parts = append(parts, fmt.Sprintf("%d provider%s marked working = False (--include-not-working runs them)", n, diag.Plural(n)))
	}
	return strings.Join(parts, "; ")
}

// maxCellLines bounds the failing loop cells listed under the table.
const maxCellLines = 40

// cellLine is "provider mode/loop: class [signature] evidence (frame)".
func cellLine(c diag.CellReport, p *Painter) string {
	s := fmt.Sprintf("%s %s/%s: %s [%s] %s", diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)),
		p.Paint(c.Class, string(c.Class)), diag.SingleLine(c.Signature), diag.SingleLine(c.Evidence))
	if f := diag.SingleLine(c.Frame); f != "" && !strings.Contains(s, f) {
		s += " (" + f + ")"
	}
	if c.User != nil {
		s += "; " + diag.YourCode(c.User)
	}
	return s
}

func environmentLine(e scan.Environment) string {
	var parts []string
	py := "python"
	if e.PythonVersion != "" {
		py += " " + diag.SingleLine(e.PythonVersion)
	}
	if e.Python != "" {
		py += " (" + diag.SingleLine(e.Python) + ")"
	}
	parts = append(parts, py)
	g := "g4f"
	if e.G4FVersion != "" {
		g += " " + diag.SingleLine(e.G4FVersion)
	} else {
		g += " (version unknown)"
	}
	if e.G4FPath != "" {
		g += " from " + diag.SingleLine(e.G4FPath)
	}
	if e.Demo {
		g += " (demo miniature)"
	}
	parts = append(parts, g)
	if e.NestModule != "" {
		parts = append(parts, "g4f imports "+diag.SingleLine(e.NestModule))
	}
	return strings.Join(parts, "; ")
}

func loopsLine(e scan.Environment) string {
	var parts []string
	for _, li := range e.Loops {
		s := diag.SingleLine(string(li.Loop))
		if li.Available {
			s += " yes"
			if li.Package != "" {
				s += " (" + strings.TrimSpace(diag.SingleLine(li.Package)+" "+diag.SingleLine(li.Version)) + ")"
			}
		} else {
			s += " no"
			if li.Reason != "" {
				s += " (" + diag.SingleLine(li.Reason) + ")"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
