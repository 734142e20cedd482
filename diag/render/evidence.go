package render

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// How much of each piece of evidence Evidence prints.
const (
	tracebackTail = 25
	stackTail     = 60
	outputTail    = 20
	maxCallLines  = 10
)

// Evidence writes, for every failing cell of the report (every class
// but ok, skipped, not-working and unavailable), what a bug report needs:
// the verdict and why, the remedy, the exception chain and traceback of a
// representative call, the hang evidence, the stream timing, the worker's
// stderr and what the provider printed. It is the output of g4fdiag repro.
func Evidence(w io.Writer, r report.Report, o Options) error {
	p := NewPainter(o.Color)
	var buf bytes.Buffer
	failing := 0
	for _, c := range r.Cells {
		if c.Failing() {
			failing++
		}
	}
	fmt.Fprintf(&buf, "%s %d failing cell%s of %d\n", p.Bold("evidence:"), failing, diag.Plural(failing), len(r.Cells))
	fmt.Fprintf(&buf, "environment: %s\n", environmentLine(r.Environment))
	if loops := loopsLine(r.Environment); loops != "" {
		fmt.Fprintf(&buf, "loops available: %s\n", loops)
	}
	for _, c := range r.Cells {
		if c.Failing() {
			writeCellEvidence(&buf, c, p)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeCellEvidence(buf *bytes.Buffer, c diag.CellReport, p *Painter) {
	title := fmt.Sprintf("%s %s/%s: %s", diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)), p.Paint(c.Class, string(c.Class)))
	fmt.Fprintf(buf, "\n%s %s %s\n", p.Bold("=="), title, p.Bold("=="))
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(buf, "%-12s %s\n", name+":", value)
		}
	}
	field("signature", diag.SingleLine(c.Signature))
	field("evidence", diag.SingleLine(c.Evidence))
	field("frame", diag.SingleLine(c.Frame))
	field("your code", userFrameText(c.User))
	field("why", c.Explanation)
	field("remedy", c.Remedy)
	if c.Model != "" {
		field("model", diag.SingleLine(c.Model))
	}
	field("cell", fmt.Sprintf("ended %s after %s; concurrency %d, repeat %d", diag.SingleLine(string(c.End)), diag.FormatDuration(c.DurationMS), c.Concurrency, c.Repeat))
	if len(c.Split) > 0 {
		var parts []string
		for _, cl := range diag.OrderedClasses(c.Split) {
			parts = append(parts, fmt.Sprintf("%d %s", c.Split[cl], cl))
		}
		field("calls", strings.Join(parts, ", "))
	}
	if call, ok := representativeCall(c); ok {
		writeCallEvidence(buf, c, call)
	}
	writeStreamTiming(buf, c)
	writeHang(buf, c)
	if s := c.Stacks; s != nil {
		if s.LoopThread != "" {
			head := "loop thread stack"
			if s.BlockedMS > 0 {
				head += " (heartbeat missed for " + diag.FormatDuration(s.BlockedMS) + ")"
			}
			block(buf, head, tail(s.LoopThread, stackTail))
		}
		block(buf, "pending asyncio tasks", tail(s.Tasks, stackTail))
		block(buf, "threads", tail(relevantThreads(s.Threads, c.Provider), stackTail))
	}
	if wk := c.Worker; wk != nil {
		info := "pid " + strconv.Itoa(wk.PID)
		if wk.ExitStatus != "" {
			info += ", " + diag.SingleLine(wk.ExitStatus)
		}
		field("worker", info)
		block(buf, "worker stderr", tail(wk.StderrTail, outputTail))
	}
	block(buf, "provider output", tail(c.Log, outputTail))
}

// representativeCall is the first call that failed the way the cell's
// verdict says.
func representativeCall(c diag.CellReport) (scan.Call, bool) {
	var firstFailing = -1
	for i, call := range c.Calls {
		v := diag.ClassifyCall(c.Observation, call)
		if v.Signature == c.Signature && v.Class != diag.ClassOK {
			return call, true
		}
		if firstFailing < 0 && v.Class != diag.ClassOK {
			firstFailing = i
		}
	}
	if firstFailing >= 0 {
		return c.Calls[firstFailing], true
	}
	return scan.Call{}, false
}

