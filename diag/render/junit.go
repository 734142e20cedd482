package render

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// renderJUnit writes the report as JUnit XML for CI test reporters: one
// <testsuite> per loop ("g4fdiag uvloop"), one <testcase> per cell (classname
// "g4fdiag.<provider>", name "<mode>/<loop>"). Remedy re-runs are not test
// cases: their outcomes are part of the failure they were tried for.
//
// What counts as a failure is what sets exit code 1 (DESIGN.md §7), read
// from the run's gate (report.Gate): a cell in the --fail-on set (by
// default, one that fails like the documented loop conflict) or, with
// --baseline, a new failure, is a <failure> whose type is the cell's class
// and whose message is "<signature>: <evidence>"; its body holds the
// explanation, the remedy, the frame, the exception chain and traceback tail
// of a representative call, the hang evidence and the remedies tried. Every
// other failing cell (outside the set, or failing as it did in the
// baseline) passes, with a note in its <system-out> saying why it does not
// fail the run; a cell fixed since the baseline says so there too. A JUnit
// consumer turns any <failure> or <error> red: the XML and the exit code
// must agree. No <error> is ever written, for the same reason. Cells that
// did not run (skipped, not-working, unavailable) are <skipped>.
//
// Each <testsuite> carries a timestamp (when its first cell started, UTC,
// without a zone, as Ant writes it) and the hostname of the scan; a
// testcase whose failure has a place in code a repository can hold
// (codeLocation) carries file and line. The document validates against
// the Jenkins xunit plugin's JUnit schema and a strict schema of Ant's
// format (testdata/*.xsd): no attribute either does not know, such as
// skipped on <testsuites>.
//
// Untrusted text is cleaned and redacted, stripped of the characters XML 1.0
// does not allow, and escaped (markup characters always, line breaks in
// attributes), so the document is well-formed whatever a provider printed;
// the tests read it back with a strict encoding/xml decoder and go-junit.
func renderJUnit(w io.Writer, r report.Report, _ Options) error {
	gv := newGateView(r)
	var suites []junitSuite
	var total junitCounts
	for _, l := range newGrid(r).loops {
		s := junitSuite{loop: l}
		for _, c := range r.Cells {
			if c.Loop == l {
				s.cells = append(s.cells, c)
				s.counts.add(c, gv)
				if !c.Started.IsZero() && (s.start.IsZero() || c.Started.Before(s.start)) {
					s.start = c.Started
				}
			}
		}
		total.merge(s.counts)
		suites = append(suites, s)
	}

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString("<testsuites")
	xmlAttr(&b, "name", diag.OrDefault(diag.SingleLine(r.Tool), "g4fdiag"))
	xmlAttr(&b, "tests", strconv.Itoa(total.tests))
	xmlAttr(&b, "failures", strconv.Itoa(total.failures))
	xmlAttr(&b, "errors", "0")
	xmlAttr(&b, "time", junitSeconds(total.ms))
	b.WriteString(">\n")
	props := junitProperties(r, gv)
	var first time.Time
	for _, s := range suites {
		if !s.start.IsZero() && (first.IsZero() || s.start.Before(first)) {
			first = s.start
		}
	}
	host := diag.OrDefault(xmlToken(r.Environment.Hostname), "localhost")
	for _, s := range suites {
		if s.start.IsZero() {
			s.start = first // a suite none of whose cells ran: the scan's start
		}
		writeJUnitSuite(&b, r, s, props, host, gv)
	}
	b.WriteString("</testsuites>\n")
	_, err := w.Write(b.Bytes())
	return err
}

type junitSuite struct {
	loop   scan.Loop
	cells  []diag.CellReport
	counts junitCounts
	start  time.Time // when its first cell started; zero if none did
}

// junitCounts are the attributes JUnit reporters total: tests, failures,
// errors (always 0), skipped and time.
type junitCounts struct {
	tests, failures, skipped int
	ms                       float64
}

func (k *junitCounts) add(c diag.CellReport, gv gateView) {
	k.tests++
	k.ms += junitMS(c.DurationMS)
	switch {
	case gv.standing(c) == standingFails:
		k.failures++
	case junitSkipped(c):
		k.skipped++
	}
}

