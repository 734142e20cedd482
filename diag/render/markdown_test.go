package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// sampleScript stands for the reproduction script repro.EmitScript writes;
// its docstring holds a fence of its own, which must not end the report's.
const sampleScript = `#!/usr/bin/env python3
# Reproduces an event-loop failure of gpt4free (g4f). Written by g4fdiag.
#
#   provider  AsyncGenHealthy
#   mode      sync: the sync Client called inside a coroutine on the running loop
#   loop      uvloop
"""Run it with the same interpreter:

` + "```" + `
python3 repro.py --remedy uvloop-removed
` + "```" + `
"""
import asyncio
import uvloop

from g4f.client import Client


async def main():
    client = Client(api_key="sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX")
    print(client.chat.completions.create(model="", provider="AsyncGenHealthy",
                                         messages=[{"role": "user", "content": "Hello"}]))


uvloop.install()
asyncio.run(main())
`

const sampleScriptNote = "Save it as repro.py and run it with /usr/bin/python3 repro.py.\nIt prints RESULT: FAILED while the conflict is there; --remedy NAME tries a fix."

func renderMarkdownString(t *testing.T, r report.Report, o Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, "markdown", r, o); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGoldenMarkdown(t *testing.T) {
	t.Parallel()
	out := renderMarkdownString(t, markdownSample(), Options{Script: sampleScript, ScriptNote: sampleScriptNote})
	golden(t, "report.md.golden", []byte(out))
	if len(out) > mdLimit {
		t.Errorf("markdown is %d bytes, past what an issue takes", len(out))
	}
}

func TestGoldenMarkdownSmall(t *testing.T) {
	t.Parallel()
	golden(t, "report-small.md.golden", []byte(renderMarkdownString(t, evidenceSample(), Options{})))
}

// mdDoc is a parsed markdown report.
type mdDoc struct {
	src  []byte
	root ast.Node
}

func parseMarkdown(t *testing.T, md string) mdDoc {
	t.Helper()
	src := []byte(md)
	p := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser()
	return mdDoc{src: src, root: p.Parse(text.NewReader(src))}
}

// text is the plain text of a node: its text, strings and code spans,
// backslash escapes resolved outside code spans as a renderer would.
func (d mdDoc) text(n ast.Node) string {
	var b strings.Builder
	_ = ast.Walk(n, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			v := n.Value(d.src)
			if _, code := n.Parent().(*ast.CodeSpan); !code {
				v = util.UnescapePunctuations(v)
			}
			b.Write(v)
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte('\n')
			}
		case *ast.String:
			b.Write(n.Value)
		case *ast.RawHTML:
			for i := 0; i < n.Segments.Len(); i++ {
				seg := n.Segments.At(i)
				b.Write(seg.Value(d.src))
			}
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

func (d mdDoc) lines(n ast.Node) string {
	var b strings.Builder
	l := n.Lines()
	for i := 0; i < l.Len(); i++ {
		seg := l.At(i)
		b.Write(seg.Value(d.src))
	}
	return b.String()
}

// section is the top-level blocks under one level-2 heading.
type section struct {
	title  string
	blocks []ast.Node
}

func (d mdDoc) sections() []section {
	var out []section
	for n := d.root.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok && h.Level == 2 {
			out = append(out, section{title: d.text(h)})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].blocks = append(out[len(out)-1].blocks, n)
		}
	}
	return out
}

func (d mdDoc) section(t *testing.T, title string) section {
	t.Helper()
	for _, s := range d.sections() {
		if s.title == title {
			return s
		}
	}
	t.Fatalf("no section %q", title)
	return section{}
}

// tables are the GFM tables of a section, as rows of cell texts, the header
// row first.
func (d mdDoc) tables(s section) [][][]string {
	var out [][][]string
	for _, t := range d.captionedTables(s) {
		out = append(out, t.rows)
	}
	return out
}

type captionedTable struct {
	caption string // the paragraph before the table
	rows    [][]string
}

