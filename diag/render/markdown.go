package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// The headings of a markdown report, in order. They are stable: a reader
// (or a bot) can find each section by its heading.
const (
	mdEnvironment  = "Environment"
	mdMatrix       = "Matrix"
	mdSummary      = "Summary"
	mdFailingCells = "Failing cells"
	mdReproduction = "Reproduction"
	mdRemedies     = "Remedies tried"
)

// mdLimit keeps a markdown report under GitHub's limit for an issue body
// (65536 characters): past it, failing cells are listed one line each.
const mdLimit = 60000

// renderMarkdown writes the report as GitHub-flavoured Markdown ready to
// paste into an issue: the environment, the matrix, the summary, the
// evidence of each failing cell, the reproduction script (Options.
// Script) and the remedies tried. Untrusted text is cleaned and redacted,
// escaped in prose and table cells, and fenced with a fence it cannot close.
func renderMarkdown(w io.Writer, r report.Report, o Options) error {
	var b bytes.Buffer
	writeMDIntro(&b, r)
	writeMDEnvironment(&b, r)
	writeMDMatrix(&b, r)
	writeMDSummary(&b, r)
	// what follows the failing cells is written first, so they know how
	// much room is left
	var tail bytes.Buffer
	writeMDReproduction(&tail, o)
	writeMDRemedies(&tail, r)
	writeMDFailing(&b, r, tail.Len())
	b.Write(tail.Bytes())
	_, err := w.Write(b.Bytes())
	return err
}

func writeMDIntro(b *bytes.Buffer, r report.Report) {
	tool := diag.OrDefault(diag.SingleLine(r.Tool), "g4fdiag")
	if v := diag.SingleLine(r.Version); v != "" {
		tool += " " + v
	}
	s := r.Summary
	fmt.Fprintf(b, "Report of %s: loop failures in %d of %d cell%s; the documented loop conflict reproduced in %d.\n",
		MarkdownText(tool), s.LoopFailures, s.Cells, diag.Plural(s.Cells), s.Conflict)
	if r.Interrupted {
		fmt.Fprintf(b, "\n> **Interrupted:** %s.\n", s.InterruptedNote())
	}
}

func writeMDHeading(b *bytes.Buffer, title string) {
	fmt.Fprintf(b, "\n## %s\n\n", title)
}

func writeMDEnvironment(b *bytes.Buffer, r report.Report) {
	writeMDHeading(b, mdEnvironment)
	e := r.Environment
	py := diag.OrDefault(MarkdownText(e.PythonVersion), "version unknown")
	if e.Python != "" {
		py += " (" + MarkdownCode(e.Python) + ")"
	}
	fmt.Fprintf(b, "- **Python:** %s\n", py)
	g := "version unknown"
	if e.G4FVersion != "" {
		g = MarkdownCode(e.G4FVersion)
	}
	if e.G4FPath != "" {
		g += " from " + MarkdownCode(e.G4FPath)
	}
	if e.Demo {
		g += " (the demo miniature)"
	}
	fmt.Fprintf(b, "- **g4f:** %s\n", g)
	if e.NestModule != "" {
		fmt.Fprintf(b, "- **nest_asyncio:** g4f imports %s\n", MarkdownCode(e.NestModule))
	} else {
		b.WriteString("- **nest_asyncio:** g4f did not say which module it imports\n")
	}
	if len(e.Loops) > 0 {
		b.WriteString("- **Loops:**\n")
		for _, li := range e.Loops {
			s := "available"
			if li.Available {
				if pkg := strings.TrimSpace(diag.SingleLine(li.Package) + " " + diag.SingleLine(li.Version)); pkg != "" {
					s += " (" + MarkdownCode(pkg) + ")"
				}
			} else {
				s = "not available"
				if li.Reason != "" {
					s += ": " + MarkdownCode(li.Reason)
				}
			}
			fmt.Fprintf(b, "  - %s: %s\n", MarkdownCode(string(li.Loop)), s)
		}
	}
	if r.Command != "" {
		fmt.Fprintf(b, "- **Command:** %s\n", MarkdownCode(r.Command))
	}
	tool := diag.OrDefault(diag.SingleLine(r.Tool), "g4fdiag")
	if r.Version != "" {
		tool += " " + diag.SingleLine(r.Version)
	}
	fmt.Fprintf(b, "- **Tool:** %s\n", MarkdownText(tool))
	if plan := planLine(r.Plan); plan != "" {
		fmt.Fprintf(b, "- **Plan:** %s\n", plan)
	}
}