func (k *junitCounts) merge(o junitCounts) {
	k.tests += o.tests
	k.failures += o.failures
	k.skipped += o.skipped
	k.ms += o.ms
}

// attrs writes a <testsuite>'s counts.
func (k junitCounts) attrs(b *bytes.Buffer) {
	xmlAttr(b, "tests", strconv.Itoa(k.tests))
	xmlAttr(b, "failures", strconv.Itoa(k.failures))
	xmlAttr(b, "errors", "0")
	xmlAttr(b, "skipped", strconv.Itoa(k.skipped))
	xmlAttr(b, "time", junitSeconds(k.ms))
}

// junitMS is a duration fit for a sum: no NaN, nothing negative.
func junitMS(ms float64) float64 {
	if math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0 {
		return 0
	}
	return ms
}

// junitSeconds is a duration in milliseconds as JUnit's time attribute:
// seconds, three decimals.
func junitSeconds(ms float64) string {
	return strconv.FormatFloat(junitMS(ms)/1000, 'f', 3, 64)
}

// junitProperties describe the scan; every suite carries them, since many
// reporters read properties per suite only.
func junitProperties(r report.Report, gv gateView) [][2]string {
	e := r.Environment
	props := [][2]string{
		{"tool", strings.TrimSpace(diag.SingleLine(r.Tool) + " " + diag.SingleLine(r.Version))},
		{"command", diag.SingleLine(r.Command)},
		{"python", strings.TrimSpace(diag.SingleLine(e.PythonVersion) + " " + diag.SingleLine(e.Python))},
		{"g4f.version", diag.SingleLine(e.G4FVersion)},
		{"g4f.path", diag.SingleLine(e.G4FPath)},
		{"g4f.nest_module", diag.SingleLine(e.NestModule)},
		{"likely_cause", diag.SingleLine(r.Summary.LikelyCause)},
		{"fail_on", gv.failOn()},
		{"gate", gv.line()},
	}
	if gv.gate.Baseline != "" {
		props = append(props, [2]string{"baseline", diag.SingleLine(gv.gate.Baseline)})
	}
	if e.Demo {
		props = append(props, [2]string{"g4f.demo", "true"})
	}
	if r.Interrupted {
		props = append(props, [2]string{"interrupted", "true"})
	}
	return props
}

func writeJUnitSuite(b *bytes.Buffer, r report.Report, s junitSuite, props [][2]string, host string, gv gateView) {
	b.WriteString("  <testsuite")
	xmlAttr(b, "name", "g4fdiag "+diag.SingleLine(string(s.loop)))
	s.counts.attrs(b)
	xmlAttr(b, "timestamp", junitTimestamp(s.start))
	xmlAttr(b, "hostname", host)
	b.WriteString(">\n    <properties>\n")
	loopProps := [][2]string{{"loop", diag.SingleLine(string(s.loop))}, {"loop.meaning", s.loop.Meaning()}}
	for _, li := range r.Environment.Loops {
		if li.Loop != s.loop {
			continue
		}
		loopProps = append(loopProps, [2]string{"loop.available", strconv.FormatBool(li.Available)})
		if pkg := strings.TrimSpace(diag.SingleLine(li.Package) + " " + diag.SingleLine(li.Version)); pkg != "" {
			loopProps = append(loopProps, [2]string{"loop.package", pkg})
		}
		if li.Reason != "" {
			loopProps = append(loopProps, [2]string{"loop.reason", diag.SingleLine(li.Reason)})
		}
	}
	for _, p := range append(loopProps, props...) {
		if p[1] == "" {
			continue
		}
		b.WriteString("      <property")
		xmlAttr(b, "name", p[0])
		xmlAttr(b, "value", p[1])
		b.WriteString("/>\n")
	}
	b.WriteString("    </properties>\n")
	for _, c := range s.cells {
		writeJUnitCase(b, c, gv)
	}
	b.WriteString("  </testsuite>\n")
}

