package explain

import (
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
)

// lines joins text lines; the tests below write dumps and logs line by line.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

var (
	workerThread = []string{
		"Thread 0x00007f3b2a1fc640 (most recent call first):",
		`  File "/usr/lib/python3.11/threading.py", line 327 in wait`,
		`  File "/usr/lib/python3.11/concurrent/futures/thread.py", line 81 in _worker`,
		`  File "/usr/lib/python3.11/threading.py", line 975 in run`,
		`  File "/usr/lib/python3.11/threading.py", line 1038 in _bootstrap_inner`,
		`  File "/usr/lib/python3.11/threading.py", line 995 in _bootstrap`,
		"",
	}
	loopOuter = []string{
		`  File "/usr/lib/python3.11/asyncio/events.py", line 80 in _run`,
		`  File "/usr/lib/python3.11/asyncio/base_events.py", line 1922 in _run_once`,
		`  File "/usr/lib/python3.11/asyncio/base_events.py", line 607 in run_forever`,
		`  File "/usr/lib/python3.11/asyncio/base_events.py", line 640 in run_until_complete`,
		`  File "/usr/lib/python3.11/asyncio/runners.py", line 118 in run`,
		`  File "/usr/lib/python3.11/asyncio/runners.py", line 190 in run`,
		`  File "/srv/bot/main.py", line 12 in <module>`,
	}
)

func dump(head string, inner ...string) string {
	ls := append([]string{}, workerThread...)
	ls = append(ls, head)
	ls = append(ls, inner...)
	return lines(append(ls, loopOuter...)...)
}

func TestExplainDumps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		verdict    diag.Class
		sig        string
		evidence   string // a substring
		frame      string
	}{
		{"loop thread waits on a future", dump("Current thread 0x00007f3b2b9a2740 (most recent call first):",
			`  File "/usr/lib/python3.11/threading.py", line 327 in wait`,
			`  File "/usr/lib/python3.11/concurrent/futures/_base.py", line 451 in result`,
			`  File "/srv/app/.venv/lib/python3.11/site-packages/g4f/providers/base_provider.py", line 60 in create_completion`,
			`  File "/srv/bot/handlers.py", line 41 in on_message`),
			diag.ClassDeadlock, "deadlock-loop-thread", "main thread 0x00007f3b2b9a2740 runs the event loop and waits forever in concurrent.futures Future.result()",
			"g4f/providers/base_provider.py:60 in create_completion"},
		{"loop thread in a sync request", dump("Thread 0x00007f3b2b9a2740 (most recent call first):",
			`  File "/usr/lib/python3.11/socket.py", line 706 in readinto`,
			`  File "/usr/lib/python3.11/http/client.py", line 286 in _read_status`,
			`  File "/srv/app/.venv/lib/python3.11/site-packages/requests/sessions.py", line 589 in request`,
			`  File "/srv/app/.venv/lib/python3.11/site-packages/g4f/Provider/Vercel.py", line 44 in create_completion`,
			`  File "/srv/bot/handlers.py", line 41 in on_message`),
			diag.ClassLoopBlocked, "loop-thread-blocked", "is blocked in socket recv", "g4f/Provider/Vercel.py:44 in create_completion"},
		{"every loop idle", dump("Thread 0x00007f3b2b9a2740 (most recent call first):",
			`  File "/usr/lib/python3.11/selectors.py", line 468 in select`,
			`  File "/usr/lib/python3.11/asyncio/base_events.py", line 1886 in _run_once`) +
			lines("Thread 0x00007f3b28000640 (most recent call first):",
				`  File "/usr/lib/python3.11/socket.py", line 706 in readinto`,
				`  File "/srv/app/.venv/lib/python3.11/site-packages/g4f/Provider/Vercel.py", line 44 in create_completion`,
				`  File "/usr/lib/python3.11/concurrent/futures/thread.py", line 58 in run`,
				`  File "/usr/lib/python3.11/threading.py", line 995 in _bootstrap`),
			diag.ClassTimeout, "hang-dump", "stack dump of 3 threads: no event-loop thread is blocked; thread 0x00007f3b28000640 waits in g4f/Provider/Vercel.py:44", ""},
		{"py-spy", lines(
			"Process 4242: /usr/bin/python3 -m g4f.cli api",
			"Python v3.11.2 (/usr/bin/python3.11)",
			"",
			`Thread 4242 (idle): "MainThread"`,
			"    wait (threading.py:327)",
			"    result (concurrent/futures/_base.py:451)",
			"    create_completion (g4f/providers/base_provider.py:60)",
			"    chat_completions (g4f/api/__init__.py:190)",
			"    _run (asyncio/events.py:80)",
			"    _run_once (asyncio/base_events.py:1922)",
			"    run_forever (asyncio/base_events.py:607)",
			"    run_until_complete (asyncio/base_events.py:640)",
			"    run (asyncio/runners.py:118)",
			"    run (uvicorn/server.py:65)",
			"    <module> (g4f/cli.py:12)",
			`Thread 4301 (idle): "ThreadPoolExecutor-0_0"`,
			"    _worker (concurrent/futures/thread.py:81)",
			"    run (threading.py:982)",
		), diag.ClassDeadlock, "deadlock-loop-thread", `thread "MainThread" runs the event loop and waits forever`, "g4f/providers/base_provider.py:60 in create_completion"},
		{"a crash and its stacks are one failure", lines("Fatal Python error: Segmentation fault", "") +
			dump("Current thread 0x00007f3b2b9a2740 (most recent call first):",
				`  File "/srv/app/.venv/lib/python3.11/site-packages/curl_cffi/curl.py", line 331 in perform`,
				`  File "/srv/app/.venv/lib/python3.11/site-packages/g4f/Provider/Copilot.py", line 101 in create_completion`) +
			lines("", "Extension modules: multidict._multidict, yarl._quoting_c (total: 2)", "Segmentation fault (core dumped)"),
			diag.ClassCrashed, "python-fatal-error", "Fatal Python error: Segmentation fault in g4f/Provider/Copilot.py:101", ""},
		{"Ctrl-C on an idle loop", lines(
			"Traceback (most recent call last):",
			`  File "/srv/bot/main.py", line 12, in <module>`,
			`    asyncio.run(main())`,
			`  File "/usr/lib/python3.11/asyncio/runners.py", line 190, in run`,
			`    return runner.run(main)`,
			`  File "/usr/lib/python3.11/asyncio/base_events.py", line 607, in run_forever`,
			`    self._run_once()`,
			`  File "/usr/lib/python3.11/selectors.py", line 468, in select`,
			`    fd_event_list = self._selector.poll(timeout, max_ev)`,
			"KeyboardInterrupt"),
			diag.ClassSkipped, "keyboard-interrupt", "KeyboardInterrupt while waiting in lib/python3.11/selectors.py:468", ""},
	}
	// the first dump again as journald keeps it: every line stamped
	var stamped strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(tests[0].text, "\n"), "\n") {
		stamped.WriteString("Mar 01 09:14:02 llm-gw g4f[812]: " + l + "\n")
	}
	journald := tests[0]
	journald.name, journald.text = "journald", stamped.String()
	tests = append(tests, journald)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := explainString(t, tt.text)
			if e.Verdict != tt.verdict || e.Signature != tt.sig {
				t.Fatalf("got %s (%s), want %s (%s); findings %+v", e.Verdict, e.Signature, tt.verdict, tt.sig, e.Findings)
			}
			if !strings.Contains(e.Evidence, tt.evidence) {
				t.Errorf("evidence %q, want it to hold %q", e.Evidence, tt.evidence)
			}
			if tt.frame != "" && e.Frame != tt.frame {
				t.Errorf("frame %q, want %q", e.Frame, tt.frame)
			}
			if e.Summary.Failures != 1 {
				t.Errorf("failures = %d, want 1: %+v", e.Summary.Failures, e.Findings)
			}
		})
	}
}