// planLine is how hard the scan ran, for the environment section.
func planLine(p scan.Plan) string {
	var parts []string
	if p.Concurrency > 0 {
		c := fmt.Sprintf("concurrency %d", p.Concurrency)
		if p.APIConcurrency > 0 && p.APIConcurrency != p.Concurrency {
			c += fmt.Sprintf(" (%d in API cells)", p.APIConcurrency)
		}
		parts = append(parts, c)
	}
	if p.Repeat > 0 {
		parts = append(parts, fmt.Sprintf("repeat %d", p.Repeat))
	}
	if p.Timeout > 0 {
		parts = append(parts, "timeout "+p.Timeout.String()+" per cell")
	}
	if p.BlockThreshold > 0 {
		parts = append(parts, "loop blocked after "+p.BlockThreshold.String())
	}
	if p.Model != "" {
		parts = append(parts, "model "+MarkdownCode(p.Model))
	}
	if p.API != "" {
		parts = append(parts, "API server "+MarkdownCode(p.API))
	}
	return strings.Join(parts, ", ")
}

func writeMDMatrix(b *bytes.Buffer, r report.Report) {
	writeMDHeading(b, mdMatrix)
	if len(r.Cells) == 0 {
		b.WriteString("No cells.\n")
		return
	}
	g := newGrid(r)
	b.WriteString("| provider |")
	for _, m := range g.modes {
		for _, l := range g.loops {
			fmt.Fprintf(b, " %s/%s |", MarkdownText(string(m)), MarkdownText(abbrevLoop(l)))
		}
	}
	b.WriteString("\n| --- |")
	for range len(g.modes) * len(g.loops) {
		b.WriteString(" :-: |")
	}
	b.WriteString("\n")
	for _, prov := range g.providers {
		fmt.Fprintf(b, "| %s |", MarkdownText(prov))
		for _, m := range g.modes {
			for _, l := range g.loops {
				code := "-"
				if c, ok := g.cells[scan.Cell{Provider: prov, Mode: m, Loop: l}.Key()]; ok {
					code = MarkdownText(c.Class.Code())
					if c.LoopFailure() {
						code = "**" + code + "**"
					}
				}
				fmt.Fprintf(b, " %s |", code)
			}
		}
		b.WriteString("\n")
	}

	present := map[diag.Class]int{}
	for _, c := range r.Cells {
		present[c.Class]++
	}
	var legend []string
	for _, c := range diag.OrderedClasses(present) {
		legend = append(legend, fmt.Sprintf("%s %s: %s", MarkdownCode(c.Code()), MarkdownText(string(c)), MarkdownText(c.Meaning())))
	}
	if missingCells(g) {
		legend = append(legend, "`-` not in the scan")
	}
	fmt.Fprintf(b, "\n**Legend:** %s. Bold: fails like the documented loop conflict.\n", strings.Join(legend, " · "))
	var loops []string
	for _, l := range g.loops {
		loops = append(loops, MarkdownCode(abbrevLoop(l))+" "+MarkdownText(l.Meaning()))
	}
	fmt.Fprintf(b, "\n**Loops:** %s.\n", strings.Join(loops, " · "))
}

func writeMDSummary(b *bytes.Buffer, r report.Report) {
	writeMDHeading(b, mdSummary)
	s := r.Summary
	var counts []string
	for _, c := range diag.OrderedClasses(s.Counts) {
		counts = append(counts, fmt.Sprintf("%d %s", s.Counts[c], MarkdownText(string(c))))
	}
	fmt.Fprintf(b, "- **Cells:** %d", s.Cells)
	if len(counts) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(counts, ", "))
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "- **Documented loop conflict** reproduced in %d cell%s\n", s.Conflict, diag.Plural(s.Conflict))
	fmt.Fprintf(b, "- **Loop failures:** %d cell%s\n", s.LoopFailures, diag.Plural(s.LoopFailures))
	fmt.Fprintf(b, "- **Likely cause:** %s\n", MarkdownText(s.LikelyCause))
	if line := remedyTally(r); line != "" {
		fmt.Fprintf(b, "- **Remedies:** %s\n", line)
	}
}

