package explain

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
)

func FuzzExplain(f *testing.F) {
	for _, name := range []string{"uvloop-to-sync-generator", "chained-context", "combined-quoted", "sse-body",
		"markdown-report", "server-log", "task-never-retrieved-mismatch", "stdlib-windows"} {
		f.Add([]byte(mustReadF(f, "testdata/explain-own/"+name+".txt")))
	}
	// dumps, IPython, gunicorn and g4f's retry log
	for _, name := range []string{"57-deadlock-faulthandler-sigusr1-uvicorn", "62-blocked-gunicorn-uvicorn-worker-timeout",
		"69-crashed-segfault-faulthandler", "72-flaky-retry-attempts-debug-log", "76-reentry-loop-stopped-jupyter",
		"82-deadlock-py-spy-dump", "60-blocked-asyncio-debug-slow-callback",
		// gdb py-bt and py-bt-full, thread dumps, asyncio ps and pstree, a hang told in words
		"120-gdb-thread-apply-all-py-bt-select", "122-gdb-py-bt-full-loop-blocked-sleep", "125-gunicorn-worker-int-thread-dump-loop-blocked",
		"129-asyncio-ps-py314-queue-get", "130-asyncio-pstree-py314-event-wait", "131-asyncio-pstree-py314-await-cycle",
		"132-hang-one-line-bot"} {
		f.Add([]byte(mustReadF(f, "../../testdata/explain/"+name+".txt")))
	}
	f.Add([]byte("Traceback (most recent call last):\n  File \"a\", line 1, in f\nX\n\nThe above exception was the direct cause of the following exception:\n\nY: z\n"))
	f.Add([]byte("data: {\"error\": \"RuntimeError: Event loop is closed\", \"provider\": 7}\n"))
	f.Add([]byte("future: <Task exception=RuntimeError('x \\' attached to a different loop')>\n"))
	f.Add([]byte("  \"message\": \"NestAsyncioError: \\u001b[31m\"\n"))
	f.Add([]byte("\r\n```\n\x1b[31mTraceback (most recent call last):\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x := newExplainer(Options{MaxLine: 512, MaxFindings: 8})
		if err := x.read(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		e := x.explanation()
		total, loop := 0, 0
		for _, fd := range e.Findings {
			if fd.Count <= 0 {
				t.Fatalf("finding with count %d: %+v", fd.Count, fd)
			}
			total += fd.Count
			if fd.Verdict.IsLoop() && !e.outranked(fd) {
				loop += fd.Count
			}
			if _, ok := diag.Lookup(diag.SignatureID(fd.Signature)); !ok {
				t.Fatalf("unknown signature %q", fd.Signature)
			}
		}
		s := e.Summary
		if len(e.Findings) > 8 || total+s.Dropped != s.Failures || loop > s.Loop || (s.Dropped == 0 && loop != s.Loop) {
			t.Fatalf("counts disagree: %d findings, total %d loop %d, summary %+v", len(e.Findings), total, loop, s)
		}
		if (len(e.Findings) == 0) != (e.Verdict == diag.ClassOK) || e.LoopFailure() != (s.Loop > 0) {
			t.Fatalf("verdict %s with %d findings, summary %+v", e.Verdict, len(e.Findings), s)
		}
		if len(e.Findings) > 0 && e.Findings[0].Verdict != e.Verdict {
			t.Fatalf("verdict %s is not the first finding's %s", e.Verdict, e.Findings[0].Verdict)
		}
		if x.peak > 1<<20 {
			t.Fatalf("held %d bytes for %d bytes of input", x.peak, len(data))
		}
		var out bytes.Buffer
		for _, format := range Formats() {
			out.Reset()
			if err := Render(&out, format, e, render.Options{}); err != nil {
				t.Fatal(err)
			}
			if format != "json" && strings.ContainsRune(out.String(), '\x1b') {
				t.Fatalf("%s output holds an escape: %q", format, out.String())
			}
		}
	})
}

func mustReadF(f *testing.F, path string) string {
	f.Helper()
	data, err := readFileString(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

func readFileString(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}
