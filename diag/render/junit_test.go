package render

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestGoldenJUnit(t *testing.T) {
	t.Parallel()
	golden(t, "report.junit.xml.golden", []byte(renderString(t, "junit", markdownSample(), Options{})))
}

// junitSchema is the JUnit XML schema the reporters read, for the
// attributes go-junit recomputes rather than reads.
type junitSchema struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     float64  `xml:"time,attr"`
	Suites   []struct {
		Name       string  `xml:"name,attr"`
		Tests      int     `xml:"tests,attr"`
		Failures   int     `xml:"failures,attr"`
		Errors     int     `xml:"errors,attr"`
		Skipped    int     `xml:"skipped,attr"`
		Time       float64 `xml:"time,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string  `xml:"classname,attr"`
			Name      string  `xml:"name,attr"`
			Time      float64 `xml:"time,attr"`
			Failure   *struct {
				Type    string `xml:"type,attr"`
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
			SystemErr string `xml:"system-err"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// decodeStrict reads the whole document with a strict decoder: it fails on
// anything that is not well-formed XML 1.0.
func decodeStrict(t *testing.T, doc string) junitSchema {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
	var s junitSchema
	if err := xml.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The JUnit output read back by a JUnit parser: one test case per cell
// (remedy re-runs are not cells), loop failures as failures, unrun cells as
// skips, and the counts the reporters show agree with the report.
func TestJUnitParsesBack(t *testing.T) {
	t.Parallel()
	r := markdownSample()
	out := renderString(t, "junit", r, Options{})
	suites, err := junit.Ingest([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) != len(scan.AllLoops) {
		t.Fatalf("%d suites, want one per loop", len(suites))
	}
	byName := map[string]junit.Test{}
	var tests, failed, skipped, errored int
	for i, s := range suites {
		if want := "g4fdiag " + string(scan.AllLoops[i]); s.Name != want {
			t.Errorf("suite %d is %q, want %q", i, s.Name, want)
		}
		if s.Properties["loop"] != string(scan.AllLoops[i]) || s.Properties["g4f.version"] != "0.0.0-demo" {
			t.Errorf("suite %s properties %v", s.Name, s.Properties)
		}
		tests += s.Totals.Tests
		failed += s.Totals.Failed
		skipped += s.Totals.Skipped
		errored += s.Totals.Error
		for _, tc := range s.Tests {
			key := tc.Classname + " " + tc.Name
			if _, dup := byName[key]; dup {
				t.Errorf("test case %s twice", key)
			}
			byName[key] = tc
		}
	}
	var wantSkipped int
	for _, c := range r.Cells {
		if !c.Failing() && c.Class != diag.ClassOK {
			wantSkipped++
		}
	}
	if tests != len(r.Cells) || failed != r.Summary.LoopFailures || skipped != wantSkipped || errored != 0 {
		t.Errorf("tests %d failed %d skipped %d errors %d; want %d, %d, %d, 0", tests, failed, skipped, errored,
			len(r.Cells), r.Summary.LoopFailures, wantSkipped)
	}

	remedied := 0
	for _, c := range r.Cells {
		key := "g4fdiag." + c.Provider + " " + string(c.Mode) + "/" + string(c.Loop)
		tc, ok := byName[key]
		if !ok {
			t.Errorf("no test case %s", key)
			continue
		}
		if want := time.Duration(c.DurationMS * float64(time.Millisecond)).Round(time.Millisecond); tc.Duration != want {
			t.Errorf("%s: time %v, want %v", key, tc.Duration, want)
		}
		switch {
		case c.LoopFailure():
			if tc.Status != junit.StatusFailed {
				t.Errorf("%s: %s, want failed", key, tc.Status)
				continue
			}
			e := tc.Error.(junit.Error)
			if e.Type != string(c.Class) || e.Message != c.Signature+": "+c.Evidence {
				t.Errorf("%s: failure type %q message %q", key, e.Type, e.Message)
			}
			for _, want := range []string{c.Explanation, c.Remedy, c.Frame} {
				if !strings.Contains(e.Body, want) {
					t.Errorf("%s: failure body lacks %q:\n%s", key, want, e.Body)
				}
			}
			if len(c.Remedies) > 0 {
				remedied++
				if !strings.Contains(e.Body, "remedies tried") {
					t.Errorf("%s: remedies not in the failure body:\n%s", key, e.Body)
				}
			}
		case c.Class == diag.ClassOK:
			if tc.Status != junit.StatusPassed || tc.Error != nil {
				t.Errorf("%s: %s, want passed", key, tc.Status)
			}
		case !c.Failing():
			if tc.Status != junit.StatusSkipped || !strings.HasPrefix(tc.Message, string(c.Class)+": ") {
				t.Errorf("%s: %s %q, want skipped", key, tc.Status, tc.Message)
			}
		default:
			if tc.Status != junit.StatusPassed || !strings.Contains(tc.SystemOut, "does not fail the run (not in --fail-on loop): "+string(c.Class)) {
				t.Errorf("%s: %s, system-out %q; want passed with a note", key, tc.Status, tc.SystemOut)
			}
		}
	}
	if remedied == 0 {
		t.Error("the sample has no remedies to show")
	}
	// a traceback tail reaches the failure body
	tc := byName["g4fdiag.AsyncGenHealthy sync/uvloop"]
	if body := tc.Error.(junit.Error).Body; !strings.Contains(body, "Traceback (most recent call last):") ||
		!strings.Contains(body, "to_sync_generator") || !strings.Contains(body, "uvloop-removed: fixes") {
		t.Errorf("failure body:\n%s", body)
	}

	// the attributes a reporter reads instead of counting
	s := decodeStrict(t, out)
	// <testsuites> has no skipped attribute: the Jenkins xunit schema rejects it
	if s.Tests != tests || s.Failures != failed || s.Skipped != 0 || s.Errors != 0 || strings.Contains(out, "<testsuites skipped") {
		t.Errorf("testsuites attributes %+v", s)
	}
	var sum float64
	for i, suite := range s.Suites {
		if suite.Tests != suites[i].Totals.Tests || suite.Failures != suites[i].Totals.Failed || suite.Skipped != suites[i].Totals.Skipped {
			t.Errorf("suite %s attributes tests=%d failures=%d skipped=%d, counted %+v", suite.Name, suite.Tests, suite.Failures, suite.Skipped, suites[i].Totals)
		}
		sum += suite.Time
	}
	if diff := sum - s.Time; diff > 0.002 || diff < -0.002 {
		t.Errorf("suite times add to %.3f, testsuites says %.3f", sum, s.Time)
	}
}

// Untrusted text cannot break the document: markup, CDATA ends, characters
// XML forbids, invalid UTF-8, terminal sequences, secrets.
func TestJUnitHostile(t *testing.T) {
	t.Parallel()
	const hostile = "</failure></testcase><testcase name=\"x\"> ]]> <![CDATA[ & &amp; \x00\x01\x08\x0b\x0c\x1f \uFFFE\uFFFF \xff\xfe \x1b[31m"
	r := hostileReport()
	obs := r.Observations()
	for i := range obs {
		obs[i].Provider += hostile
		obs[i].Log += hostile + "\n"
		for j := range obs[i].Calls {
			for k := range obs[i].Calls[j].Chain {
				obs[i].Calls[j].Chain[k].Message += hostile
				obs[i].Calls[j].Chain[k].Traceback += hostile + "\n"
			}
		}
	}
	netDown := sample.Cell("NetworkDown", scan.ModeSync, scan.LoopNest)
	netDown.Log = hostile
	skipped := sample.Cell("RetiredProvider", scan.ModeSync, scan.LoopNest)
	skipped.SkipReason = hostile
	h := r.Header()
	h.Command += hostile
	r = report.Build(h, append(obs, netDown, skipped), false)

	out := renderString(t, "junit", r, Options{})
	decodeStrict(t, out)
	suites, err := junit.Ingest([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var tests int
	for _, s := range suites {
		tests += s.Totals.Tests
		for _, tc := range s.Tests {
			if tc.Name == "x" {
				t.Errorf("injected test case: %+v", tc)
			}
		}
	}
	if tests != len(r.Cells) {
		t.Errorf("%d test cases, want %d", tests, len(r.Cells))
	}
	if strings.ContainsAny(out, "\x00\x01\x1b\uFFFE\uFFFF") {
		t.Errorf("control or non-XML character in the output: %q", out)
	}
	for _, s := range []string{"abcdef0123456789", "ABCDEFGHIJKLMNOPQRSTUV", "hunter2hunter2"} {
		if strings.Contains(out, s) {
			t.Errorf("secret %q in the output", s)
		}
	}
}

func TestJUnitEmptyReport(t *testing.T) {
	t.Parallel()
	out := renderString(t, "junit", report.Build(report.Header{}, nil, false), Options{})
	s := decodeStrict(t, out)
	if s.Tests != 0 || len(s.Suites) != 0 {
		t.Errorf("empty report: %+v", s)
	}
}

func TestXMLLegal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a\tb\nc\rd":               "a\tb\nc\rd",
		"\x00\x08\x0b\x0c\x1f":     "",
		"\uFFFD\uFFFE\uFFFF\uE000": "\uFFFD\uE000",
		"\xff":                     "\uFFFD",
		"😀":                        "😀",
	} {
		if got := xmlLegal(in); got != want {
			t.Errorf("xmlLegal(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	xmlText(&b, "<a>&\"x\"\n]]>")
	if got := b.String(); got != "&lt;a&gt;&amp;\"x\"\n]]&gt;" {
		t.Errorf("xmlText = %q", got)
	}
	b.Reset()
	xmlAttr(&b, "m", "a\nb\t\"c\"")
	if got := b.String(); got != ` m="a&#xA;b&#x9;&quot;c&quot;"` {
		t.Errorf("xmlAttr = %q", got)
	}
	if got := junitSeconds(1234.5678); got != "1.235" {
		t.Errorf("junitSeconds = %q", got)
	}
	for _, ms := range []float64{-1, math.NaN(), math.Inf(1)} {
		if got := junitSeconds(ms); got != "0.000" {
			t.Errorf("junitSeconds(%v) = %q", ms, got)
		}
	}
}

// hostileCells is a failing, a skipped and a loop-failing cell whose
// untrusted text is the fuzzer's.
func hostileCells(name, msg, log string) report.Report {
	loop := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	loop.Provider, loop.Log = name, log
	for i := range loop.Calls {
		loop.Calls[i].Chain[0].Message += msg
		loop.Calls[i].Chain[0].Traceback += msg
	}
	net := sample.Cell("NetworkDown", scan.ModeSync, scan.Loop(name))
	net.Log = log
	skip := sample.Cell("RetiredProvider", scan.Mode(name), scan.LoopNest)
	skip.SkipReason = msg
	return report.Build(report.Header{Tool: name, Command: msg}, []scan.Observation{loop, net, skip}, false)
}

func FuzzJUnit(f *testing.F) {
	f.Add("P", "this event loop is already running.", "log")
	f.Add("</testcase>]]>", "\x00\uFFFE&amp;<![CDATA[", "\xff\x1b]0;x\x07")
	f.Fuzz(func(t *testing.T, name, msg, log string) {
		r := hostileCells(name, msg, log)
		out := renderString(t, "junit", r, Options{})
		decodeStrict(t, out)
		suites, err := junit.Ingest([]byte(out))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		tests := 0
		for _, s := range suites {
			tests += s.Totals.Tests
		}
		if tests != len(r.Cells) {
			t.Fatalf("%d test cases for %d cells", tests, len(r.Cells))
		}
	})
}
