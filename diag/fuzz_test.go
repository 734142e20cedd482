package diag

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro"
)

func FuzzReadReport(f *testing.F) {
	// small seeds keep the fuzzer exploring rather than minimizing
	obs := `{"provider":"P","mode":"sync","loop":"uvloop","end":"completed","calls":[{"outcome":"error",` +
		`"chain":[{"type":"RuntimeError","message":"this event loop is already running.",` +
		`"frames":[{"file":"/g4f/providers/asyncio.py","line":57,"func":"to_sync_generator"}]}]},{"outcome":"ok"}]}`
	f.Add([]byte(`{"record":"header","tool":"g4fdiag","plan":{"providers":["P"]}}` + "\n" + obs + "\n" + `{"record":"end","interrupted":true}`))
	f.Add([]byte("{\n  \"tool\": \"g4fdiag\",\n  \"cells\": [\n    " + obs + "\n  ]\n}\n"))
	f.Add([]byte(`{"record":"header"}` + "\n" + `{"provider":"P","end":"blocked","stacks":{"loop_thread":"  File \"/g4f/x.py\", line 1, in f\n    q.get()\n"}}`))
	f.Add([]byte(`{"provider":"P","end":"deadline","mode":"sync-stream","calls":[{"outcome":"pending","chunks":2,"last_chunk_ms":1e308}],"duration_ms":-5}`))
	f.Add([]byte(`{"cells":[{"provider":"P","end":"completed","calls":[{"outcome":"error","chain":[{"type":"","message":"RuntimeError: RuntimeError: this event loop is already running."}]}]}]}`))
	f.Add([]byte("{\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadReport(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		var out bytes.Buffer
		for _, format := range Formats() {
			out.Reset()
			if err := Render(&out, format, r, RenderOptions{}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if format == "table" && bytes.ContainsRune(out.Bytes(), '\x1b') {
				t.Fatalf("table holds an escape: %q", out.String())
			}
		}
		out.Reset()
		if err := RenderEvidence(&out, r, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsRune(out.Bytes(), '\x1b') {
			t.Fatalf("evidence holds an escape: %q", out.String())
		}
	})
}

func FuzzClassify(f *testing.F) {
	for _, tc := range signatureCases {
		f.Add(tc.typ, tc.msg, "", "", "sync")
	}
	f.Add("RuntimeError", "this event loop is already running.", "Traceback (most recent call last):\n  File \"/x/g4f/providers/asyncio.py\", line 57, in to_sync_generator\n    yield loop.run_until_complete(x)\n", "cause", "sync-stream")
	f.Add("", "\x1b]0;x\x07Authorization: Bearer abcdefgh RuntimeError: Event loop is closed", "  File \"\\g4f\\a.py\", line 9 in f", "context", "async")
	f.Fuzz(func(t *testing.T, typ, msg, tb, relation, mode string) {
		chain := []repro.PyException{
			{Type: "g4f.errors.RetryProviderError", Message: "RetryProvider failed:\nP: " + typ + ": " + msg},
			{Type: typ, Message: msg, Traceback: tb, Relation: relation},
		}
		for _, o := range []repro.Observation{
			{Cell: repro.Cell{Provider: "P", Mode: repro.Mode(mode), Loop: repro.LoopUvloop}, End: repro.EndCompleted,
				Calls: []repro.Call{sample.ErrorCall(0, 1, chain...), sample.ErrorCall(1, 1, chain[1])}},
			{Cell: repro.Cell{Provider: "P", Mode: repro.Mode(mode), Loop: repro.LoopNest}, End: repro.EndBlocked,
				Stacks: &repro.Stacks{LoopThread: tb + msg, BlockedMS: 3}},
			{Cell: repro.Cell{Provider: "P", Mode: repro.Mode(mode), Loop: repro.LoopAsyncio}, End: repro.EndCrashed,
				Worker: &repro.WorkerInfo{ExitStatus: typ, StderrTail: msg}},
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
