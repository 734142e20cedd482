package render

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

// withUserFrames gives the first failing loop cell and the first other
// failing cell of the sample a user frame, as a verdict read from a pasted
// traceback has.
func withUserFrames(t *testing.T) report.Report {
	t.Helper()
	r := sampleReport()
	loop, other := false, false
	for i := range r.Cells {
		c := &r.Cells[i]
		switch {
		case !loop && c.LoopFailure():
			loop = true
			c.User = &diag.CodeFrame{File: "bot.py", Line: 42, Func: "on_message"}
		case !other && c.Failing() && !c.LoopFailure() && c.Class.GitHubWarns():
			other = true
			c.User = &diag.CodeFrame{File: "/home/sam/gptbot/worker.py", Line: 7, Func: "fetch"}
		}
	}
	if !loop || !other {
		t.Fatalf("the sample lacks a loop failure (%v) or a warned failure (%v)", loop, other)
	}
	return r
}

// TestUserFrameInEveryFormat: a verdict's user frame shows as "your code:
// bot.py:42 in on_message" in every report format, and in none when no
// verdict has one (a scan's).
func TestUserFrameInEveryFormat(t *testing.T) {
	t.Parallel()
	r := withUserFrames(t)
	render := func(format string, r report.Report) string {
		var buf bytes.Buffer
		var err error
		if format == "evidence" {
			err = Evidence(&buf, r, Options{Width: 120})
		} else {
			err = Render(&buf, format, r, Options{Width: 120})
		}
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		return buf.String()
	}
	for _, format := range append(Formats(), "evidence") {
		got := render(format, r)
		if format == "jsonl" {
			// a saved scan: observations with their class and signature,
			// classified again on reading (a scan's calls name no user code)
			if strings.Contains(got, "user_frame") {
				t.Errorf("jsonl holds a user frame:\n%s", got)
			}
			continue
		}
		want := regexp.MustCompile(`your code:\s+bot\.py:42 in on_message`)
		switch format {
		case "json":
			want = regexp.MustCompile(regexp.QuoteMeta(`"user_frame":{"file":"bot.py","line":42,"func":"on_message"}`))
			got = strings.Join(strings.Fields(got), "")
		case "markdown":
			want = regexp.MustCompile(regexp.QuoteMeta("**Your code:** `bot.py:42 in on_message`"))
		case "github":
			got = unescapeWorkflow(got)
		}
		if !want.MatchString(got) {
			t.Errorf("%s: no %s in\n%s", format, want, got)
		}
		if plain := render(format, sampleReport()); strings.Contains(strings.ToLower(plain), "your code") || strings.Contains(plain, "user_frame") {
			t.Errorf("%s: a scan's report names user code:\n%s", format, plain)
		}
	}
}

// TestGitHubAnnotationOnUserLine: an annotation sits on the user's line
// when its path can be a repository path; an absolute one stays off.
func TestGitHubAnnotationOnUserLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Render(&buf, "github", withUserFrames(t), Options{}); err != nil {
		t.Fatal(err)
	}
	commands, _, messages := githubCommands(t, buf.String())
	if len(commands) == 0 {
		t.Fatal("no commands")
	}
	out := buf.String()
	if !strings.Contains(out, "::error file=bot.py,line=42,title=") {
		t.Errorf("no error annotation on bot.py:42:\n%s", out)
	}
	if strings.Contains(out, "file=/home") || strings.Contains(out, "file=%2Fhome") {
		t.Errorf("an absolute path as an annotation's file:\n%s", out)
	}
	found := false
	for _, m := range messages {
		found = found || strings.Contains(m, "your code: worker.py:7 in fetch")
	}
	if !found {
		t.Errorf("the warned cell's message lacks its user frame: %q", messages)
	}
}
