package diag

import (
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestClassifyEnds(t *testing.T) {
	t.Parallel()
	deadlockStack := "Traceback (most recent call last):\n" +
		"  File \"/srv/app/harness.py\", line 210, in run_call\n    result = create()\n" +
		"  File \"/venv/lib/python3.11/site-packages/g4f/Provider/DeadlockLoop.py\", line 30, in create_completion\n    return future.result()\n" +
		"  File \"/usr/lib/python3.11/concurrent/futures/_base.py\", line 451, in result\n    self._condition.wait(timeout)\n" +
		"  File \"/usr/lib/python3.11/threading.py\", line 320, in wait\n    waiter.acquire()\n"
	lockStack := "Thread 0x1 (most recent call first):\n" +
		"  File \"/venv/lib/python3.11/site-packages/g4f/Provider/Locky.py\", line 12 in create_completion\n"
	lockStackWithCode := "Traceback (most recent call last):\n" +
		"  File \"/venv/lib/python3.11/site-packages/g4f/Provider/Locky.py\", line 12, in create_completion\n    self._lock.acquire()\n"
	sleepStack := "Traceback (most recent call last):\n" +
		"  File \"/venv/lib/python3.11/site-packages/g4f/Provider/Sleepy.py\", line 14, in create_completion\n    time.sleep(3)\n"
	pending := scan.Call{Outcome: scan.OutcomePending, DurationMS: 5000}
	stalled := scan.Call{Outcome: scan.OutcomePending, Chunks: 2, FirstChunkMS: 5, LastChunkMS: 12, DurationMS: 4912}

	cases := []struct {
		name      string
		o         scan.Observation
		want      Class
		signature string
		evidence  string
		frame     string
	}{
		{"skipped", func() scan.Observation {
			o := sample.Observation("P", scan.ModeSync, scan.LoopNest, scan.EndSkipped)
			o.SkipReason = "provider does not support streaming"
			return o
		}(), ClassSkipped, "skipped", "provider does not support streaming", ""},
		{"interrupted", sample.Observation("P", scan.ModeSync, scan.LoopNest, scan.EndInterrupted), ClassSkipped, "interrupted", "the scan was interrupted before the cell finished", ""},
		{"unknown end with calls", sample.Observation("P", scan.ModeSync, scan.LoopNest, "future-end", sample.OKCall(0, 0, 3)), ClassOK, "ok", "answered in 3 ms", ""},
		{"not working", sample.Observation("P", scan.ModeSync, scan.LoopNest, scan.EndNotWorking), ClassNotWorking, "provider-not-working", "provider class is marked working = False", ""},
		{"unavailable", func() scan.Observation {
			o := sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndUnavailable)
			o.SkipReason = "No module named 'uvloop'"
			return o
		}(), ClassUnavailable, "loop-unavailable", "No module named 'uvloop'", ""},
		{"crashed", func() scan.Observation {
			o := sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCrashed, pending)
			o.Worker = &scan.WorkerInfo{PID: 7, ExitStatus: "exit status 139", StderrTail: "a\nFatal Python error: Segmentation fault\n\n"}
			return o
		}(), ClassCrashed, "worker-crashed", "worker exited: exit status 139; last stderr: Fatal Python error: Segmentation fault", ""},
		{"blocked on a future is a deadlock", func() scan.Observation {
			o := sample.Observation("DeadlockLoop", scan.ModeSync, scan.LoopUvloop, scan.EndBlocked, pending)
			o.Stacks = &scan.Stacks{LoopThread: deadlockStack, BlockedMS: 2100}
			return o
		}(), ClassDeadlock, "deadlock-loop-thread",
			"loop thread blocked 2.1 s in g4f/Provider/DeadlockLoop.py:30 in create_completion: return future.result()",
			"g4f/Provider/DeadlockLoop.py:30 in create_completion"},
		{"blocked on a lock is a deadlock", func() scan.Observation {
			o := sample.Observation("Locky", scan.ModeSync, scan.LoopNest, scan.EndBlocked, pending)
			o.Stacks = &scan.Stacks{LoopThread: lockStackWithCode, BlockedMS: 1000}
			return o
		}(), ClassDeadlock, "deadlock-loop-thread",
			"loop thread blocked 1 s in g4f/Provider/Locky.py:12 in create_completion: self._lock.acquire()",
			"g4f/Provider/Locky.py:12 in create_completion"},
		{"blocked without a wait frame", func() scan.Observation {
			o := sample.Observation("Locky", scan.ModeSync, scan.LoopNest, scan.EndBlocked, pending)
			o.Stacks = &scan.Stacks{LoopThread: lockStack, BlockedMS: 1000}
			return o
		}(), ClassLoopBlocked, "loop-thread-blocked",
			"loop thread blocked 1 s in g4f/Provider/Locky.py:12 in create_completion",
			"g4f/Provider/Locky.py:12 in create_completion"},
		{"blocked in sleep", func() scan.Observation {
			o := sample.Observation("Sleepy", scan.ModeSync, scan.LoopAsyncio, scan.EndBlocked, pending)
			o.Stacks = &scan.Stacks{LoopThread: sleepStack, BlockedMS: 1500}
			return o
		}(), ClassLoopBlocked, "loop-thread-blocked",
			"loop thread blocked 1.5 s in g4f/Provider/Sleepy.py:14 in create_completion: time.sleep(3)",
			"g4f/Provider/Sleepy.py:14 in create_completion"},
		{"blocked without stacks", sample.Observation("P", scan.ModeSync, scan.LoopAsyncio, scan.EndBlocked),
			ClassLoopBlocked, "loop-thread-blocked", "loop thread blocked (no stack recorded)", ""},
		{"deadline streaming stall", func() scan.Observation {
			o := sample.Observation("Stall", scan.ModeAsyncStream, scan.LoopAsyncio, scan.EndDeadline, stalled)
			o.DurationMS = 4912
			return o
		}(), ClassStall, "stream-stalled", "stream stopped after 2 chunks; last chunk at 12 ms, no chunk for 4.9 s", ""},
		{"deadline non-streaming with chunks is a timeout", func() scan.Observation {
			o := sample.Observation("Stall", scan.ModeAsync, scan.LoopAsyncio, scan.EndDeadline, stalled)
			o.DurationMS = 5003
			return o
		}(), ClassTimeout, "no-answer", "no answer within 5 s", ""},
		{"deadline steady stream is a timeout", func() scan.Observation {
			c := scan.Call{Outcome: scan.OutcomePending, Chunks: 20, FirstChunkMS: 5, LastChunkMS: 1905, MaxGapMS: 104, DurationMS: 1961}
			o := sample.Observation("Steady", scan.ModeAsyncStream, scan.LoopAsyncio, scan.EndDeadline, c)
			o.DurationMS = 2100
			return o
		}(), ClassTimeout, "stream-still-running", "still streaming at the deadline: 20 chunks, last one 56 ms ago", ""},
		{"deadline slow stream is a timeout", func() scan.Observation {
			// a chunk every 2 s: 1.5 s of silence is its pace, not a stall
			c := scan.Call{Outcome: scan.OutcomePending, Chunks: 3, FirstChunkMS: 10, LastChunkMS: 4010, MaxGapMS: 2000, DurationMS: 5500}
			return sample.Observation("Slow", scan.ModeSyncStream, scan.LoopNest, scan.EndDeadline, c)
		}(), ClassTimeout, "stream-still-running", "still streaming at the deadline: 3 chunks, last one 1.5 s ago", ""},
		{"deadline stream that sped then stopped is a stall", func() scan.Observation {
			c := scan.Call{Outcome: scan.OutcomePending, Chunks: 10, FirstChunkMS: 10, LastChunkMS: 910, MaxGapMS: 100, DurationMS: 5000}
			o := sample.Observation("Stop", scan.ModeAsyncStream, scan.LoopAsyncio, scan.EndDeadline, c)
			o.DurationMS = 5000
			return o
		}(), ClassStall, "stream-stalled", "stream stopped after 10 chunks; last chunk at 910 ms, no chunk for 4.1 s", ""},
		{"deadline streaming without chunks", func() scan.Observation {
			o := sample.Observation("Hang", scan.ModeSyncStream, scan.LoopAsyncio, scan.EndDeadline, pending)
			o.DurationMS = 5003
			return o
		}(), ClassTimeout, "no-answer", "no answer within 5 s", ""},
		{"deadline without calls", func() scan.Observation {
			o := sample.Observation("Hang", scan.ModeSync, scan.LoopAsyncio, scan.EndDeadline)
			o.DurationMS = 30000
			return o
		}(), ClassTimeout, "no-answer", "no answer within 30 s", ""},
		{"completed ok", sample.Observation("P", scan.ModeAsync, scan.LoopUvloop, scan.EndCompleted, sample.OKCall(0, 0, 12), sample.OKCall(1, 0, 14)),
			ClassOK, "ok", "answered in 12 ms", ""},
		{"completed without calls", sample.Observation("P", scan.ModeAsync, scan.LoopUvloop, scan.EndCompleted),
			ClassProviderError, "no-calls", "cell completed without recording a call", ""},
		{"completed loop error", sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted,
			sample.ErrorCall(0, 3, sample.WithFrames(sample.ReentryUvloop, sample.SyncWrapperFrames("P"))), sample.ErrorCall(1, 3, sample.WithFrames(sample.ReentryUvloop, sample.SyncWrapperFrames("P")))),
			ClassLoopReentry, "reentry-uvloop", "RuntimeError: this event loop is already running.", "g4f/providers/asyncio.py:57 in to_sync_generator"},
		{"completed calls before the deadline count", sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndDeadline,
			sample.ErrorCall(0, 3, sample.ReentryUvloop), pending),
			ClassFlaky, "reentry-uvloop", "1 loop-reentry, 1 timeout of 2 calls: RuntimeError: this event loop is already running.", ""},
		{"error without exception", sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted, scan.Call{Outcome: scan.OutcomeError}),
			ClassProviderError, "provider-error", "call error without an exception recorded", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Classify(tc.o)
			if v.Class != tc.want || v.Signature != tc.signature || v.Evidence != tc.evidence || v.Frame != tc.frame {
				t.Errorf("got  %s [%s] %q (%s)\nwant %s [%s] %q (%s)", v.Class, v.Signature, v.Evidence, v.Frame,
					tc.want, tc.signature, tc.evidence, tc.frame)
			}
			if v.Class != ClassOK && v.Class != ClassSkipped && (v.Explanation == "" || v.Remedy == "") {
				t.Errorf("verdict %s has no explanation or remedy", v.Class)
			}
		})
	}
}

