package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
)

// corpusDirs hold real-format texts (*.txt) with their expected verdicts
// (*.want: "verdict: <class>" and "signature: <id or *>", and optionally
// "your code: <file>:<line> in <func>" for the user frame, or "your code:
// none" for a text that names none).
var corpusDirs = []string{"../../testdata/explain", "testdata/explain-own"}

func TestExplainCorpus(t *testing.T) {
	t.Parallel()
	found := 0
	for _, dir := range corpusDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, txt := range files {
			found++
			name := filepath.Base(filepath.Dir(txt)) + "/" + strings.TrimSuffix(filepath.Base(txt), ".txt")
			t.Run(name, func(t *testing.T) {
				wantClass, wantSig, wantUser := readWant(t, strings.TrimSuffix(txt, ".txt")+".want")
				f, err := os.Open(txt)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				e, err := Explain(f, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := e.Verdict.IsLoop(), wantClass.IsLoop(); got != want {
					t.Errorf("loop confusion: got %s (loop %v), want %s (loop %v); evidence %q",
						e.Verdict, got, wantClass, want, e.Evidence)
				}
				if got, want := e.LoopFailure(), wantClass.IsLoop(); got != want {
					t.Errorf("LoopFailure() = %v, want %v (findings %+v)", got, want, e.Findings)
				}
				if e.Verdict != wantClass {
					t.Errorf("verdict %s, want %s; evidence %q", e.Verdict, wantClass, e.Evidence)
				}
				if wantSig != "*" && e.Signature != wantSig {
					t.Errorf("signature %s, want %s; evidence %q", e.Signature, wantSig, e.Evidence)
				}
				if wantUser != "" {
					want := wantUser
					if want == "none" {
						want = ""
					}
					if got := userFrameText(e.UserFrame); got != want {
						t.Errorf("your code: %q, want %q (%+v)", got, want, e.UserFrame)
					}
				}
			})
		}
	}
	if found == 0 {
		t.Fatal("no corpus texts found")
	}
}

func readWant(t *testing.T, path string) (class diag.Class, sig, user string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "verdict":
			class = diag.Class(strings.TrimSpace(v))
		case "signature":
			sig = strings.TrimSpace(v)
		case "your code":
			user = strings.TrimSpace(v)
		}
	}
	if class == "" || sig == "" {
		t.Fatalf("%s: want both verdict: and signature: lines, got %q", path, data)
	}
	if !class.Known() {
		t.Fatalf("%s: unknown class %q", path, class)
	}
	if sig != "*" {
		s, ok := diag.Lookup(diag.SignatureID(sig))
		if !ok {
			t.Fatalf("%s: unknown signature %q", path, sig)
		}
		if s.Class != class {
			t.Fatalf("%s: signature %s is of class %s, not %s", path, sig, s.Class, class)
		}
	}
	return class, sig, user
}