func (d mdDoc) captionedTables(s section) []captionedTable {
	var out []captionedTable
	caption := ""
	for _, b := range s.blocks {
		if p, ok := b.(*ast.Paragraph); ok {
			caption = d.text(p)
		}
		tbl, ok := b.(*extast.Table)
		if !ok {
			continue
		}
		var rows [][]string
		for row := tbl.FirstChild(); row != nil; row = row.NextSibling() {
			var cells []string
			for c := row.FirstChild(); c != nil; c = c.NextSibling() {
				cells = append(cells, d.text(c))
			}
			rows = append(rows, cells)
		}
		out = append(out, captionedTable{caption: caption, rows: rows})
	}
	return out
}

// codeBlocks are the fenced code blocks of a section with the given info.
func (d mdDoc) codeBlocks(s section, lang string) []string {
	var out []string
	for _, b := range s.blocks {
		if fc, ok := b.(*ast.FencedCodeBlock); ok && string(fc.Language(d.src)) == lang {
			out = append(out, d.lines(fc))
		}
	}
	return out
}

var mdSections = []string{mdEnvironment, mdMatrix, mdSummary, mdFailingCells, mdReproduction, mdRemedies}

func checkSections(t *testing.T, d mdDoc) {
	t.Helper()
	var got []string
	for _, s := range d.sections() {
		got = append(got, s.title)
	}
	if strings.Join(got, "|") != strings.Join(mdSections, "|") {
		t.Errorf("sections %q, want %q", got, mdSections)
	}
}

// The plan line says when API cells ran more calls at once than the others.
func TestPlanLineAPIConcurrency(t *testing.T) {
	t.Parallel()
	p := scan.Plan{Concurrency: 1, APIConcurrency: 2, Repeat: 1}
	if got := planLine(p); !strings.HasPrefix(got, "concurrency 1 (2 in API cells), repeat 1") {
		t.Errorf("planLine = %q", got)
	}
	p.APIConcurrency = 1
	if got := planLine(p); !strings.HasPrefix(got, "concurrency 1, repeat 1") {
		t.Errorf("planLine = %q", got)
	}
}