func TestClassifyFlaky(t *testing.T) {
	t.Parallel()
	o := sample.Observation("ConcurrencyFlaky", scan.ModeSync, scan.LoopNest, scan.EndCompleted,
		sample.OKCall(0, 0, 30), sample.ErrorCall(1, 31, sample.WithFrames(sample.NestTask, sample.SyncWrapperFrames("X"))), sample.ErrorCall(2, 4, sample.NetworkChain(scan.ModeSync, "X")...))
	v := Classify(o)
	want := map[Class]int{ClassOK: 1, ClassLoopReentry: 1, ClassNetwork: 1}
	if v.Class != ClassFlaky || !reflect.DeepEqual(v.Split, want) {
		t.Fatalf("got %s %v, want flaky %v", v.Class, v.Split, want)
	}
	if v.Signature != "reentry-nest-task" {
		t.Errorf("signature %s, want the worst class's reentry-nest-task", v.Signature)
	}
	if !strings.HasPrefix(v.Evidence, "1 ok, 1 loop-reentry, 1 network of 3 calls: RuntimeError: Cannot enter into task") {
		t.Errorf("evidence %q", v.Evidence)
	}
	if !v.LoopFailure() || v.LoopClass() != ClassLoopReentry || !v.Failing() {
		t.Errorf("a flaky cell with a loop-reentry call is a failing loop failure")
	}

	o = sample.Observation("NetFlaky", scan.ModeSync, scan.LoopNest, scan.EndCompleted, sample.OKCall(0, 0, 30), sample.ErrorCall(1, 4, sample.NetworkChain(scan.ModeSync, "X")...))
	v = Classify(o)
	if v.Class != ClassFlaky || v.LoopFailure() || v.Signature != "network-dns" || v.Evidence != "1 ok, 1 network of 2 calls: gaierror: [Errno -2] Name or service not known" {
		t.Errorf("got %+v", v)
	}
}