func explainString(t *testing.T, s string) Explanation {
	t.Helper()
	e, err := Explain(strings.NewReader(s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExplainDetails(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata/explain-own", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	tests := []struct {
		name, text                     string
		provider, frame, reentry, note string
		evidence                       string
	}{
		{name: "uvloop", text: read("uvloop-to-sync-generator.txt"),
			frame:    "g4f/providers/asyncio.py:57 in to_sync_generator",
			reentry:  "g4f/providers/asyncio.py:57 in to_sync_generator",
			evidence: "RuntimeError: this event loop is already running."},
		{name: "windows", text: read("stdlib-windows.txt"),
			frame:   "g4f/providers/asyncio.py:57 in to_sync_generator",
			reentry: "g4f/providers/asyncio.py:57 in to_sync_generator"},
		{name: "quoted", text: read("combined-quoted.txt"), provider: "Blackbox",
			note:     "quoted in RetryProviderError (Blackbox)",
			evidence: "RetryProviderError: RuntimeError: this event loop is already running."},
		{name: "sse", text: read("sse-body.txt"), provider: "Blackbox", note: "from an API error body"},
		{name: "provider from path", text: read("cloudflare-through-run-until-complete.txt"), provider: "Blackbox"},
		{name: "asyncio.run caller", text: read("markdown-report.txt"),
			reentry: "g4f/client/__init__.py:238 in create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := explainString(t, tt.text)
			check := func(field, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("provider", e.Provider, tt.provider)
			check("frame", e.Frame, tt.frame)
			check("reentry", e.ReentryFrame, tt.reentry)
			check("note", e.Note, tt.note)
			check("evidence", e.Evidence, tt.evidence)
			if e.Explanation == "" || e.Remedy == "" {
				t.Errorf("no explanation or remedy: %+v", e)
			}
		})
	}
}

func TestExplainSummary(t *testing.T) {
	t.Parallel()
	e := explainString(t, mustRead(t, "testdata/explain-own/server-log.txt"))
	if len(e.Findings) != 2 {
		t.Fatalf("findings = %+v, want 2", e.Findings)
	}
	f := e.Findings[0]
	if f.Verdict != diag.ClassLoopReentry || f.Count != 2 || f.Provider != "Blackbox" ||
		f.First != "2025-03-01 09:14:02,117" || f.Last != "2025-03-01 09:16:02,117" {
		t.Errorf("first finding = %+v", f)
	}
	if n := e.Findings[1]; n.Verdict != diag.ClassNetwork || n.Provider != "DDG" || n.Count != 1 {
		t.Errorf("second finding = %+v", n)
	}
	s := e.Summary
	if s.Failures != 3 || s.Loop != 2 || s.ByClass[diag.ClassLoopReentry] != 2 || s.ByProvider["Blackbox"] != 2 ||
		s.First != "2025-03-01 09:14:02,117" || s.Last != "2025-03-01 09:16:02,117" {
		t.Errorf("summary = %+v", s)
	}
	if len(s.Top) != 2 {
		t.Fatalf("top signatures = %+v, want 2", s.Top)
	}
	if top := s.Top[0]; top.Signature != "reentry-uvloop" || top.Count != 2 || top.Providers != 1 ||
		top.At != "g4f/providers/asyncio.py:57 in to_sync_generator" ||
		top.First != "2025-03-01 09:14:02,117" || top.Last != "2025-03-01 09:16:02,117" {
		t.Errorf("top signature = %+v", top)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// ok is a text with no error in it at all: no traceback, no frame, no
// exception line, no log record at an error level.
func TestExplainNothing(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"INFO:     Uvicorn running on http://0.0.0.0:1337\n",
		"2025-03-01 09:14:02,113 - aiogram.dispatcher - INFO - Start polling\n",
		"error handling is documented in ERRORS.md\nTraceback files are kept in /var/log/tb\n",
		"the ValueError class is a subclass of Exception\n",
		"INFO:     127.0.0.1:51220 - \"GET /v1/errors HTTP/1.1\" 200 OK\n"} {
		e := explainString(t, text)
		if e.Verdict != diag.ClassOK || len(e.Findings) != 0 || e.LoopFailure() {
			t.Errorf("%q: %+v", text, e)
		}
	}
}

// A logger.exception line followed by the traceback it prints is one failure.
func TestExplainLoggedThenTraceback(t *testing.T) {
	t.Parallel()
	text := "ERROR:root:RuntimeError: this event loop is already running.\n" + mustRead(t, "testdata/explain-own/uvloop-to-sync-generator.txt")
	e := explainString(t, text)
	if e.Summary.Failures != 1 {
		t.Errorf("failures = %d, want 1: %+v", e.Summary.Failures, e.Findings)
	}
}

func TestExplainLongLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3<<20)
	text := long + "\n" + `data: {"error": {"message": "RuntimeError: this event loop is already running."}}` + "\n"
	e, err := Explain(strings.NewReader(text), Options{MaxLine: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if e.Signature != "reentry-uvloop" || e.Summary.Lines != 2 {
		t.Errorf("%+v", e)
	}
}

func TestRenderExplanation(t *testing.T) {
	t.Parallel()
	e := explainString(t, mustRead(t, "testdata/explain-own/server-log.txt"))
	for _, format := range Formats() {
		var b bytes.Buffer
		if err := Render(&b, format, e, render.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "reentry-uvloop") || bytes.ContainsRune(b.Bytes(), '\x1b') {
			t.Errorf("%s:\n%s", format, b.String())
		}
	}
	var b bytes.Buffer
	if err := Render(&b, "json", e, render.Options{}); err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"verdict", "signature", "evidence", "remedy", "findings"} {
		if _, ok := top[k]; !ok {
			t.Errorf("json lacks %q", k)
		}
	}
	for _, f := range top["findings"].([]any) {
		for _, k := range []string{"verdict", "signature", "evidence", "count"} {
			if _, ok := f.(map[string]any)[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
	}
	if err := Render(&b, "junit", e, render.Options{}); err == nil {
		t.Error("junit: no error")
	}
}

// TestExplainBoundedMemory streams 50 MB of server log through the reader:
// the findings stay one per distinct (class, signature, provider), and the
// reader never holds more than its line buffer and one traceback block.
func TestExplainBoundedMemory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("50 MB stream")
	}
	small := newExplainer(Options{})
	var buf bytes.Buffer
	if err := writeServerLog(&buf, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := small.read(&buf); err != nil {
		t.Fatal(err)
	}

	const size = 50 << 20
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeServerLog(pw, size)) }()
	x := newExplainer(Options{MaxLine: 64 << 10})
	if err := x.read(pr); err != nil {
		t.Fatal(err)
	}
	if len(x.findings) != len(small.findings) || len(x.idx) != len(x.findings) {
		t.Errorf("findings: %d over 50 MB, %d over 1 MB (index %d)", len(x.findings), len(small.findings), len(x.idx))
	}
	if x.sum.Failures < 50*small.sum.Failures/2 {
		t.Errorf("failures: %d over 50 MB, %d over 1 MB", x.sum.Failures, small.sum.Failures)
	}
	// one line buffer plus one block of a few short frames
	if bound := 64<<10 + 16<<10; x.peak > bound {
		t.Errorf("peak held %d bytes, bound %d", x.peak, bound)
	}
	if x.block.Active() || x.block.Held() > 0 || x.pending != nil {
		t.Error("block or pending record held after the end")
	}
	t.Logf("%d failures, %d findings, peak %d bytes held", x.sum.Failures, len(x.findings), x.peak)
}

// The per-block bounds hold against a runaway traceback.
func TestExplainBlockBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "  File \"/app/g4f/x.py\", line %d, in f\n    f()\n", i)
	}
	b.WriteString("RecursionError: maximum recursion depth exceeded\n")
	for i := 0; i < 5000; i++ {
		b.WriteString("more message\n")
	}
	for i := 0; i < 100; i++ {
		b.WriteString("\nDuring handling of the above exception, another exception occurred:\n\n" +
			"Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in g\nValueError: again\n")
	}
	b.WriteString("\nThe above exception was the direct cause of the following exception:\n\n" +
		"Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in g\nRuntimeError: Event loop is closed\n")
	x := newExplainer(Options{})
	if err := x.read(strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	e := x.explanation()
	if e.Signature != "closed-loop" || e.Summary.Failures != 1 {
		t.Errorf("%+v", e)
	}
	if x.peak > 256<<10 {
		t.Errorf("peak %d bytes", x.peak)
	}
}