func TestMarkdownStructure(t *testing.T) {
	t.Parallel()
	r := markdownSample()
	md := renderMarkdownString(t, r, Options{Script: sampleScript, ScriptNote: sampleScriptNote})
	d := parseMarkdown(t, md)
	checkSections(t, d)

	// the matrix: a row per provider, a column per mode × loop
	tables := d.tables(d.section(t, mdMatrix))
	if len(tables) != 1 {
		t.Fatalf("%d tables under Matrix, want 1", len(tables))
	}
	m := tables[0]
	if want := 1 + len(scan.AllModes)*len(scan.AllLoops); len(m[0]) != want {
		t.Fatalf("matrix header has %d columns, want %d: %q", len(m[0]), want, m[0])
	}
	if len(m) != 1+len(sample.Providers) {
		t.Fatalf("matrix has %d rows, want %d", len(m)-1, len(sample.Providers))
	}
	col := map[string]int{}
	for i, h := range m[0] {
		col[h] = i
	}
	row := map[string][]string{}
	for i, p := range sample.Providers {
		if m[i+1][0] != p.Name {
			t.Errorf("matrix row %d is %q, want %q", i, m[i+1][0], p.Name)
		}
		row[m[i+1][0]] = m[i+1]
	}
	for _, tc := range []struct{ provider, column, want string }{
		{"AsyncGenHealthy", "sync/uv", "RE"},
		{"AsyncGenHealthy", "sync/nest", "ok"},
		{"DeadlockLoop", "sync-stream/aio", "DEAD"},
		{"BlockingSleep", "sync/uv", "BLK"},
		{"StallStream", "async-stream/nest", "stal"},
		{"NetworkDown", "baseline/aio", "net"},
		{"ConcurrencyFlaky", "sync/nest", "flky"},
		{"RetiredProvider", "async/uv", "nw"},
	} {
		i, ok := col[tc.column]
		if !ok {
			t.Errorf("no matrix column %q in %q", tc.column, m[0])
			continue
		}
		if got := row[tc.provider][i]; got != tc.want {
			t.Errorf("matrix %s %s = %q, want %q", tc.provider, tc.column, got, tc.want)
		}
	}

	// a section per failing cell
	var titles []string
	for _, b := range d.section(t, mdFailingCells).blocks {
		if h, ok := b.(*ast.Heading); ok && h.Level == 3 {
			titles = append(titles, d.text(h))
		}
	}
	failing := 0
	for _, c := range r.Cells {
		if c.Failing() {
			failing++
		}
	}
	if len(titles) != failing {
		t.Errorf("%d failing-cell headings, want %d", len(titles), failing)
	}
	for _, want := range []string{"AsyncGenHealthy sync/uvloop: loop-reentry", "DeadlockLoop sync/nest: deadlock", "NeedsAuth baseline/asyncio: auth"} {
		if !containsString(titles, want) {
			t.Errorf("no heading %q in %q", want, titles)
		}
	}
	failingText := d.text(d.root)
	for _, want := range []string{
		"Deadlock: the loop thread waits on a future that only this loop can complete.",
		"Blocked loop: a sync call holds the loop thread (time.sleep), so nothing else on the loop runs.",
		"Same failure as AsyncGenHealthy sync/asyncio above.",
	} {
		if !strings.Contains(failingText, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := len(d.codeBlocks(d.section(t, mdFailingCells), "text")); n < 10 {
		t.Errorf("%d fenced evidence blocks under Failing cells", n)
	}

	// the script, whole, its own fence inside it included
	scripts := d.codeBlocks(d.section(t, mdReproduction), "python")
	if len(scripts) != 1 {
		t.Fatalf("%d python blocks under Reproduction, want 1", len(scripts))
	}
	if want := diag.Clean(sampleScript); scripts[0] != want {
		t.Errorf("script block differs from the script:\n%s", scripts[0])
	}
	if strings.Contains(scripts[0], "ABCDEFGHIJKLMNOP") || !strings.Contains(scripts[0], diag.Redacted) {
		t.Error("the script's API key is not redacted")
	}

	// a remedies table per provider with remedies: rows failing cells,
	// columns remedies
	rem := d.captionedTables(d.section(t, mdRemedies))
	if len(rem) == 0 {
		t.Fatal("no remedies table")
	}
	entries := map[string]string{}
	for _, tbl := range rem {
		if tbl.rows[0][0] != "failing cell" {
			t.Errorf("remedies table header %q", tbl.rows[0])
		}
		for _, row := range tbl.rows[1:] {
			for j, e := range row[1:] {
				entries[tbl.caption+" "+row[0]+" "+tbl.rows[0][j+1]] = e
			}
		}
	}
	for key, want := range map[string]string{
		"AsyncGenHealthy sync/uvloop: loop-reentry uvloop-removed":       "fixes",
		"AsyncGenHealthy sync/uvloop: loop-reentry nest-asyncio":         "not run: nest_asyncio cannot patch uvloop",
		"DeadlockLoop sync/uvloop: deadlock uvloop-removed":              "no change (deadlock)",
		"AsyncGenHealthy sync-stream/asyncio: loop-reentry to-thread":    "fixes",
		"AsyncGenHealthy sync-stream/asyncio: loop-reentry nest-asyncio": "→ timeout",
		"CreateAsyncRun sync/asyncio: loop-reentry nest-asyncio":         "fixes",
	} {
		if got, ok := entries[key]; !ok || got != want {
			t.Errorf("remedy %s = %q, want %q", key, got, want)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Untrusted text cannot break out of its place: a fence, a table cell, a
// heading or a code span.
func TestMarkdownHostile(t *testing.T) {
	t.Parallel()
	const esc = "\x1b[2J\x1b]0;owned\x07\u009b31m\u202e"
	r := hostileReport()
	evil := "Evil|Pro`vider\n## Injected|"
	for i := range r.Cells {
		c := &r.Cells[i]
		c.Provider = evil
		c.Evidence = "``` | # <script>alert(1)</script> ```" + esc
		c.Signature = "sig|`x`"
		c.Calls[0].Chain[0].Traceback = "Traceback (most recent call last):\n```\n````\n## Injected heading\n| a | b |\n" + esc
	}
	r.Environment.G4FPath = "/x/`g4f`|\n## Injected"
	r.Environment.Loops = append(r.Environment.Loops, scan.LoopInfo{Loop: "weird|loop", Reason: "```no```"})
	script := "print('''\n````\n## Injected\n`````\n''')  # api_key=sk-ABCDEFGHIJKLMNOPQRSTUVWX" + esc + "\n"
	md := renderMarkdownString(t, r, Options{Script: script, ScriptNote: "run it | ```" + esc})
	if strings.ContainsAny(md, "\x1b\u009b\u202e\a") {
		t.Errorf("markdown holds a control sequence: %q", md)
	}
	for _, s := range []string{"ABCDEFGHIJKLMNOPQRSTUV", "abcdef0123456789", "hunter2hunter2"} {
		if strings.Contains(md, s) {
			t.Errorf("markdown leaks %q", s)
		}
	}
	d := parseMarkdown(t, md)
	checkSections(t, d)
	m := d.tables(d.section(t, mdMatrix))
	if len(m) != 1 || len(m[0]) != 2 {
		t.Fatalf("matrix %q", m)
	}
	if want := diag.SingleLine(evil); m[0][1][0] != want || len(m[0][1]) != 2 || m[0][1][1] != "RE" {
		t.Errorf("matrix row %q, want [%q RE]", m[0][1], want)
	}
	scripts := d.codeBlocks(d.section(t, mdReproduction), "python")
	if len(scripts) != 1 || scripts[0] != strings.TrimRight(diag.Clean(script), "\n")+"\n" {
		t.Errorf("script block %q", scripts)
	}
	var headings []string
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			headings = append(headings, d.text(h))
		}
		return ast.WalkContinue, nil
	})
	for _, h := range headings {
		if strings.Contains(h, "Injected") && !strings.HasPrefix(h, diag.SingleLine(evil)) {
			t.Errorf("injected heading %q", h)
		}
	}
	if n := strings.Count(d.text(d.root), "<script>"); n == 0 {
		t.Error("escaped text lost the <script> it showed")
	}
	var raw []string
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch n.(type) {
			case *ast.RawHTML:
				raw = append(raw, d.text(n))
			case *ast.HTMLBlock:
				raw = append(raw, d.lines(n))
			}
		}
		return ast.WalkContinue, nil
	})
	for _, h := range raw {
		if strings.Contains(h, "script") {
			t.Errorf("untrusted HTML reached the document: %q", h)
		}
	}
}

