package diag

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func FuzzClassify(f *testing.F) {
	for _, tc := range signatureCases {
		f.Add(tc.typ, tc.msg, "", "", "sync")
	}
	f.Add("RuntimeError", "this event loop is already running.", "Traceback (most recent call last):\n  File \"/x/g4f/providers/asyncio.py\", line 57, in to_sync_generator\n    yield loop.run_until_complete(x)\n", "cause", "sync-stream")
	f.Add("", "\x1b]0;x\x07Authorization: Bearer abcdefgh RuntimeError: Event loop is closed", "  File \"\\g4f\\a.py\", line 9 in f", "context", "async")
	f.Fuzz(func(t *testing.T, typ, msg, tb, relation, mode string) {
		chain := []scan.PyException{
			{Type: "g4f.errors.RetryProviderError", Message: "RetryProvider failed:\nP: " + typ + ": " + msg},
			{Type: typ, Message: msg, Traceback: tb, Relation: relation},
		}
		for _, o := range []scan.Observation{
			{Cell: scan.Cell{Provider: "P", Mode: scan.Mode(mode), Loop: scan.LoopUvloop}, End: scan.EndCompleted,
				Calls: []scan.Call{sample.ErrorCall(0, 1, chain...), sample.ErrorCall(1, 1, chain[1])}},
			{Cell: scan.Cell{Provider: "P", Mode: scan.Mode(mode), Loop: scan.LoopNest}, End: scan.EndBlocked,
				Stacks: &scan.Stacks{LoopThread: tb + msg, BlockedMS: 3}},
			{Cell: scan.Cell{Provider: "P", Mode: scan.Mode(mode), Loop: scan.LoopAsyncio}, End: scan.EndCrashed,
				Worker: &scan.WorkerInfo{ExitStatus: typ, StderrTail: msg}},
		} {
			v := Classify(o)
			if _, ok := classInfos[v.Class]; !ok {
				t.Fatalf("unknown class %q", v.Class)
			}
			for _, s := range []string{v.Evidence, v.Frame} {
				if strings.ContainsAny(s, "\x1b\n\r\u009b") || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEvidence {
					t.Fatalf("not one clean line: %q", s)
				}
			}
		}
		if s := Sanitize(msg); strings.IndexFunc(s, func(r rune) bool {
			return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f)
		}) >= 0 {
			t.Fatalf("Sanitize left a control: %q", s)
		}
		if r := Redact(msg); Redact(r) != r {
			t.Fatalf("Redact not idempotent: %q", msg)
		}
	})
}