// A failure is seen at the time of the log record that announced it, not of
// the record after its traceback (the one that ends the block).
func TestExplainTimesOfTimestampedLog(t *testing.T) {
	t.Parallel()
	log := `2025-03-01 09:14:02,117 ERROR g4f.api: Exception in provider=Blackbox
Traceback (most recent call last):
  File "/opt/g4f/g4f/providers/asyncio.py", line 57, in to_sync_generator
    yield loop.run_until_complete(await_callback(gen.__anext__))
  File "uvloop/loop.pyx", line 1512, in uvloop.loop.Loop.run_until_complete
RuntimeError: this event loop is already running.
2025-03-01 09:20:00,000 INFO g4f.api: request done
2025-03-01 09:30:00,000 ERROR g4f.api: Exception in provider=Blackbox
Traceback (most recent call last):
  File "/opt/g4f/g4f/providers/asyncio.py", line 57, in to_sync_generator
    yield loop.run_until_complete(await_callback(gen.__anext__))
  File "uvloop/loop.pyx", line 1512, in uvloop.loop.Loop.run_until_complete
RuntimeError: this event loop is already running.
2025-03-01 09:45:00,000 INFO g4f.api: request done
Current thread 0x00007f3a1c7fe640 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait
  File "/opt/g4f/g4f/providers/asyncio.py", line 57 in to_sync_generator
2025-03-01 09:50:00,000 INFO g4f.api: shutting down
`
	e := explainString(t, log)
	var reentry *Finding
	for i := range e.Findings {
		if e.Findings[i].Verdict == diag.ClassLoopReentry {
			reentry = &e.Findings[i]
		}
	}
	if reentry == nil {
		t.Fatalf("no loop-reentry finding: %+v", e.Findings)
	}
	if reentry.Count != 2 || reentry.First != "2025-03-01 09:14:02,117" || reentry.Last != "2025-03-01 09:30:00,000" {
		t.Errorf("loop-reentry finding first %q last %q (count %d), want 09:14:02,117 and 09:30:00,000",
			reentry.First, reentry.Last, reentry.Count)
	}
	for _, f := range e.Findings {
		if f.Verdict != diag.ClassLoopReentry && f.Last == "2025-03-01 09:50:00,000" {
			t.Errorf("the stack dump is dated by the record after it: %+v", f)
		}
	}
}

