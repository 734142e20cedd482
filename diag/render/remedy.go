package render

import (
	"bytes"
	"fmt"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// remedyEntry is how a remedy's outcome reads in the table: "fixes",
// "= RE" (fails the same way), "→ TO" (fails another way) or "n/a".
func remedyEntry(r diag.RemedyResult) string {
	switch r.Outcome {
	case diag.OutcomeFixes:
		return "fixes"
	case diag.OutcomeNoChange:
		return "= " + r.Cell.Class.Code()
	case diag.OutcomeChanges:
		return "→ " + r.Cell.Class.Code()
	}
	return "n/a"
}

// writeRemedies prints, per provider, a small table of its failing cells
// (rows) and the remedies tried (columns), then why the n/a ones were not run.
func writeRemedies(buf *bytes.Buffer, r report.Report, p *Painter) {
	providers, rows := remedyRows(r)
	if len(providers) == 0 {
		return
	}
	fmt.Fprintf(buf, "\n%s\n", p.Bold("remedies tried (--verify-fixes): fixes = the re-run is ok, = X fails the same way, → X fails another way, n/a = not run"))
	const cellWidth, colWidth = 28, 16
	for _, prov := range providers {
		fmt.Fprintf(buf, "%s\n  %-*s", diag.SingleLine(prov), cellWidth, "cell")
		for _, rem := range scan.AllRemedies {
			fmt.Fprintf(buf, "%-*s", colWidth, rem)
		}
		trimLine(buf)
		notes := map[string]bool{}
		var noteOrder, changes []string
		for _, c := range rows[prov] {
			label := fmt.Sprintf("%s/%s %s", diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)), c.Class.Code())
			fmt.Fprintf(buf, "  %-*s", cellWidth, truncateRunes(label, cellWidth-1, "…"))
			for _, rem := range scan.AllRemedies {
				entry := "-"
				for _, res := range c.Remedies {
					if res.Remedy != rem {
						continue
					}
					entry = remedyEntry(res)
					if res.Outcome == diag.OutcomeNotRun {
						note := string(rem) + ": " + diag.Clean(res.Note)
						if !notes[note] {
							notes[note] = true
							noteOrder = append(noteOrder, note)
						}
					}
					if res.Outcome == diag.OutcomeChanges {
						changes = append(changes, fmt.Sprintf("%s/%s %s: %s [%s] %s", diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)),
							rem, res.Cell.Class, diag.SingleLine(res.Cell.Signature), diag.SingleLine(res.Cell.Evidence)))
					}
					if res.Cell != nil {
						entry = p.Paint(res.Cell.Class, padRight(entry, colWidth))
					}
				}
				buf.WriteString(padRight(entry, colWidth)) // a painted entry is padded already
			}
			trimLine(buf)
		}
		for _, ch := range changes {
			fmt.Fprintf(buf, "  → %s\n", truncateRunes(ch, 114, "…"))
		}
		for _, n := range noteOrder {
			fmt.Fprintf(buf, "  n/a %s\n", truncateRunes(diag.SingleLine(n), 110, "…"))
		}
	}
}

// trimLine ends the line being written, without its trailing blanks.
func trimLine(buf *bytes.Buffer) {
	b := buf.Bytes()
	n := len(b)
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	buf.Truncate(n)
	buf.WriteByte('\n')
}

// remedyRows groups the cells that had remedies tried by provider, providers
// in report order.
func remedyRows(r report.Report) ([]string, map[string][]diag.CellReport) {
	var providers []string
	rows := map[string][]diag.CellReport{}
	for _, c := range r.Cells {
		if len(c.Remedies) == 0 {
			continue
		}
		if _, seen := rows[c.Provider]; !seen {
			providers = append(providers, c.Provider)
		}
		rows[c.Provider] = append(rows[c.Provider], c)
	}
	return providers, rows
}
