package explain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/render"
)

// The rules of doc.go ("What counts as an error", "Placing an error"), one
// case each.
func TestExplainErrorRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       diag.Class
		evidence   string // a substring of the evidence
		frame      string
	}{
		{"unknown exception, own code only", "Traceback (most recent call last):\n" +
			"  File \"/home/u/app.py\", line 9, in <module>\n    main()\n" +
			"  File \"/home/u/app.py\", line 5, in main\n    return 1 / 0\n" +
			"ZeroDivisionError: division by zero\n",
			diag.ClassUnclassified, "ZeroDivisionError: division by zero", "home/u/app.py:5 in main"},
		{"unknown exception through g4f stays a provider's", "Traceback (most recent call last):\n" +
			"  File \"/v/site-packages/g4f/providers/base_provider.py\", line 214, in create_completion\n    yield x\n" +
			"ZeroDivisionError: division by zero\n",
			diag.ClassProviderError, "ZeroDivisionError", ""},
		{"unknown exception with the provider named", "ERROR:g4f:Blackbox: KeyError: 'choices'\n",
			diag.ClassProviderError, "KeyError: 'choices'", ""},
		{"unknown exception on an error record", "2025-01-02 10:00:00 ERROR app: ZeroDivisionError: division by zero\n",
			diag.ClassUnclassified, "ZeroDivisionError", ""},
		{"unknown exception line at no level", "ValueError: could not convert string to float: 'abc'\n",
			diag.ClassUnclassified, "ValueError: could not convert", ""},
		{"traceback head alone", "Traceback (most recent call last):\n",
			diag.ClassUnclassified, "a traceback head", ""},
		{"head and a frame", "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n",
			diag.ClassUnclassified, "without its exception line; innermost frame x.py:1 in f", ""},
		{"frames without their head", "  File \"/srv/bot/bot.py\", line 42, in on_message\n    await reply()\n",
			diag.ClassUnclassified, "frames without their head or exception line; innermost frame srv/bot/bot.py:42 in on_message",
			"srv/bot/bot.py:42 in on_message"},
		{"error record without an exception", "[2025-01-02 10:00:00 +0000] [7] [ERROR] Connection in use: ('0.0.0.0', 8000)\n",
			diag.ClassUnclassified, "Connection in use", ""},
		{"level=error", "time=2025-01-02T10:00:00Z level=error msg=\"worker exited\"\n",
			diag.ClassUnclassified, "level=error", ""},
		{"a 5xx access line", "INFO:     127.0.0.1:51234 - \"POST /v1/chat/completions HTTP/1.1\" 500 Internal Server Error\n",
			diag.ClassUnclassified, "500 Internal Server Error", ""},
		{"exception ignored alone", "Exception ignored in: <function Foo.__del__ at 0x7f>\n",
			diag.ClassUnclassified, "Exception ignored in", ""},
		{"task destroyed alone", "Task was destroyed but it is pending!\ntask: <Task pending name='Task-1' coro=<main() running at a.py:3>>\n",
			diag.ClassLoopClosed, "Task was destroyed but it is pending!", ""},
		// no error at all
		{"a 404 access line", "INFO:     127.0.0.1:51234 - \"GET /favicon.ico HTTP/1.1\" 404 Not Found\n", diag.ClassOK, "no failure", ""},
		{"a warning record", "WARNING: This is a development server. Do not use it in a production deployment.\n", diag.ClassOK, "no failure", ""},
		{"prose about errors", "Error handling: see ERRORS.md; the RuntimeError class is documented there.\n", diag.ClassOK, "no failure", ""},
		{"a type without a message", "we catch ValueError and KeyError here\n", diag.ClassOK, "no failure", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := explainString(t, tt.text)
			if e.Verdict != tt.want || !strings.Contains(e.Evidence, tt.evidence) {
				t.Errorf("verdict %s, evidence %q; want %s with %q", e.Verdict, e.Evidence, tt.want, tt.evidence)
			}
			if tt.frame != "" && e.Frame != tt.frame {
				t.Errorf("frame %q, want %q", e.Frame, tt.frame)
			}
			if (e.Verdict == diag.ClassOK) != (len(e.Findings) == 0) {
				t.Errorf("verdict %s with findings %+v", e.Verdict, e.Findings)
			}
		})
	}
}

// A weak sign of an error gives no finding of its own beside a real one.
func TestExplainUnplacedOnlyAlone(t *testing.T) {
	t.Parallel()
	text := "ERROR:    Exception in ASGI application\n" + mustRead(t, "testdata/explain-own/uvloop-to-sync-generator.txt") +
		"INFO:     127.0.0.1:51234 - \"POST /v1/chat/completions HTTP/1.1\" 500 Internal Server Error\n"
	e := explainString(t, text)
	if e.Verdict != diag.ClassLoopReentry || e.Summary.ByClass[diag.ClassUnclassified] != 0 {
		t.Errorf("verdict %s, by class %v", e.Verdict, e.Summary.ByClass)
	}
}