func writeCallEvidence(buf *bytes.Buffer, c diag.CellReport, call scan.Call) {
	fmt.Fprintf(buf, "%-12s #%d of round %d, %s after %s", "call:", call.Index, call.Round, diag.SingleLine(string(call.Outcome)), diag.FormatDuration(call.DurationMS))
	if call.Chunks > 0 {
		fmt.Fprintf(buf, ", %d chunk%s", call.Chunks, diag.Plural(call.Chunks))
	}
	buf.WriteString("\n")
	if call.HTTPStatus != 0 {
		fmt.Fprintf(buf, "%-12s HTTP %d, first byte after %s, %d SSE frame%s\n", "http:", call.HTTPStatus,
			diag.FormatDuration(call.FirstByteMS), call.Frames, diag.Plural(call.Frames))
	}
	block(buf, "server log for this request", tail(call.ServerLog, outputTail))
	if len(call.Chain) == 0 {
		return
	}
	buf.WriteString("exception chain (raised first):\n")
	for i, e := range call.Chain {
		fmt.Fprintf(buf, "  %s%s\n", chainLink(i, e), truncateRunes(diag.SingleLine(pytext.FormatExceptionLine(e.Type, e.Message, pytext.LineEvidence)), 400, "…"))
	}
	_, idx, ok := diag.MatchChain(call.Chain)
	if !ok {
		idx = 0
	}
	e, tb := pytext.Representative(call.Chain, idx)
	block(buf, fmt.Sprintf("traceback of %s (last %d lines)", diag.SingleLine(pytext.ShortType(e.Type)), tracebackTail), tail(tb, tracebackTail))
}

func writeStreamTiming(buf *bytes.Buffer, c diag.CellReport) {
	if !c.Mode.Streaming() {
		return
	}
	var lines []string
	for _, call := range c.Calls {
		if len(lines) == maxCallLines {
			lines = append(lines, fmt.Sprintf("… %d more calls", len(c.Calls)-maxCallLines))
			break
		}
		s := fmt.Sprintf("call #%d round %d: %s, %d chunk%s", call.Index, call.Round, diag.SingleLine(string(call.Outcome)), call.Chunks, diag.Plural(call.Chunks))
		if call.Chunks > 0 {
			s += fmt.Sprintf(", first at %s, max gap %s, last at %s", diag.FormatDuration(call.FirstChunkMS), diag.FormatDuration(call.MaxGapMS), diag.FormatDuration(call.LastChunkMS))
		}
		s += ", ran " + diag.FormatDuration(call.DurationMS)
		lines = append(lines, s)
	}
	block(buf, "stream timing", strings.Join(lines, "\n"))
}

// block prints a heading and untrusted text indented under it.
func block(buf *bytes.Buffer, heading, text string) {
	text = strings.TrimRight(diag.Clean(text), "\n ")
	if strings.TrimSpace(text) == "" {
		return
	}
	fmt.Fprintf(buf, "%s:\n", heading)
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(buf, "  %s\n", strings.TrimRight(l, " \t\r"))
	}
}

// tail is the last n lines of s, with a note of how many were left out.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return fmt.Sprintf("… %d earlier lines\n", len(lines)-n) + strings.Join(lines[len(lines)-n:], "\n")
}

// relevantThreads keeps the threads of a faulthandler dump that run g4f or
// the provider's code; all of them when none does.
func relevantThreads(dump, provider string) string {
	if strings.TrimSpace(dump) == "" {
		return ""
	}
	var keep []string
	for _, b := range pytext.SplitThreads(strings.TrimRight(dump, "\n"), pytext.HeaderDisplay) {
		text := strings.TrimSuffix(b, "\n")
		if strings.Contains(pytext.SlashPath(text), "/g4f/") || (provider != "" && strings.Contains(text, provider)) {
			keep = append(keep, text)
		}
	}
	if len(keep) == 0 {
		return dump
	}
	return strings.Join(keep, "\n\n")
}

// chainLink says how the i-th exception of a chain (raised first) links to
// the one before it.
func chainLink(i int, e scan.PyException) string {
	switch {
	case i == 0:
		return ""
	case e.Relation == "cause":
		return "caused by: "
	case e.Relation == "context":
		return "raised while handling: "
	}
	return "then: "
}
