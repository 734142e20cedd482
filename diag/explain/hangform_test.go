package explain

import (
	"os"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
)

// TestExplainHangForms: each dump form and each of the hangs it tells
// apart (an idle loop, a loop thread blocked, one waiting on its own loop,
// a thread waiting on another loop or a queue) says which in its evidence.
func TestExplainHangForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		verdict  diag.Class
		evidence []string
	}{
		{"120-gdb-thread-apply-all-py-bt-select", diag.ClassTimeout,
			[]string{"gdb py-bt of 2 threads", "gdb thread 2 waits in g4f/Provider/Liaobots.py:88", "the loop of gdb thread 1 idles in select(): no loop fault"}},
		{"121-gdb-py-bt-stuck-in-select", diag.ClassTimeout, []string{"the loop of the thread gdb dumped idles in select(): no loop fault"}},
		{"122-gdb-py-bt-full-loop-blocked-sleep", diag.ClassLoopBlocked, []string{"the thread gdb dumped runs the event loop and is blocked in time.sleep"}},
		{"123-gdb-py-bt-run-coroutine-threadsafe-own-loop", diag.ClassDeadlock,
			[]string{"waits forever on run_coroutine_threadsafe(...).result(), and no other loop runs: it was handed its own"}},
		{"125-gunicorn-worker-int-thread-dump-loop-blocked", diag.ClassLoopBlocked, []string{`thread "g4f-loop" runs the event loop and is blocked in socket recv`}},
		{"126-waitress-thread-dump-run-coroutine-threadsafe-other-loop", diag.ClassTimeout,
			[]string{`the loop of thread "asyncio-loop" idles in select(): no loop fault; thread "waitress-0" waits on run_coroutine_threadsafe(...).result()`}},
		{"127-faulthandler-py314-anyio-portal-from-loop-thread", diag.ClassLoopBlocked,
			[]string{"runs the event loop and is blocked waiting on anyio BlockingPortal.call() (the portal's loop, in another thread)"}},
		{"128-py-spy-queue-get-fed-by-other-loop", diag.ClassTimeout, []string{`thread "MainThread" waits on queue.Queue.get()`}},
		{"129-asyncio-ps-py314-queue-get", diag.ClassTimeout, []string{`asyncio ps of 3 tasks: task "answerer" waits on asyncio.Queue.get in answer_loop()`}},
		{"130-asyncio-pstree-py314-event-wait", diag.ClassTimeout, []string{`task "handle-update-7741" waits on asyncio.Event.wait in kim/tgbot/gate.py:19`}},
		{"131-asyncio-pstree-py314-await-cycle", diag.ClassDeadlock, []string{"cycle: fetch-models → refresh-cache → fetch-models"}},
		{"134-gdb-py-bt-two-loops-run-coroutine-threadsafe", diag.ClassLoopBlocked, []string{"gdb thread 1 runs the event loop and is blocked waiting on run_coroutine_threadsafe(...).result()"}},
		{"137-gdb-thread-apply-all-py-bt-full-queue-on-loop", diag.ClassDeadlock, []string{"gdb thread 1 runs the event loop and waits forever in queue.Queue.get()"}},
		{"138-faulthandler-two-loops-waiting-on-each-other", diag.ClassDeadlock,
			[]string{"Timeout (0:01:00): both event loops in the dump wait on each other's work; thread 0x00007f2e0effd6c0 runs the event loop and is blocked waiting on anyio BlockingPortal.call()"}},
		{"132-hang-one-line-bot", diag.ClassTimeout, []string{`a hang told in words ("the bot hangs forever after the first message")`, "low-confidence"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			text, err := os.ReadFile("../../testdata/explain/" + tt.file + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			e := explainString(t, string(text))
			if e.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s; findings %+v", e.Verdict, tt.verdict, e.Findings)
			}
			for _, want := range tt.evidence {
				if !strings.Contains(e.Evidence, want) {
					t.Errorf("evidence %q, want it to hold %q", e.Evidence, want)
				}
			}
		})
	}
}

// TestHangWordsOnlyAlone: words of a hang beside a real failure do not
// replace it, and text with neither stays ok.
func TestHangWordsOnlyAlone(t *testing.T) {
	t.Parallel()
	e := explainString(t, "the bot hangs after a while\nRuntimeError: Event loop is closed\n")
	if e.Signature == string(diag.SigHangDescribed) || len(e.Findings) != 1 {
		t.Errorf("%s (%s), findings %+v", e.Verdict, e.Signature, e.Findings)
	}
	if e := explainString(t, "INFO:     127.0.0.1:51234 - \"POST /v1/chat/completions HTTP/1.1\" 200 OK\n"); e.Verdict != diag.ClassOK {
		t.Errorf("an access log: %s (%s)", e.Verdict, e.Signature)
	}
}