// A traceback cut before its exception line is judged by its head and
// frames, and the evidence says the line is missing.
func TestExplainCutTraceback(t *testing.T) {
	t.Parallel()
	const likely = "likely loop-reentry: the exception line is missing; the frames show g4f/providers/asyncio.py:57 in to_sync_generator entering the running loop, refused in "
	tests := []struct {
		file     string
		sig      diag.SignatureID
		evidence string
		reentry  string
	}{
		{"100-cut-colab-ipython-to-sync-generator.txt", diag.SigReentryStdlib, likely + "_check_running; the head names RuntimeError",
			"g4f/providers/asyncio.py:57 in to_sync_generator"},
		{"107-cut-uvicorn-uvloop-traceback-no-exception-line.txt", diag.SigReentryUvloop, likely + "Loop.run_forever",
			"g4f/providers/asyncio.py:57 in to_sync_generator"},
		{"108-unclassified-cut-ipython8-keyerror-head.txt", diag.SigUnclassified,
			"a traceback without its exception line; the head names KeyError; innermost frame g4f/Provider/Blackbox.py:214 in create_async_generator", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := explainString(t, mustRead(t, "../../testdata/explain/"+tt.file))
			if e.Signature != string(tt.sig) || e.Evidence != tt.evidence || e.ReentryFrame != tt.reentry {
				t.Errorf("got %s %q re-entry %q\nwant %s %q re-entry %q", e.Signature, e.Evidence, e.ReentryFrame, tt.sig, tt.evidence, tt.reentry)
			}
		})
	}
	// the head names another error: no guess from the frames
	text := strings.Replace(mustRead(t, "../../testdata/explain/100-cut-colab-ipython-to-sync-generator.txt"),
		"RuntimeError                              Traceback", "ValueError                                Traceback", 1)
	if e := explainString(t, text); e.Verdict != diag.ClassUnclassified || !strings.Contains(e.Evidence, "the head names ValueError") {
		t.Errorf("ValueError head: %s %q", e.Verdict, e.Evidence)
	}
	// the frames stop inside the provider, not in a loop refusing entry
	text = "Traceback (most recent call last):\n" +
		"  File \"/v/site-packages/g4f/providers/asyncio.py\", line 57, in to_sync_generator\n" +
		"    yield loop.run_until_complete(await_callback(gen.__anext__))\n" +
		"  File \"/usr/lib/python3.12/asyncio/base_events.py\", line 687, in run_until_complete\n    return future.result()\n" +
		"  File \"/v/site-packages/g4f/Provider/Blackbox.py\", line 140, in create_async_generator\n    await raise_for_status(response)\n"
	if e := explainString(t, text); e.Verdict != diag.ClassUnclassified || e.Provider != "Blackbox" {
		t.Errorf("cut inside the provider: %s %q provider %q", e.Verdict, e.Evidence, e.Provider)
	}
}

// Exit-time noise after a real error does not replace it: the verdict is
// the error's, the noise is said beside it and does not count.
func TestExplainNoiseBelowRealError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		want      diag.Class
		noise     diag.Class
		noiseText string
	}{
		{"101-auth-then-proactor-closed-noise-windows-py311.txt", diag.ClassAuth, diag.ClassLoopClosed, "__del__"},
		{"102-auth-401-then-task-destroyed-aiogram.txt", diag.ClassAuth, diag.ClassLoopClosed, "destroyed a task"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			text := mustRead(t, "../../testdata/explain/"+tt.file)
			e := explainString(t, text)
			if e.Verdict != tt.want || e.LoopFailure() || e.Failing(diag.ClassSet{}) != 0 {
				t.Fatalf("verdict %s, loop failure %v, failing %d", e.Verdict, e.LoopFailure(), e.Failing(diag.ClassSet{}))
			}
			if len(e.Secondary) != 1 || e.Secondary[0].Verdict != tt.noise || !strings.Contains(e.Secondary[0].Noise, tt.noiseText) {
				t.Fatalf("secondary %+v", e.Secondary)
			}
			var out bytes.Buffer
			if err := Render(&out, "text", e, render.Options{}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "also:      "+string(tt.noise)) || !strings.Contains(out.String(), "exit-time noise after the error above") {
				t.Errorf("the text output does not say both:\n%s", out.String())
			}
			// the order of the two in the text does not matter
			lines := strings.SplitAfter(text, "\n")
			half := len(lines) / 2
			for i, l := range lines {
				if strings.HasPrefix(l, "Exception ignored in") || strings.Contains(l, "Task was destroyed") {
					half = i
					break
				}
			}
			swapped := strings.Join(lines[half:], "") + "\n" + strings.Join(lines[:half], "")
			if e := explainString(t, swapped); e.Verdict != tt.want || len(e.Secondary) != 1 {
				t.Errorf("noise first: verdict %s, secondary %+v", e.Verdict, e.Secondary)
			}
		})
	}
	// the noise alone decides, as any finding does
	e := explainString(t, mustRead(t, "../../testdata/explain/26-closed-proactor-del-windows-py38.txt"))
	if e.Verdict != diag.ClassLoopClosed || !e.LoopFailure() || len(e.Secondary) != 0 || e.Findings[0].Noise == "" {
		t.Errorf("noise alone: %s, loop failure %v, secondary %+v, findings %+v", e.Verdict, e.LoopFailure(), e.Secondary, e.Findings)
	}
	// an error no signature knows outranks the noise too
	text := "Traceback (most recent call last):\n  File \"/home/u/app.py\", line 5, in main\n    return 1 / 0\n" +
		"ZeroDivisionError: division by zero\nTask was destroyed but it is pending!\n"
	if e := explainString(t, text); e.Verdict != diag.ClassUnclassified || !strings.Contains(e.Evidence, "ZeroDivisionError") || len(e.Secondary) != 1 {
		t.Errorf("unknown error and noise: %s %q, secondary %+v", e.Verdict, e.Evidence, e.Secondary)
	}
	text = "Task was destroyed but it is pending!\n[2025-01-02 10:00:00 +0000] [7] [ERROR] Connection in use: ('0.0.0.0', 8000)\n"
	if e := explainString(t, text); e.Verdict != diag.ClassUnclassified || !strings.Contains(e.Evidence, "Connection in use") || len(e.Secondary) != 1 {
		t.Errorf("noise, then an error record: %s %q, secondary %+v", e.Verdict, e.Evidence, e.Secondary)
	}
	// a real loop error after it still counts
	text = mustRead(t, "../../testdata/explain/26-closed-proactor-del-windows-py38.txt") +
		mustRead(t, "testdata/explain-own/uvloop-to-sync-generator.txt")
	if e := explainString(t, text); e.Verdict != diag.ClassLoopReentry || e.Summary.Loop != 1 || len(e.Secondary) != 1 {
		t.Errorf("noise and a loop error: %s, loop %d, secondary %+v", e.Verdict, e.Summary.Loop, e.Secondary)
	}
}

