package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

// Options are the choices a caller makes about its terminal; renderers
// never look at the terminal or the environment themselves.
type Options struct {
	// Color paints table codes by class. Off, the output holds no escape
	// code at all.
	Color bool
	// Width is the terminal width the table must fit; 0 means no limit.
	Width int
	// All keeps the table's rows of providers that ran in no cell (marked
	// not working, or needing auth): without it they fold into one line.
	All bool
	// Script is the standalone reproduction script the markdown report
	// shows under "Reproduction", and ScriptNote what it says above it (how
	// to run it); other formats ignore both.
	Script     string
	ScriptNote string
}

type renderer struct {
	name string
	fn   func(io.Writer, report.Report, Options) error
}

// renderers are the report formats, in the order Formats lists them.
var renderers = []renderer{
	{"table", renderTable},
	{"json", renderJSON},
	{"jsonl", renderJSONL},
	{"markdown", renderMarkdown},
	{"junit", renderJUnit},
	{"github", renderGitHub},
}

// Formats lists the report formats Render knows.
func Formats() []string {
	names := make([]string, len(renderers))
	for i, r := range renderers {
		names[i] = r.name
	}
	return names
}

// Render writes the report in the named format.
func Render(w io.Writer, format string, r report.Report, o Options) error {
	for _, rd := range renderers {
		if rd.name == format {
			return rd.fn(w, r, o)
		}
	}
	return fmt.Errorf("diag: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// Painter colours text by class when colour is on and passes it through
// untouched otherwise.
type Painter struct {
	on     bool
	colors map[diag.Class]*color.Color
}

func NewPainter(on bool) *Painter { return &Painter{on: on, colors: map[diag.Class]*color.Color{}} }

func (p *Painter) Paint(c diag.Class, s string) string {
	if !p.on || s == "" {
		return s
	}
	col, ok := p.colors[c]
	if !ok {
		attrs := c.Color()
		if len(attrs) == 0 {
			return s
		}
		col = color.New(attrs...)
		col.EnableColor() // decided by Options, not by color.NoColor's terminal check
		p.colors[c] = col
	}
	return col.Sprint(s)
}

// bold is for headings; same rule as paint.
func (p *Painter) Bold(s string) string {
	if !p.on || s == "" {
		return s
	}
	c := color.New(color.Bold)
	c.EnableColor()
	return c.Sprint(s)
}

// userFrameText is a verdict's user frame, "bot.py:42 in on_message"; ""
// for none.
func userFrameText(c *diag.CodeFrame) string {
	if c == nil {
		return ""
	}
	return diag.SingleLine(c.String())
}