// gunicorn's kill of the worker it timed out is the same failure; a kill of
// another worker is another.
func TestExplainWorkerTimeoutThenKill(t *testing.T) {
	t.Parallel()
	log := lines(
		"[2025-05-02 10:14:03 +0000] [1] [INFO] Using worker: uvicorn.workers.UvicornWorker",
		"[2025-05-02 10:16:04 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:9)",
		"[2025-05-02 10:16:05 +0000] [1] [ERROR] Worker (pid:9) was sent code 134!",
		"[2025-05-02 10:16:05 +0000] [1] [INFO] Booting worker with pid: 23",
		"[2025-05-02 10:30:00 +0000] [1] [ERROR] Worker (pid:23) was sent SIGKILL! Perhaps out of memory?",
	)
	e := explainString(t, log)
	if e.Verdict != diag.ClassLoopBlocked || e.Signature != "worker-timeout-uvicorn" {
		t.Fatalf("got %s (%s): %+v", e.Verdict, e.Signature, e.Findings)
	}
	if e.Summary.Failures != 2 || e.Summary.ByClass[diag.ClassCrashed] != 1 || e.Summary.ByClass[diag.ClassLoopBlocked] != 1 {
		t.Errorf("summary %+v", e.Summary)
	}
	// without the uvicorn worker the same timeout is a plain timeout
	e = explainString(t, strings.SplitN(log, "\n", 2)[1])
	if e.Findings[0].Signature != "worker-timeout" && e.Findings[1].Signature != "worker-timeout" {
		t.Errorf("findings %+v", e.Findings)
	}
}