func writeJUnitCase(b *bytes.Buffer, c diag.CellReport, gv gateView) {
	var inner bytes.Buffer
	var out strings.Builder
	standing := gv.standing(c)
	switch {
	case standing == standingFails:
		inner.WriteString("      <failure")
		xmlAttr(&inner, "type", diag.SingleLine(string(c.Class)))
		xmlAttr(&inner, "message", junitMessage(c))
		inner.WriteString(">")
		xmlText(&inner, junitFailureBody(c))
		inner.WriteString("</failure>\n")
	case junitSkipped(c):
		inner.WriteString("      <skipped")
		xmlAttr(&inner, "message", junitMessage(c))
		inner.WriteString("/>\n")
	case c.Failing():
		why := "not in --fail-on " + gv.failOn()
		if standing == standingStill {
			why = "still failing, as in the baseline"
		}
		fmt.Fprintf(&out, "g4fdiag: does not fail the run (%s): %s [%s] %s\n", why, diag.SingleLine(string(c.Class)), diag.SingleLine(c.Signature), diag.SingleLine(c.Evidence))
		if c.Frame != "" {
			fmt.Fprintf(&out, "frame: %s\n", diag.SingleLine(c.Frame))
		}
		if c.User != nil {
			fmt.Fprintf(&out, "%s\n", diag.YourCode(c.User))
		}
		if c.Explanation != "" {
			fmt.Fprintf(&out, "why: %s\n", diag.SingleLine(c.Explanation))
		}
		if c.Remedy != "" {
			fmt.Fprintf(&out, "remedy: %s\n", diag.SingleLine(c.Remedy))
		}
	case standing == standingFixed:
		fmt.Fprintf(&out, "g4fdiag: fixed since the baseline, where it failed: %s\n", gv.fixed[c.Key()].String())
	}
	if log := strings.TrimRight(diag.Clean(tail(c.Log, outputTail)), "\n "); !diag.Blank(log) {
		if out.Len() > 0 {
			out.WriteString("\n")
		}
		out.WriteString("provider output:\n" + log + "\n")
	}
	if out.Len() > 0 {
		inner.WriteString("      <system-out>")
		xmlText(&inner, out.String())
		inner.WriteString("</system-out>\n")
	}
	if wk := c.Worker; wk != nil && !diag.Blank(wk.StderrTail) {
		inner.WriteString("      <system-err>")
		xmlText(&inner, "worker stderr:\n"+strings.TrimRight(diag.Clean(tail(wk.StderrTail, outputTail)), "\n ")+"\n")
		inner.WriteString("</system-err>\n")
	}

	b.WriteString("    <testcase")
	xmlAttr(b, "classname", "g4fdiag."+diag.SingleLine(c.Provider))
	xmlAttr(b, "name", diag.SingleLine(string(c.Mode))+"/"+diag.SingleLine(string(c.Loop)))
	xmlAttr(b, "time", junitSeconds(c.DurationMS))
	if file, line, ok := codeLocation(c); ok {
		xmlAttr(b, "file", file)
		xmlAttr(b, "line", strconv.Itoa(line))
	}
	if inner.Len() == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	b.Write(inner.Bytes())
	b.WriteString("    </testcase>\n")
}

// junitSkipped reports whether a cell is a skipped test case: it did not run
// (skipped, not-working, unavailable).
func junitSkipped(c diag.CellReport) bool { return !c.Failing() && c.Class != diag.ClassOK }

// junitMessage is the one-line message of a failure or a skip: the signature
// and the evidence for a failure, the class and the reason for a skip.
func junitMessage(c diag.CellReport) string {
	if c.Failing() {
		return diag.SingleLine(c.Signature) + ": " + diag.SingleLine(c.Evidence)
	}
	return diag.SingleLine(string(c.Class)) + ": " + diag.SingleLine(c.Evidence)
}

// junitTimestamp is a suite's start as Ant writes it: ISO 8601 in UTC,
// to the second, without a zone (the Ant schema allows none). A scan with
// no start time at all gets the Unix epoch, so the attribute is there.
func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// xmlToken is s as an XML token (the schemas' type for a hostname): one
// line, no blanks at its ends or runs of them inside.
func xmlToken(s string) string { return strings.Join(strings.Fields(diag.SingleLine(s)), " ") }