func TestVerdictPredicates(t *testing.T) {
	t.Parallel()
	for _, c := range Classes {
		v := Verdict{Class: c}
		failing := c != ClassOK && c != ClassSkipped && c != ClassNotWorking && c != ClassUnavailable
		if v.Failing() != failing {
			t.Errorf("%s.Failing() = %v", c, v.Failing())
		}
		if v.LoopFailure() != c.IsLoop() {
			t.Errorf("%s.LoopFailure() = %v", c, v.LoopFailure())
		}
		if n := len([]rune(c.Code())); n == 0 || n > 4 {
			t.Errorf("%s: code %q longer than 4", c, c.Code())
		}
		if c.Meaning() == "" || (c != ClassOK && len(c.Color()) == 0) {
			t.Errorf("%s: no meaning or colour", c)
		}
	}
	loops := []Class{ClassLoopReentry, ClassLoopMissing, ClassLoopClosed, ClassLoopMismatch, ClassLoopBlocked, ClassDeadlock}
	n := 0
	for _, c := range Classes {
		if c.IsLoop() {
			n++
		}
	}
	if n != len(loops) {
		t.Errorf("%d loop classes, want %d", n, len(loops))
	}
	if (Verdict{Class: ClassFlaky, Split: map[Class]int{ClassOK: 1, ClassTimeout: 1}}).LoopFailure() {
		t.Error("flaky without a loop class is not a loop failure")
	}
}

func TestChainOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		chain []scan.PyException
		sig   SignatureID
	}{
		{"root cause decides", []scan.PyException{
			{Type: "g4f.errors.NestAsyncioError", Message: `Install "nest-asyncio2" package | pip install -U nest-asyncio2`},
			{Type: "RuntimeError", Message: "this event loop is already running.", Relation: "cause"},
		}, "reentry-uvloop"},
		{"unmatched root is skipped", []scan.PyException{
			{Type: "TimeoutError", Message: ""},
			{Type: "asyncio.exceptions.CancelledError", Message: "", Relation: "cause"},
		}, "network-timeout"},
		{"requirements from import error", []scan.PyException{
			{Type: "g4f.errors.MissingRequirementsError", Message: `Install "curl_cffi" package`},
			{Type: "ModuleNotFoundError", Message: "No module named 'curl_cffi'", Relation: "cause"},
		}, "missing-module"},
		{"a handled loop error does not make a network error a loop fault", []scan.PyException{
			{Type: "aiohttp.client_exceptions.ClientConnectorError", Message: "Cannot connect to host x:443 ssl:default [Connection refused]"},
			{Type: "RuntimeError", Message: "There is no current event loop in thread 'Thread-1'.", Relation: "context"},
		}, "network-aiohttp"},
		{"older g4f: NestAsyncioError raised while handling the failed import", []scan.PyException{
			{Type: "g4f.errors.NestAsyncioError", Message: `Install "nest_asyncio" package`},
			{Type: "ModuleNotFoundError", Message: "No module named 'nest_asyncio'", Relation: "context"},
		}, "reentry-nest-asyncio-error"},
		{"a combined message is read before its cause", []scan.PyException{
			{Type: "g4f.errors.RetryProviderError", Message: "RetryProvider failed:\nBlackbox: ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]\nDDG: RuntimeError: this event loop is already running."},
			{Type: "aiohttp.client_exceptions.ClientConnectorError", Message: "Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]", Relation: "cause"},
		}, "reentry-uvloop"},
		{"the handled exception counts when nothing else matches", []scan.PyException{
			{Type: "KeyError", Message: "'loop'"},
			{Type: "RuntimeError", Message: "There is no current event loop in thread 'Thread-1'.", Relation: "context"},
		}, "missing-thread-loop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, ok := MatchChain(tc.chain)
			if !ok || m.Sig.ID != tc.sig {
				got := SignatureID("nothing")
				if ok {
					got = m.Sig.ID
				}
				t.Errorf("matched %s, want %s", got, tc.sig)
			}
		})
	}
}