// A large scan stays under what a GitHub issue body takes.
func TestMarkdownFitsAnIssue(t *testing.T) {
	t.Parallel()
	var obs []scan.Observation
	for i := range 300 {
		o := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
		o.Provider = fmt.Sprintf("Provider%03d", i)
		for j := range o.Calls {
			o.Calls[j].Chain[0].Message += fmt.Sprintf(" (%d)", i) // no two alike
		}
		obs = append(obs, o)
	}
	h := sampleHeader()
	h.Plan.Providers = nil
	r := report.Build(h, obs, false)
	md := renderMarkdownString(t, r, Options{Script: sampleScript})
	if len(md) > 65536 {
		t.Errorf("markdown is %d bytes", len(md))
	}
	d := parseMarkdown(t, md)
	checkSections(t, d)
	if !strings.Contains(md, "one line each") || !strings.Contains(md, "Provider299") {
		t.Error("cells past the budget are not listed")
	}
}

func TestMarkdownEscapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, text, code string }{
		{"plain", "plain", "`plain`"},
		{"a|b", `a\|b`, "`a|b`"},
		{"x `y` z", "x \\`y\\` z", "``x `y` z``"},
		{"`edge`", "\\`edge\\`", "`` `edge` ``"},
		{"two\nlines\x1b[31m", "two lines", "`two lines`"},
		{"**bold** <b>&amp;", `\*\*bold\*\* \<b\>\&amp;`, "`**bold** <b>&amp;`"},
		{"nest_asyncio _x_ __init__", `nest_asyncio \_x\_ \_\_init\_\_`, "`nest_asyncio _x_ __init__`"},
		{"", "", ""},
	} {
		if got := MarkdownText(tc.in); got != tc.text {
			t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.text)
		}
		if got := MarkdownCode(tc.in); got != tc.code {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.code)
		}
	}
	if got := mdFence("a\n```\n````` b\n", "text"); got != "``````text\na\n```\n````` b\n``````\n" {
		t.Errorf("mdFence = %q", got)
	}
}