// junitFailureBody is what a CI reader needs to act on a loop failure, as
// Evidence prints it: why, the fix, where, and the traceback or stacks
// of a representative call, then what each remedy tried did.
func junitFailureBody(c diag.CellReport) string {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s/%s: %s\n", diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)), diag.SingleLine(string(c.Class)))
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&buf, "%-12s %s\n", name+":", value)
		}
	}
	field("signature", diag.SingleLine(c.Signature))
	field("evidence", diag.SingleLine(c.Evidence))
	field("frame", diag.SingleLine(c.Frame))
	field("your code", userFrameText(c.User))
	field("why", diag.SingleLine(c.Explanation))
	field("remedy", diag.SingleLine(c.Remedy))
	field("cell", fmt.Sprintf("ended %s after %s; concurrency %d, repeat %d", diag.SingleLine(string(c.End)), diag.FormatDuration(c.DurationMS), c.Concurrency, c.Repeat))
	if len(c.Split) > 0 {
		var parts []string
		for _, cl := range diag.OrderedClasses(c.Split) {
			parts = append(parts, fmt.Sprintf("%d %s", c.Split[cl], diag.SingleLine(string(cl))))
		}
		field("calls", strings.Join(parts, ", "))
	}
	if call, ok := representativeCall(c); ok {
		writeCallEvidence(&buf, c, call)
	}
	writeHang(&buf, c)
	if s := c.Stacks; s != nil {
		head := "loop thread stack"
		if s.BlockedMS > 0 {
			head += " (heartbeat missed for " + diag.FormatDuration(s.BlockedMS) + ")"
		}
		block(&buf, head, tail(s.LoopThread, stackTail))
		block(&buf, "pending asyncio tasks", tail(s.Tasks, stackTail))
	}
	if len(c.Remedies) > 0 {
		buf.WriteString("remedies tried (--verify-fixes):\n")
		for _, res := range c.Remedies {
			fmt.Fprintf(&buf, "  %s: %s\n", diag.SingleLine(string(res.Remedy)), remedyOutcomeText(c, res))
		}
	}
	return buf.String()
}

// remedyOutcomeText says in words what trying a remedy did: "fixes",
// "no change (loop-reentry)", "changes to timeout [sig] evidence",
// "not run: why".
func remedyOutcomeText(c diag.CellReport, res diag.RemedyResult) string {
	switch res.Outcome {
	case diag.OutcomeFixes:
		return "fixes"
	case diag.OutcomeNoChange:
		class := c.Class
		if res.Cell != nil {
			class = res.Cell.Class
		}
		return "no change (" + diag.SingleLine(string(class)) + ")"
	case diag.OutcomeChanges:
		if rc := res.Cell; rc != nil {
			return fmt.Sprintf("changes to %s [%s] %s", diag.SingleLine(string(rc.Class)), diag.SingleLine(rc.Signature), diag.SingleLine(rc.Evidence))
		}
		return "changes"
	case diag.OutcomeNotRun:
		if note := strings.TrimSuffix(diag.SingleLine(res.Note), " (not run)"); note != "" {
			return "not run: " + note
		}
		return "not run"
	}
	return diag.SingleLine(res.Outcome)
}

// xmlAttr writes ` name="value"`, the value made legal XML and escaped
// (newlines and tabs as character references, so no parser folds them).
func xmlAttr(b *bytes.Buffer, name, value string) {
	b.WriteString(" " + name + `="` + xmlAttrEscaper.Replace(xmlLegal(value)) + `"`)
}

// xmlText writes character data made legal XML and escaped, with its
// newlines and quotes kept as they are so the body reads as it would in a
// terminal.
func xmlText(b *bytes.Buffer, text string) {
	b.WriteString(xmlTextEscaper.Replace(xmlLegal(text)))
}

// The escapes of XML 1.0 §2.4 and §3.3.3: markup characters always, and in
// an attribute value its quote and the whitespace a parser would normalise
// to a space. A carriage return is a character reference everywhere, or a
// parser would drop it with the newline after it.
var (
	xmlTextEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	xmlAttrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\r", "&#xD;", "\n", "&#xA;", "\t", "&#x9;")
)

// xmlLegal drops what XML 1.0 does not allow in a document (Char production:
// tab, newline, carriage return, U+0020–U+D7FF, U+E000–U+FFFD,
// U+10000–U+10FFFF) and turns invalid UTF-8 into U+FFFD. Renderers clean
// untrusted text before this; it is the last guard, for every string.
func xmlLegal(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE || r == 0xFFFF, r > 0x10FFFF:
			return -1
		}
		return r
	}, s)
}