// Empty, blank and binary input is no text to explain.
func TestExplainInputNotText(t *testing.T) {
	t.Parallel()
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0xde, 0xad}, 64)...)
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*131 + 7) // no NUL, mostly not UTF-8
		if noise[i] == 0 {
			noise[i] = 0xff
		}
	}
	tests := []struct {
		name string
		in   []byte
		msg  string
	}{
		{"empty", nil, "the input is empty: pass the text of a traceback, a log or a stack dump"},
		{"blank", []byte("\n  \r\n\t\n"), "the input is empty (3 blank lines): pass the text"},
		{"png", png, "the input is not text (a NUL byte at offset 8: a binary file)"},
		{"utf-16", []byte("\xff\xfeT\x00r\x00a\x00c\x00e\x00"), "UTF-16 text, as Windows PowerShell's > writes it; convert it to UTF-8 first"},
		{"not utf-8", noise, "bytes are neither UTF-8 nor printable: a binary file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Explain(bytes.NewReader(tt.in), Options{})
			var bad *InputError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want an InputError saying %q", err, tt.msg)
			}
		})
	}
	// Latin-1 and a terminal's colours are text
	for _, text := range []string{"caf\xe9 cr\xe8me: ValueError: x\n", "\x1b[31mRuntimeError: Event loop is closed\x1b[0m\n"} {
		if _, err := Explain(strings.NewReader(text), Options{}); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// errorSign is the test's own reading of "an error in it" (doc.go), kept
// apart from the explainer's so that the corpus test below checks one
// against the other.
var errorSign = regexp.MustCompile(`(?m)Traceback \(most recent call last\)|^\s*File "[^"]+", line \d+|` +
	`\b[A-Z]\w*(?:Error|Exception): |\b(?:ERROR|CRITICAL|FATAL)\b|level=(?:error|critical|fatal)\b|Exception ignored in|` +
	`Task was destroyed but it is pending|HTTP/[\d.]+"? 5\d\d\b|Fatal Python error|^Thread 0x|"error"\s*:`)

// Over the whole corpus, no text with an error gets ok, and unclassified is
// given only where no class fits: its .want says so, and no signature knows
// the exception it shows.
func TestExplainCorpusNeverOKOnError(t *testing.T) {
	t.Parallel()
	for _, dir := range corpusDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v, %d files", dir, err, len(files))
		}
		for _, txt := range files {
			data, err := os.ReadFile(txt)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Explain(bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatalf("%s: %v", txt, err)
			}
			if errorSign.Match(data) && e.Verdict == diag.ClassOK {
				t.Errorf("%s: ok for a text with an error (%q)", txt, errorSign.Find(data))
			}
			want, _, _ := readWant(t, strings.TrimSuffix(txt, ".txt")+".want")
			if (e.Verdict == diag.ClassUnclassified) != (want == diag.ClassUnclassified) {
				t.Errorf("%s: verdict %s, want %s", txt, e.Verdict, want)
			}
			for _, f := range e.Findings {
				if f.Verdict != diag.ClassUnclassified {
					continue
				}
				line, _, _ := strings.Cut(f.Evidence, " (headless traceback")
				if typ, msg, ok := pytext.ParseExceptionLine(line); ok && msg != "" {
					if m, ok := diag.MatchException(typ, msg); ok {
						t.Errorf("%s: unclassified %q, which %s knows", txt, f.Evidence, m.Sig.ID)
					}
				}
			}
		}
	}
}