// remedyTally says, per remedy, how many of the cells it was run for it fixed.
func remedyTally(r report.Report) string {
	fixed, ran := map[scan.Remedy]int{}, map[scan.Remedy]int{}
	var order []scan.Remedy
	for _, c := range r.Cells {
		for _, rem := range c.Remedies {
			if rem.Outcome == diag.OutcomeNotRun {
				continue
			}
			if _, seen := ran[rem.Remedy]; !seen {
				order = append(order, rem.Remedy)
			}
			ran[rem.Remedy]++
			if rem.Outcome == diag.OutcomeFixes {
				fixed[rem.Remedy]++
			}
		}
	}
	sortRemedyNames(order)
	parts := make([]string, len(order))
	for i, rem := range order {
		parts[i] = fmt.Sprintf("%s fixes %d of %d", MarkdownCode(string(rem)), fixed[rem], ran[rem])
	}
	return strings.Join(parts, "; ")
}

// sortRemedyNames orders remedies as scan.AllRemedies does, unknown ones last.
func sortRemedyNames(rs []scan.Remedy) {
	rank := map[scan.Remedy]int{}
	for i, r := range scan.AllRemedies {
		rank[r] = i + 1
	}
	key := func(r scan.Remedy) int {
		if k, ok := rank[r]; ok {
			return k
		}
		return len(rank) + 1
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (key(rs[j]) < key(rs[j-1]) || key(rs[j]) == key(rs[j-1]) && rs[j] < rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// mdCellTitle is "provider mode/loop", escaped.
func mdCellTitle(c diag.CellReport) string {
	return MarkdownText(c.Provider) + " " + MarkdownText(string(c.Mode)) + "/" + MarkdownText(string(c.Loop))
}

// writeMDFailing writes one section per failing cell, loop failures first.
// A cell that failed exactly like one shown above refers to it instead of
// repeating the evidence. Sections that would take the report past mdLimit
// (tail is the size of what follows) become one line each at the end: the
// first cell of each kind of failure gets its evidence before any repeat.
func writeMDFailing(b *bytes.Buffer, r report.Report, tail int) {
	writeMDHeading(b, mdFailingCells)
	var loop, other []diag.CellReport
	for _, c := range r.Cells {
		switch {
		case !c.Failing():
		case c.LoopFailure():
			loop = append(loop, c)
		default:
			other = append(other, c)
		}
	}
	cells := append(loop, other...)
	if len(cells) == 0 {
		b.WriteString("No cell failed.\n")
		return
	}
	fmt.Fprintf(b, "%d failing cell%s, loop failures first.\n", len(cells), diag.Plural(len(cells)))

	// Start from every cell on one line, then give sections to the cells
	// they fit for: first the first cell of each kind of failure, in
	// order, then the repeats of those shown.
	budget := mdLimit - b.Len() - tail - len(mdCompactIntro(len(cells)))
	keys := make([]string, len(cells))
	compact := make([]string, len(cells))
	used := 0
	for i, c := range cells {
		keys[i] = sameFailureKey(c)
		compact[i] = mdCompactLine(c)
		used += len(compact[i])
	}
	shown := make([]string, len(cells))
	firstOf := map[string]int{}
	for i, c := range cells {
		if _, seen := firstOf[keys[i]]; seen {
			continue
		}
		var sec bytes.Buffer
		writeMDCellHeading(&sec, c)
		writeMDCell(&sec, c)
		if used-len(compact[i])+sec.Len() <= budget {
			firstOf[keys[i]] = i
			shown[i] = sec.String()
			used += sec.Len() - len(compact[i])
		}
	}
	for i, c := range cells {
		first, ok := firstOf[keys[i]]
		if !ok || first == i {
			continue
		}
		var sec bytes.Buffer
		writeMDCellHeading(&sec, c)
		writeMDField(&sec, "Signature", MarkdownCode(c.Signature))
		writeMDField(&sec, "Evidence", MarkdownCode(c.Evidence))
		fmt.Fprintf(&sec, "\nSame failure as **%s** above.\n", mdCellTitle(cells[first]))
		if used-len(compact[i])+sec.Len() <= budget {
			shown[i] = sec.String()
			used += sec.Len() - len(compact[i])
		}
	}
	var rest []string
	for i := range cells {
		if shown[i] != "" {
			b.WriteString(shown[i])
		} else {
			rest = append(rest, compact[i])
		}
	}
	if len(rest) == 0 {
		return
	}
	b.WriteString(mdCompactIntro(len(rest)))
	for i, line := range rest {
		if b.Len()+len(line)+tail > mdLimit {
			fmt.Fprintf(b, "- … and %d more\n", len(rest)-i)
			return
		}
		b.WriteString(line)
	}
}

func writeMDCellHeading(b *bytes.Buffer, c diag.CellReport) {
	fmt.Fprintf(b, "\n### %s: %s\n\n", mdCellTitle(c), MarkdownText(string(c.Class)))
}

// sameFailureKey groups cells that failed the same way, with the same
// evidence: only the first of them shows its traceback and stacks.
func sameFailureKey(c diag.CellReport) string {
	h, _ := diag.SummarizeHang(c)
	return strings.Join([]string{c.Provider, string(c.Class), c.Signature, c.Evidence, c.Frame, h.Sentence}, "\x00")
}

func mdCompactIntro(n int) string {
	return fmt.Sprintf("\nThe other %d failing cell%s, one line each (the whole evidence would not fit an issue; `g4fdiag repro` shows it):\n\n",
		n, diag.Plural(n))
}

// mdCompactLine is a failing cell on one line.
func mdCompactLine(c diag.CellReport) string {
	return fmt.Sprintf("- **%s:** %s %s %s\n", mdCellTitle(c), MarkdownText(string(c.Class)), MarkdownCode(c.Signature), MarkdownCode(c.Evidence))
}

func writeMDField(b *bytes.Buffer, name, value string) {
	if value != "" {
		fmt.Fprintf(b, "- **%s:** %s\n", name, value)
	}
}

func writeMDCell(b *bytes.Buffer, c diag.CellReport) {
	writeMDField(b, "Signature", MarkdownCode(c.Signature))
	writeMDField(b, "Evidence", MarkdownCode(c.Evidence))
	writeMDField(b, "Frame", MarkdownCode(c.Frame))
	if c.User != nil {
		writeMDField(b, "Your code", MarkdownCode(userFrameText(c.User)))
	}
	writeMDField(b, "Why", MarkdownText(c.Explanation))
	writeMDField(b, "Remedy", MarkdownText(c.Remedy))
	cell := fmt.Sprintf("ended %s after %s; concurrency %d, repeat %d", MarkdownText(string(c.End)), diag.FormatDuration(c.DurationMS), c.Concurrency, c.Repeat)
	if c.Model != "" {
		cell = "model " + MarkdownCode(c.Model) + "; " + cell
	}
	writeMDField(b, "Cell", cell)
	if len(c.Split) > 0 {
		var parts []string
		for _, cl := range diag.OrderedClasses(c.Split) {
			parts = append(parts, fmt.Sprintf("%d %s", c.Split[cl], MarkdownText(string(cl))))
		}
		writeMDField(b, "Calls", strings.Join(parts, ", "))
	}
	call, hasCall := representativeCall(c)
	if hasCall {
		s := fmt.Sprintf("#%d of round %d, %s after %s", call.Index, call.Round, MarkdownText(string(call.Outcome)), diag.FormatDuration(call.DurationMS))
		if call.Chunks > 0 {
			s += fmt.Sprintf(", %d chunk%s", call.Chunks, diag.Plural(call.Chunks))
		}
		writeMDField(b, "Call", s)
		if call.HTTPStatus != 0 {
			writeMDField(b, "HTTP", fmt.Sprintf("status %d, first byte after %s, %d SSE frame%s", call.HTTPStatus,
				diag.FormatDuration(call.FirstByteMS), call.Frames, diag.Plural(call.Frames)))
		}
	}
	if wk := c.Worker; wk != nil {
		info := fmt.Sprintf("pid %d", wk.PID)
		if wk.ExitStatus != "" {
			info += ", " + MarkdownCode(wk.ExitStatus)
		}
		writeMDField(b, "Worker", info)
	}
	if hasCall {
		writeMDChain(b, call)
		writeMDBlock(b, "Server log for this request", tail(call.ServerLog, outputTail), false)
	}
	writeMDStreamTiming(b, c)
	writeMDHang(b, c)
	if s := c.Stacks; s != nil {
		head := "Loop thread stack"
		if s.BlockedMS > 0 {
			head += " (heartbeat missed for " + diag.FormatDuration(s.BlockedMS) + ")"
		}
		writeMDBlock(b, head, tail(s.LoopThread, stackTail), true)
		writeMDBlock(b, "Pending asyncio tasks", tail(s.Tasks, stackTail), true)
		writeMDBlock(b, "Threads", tail(relevantThreads(s.Threads, c.Provider), stackTail), true)
	}
	if wk := c.Worker; wk != nil {
		writeMDBlock(b, "Worker stderr", tail(wk.StderrTail, outputTail), true)
	}
	writeMDBlock(b, "Provider output", tail(c.Log, outputTail), true)
}

// writeMDChain writes a call's exception chain and the traceback of the
// exception its verdict matched.
func writeMDChain(b *bytes.Buffer, call scan.Call) {
	if len(call.Chain) == 0 {
		return
	}
	b.WriteString("\n**Exception chain** (raised first):\n\n")
	for i, e := range call.Chain {
		fmt.Fprintf(b, "%d. %s%s\n", i+1, chainLink(i, e), MarkdownCode(truncateRunes(diag.SingleLine(pytext.FormatExceptionLine(e.Type, e.Message, pytext.LineFull)), 400, "…")))
	}
	_, idx, ok := diag.MatchChain(call.Chain)
	if !ok {
		idx = 0
	}
	e, tb := pytext.Representative(call.Chain, idx)
	tb = pytext.StripCarets(tb)
	writeMDBlock(b, fmt.Sprintf("Traceback of %s (last %d lines)", MarkdownCode(pytext.ShortType(e.Type)), tracebackTail), tail(tb, tracebackTail), false)
}

func writeMDStreamTiming(b *bytes.Buffer, c diag.CellReport) {
	if !c.Mode.Streaming() || len(c.Calls) == 0 {
		return
	}
	var lines []string
	for i, call := range c.Calls {
		if i == maxCallLines {
			lines = append(lines, fmt.Sprintf("… %d more calls", len(c.Calls)-maxCallLines))
			break
		}
		s := fmt.Sprintf("call #%d round %d: %s, %d chunk%s", call.Index, call.Round, call.Outcome, call.Chunks, diag.Plural(call.Chunks))
		if call.Chunks > 0 {
			s += fmt.Sprintf(", first at %s, max gap %s, last at %s", diag.FormatDuration(call.FirstChunkMS), diag.FormatDuration(call.MaxGapMS), diag.FormatDuration(call.LastChunkMS))
		}
		lines = append(lines, s+", ran "+diag.FormatDuration(call.DurationMS))
	}
	writeMDBlock(b, "Stream timing", strings.Join(lines, "\n"), false)
}

// writeMDHang writes the hang summary of a cell that hung.
func writeMDHang(b *bytes.Buffer, c diag.CellReport) {
	h, ok := diag.SummarizeHang(c)
	if !ok {
		return
	}
	fmt.Fprintf(b, "\n**Hang:** %s\n\n", MarkdownText(h.Sentence))
	writeMDField(b, "Loop thread", MarkdownCode(h.LoopThread))
	waits := MarkdownText(h.WaitsOn)
	if h.WaitFrame != "" {
		waits = strings.TrimSpace(waits + " from " + MarkdownCode(h.WaitFrame))
	}
	writeMDField(b, "Waits on", waits)
	writeMDField(b, "Re-entered the loop at", MarkdownCode(h.Reentered))
}

// writeMDBlock writes untrusted text in a fenced block under a bold label;
// folded, it sits in a <details> element GitHub shows closed.
func writeMDBlock(b *bytes.Buffer, label, text string, folded bool) {
	if diag.Blank(text) {
		return
	}
	if folded {
		fmt.Fprintf(b, "\n<details><summary>%s</summary>\n\n%s\n</details>\n", label, mdFence(text, "text"))
		return
	}
	fmt.Fprintf(b, "\n**%s:**\n\n%s", label, mdFence(text, "text"))
}

func writeMDReproduction(b *bytes.Buffer, o Options) {
	writeMDHeading(b, mdReproduction)
	if note := strings.TrimSpace(diag.Clean(o.ScriptNote)); note != "" {
		var lines []string
		for _, l := range strings.Split(note, "\n") {
			if l = MarkdownText(l); l != "" {
				lines = append(lines, l)
			}
		}
		b.WriteString(strings.Join(lines, "\\\n") + "\n\n")
	}
	if diag.Blank(o.Script) {
		b.WriteString("No reproduction script is attached to this report.\n")
		return
	}
	b.WriteString(mdFence(o.Script, "python"))
}

func writeMDRemedies(b *bytes.Buffer, r report.Report) {
	writeMDHeading(b, mdRemedies)
	providers, rows := remedyRows(r)
	if len(providers) == 0 {
		b.WriteString("No remedy was tried (`g4fdiag check --verify-fixes` re-runs each loop failure under each known fix).\n")
		return
	}
	b.WriteString("Each loop failure re-run under each known fix (`--verify-fixes`): **fixes** = the re-run answered; " +
		"no change = it fails the same way; → = it fails another way; not run = the fix does not apply.\n")
	for _, prov := range providers {
		var rems []scan.Remedy
		seen := map[scan.Remedy]bool{}
		for _, c := range rows[prov] {
			for _, res := range c.Remedies {
				if !seen[res.Remedy] {
					seen[res.Remedy] = true
					rems = append(rems, res.Remedy)
				}
			}
		}
		sortRemedyNames(rems)
		fmt.Fprintf(b, "\n**%s**\n\n| failing cell |", MarkdownText(prov))
		for _, rem := range rems {
			fmt.Fprintf(b, " %s |", MarkdownText(string(rem)))
		}
		b.WriteString("\n| --- |")
		for range rems {
			b.WriteString(" --- |")
		}
		b.WriteString("\n")
		var changes []string
		for _, c := range rows[prov] {
			fmt.Fprintf(b, "| %s/%s: %s |", MarkdownText(string(c.Mode)), MarkdownText(string(c.Loop)), MarkdownText(string(c.Class)))
			for _, rem := range rems {
				entry := "-"
				for _, res := range c.Remedies {
					if res.Remedy != rem {
						continue
					}
					entry = mdRemedyEntry(c, res)
					if res.Outcome == diag.OutcomeChanges && res.Cell != nil {
						changes = append(changes, fmt.Sprintf("- %s/%s with %s: %s %s %s", MarkdownText(string(c.Mode)), MarkdownText(string(c.Loop)),
							MarkdownCode(string(rem)), MarkdownText(string(res.Cell.Class)), MarkdownCode(res.Cell.Signature), MarkdownCode(res.Cell.Evidence)))
					}
				}
				fmt.Fprintf(b, " %s |", entry)
			}
			b.WriteString("\n")
		}
		if len(changes) > 0 {
			b.WriteString("\n" + strings.Join(changes, "\n") + "\n")
		}
	}
}

// mdRemedyEntry is how a remedy's outcome reads in a table cell: "fixes",
// "no change (loop-reentry)", "→ timeout", "not run: why".
func mdRemedyEntry(c diag.CellReport, res diag.RemedyResult) string {
	switch res.Outcome {
	case diag.OutcomeFixes:
		return "**fixes**"
	case diag.OutcomeNoChange:
		class := c.Class
		if res.Cell != nil {
			class = res.Cell.Class
		}
		return "no change (" + MarkdownText(string(class)) + ")"
	case diag.OutcomeChanges:
		if res.Cell != nil {
			return "→ " + MarkdownText(string(res.Cell.Class))
		}
		return "changes"
	case diag.OutcomeNotRun:
		if note := strings.TrimSuffix(diag.SingleLine(res.Note), " (not run)"); note != "" {
			return "not run: " + MarkdownText(note)
		}
		return "not run"
	}
	return MarkdownText(res.Outcome)
}

// mdSpecial are the characters Markdown (CommonMark and GitHub's
// extensions: tables, strikethrough, autolinks, entities) may act on inside
// a line.
const mdSpecial = "\\`*_[]<>|~&#"

// mdText is untrusted text made safe for Markdown prose, headings and table
// cells: cleaned, on one line, with the characters Markdown acts on
// backslash-escaped. An underscore inside a word (nest_asyncio) opens no
// emphasis and stays as it is.
func MarkdownText(s string) string {
	s = diag.SingleLine(s)
	if !strings.ContainsAny(s, mdSpecial) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if strings.ContainsRune(mdSpecial, r) && !(r == '_' && i > 0 && i+1 < len(rs) && wordRune(rs[i-1]) && wordRune(rs[i+1])) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mdCode is untrusted text as an inline code span: cleaned, on one line,
// delimited by more backticks than it holds. Not for table cells: a pipe in
// it would end the cell.
func MarkdownCode(s string) string {
	s = diag.SingleLine(s)
	if s == "" {
		return ""
	}
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// mdFence is untrusted text as a fenced code block: cleaned, and fenced
// with more backticks than any run in it, so no line of it closes the fence.
func mdFence(text, info string) string {
	text = diag.Clean(text)
	lines := strings.Split(strings.TrimRight(text, "\n "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	text = strings.Join(lines, "\n")
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return fence + info + "\n" + text + "\n" + fence + "\n"
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
