package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diag/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./diag/render -update and review the diff\n--- got:\n%s", name, got)
	}
}

func TestGoldenTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Render(&buf, "table", sampleReport(), Options{Width: 120}); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", buf.Bytes())
}

func TestGoldenEvidence(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Evidence(&buf, evidenceSample(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "evidence.golden", buf.Bytes())
}

func TestGoldenJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Render(&buf, "json", evidenceSample(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json.golden", buf.Bytes())
}

func TestGoldenJSONL(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Render(&buf, "jsonl", evidenceSample(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.jsonl.golden", buf.Bytes())
}

func TestGoldenTableSmall(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Render(&buf, "table", evidenceSample(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "table-small.golden", buf.Bytes())
}

func renderString(t *testing.T, format string, r report.Report, o Options) string {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == "evidence" {
		err = Evidence(&buf, r, o)
	} else {
		err = Render(&buf, format, r, o)
	}
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return buf.String()
}

// hostileReport is a report whose untrusted text tries to drive the terminal
// and leak secrets.
func hostileReport() report.Report {
	const esc = "\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\u009b31m\u202e"
	o := sample.Cell("NeedsAuth", scan.ModeSync, scan.LoopUvloop)
	o.Provider = "Evil" + esc + "Provider"
	o.Log = "token leak: Authorization: Bearer abcdef0123456789 and api_key=sk-proj-ABCDEFGHIJKLMNOPQRSTUV" + esc + "\n"
	for i := range o.Calls {
		o.Calls[i].Chain = []scan.PyException{{Type: "RuntimeError" + esc,
			Message:   "this event loop is already running." + esc + " key sk-ABCDEFGHIJKLMNOPQRSTUVWX",
			Traceback: "Traceback (most recent call last):\n  File \"/x/g4f/a.py\", line 1, in f\n    headers={'Authorization': 'Bearer sk-ABCDEFGHIJKLMNOPQRSTUVWX'}\n" + esc}}
	}
	o.Worker = &scan.WorkerInfo{PID: 1, StderrTail: "password=hunter2hunter2" + esc}
	h := sampleHeader()
	h.Command = "g4fdiag check --api-key sk-ABCDEFGHIJKLMNOPQRSTUVWX"
	return report.Build(h, []scan.Observation{o}, false)
}

func TestNoEscapeCodesWithoutColor(t *testing.T) {
	t.Parallel()
	for _, r := range []report.Report{sampleReport(), hostileReport()} {
		for _, f := range []string{"table", "evidence"} {
			out := renderString(t, f, r, Options{Color: false})
			if strings.ContainsAny(out, "\x1b\u009b\u202e\a") {
				t.Errorf("%s with Color off holds a control sequence: %q", f, out)
			}
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestColorOnlyAddsSGR(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"table", "evidence"} {
		plain := renderString(t, f, sampleReport(), Options{})
		colored := renderString(t, f, sampleReport(), Options{Color: true})
		if !sgr.MatchString(colored) {
			t.Errorf("%s with Color on has no colour", f)
		}
		if got := sgr.ReplaceAllString(colored, ""); got != plain {
			t.Errorf("%s: colour changed more than colours (alignment?)\n%s", f, got)
		}
	}
	// a hostile report: the only escapes with Color on are the ones we add
	colored := renderString(t, "table", hostileReport(), Options{Color: true})
	if strings.ContainsAny(sgr.ReplaceAllString(colored, ""), "\x1b\u009b") {
		t.Errorf("provider text reached the terminal: %q", colored)
	}
}

func TestRedactedInEveryFormat(t *testing.T) {
	t.Parallel()
	secrets := []string{"abcdef0123456789", "ABCDEFGHIJKLMNOPQRSTUV", "hunter2hunter2"}
	for _, f := range append(Formats(), "evidence") {
		out := renderString(t, f, hostileReport(), Options{})
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output leaks %q", f, s)
			}
		}
		if !strings.Contains(out, diag.Redacted) && f != "table" {
			t.Errorf("%s output shows no redaction mark", f)
		}
	}
}

func TestTableFitsWidth(t *testing.T) {
	t.Parallel()
	out := renderString(t, "table", sampleReport(), Options{All: true})
	tableLines := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.ContainsAny(l, "│┌└├") {
			tableLines++
			if n := utf8.RuneCountInString(l); n > 120 {
				t.Errorf("table line is %d wide: %s", n, l)
			}
		}
	}
	if tableLines != len(sample.Providers)+5 {
		t.Errorf("%d table lines, want %d", tableLines, len(sample.Providers)+5)
	}
	// Without All, the provider that ran in no cell (marked not working)
	// folds into one line under the table.
	folded := renderString(t, "table", sampleReport(), Options{})
	if n := strings.Count(folded, "│ "); n >= strings.Count(out, "│ ") ||
		!strings.Contains(folded, "not run in any cell, 1 provider (--all shows their rows):\n") ||
		!strings.Contains(folded, "not run: 1 provider marked working = False (--include-not-working runs them)") {
		t.Errorf("no folded row:\n%s", folded)
	}

	// long provider names are cut to fit the given width
	obs := sample.Observations()
	for i := range obs {
		obs[i].Provider += "WithAVeryLongSuffixName"
	}
	r := report.Build(sampleHeader(), obs, false)
	out = renderString(t, "table", r, Options{Width: 110})
	for _, l := range strings.Split(out, "\n") {
		if strings.ContainsAny(l, "│┌└├") && utf8.RuneCountInString(l) > 110 {
			t.Errorf("table line is %d wide with Width 110: %s", utf8.RuneCountInString(l), l)
		}
	}
	if !strings.Contains(out, "AsyncGenHealthyWithAVeryLongSuffixName") {
		t.Error("a name that fits beside one block of modes was cut")
	}

	// 80 columns: the matrix comes in blocks of modes, each a table that
	// fits, every mode in one of them, no line wrapped; at 40 the names are
	// cut too.
	narrow := renderString(t, "table", sampleReport(), Options{Width: 80})
	for _, l := range strings.Split(narrow, "\n") {
		if strings.ContainsAny(l, "│┌└├") && utf8.RuneCountInString(l) > 80 {
			t.Errorf("table line is %d wide with Width 80: %s", utf8.RuneCountInString(l), l)
		}
	}
	if n := strings.Count(narrow, "│ provider"); n < 2 {
		t.Errorf("%d blocks at 80 columns, want at least 2:\n%s", n, narrow)
	}
	for _, m := range []string{"baseline", "sync", "sync-stream", "async", "async-stream"} {
		if !strings.Contains(narrow, "│ "+m+" ") {
			t.Errorf("mode %s is in no block", m)
		}
	}
	tiny := renderString(t, "table", r, Options{Width: 40})
	for _, l := range strings.Split(tiny, "\n") {
		if strings.ContainsAny(l, "│┌└├") && utf8.RuneCountInString(l) > 40 {
			t.Errorf("table line is %d wide with Width 40: %s", utf8.RuneCountInString(l), l)
		}
	}
	if !strings.Contains(tiny, "…") {
		t.Error("long names were not cut at 40 columns")
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	t.Parallel()
	err := Render(&bytes.Buffer{}, "xml", sampleReport(), Options{})
	if err == nil || err.Error() != `diag: unknown format "xml" (want one of table, json, jsonl, markdown, junit, github)` {
		t.Errorf("err = %v", err)
	}
	if !reflect.DeepEqual(Formats(), []string{"table", "json", "jsonl", "markdown", "junit", "github"}) {
		t.Errorf("Formats() = %v", Formats())
	}
}

func TestRenderEmptyReport(t *testing.T) {
	t.Parallel()
	r := report.Build(report.Header{Tool: "g4fdiag"}, nil, false)
	for _, f := range append(Formats(), "evidence") {
		out := renderString(t, f, r, Options{})
		if out == "" {
			t.Errorf("%s: empty output", f)
		}
	}
	if r.Summary.LikelyCause != "no loop conflict found" {
		t.Errorf("likely cause %q", r.Summary.LikelyCause)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	orig := sampleReport()
	want := renderString(t, "table", orig, Options{})
	wantEvidence := renderString(t, "evidence", orig, Options{})
	for _, f := range []string{"json", "jsonl"} {
		t.Run(f, func(t *testing.T) {
			saved := renderString(t, f, orig, Options{})
			back, err := report.ReadReport(strings.NewReader(saved))
			if err != nil {
				t.Fatal(err)
			}
			if got := renderString(t, "table", back, Options{}); got != want {
				t.Errorf("table after a %s round trip differs:\n%s", f, got)
			}
			if got := renderString(t, "evidence", back, Options{}); got != wantEvidence {
				t.Errorf("evidence after a %s round trip differs", f)
			}
			if !reflect.DeepEqual(back.Summary, orig.Summary) {
				t.Errorf("summary %+v, want %+v", back.Summary, orig.Summary)
			}
			if again := renderString(t, f, back, Options{}); again != saved {
				t.Errorf("%s is not stable across a round trip", f)
			}
		})
	}
}

// A saved report is reclassified with the current table, whatever verdicts
// it carries.
func TestReadReportReclassifies(t *testing.T) {
	t.Parallel()
	saved := renderString(t, "json", evidenceSample(), Options{})
	tampered := strings.ReplaceAll(saved, `"verdict": "loop-reentry"`, `"verdict": "ok"`)
	if tampered == saved {
		t.Fatal("sample has no loop-reentry verdict")
	}
	back, err := report.ReadReport(strings.NewReader(tampered))
	if err != nil {
		t.Fatal(err)
	}
	if back.Summary.Counts[diag.ClassLoopReentry] != evidenceSample().Summary.Counts[diag.ClassLoopReentry] || !back.Interrupted {
		t.Errorf("report not reclassified: %+v", back.Summary)
	}
}