// A provider that cannot reach its host is never a loop fault, even when its
// traceback runs through g4f's sync wrapper and run_until_complete.
func TestNetworkThroughSyncWrapperIsNetwork(t *testing.T) {
	t.Parallel()
	frames := append(sample.SyncWrapperFrames("Blackbox"),
		sample.Frame("/usr/lib/python3.11/asyncio/base_events.py", 653, "run_until_complete", "return future.result()"),
		sample.Frame("/venv/lib/python3.11/site-packages/aiohttp/connector.py", 1002, "_create_direct_connection", "raise ClientConnectorError(req.connection_key, exc) from exc"))
	e := sample.WithFrames(scan.PyException{Type: "aiohttp.client_exceptions.ClientConnectorError",
		Message: "Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]"}, frames)
	for _, l := range scan.AllLoops {
		v := Classify(sample.Observation("Blackbox", scan.ModeSync, l, scan.EndCompleted, sample.ErrorCall(0, 3, e)))
		if v.Class != ClassNetwork || v.Signature != "network-aiohttp" || v.LoopFailure() {
			t.Errorf("%s: got %s [%s]", l, v.Class, v.Signature)
		}
		if v.Frame != "g4f/providers/asyncio.py:57 in to_sync_generator" {
			t.Errorf("frame %q", v.Frame)
		}
	}
}

func TestFrameFromTracebackText(t *testing.T) {
	t.Parallel()
	e := scan.PyException{Type: "RuntimeError", Message: "this event loop is already running.",
		Traceback: "Traceback (most recent call last):\n" +
			"  File \"C:\\Python311\\Lib\\site-packages\\g4f\\providers\\asyncio.py\", line 61, in to_sync_generator\n" +
			"    yield loop.run_until_complete(await_callback(gen.__anext__, timeout))\n" +
			"  File \"uvloop/loop.pyx\", line 1511, in uvloop.loop.Loop.run_until_complete\n" +
			"RuntimeError: this event loop is already running.\n"}
	v := Classify(sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted, sample.ErrorCall(0, 1, e)))
	if v.Frame != "g4f/providers/asyncio.py:61 in to_sync_generator" {
		t.Errorf("frame %q", v.Frame)
	}
}

func TestEvidenceIsOneCleanLine(t *testing.T) {
	t.Parallel()
	msg := "bad\x1b[31m red\x1b[0m\r\nsecond line api_key=sk-abcdefghijklmnopqrstuvwx " + strings.Repeat("x", 400)
	v := Classify(sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted, sample.ErrorCall(0, 1, scan.PyException{Type: "Weird", Message: msg})))
	if strings.ContainsAny(v.Evidence, "\x1b\r\n") || len([]rune(v.Evidence)) > maxEvidence {
		t.Errorf("evidence not one clean line: %q", v.Evidence)
	}
	if v.Evidence != "Weird: bad red" {
		t.Errorf("evidence %q", v.Evidence)
	}
	m := strings.Replace(msg, "\r\n", " ", 1)
	v = Classify(sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted, sample.ErrorCall(0, 1, scan.PyException{Type: "Weird", Message: m})))
	if strings.Contains(v.Evidence, "sk-abc") || !strings.HasSuffix(v.Evidence, "…") || len([]rune(v.Evidence)) != maxEvidence {
		t.Errorf("evidence %q", v.Evidence)
	}
}

func TestFmtDuration(t *testing.T) {
	t.Parallel()
	for ms, want := range map[float64]string{0: "0 ms", 12.4: "12 ms", 999: "999 ms", 1000: "1 s", 2104: "2.1 s", 4912: "4.9 s", 5003: "5 s", 125000: "125 s", -3: "0 ms"} {
		if got := FormatDuration(ms); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", ms, got, want)
		}
	}
}

