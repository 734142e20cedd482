package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/secret"
)

// A kept key is cut from what goes out, never from what is classified: a
// key that is a word of the loop error leaves the verdict alone.
func TestKeptSecretsAtOutputOnly(t *testing.T) {
	t.Parallel()
	defer secret.Keep("loop")()
	defer secret.Keep("sk-kept-0123456789abcdef")()
	msg := "RuntimeError: this event loop is already running. (api key: loop, token sk-kept-0123456789abcdef)"
	obs := scan.Observation{Cell: scan.Cell{Provider: "P", Mode: scan.ModeAPISSE, Loop: scan.LoopServer}, End: scan.EndCompleted,
		Calls: []scan.Call{{Outcome: scan.OutcomeError, Chain: []scan.PyException{{Type: "g4f.api.StreamError", Message: msg}},
			ServerLog: "Authorization: Bearer loop"}}}
	v := diag.Classify(obs)
	if v.Class != diag.ClassLoopReentry {
		t.Fatalf("verdict %+v", v)
	}
	if !strings.Contains(v.Evidence, "event loop is already running") || strings.Contains(v.Evidence, "key: loop") || strings.Contains(v.Evidence, "sk-kept") {
		t.Errorf("evidence %q", v.Evidence)
	}
	r := report.Build(report.Header{Tool: "g4fdiag", Plan: scan.Plan{Modes: []scan.Mode{scan.ModeAPISSE}, Loops: []scan.Loop{scan.LoopServer}}},
		[]scan.Observation{obs}, false)
	for _, f := range Formats() {
		var b bytes.Buffer
		if err := Render(&b, f, r, Options{}); err != nil {
			t.Fatal(err)
		}
		if out := b.String(); strings.Contains(out, "key: loop") || strings.Contains(out, "Bearer loop") || strings.Contains(out, "sk-kept") {
			t.Errorf("%s holds the key:\n%s", f, out)
		}
	}
}

// JSON escapes the C1 controls and bidi overrides that encoding/json leaves
// raw, and reads them back as they were.
func TestJSONEscapesTerminalRunes(t *testing.T) {
	t.Parallel()
	msg := "RuntimeError: this event loop is already running.\u009b2J\u009d0;x\u0007\u202e\x7f"
	obs := scan.Observation{Cell: scan.Cell{Provider: "P\u009b", Mode: scan.ModeSync, Loop: scan.LoopAsyncio}, End: scan.EndCompleted,
		Calls: []scan.Call{{Outcome: scan.OutcomeError, Chain: []scan.PyException{{Type: "RuntimeError", Message: msg}}}}}
	r := report.Build(report.Header{Tool: "g4fdiag", Plan: scan.Plan{Modes: []scan.Mode{scan.ModeSync}, Loops: []scan.Loop{scan.LoopAsyncio}}},
		[]scan.Observation{obs}, false)
	for _, f := range []string{"json", "jsonl"} {
		var b bytes.Buffer
		if err := Render(&b, f, r, Options{}); err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(b.Bytes(), "\u009b\u009d\u202e\x7f\x07\x1b") {
			t.Errorf("%s holds a raw terminal rune:\n%s", f, b.String())
		}
		back, err := report.ReadReport(&b)
		if err != nil {
			t.Fatal(err)
		}
		if got := back.Cells[0].Calls[0].Chain[0].Message; got != msg || back.Cells[0].Provider != "P\u009b" {
			t.Errorf("%s read back %q", f, got)
		}
	}
}