// A task destroyed while pending, a coroutine never awaited, nest_asyncio2's
// warning: alone they decide (never "ok"); beside a real error they are its
// noise and change neither the verdict nor the counts.
func TestSymptomsDecideOnlyAlone(t *testing.T) {
	t.Parallel()
	const destroyed = "Task was destroyed but it is pending!\n" +
		"task: <Task pending name='Task-4' coro=<AsyncGeneratorProvider.create_async_generator() running at /x/g4f/providers/base_provider.py:311>>\n"
	const neverAwaited = "sys:1: RuntimeWarning: coroutine 'send_alert' was never awaited\n"
	const network = "Traceback (most recent call last):\n" +
		"  File \"/x/bot.py\", line 9, in <module>\n" +
		"    ask()\n" +
		"aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.example:443 ssl:default [Connection refused]\n"
	for _, tc := range []struct {
		name, text string
		verdict    diag.Class
		sig        diag.SignatureID
		failures   int
		loop       int
	}{
		{"destroyed alone", destroyed, diag.ClassLoopClosed, diag.SigTaskDestroyedPending, 1, 1},
		{"never awaited alone", neverAwaited, diag.ClassProviderError, diag.SigCoroutineNeverAwaited, 1, 0},
		{"both alone: the worse", neverAwaited + destroyed, diag.ClassLoopClosed, diag.SigTaskDestroyedPending, 2, 1},
		{"after a network error", network + destroyed + neverAwaited, diag.ClassNetwork, diag.SigNetworkAiohttp, 1, 0},
		{"before a network error", destroyed + network, diag.ClassNetwork, diag.SigNetworkAiohttp, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := explainString(t, tc.text)
			if e.Verdict != tc.verdict || e.Signature != string(tc.sig) {
				t.Errorf("verdict %s (%s), want %s (%s)", e.Verdict, e.Signature, tc.verdict, tc.sig)
			}
			if e.Summary.Failures != tc.failures || e.Summary.Loop != tc.loop || e.LoopFailure() != (tc.loop > 0) {
				t.Errorf("summary %d failures, %d loop; want %d, %d", e.Summary.Failures, e.Summary.Loop, tc.failures, tc.loop)
			}
			if e.Explanation == "" || e.Remedy == "" {
				t.Errorf("no explanation or remedy: %+v", e)
			}
		})
	}
}

// Each provider a RetryProviderError lists is a finding of its own, with its
// provider and class, the loop-class ones first.
func TestRetryProviderErrorFindingPerProvider(t *testing.T) {
	t.Parallel()
	e := explainString(t, mustRead(t, "../../testdata/explain/155-retry-provider-auth-rate-missing.txt"))
	want := []struct {
		class    diag.Class
		sig      diag.SignatureID
		provider string
	}{
		{diag.ClassLoopMissing, diag.SigMissingThreadLoop, "Copilot"},
		{diag.ClassProviderError, diag.SigHTTPStatus, "DeepInfra"},
		{diag.ClassRateLimit, diag.SigRateLimited, "PollinationsAI"},
		{diag.ClassAuth, diag.SigAuthMissing, "HuggingChat"},
	}
	if len(e.Findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(e.Findings), len(want), e.Findings)
	}
	for i, w := range want {
		f := e.Findings[i]
		if f.Verdict != w.class || f.Signature != string(w.sig) || f.Provider != w.provider {
			t.Errorf("finding %d: %s %s %s, want %s %s %s", i, f.Verdict, f.Signature, f.Provider, w.class, w.sig, w.provider)
		}
		if wantNote := "quoted in RetryProviderError (" + w.provider + ")"; f.Note != wantNote {
			t.Errorf("finding %d: note %q, want %q", i, f.Note, wantNote)
		}
		if !strings.HasPrefix(f.Evidence, "RetryProviderError: ") {
			t.Errorf("finding %d: evidence %q", i, f.Evidence)
		}
	}
	if e.Provider != "Copilot" || e.Summary.Loop != 1 || e.Summary.Failures != 4 {
		t.Errorf("decisive provider %q, summary %+v", e.Provider, e.Summary)
	}
}
