package render

import (
	"bytes"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/report"
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
		r, err := report.ReadReport(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		var out bytes.Buffer
		for _, format := range Formats() {
			out.Reset()
			if err := Render(&out, format, r, Options{}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if format == "table" && bytes.ContainsRune(out.Bytes(), '\x1b') {
				t.Fatalf("table holds an escape: %q", out.String())
			}
		}
		out.Reset()
		if err := Evidence(&out, r, Options{}); err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsRune(out.Bytes(), '\x1b') {
			t.Fatalf("evidence holds an escape: %q", out.String())
		}
	})
}
