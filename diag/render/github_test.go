package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestGoldenGitHub(t *testing.T) {
	t.Parallel()
	golden(t, "report.github.golden", []byte(renderString(t, "github", markdownSample(), Options{})))
}

func TestGoldenGitHubSummary(t *testing.T) {
	t.Parallel()
	golden(t, "report.github-summary.md.golden", []byte(GitHubSummary(markdownSample())))
}

// workflowCommand is the syntax of one workflow command line: the command,
// properties whose values hold no ':' or ',' and no line break, then the
// message, with no line break either. An annotation on the user's own line
// carries file= and line= before its title.
var workflowCommand = regexp.MustCompile(`^::(error|warning|notice)(?:(?: file=[^:,\r\n]*,line=\d+,| )title=([^:,\r\n]*))?::([^\r\n]*)$`)

var validEscape = regexp.MustCompile(`%(?:25|0D|0A|3A|2C)`)

// unescapeWorkflow undoes the runner's escapes, left to right.
func unescapeWorkflow(s string) string {
	return strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",").Replace(s)
}

// githubCommands parses the output line by line and fails the test on any
// line that is not one whole workflow command.
func githubCommands(t *testing.T, out string) (commands, titles, messages []string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end with a newline: %q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := workflowCommand.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not a workflow command: %q", line)
			continue
		}
		if strings.Contains(validEscape.ReplaceAllString(line, ""), "%") {
			t.Errorf("%% that is no escape: %q", line)
		}
		commands = append(commands, m[1])
		titles = append(titles, unescapeWorkflow(m[2]))
		messages = append(messages, unescapeWorkflow(m[3]))
	}
	return commands, titles, messages
}

func TestGitHubCommands(t *testing.T) {
	t.Parallel()
	r := markdownSample()
	commands, titles, messages := githubCommands(t, renderString(t, "github", r, Options{}))
	counts := map[string]int{}
	for _, c := range commands {
		counts[c]++
	}
	warnings := 0
	for _, c := range r.Cells {
		if !c.LoopFailure() && c.Class.GitHubWarns() {
			warnings++
		}
	}
	if counts["notice"] != 1 || counts["error"] != r.Summary.LoopFailures || counts["warning"] != warnings {
		t.Errorf("commands %v; want 1 notice, %d errors, %d warnings", counts, r.Summary.LoopFailures, warnings)
	}
	if commands[0] != "notice" || !strings.Contains(messages[0], r.Summary.LikelyCause) {
		t.Errorf("first command %s %q", commands[0], messages[0])
	}
	// each loop failure has its error, saying what a reader acts on
	errs := map[string]string{}
	for i, c := range commands {
		if c == "error" {
			errs[titles[i]] = messages[i]
		}
	}
	for _, c := range r.Cells {
		if !c.LoopFailure() {
			continue
		}
		title := string(c.Class) + ": " + c.Provider + " " + string(c.Mode) + "/" + string(c.Loop)
		msg, ok := errs[title]
		if !ok {
			t.Errorf("no error titled %q", title)
			continue
		}
		for _, want := range []string{c.Provider, string(c.Mode) + "/" + string(c.Loop), string(c.Class), c.Signature, c.Evidence, c.Remedy} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message lacks %q:\n%s", title, want, msg)
			}
		}
	}
	// the first cell of each kind of failure comes before any repeat
	kinds := map[string]string{}
	for _, c := range r.Cells {
		kinds[string(c.Class)+": "+c.Provider+" "+string(c.Mode)+"/"+string(c.Loop)] = c.Provider + " " + string(c.Class) + " " + c.Signature
	}
	seen := map[string]bool{}
	repeating := false
	for i, c := range commands {
		if c != "error" {
			continue
		}
		kind := kinds[titles[i]]
		if seen[kind] {
			repeating = true
		} else if repeating {
			t.Errorf("first %s after a repeat", kind)
		}
		seen[kind] = true
	}
	if len(seen) != 7 || !repeating {
		t.Errorf("%d kinds of loop failure, repeats %v", len(seen), repeating)
	}
}