// A call left hanging by a loop error that asyncio only logged is that loop
// error, not a timeout: nest_asyncio's task switch breaks a second call and
// the log is the only place the error shows.
func TestPendingWithLoggedLoopError(t *testing.T) {
	t.Parallel()
	o := scan.Observation{
		Cell:       scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopNest, Concurrency: 2, Repeat: 1},
		End:        scan.EndDeadline,
		DurationMS: 5000,
		Calls: []scan.Call{
			{Index: 0, Outcome: scan.OutcomeOK, Chunks: 1},
			{Index: 1, Outcome: scan.OutcomePending},
		},
		Log: "Exception in callback <TaskStepMethWrapper object at 0x7f>()\n" +
			"Traceback (most recent call last):\n" +
			"  File \"/usr/lib/python3.11/asyncio/events.py\", line 80, in _run\n" +
			"RuntimeError: Cannot enter into task <Task pending name='Task-3'> while another task <Task pending name='Task-2'> is being executed.\n",
	}
	v := Classify(o)
	if v.Class != ClassFlaky || v.Signature != "reentry-nest-task" || v.Split[ClassLoopReentry] != 1 || !v.LoopFailure() {
		t.Errorf("verdict = %+v", v)
	}
	o.Calls = o.Calls[1:]
	if v := Classify(o); v.Class != ClassLoopReentry || !strings.Contains(v.Evidence, "hung after the worker logged RuntimeError: Cannot enter into task") {
		t.Errorf("verdict = %+v", v)
	}
	o.Log = "Error fetching https://example.invalid: ClientConnectorError: Cannot connect to host\n"
	if v := Classify(o); v.Class != ClassTimeout {
		t.Errorf("a logged network error made the hang %+v", v)
	}
}

// Over HTTP the client of a nest server's first stream sees no byte; what
// decides is the traceback the server logged for that request.
func TestPendingWithServerLoggedLoopError(t *testing.T) {
	t.Parallel()
	o := scan.Observation{
		Cell:       scan.Cell{Provider: "P", Mode: scan.ModeAPISSE, Loop: scan.LoopNest, Concurrency: 1, Repeat: 1},
		End:        scan.EndDeadline,
		DurationMS: 5000,
		Calls: []scan.Call{{Outcome: scan.OutcomePending, ServerLog: "asyncio ERROR: Exception in callback Task.task_wakeup()\n" +
			"asyncio ERROR: RuntimeError: Cannot enter into task <Task pending name='Task-1' coro=<Server.serve()>> while another task <Task pending name='wrap'> is being executed.\n"}},
	}
	v := Classify(o)
	if v.Class != ClassLoopReentry || v.Signature != "reentry-nest-task" || !strings.HasPrefix(v.Evidence, "hung after the server logged RuntimeError: Cannot enter into task") {
		t.Errorf("verdict = %+v", v)
	}
}

// An API server whose loop thread waits on its own future answers nothing;
// the stacks taken at the deadline show why.
func TestDeadlineWithServerStuckOnItself(t *testing.T) {
	t.Parallel()
	dump := `Thread 0x00007f86d0bfe6c0 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 324 in wait
  File "/usr/lib/python3.11/threading.py", line 622 in wait
  File "/usr/lib/python3.11/threading.py", line 995 in _bootstrap

Current thread 0x00007f86df76e2c0 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait
  File "/usr/lib/python3.11/concurrent/futures/_base.py", line 451 in result
  File "/srv/app/g4f/Provider/DeadlockLoop.py", line 33 in create_completion
  File "/srv/app/g4f/api/__init__.py", line 317 in chat_completions
  File "/usr/lib/python3.11/asyncio/runners.py", line 118 in run
  File "/usr/lib/python3/dist-packages/uvicorn/server.py", line 60 in run
`
	o := scan.Observation{
		Cell:   scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeAPIJSON, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1},
		End:    scan.EndDeadline,
		Calls:  []scan.Call{{Outcome: scan.OutcomePending}},
		Stacks: &scan.Stacks{Threads: dump},
	}
	v := Classify(o)
	if v.Class != ClassDeadlock || v.Frame != "g4f/Provider/DeadlockLoop.py:33 in create_completion" ||
		!strings.Contains(v.Evidence, "API server's loop thread waits forever") {
		t.Errorf("verdict = %+v", v)
	}
	// A loop thread idle in select, and a worker thread waiting: a plain hang.
	o.Stacks.Threads = `Current thread 0x00007f86df76e2c0 (most recent call first):
  File "/usr/lib/python3.11/selectors.py", line 468 in select
  File "/usr/lib/python3.11/asyncio/base_events.py", line 1884 in _run_once
  File "/usr/lib/python3.11/asyncio/base_events.py", line 607 in run_forever
`
	if v := Classify(o); v.Class != ClassTimeout {
		t.Errorf("idle loop: %+v", v)
	}
}