func TestExplainFlaky(t *testing.T) {
	t.Parallel()
	fail := "Blackbox: ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Connection reset by peer]"
	tests := []struct {
		name  string
		log   string
		flaky bool
	}{
		{"failed, then answered", lines("Using Blackbox provider (attempt 1)", fail, "Using Blackbox provider (attempt 2)",
			"bot: sent the answer", "Using Blackbox provider (attempt 1)"), true},
		{"failed every time", lines("Using Blackbox provider (attempt 1)", fail, "Using Blackbox provider (attempt 2)", fail), false},
		{"the last attempt's end is not in the text", lines("Using Blackbox provider (attempt 1)", fail, "Using Blackbox provider (attempt 2)"), false},
		{"another provider answered", lines("Using Blackbox provider", fail, "Using DDG provider", "bot: sent the answer", "Using DDG provider"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := explainString(t, tt.log)
			var flaky *Finding
			for i := range e.Findings {
				if e.Findings[i].Verdict == diag.ClassFlaky {
					flaky = &e.Findings[i]
				}
			}
			if (flaky != nil) != tt.flaky {
				t.Fatalf("flaky finding %v, want %v: %+v", flaky != nil, tt.flaky, e.Findings)
			}
			if flaky == nil {
				return
			}
			if e.Verdict != diag.ClassFlaky || flaky.Provider != "Blackbox" ||
				!strings.HasPrefix(flaky.Evidence, "Blackbox failed 1 of 2 attempts and answered the others; first failure: ClientConnectorError") {
				t.Errorf("decisive %s; flaky finding %+v", e.Verdict, *flaky)
			}
			if e.Summary.Failures != 2 || e.Summary.ByClass[diag.ClassNetwork] != 1 || e.Summary.ByClass[diag.ClassFlaky] != 1 {
				t.Errorf("summary %+v, want the failed attempt and the flaky provider", e.Summary)
			}
		})
	}
}

// The worst class decides, whatever the counts.
func TestExplainWorstDecides(t *testing.T) {
	t.Parallel()
	network := "ERROR:g4f:DDG: ClientConnectorError: Cannot connect to host duckduckgo.com:443 ssl:default [Connect call failed]\n"
	log := strings.Repeat(network, 5) + "ERROR:g4f:Blackbox: KeyError: 'choices'\n"
	if e := explainString(t, log); e.Verdict != diag.ClassProviderError {
		t.Errorf("5 network, 1 provider error: got %s", e.Verdict)
	}
	log += "[2025-05-02 10:30:00 +0000] [1] [ERROR] Worker (pid:23) was sent SIGKILL! Perhaps out of memory?\n"
	if e := explainString(t, log); e.Verdict != diag.ClassCrashed {
		t.Errorf("with a killed worker: got %s", e.Verdict)
	}
	log += "ERROR:g4f:Blackbox: RuntimeError: Event loop is closed\n"
	if e := explainString(t, log); e.Verdict != diag.ClassLoopClosed || !e.LoopFailure() {
		t.Errorf("with a loop error: got %s", e.Verdict)
	}
}

// Details the corpus's verdict lines do not check: the frames read from
// IPython's traceback format, asyncio's slow-callback warning, and no
// re-entry frame for what is no re-entry.
func TestExplainEndDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, evidence, frame, reentry string
	}{
		{"76-reentry-loop-stopped-jupyter.txt", "RuntimeError: Event loop stopped before Future completed.",
			"g4f/providers/base_provider.py:40 in create_completion", "g4f/providers/base_provider.py:40 in create_completion"},
		{"85-ipython7-asyncio-run-notebook.txt", "RuntimeError: asyncio.run() cannot be called from a running event loop",
			"g4f/client/__init__.py:238 in create", "g4f/client/__init__.py:238 in create"},
		{"60-blocked-asyncio-debug-slow-callback.txt",
			"task on_message() at srv/bot/handlers.py:41 held the event loop for 12.406 seconds (asyncio debug mode)",
			"srv/bot/handlers.py:41 in on_message", ""},
		// a script's own asyncio.run starts the loop; it re-enters nothing
		{"77-reentry-close-running-loop.txt", "RuntimeError: Cannot close a running event loop", "", ""},
		{"78-mismatch-non-thread-safe-py312.txt", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := explainString(t, mustRead(t, "../../testdata/explain/"+tt.file))
			if tt.evidence != "" && e.Evidence != tt.evidence {
				t.Errorf("evidence %q, want %q", e.Evidence, tt.evidence)
			}
			if e.Frame != tt.frame {
				t.Errorf("frame %q, want %q", e.Frame, tt.frame)
			}
			if e.ReentryFrame != tt.reentry {
				t.Errorf("re-entry frame %q, want %q", e.ReentryFrame, tt.reentry)
			}
		})
	}
}