// Text a provider controls cannot end a command or start another: line
// breaks, "::", "%" and escapes already escaped stay inside the message.
func TestGitHubHostile(t *testing.T) {
	t.Parallel()
	const hostile = "x\n::error::pwned\r\n::stop-commands::tok%0A::warning::%25 a,b:c ::add-mask::s\x1b[2J\u2028"
	o := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	o.Provider = "Evil" + hostile
	o.Mode = scan.Mode("sync" + hostile)
	for i := range o.Calls {
		o.Calls[i].Chain[0].Message = "this event loop is already running. " + hostile
	}
	st := sample.Cell("StallStream", scan.ModeSyncStream, scan.LoopNest)
	st.Provider = hostile
	h := sampleHeader()
	h.Tool = "g4fdiag" + hostile
	r := report.Build(h, []scan.Observation{o, st}, false)
	if !r.Cells[0].LoopFailure() {
		t.Fatalf("hostile cell is %s", r.Cells[0].Class)
	}

	out := renderString(t, "github", r, Options{})
	commands, titles, messages := githubCommands(t, out)
	if strings.Join(commands, " ") != "notice error warning" {
		t.Fatalf("commands %v:\n%s", commands, out)
	}
	for i := range commands {
		for _, s := range []string{titles[i], messages[i]} {
			if strings.ContainsAny(s, "\r\x1b") {
				t.Errorf("control character survived: %q", s)
			}
		}
	}
	if !strings.Contains(titles[1], "Evil") || !strings.Contains(titles[1], "::error::pwned") || !strings.Contains(messages[1], "%0A::warning::%25 a,b:c") {
		t.Errorf("hostile text not kept as text: title %q message %q", titles[1], messages[1])
	}
}

func TestWorkflowEscapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, data, prop string }{
		{"a%b", "a%25b", "a%25b"},
		{"a\nb\rc", "a%0Abc", "a%0Abc"}, // a lone \r is a control character: cleaned away
		{"a::b,c", "a::b,c", "a%3A%3Ab%2Cc"},
		{"%0A", "%250A", "%250A"},
		{"key sk-ABCDEFGHIJKLMNOPQRSTUVWX", "key sk-" + diag.Redacted, "key sk-" + diag.Redacted},
	} {
		if got := escapeWorkflowData(tc.in); got != tc.data {
			t.Errorf("escapeWorkflowData(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := escapeWorkflowProperty(tc.in); got != tc.prop {
			t.Errorf("escapeWorkflowProperty(%q) = %q, want %q", tc.in, got, tc.prop)
		}
	}
}

func TestGitHubSummary(t *testing.T) {
	t.Parallel()
	r := markdownSample()
	md := GitHubSummary(r)
	d := parseMarkdown(t, md)
	matrix := d.tables(d.section(t, mdMatrix))
	if len(matrix) != 1 || len(matrix[0]) != len(sample.Providers)+1 {
		t.Fatalf("matrix: %v", matrix)
	}
	loops := d.section(t, "Loop failures")
	var items int
	for _, b := range loops.blocks {
		if l, ok := b.(*ast.List); ok {
			items = l.ChildCount() // the first list: the others follow, folded
			break
		}
	}
	if items != r.Summary.LoopFailures {
		t.Errorf("%d loop failures listed, want %d", items, r.Summary.LoopFailures)
	}
	if !strings.Contains(md, "other failing cells (not loop failures)</summary>") {
		t.Error("the other failing cells are not folded away")
	}
	if empty := GitHubSummary(report.Build(report.Header{}, nil, false)); !strings.Contains(empty, "No cell fails like the documented loop conflict.") {
		t.Errorf("empty summary:\n%s", empty)
	}
}

func FuzzGitHub(f *testing.F) {
	f.Add("P", "this event loop is already running.", "log")
	f.Add("a\n::error::x", "%0A\r\n::stop-commands::t", "b,c:d")
	f.Fuzz(func(t *testing.T, name, msg, log string) {
		r := hostileCells(name, msg, log)
		commands, _, _ := githubCommands(t, renderString(t, "github", r, Options{}))
		want := 1 + r.Summary.LoopFailures
		for _, c := range r.Cells {
			if !c.LoopFailure() && c.Class.GitHubWarns() {
				want++
			}
		}
		if len(commands) != want {
			t.Fatalf("%d commands, want %d", len(commands), want)
		}
	})
}
