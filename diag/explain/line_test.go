package explain

import (
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
)

// lineCases hold at least one log line per signature with a Line; after is
// an earlier line of the same text.
var lineCases = []struct {
	name, after, line string
	wantSig           diag.SignatureID
	want              diag.Class
}{
	{"fatal error", "", "Fatal Python error: Segmentation fault", "python-fatal-error", diag.ClassCrashed},
	{"asyncio pstree cycle", "ERROR: await-graph contains cycles - cannot print a tree!", "cycle: Task-2 → Task-3 → Task-2", "deadlock-task-cycle", diag.ClassDeadlock},
	{"gunicorn SIGKILL", "", "[2025-05-02 10:16:05 +0000] [1] [ERROR] Worker (pid:17) was sent SIGKILL! Perhaps out of memory?", "process-killed", diag.ClassCrashed},
	{"gunicorn code", "", "[2025-05-02 10:16:05 +0000] [1] [ERROR] Worker (pid:9) was sent code 134!", "process-killed", diag.ClassCrashed},
	{"uvicorn child died", "", "INFO:     Child process [14] died", "process-killed", diag.ClassCrashed},
	{"docker exit 137", "", "g4f-1 exited with code 137", "process-killed", diag.ClassCrashed},
	{"shell segfault", "", "Segmentation fault (core dumped)", "process-killed", diag.ClassCrashed},
	{"bash killed", "", "bash: line 1: 48213 Killed                  python3 bot.py", "process-killed", diag.ClassCrashed},
	{"zsh killed", "", "zsh: killed     python bot.py", "process-killed", diag.ClassCrashed},
	{"systemd kill", "", "Mar 01 09:14:02 host systemd[1]: g4f-api.service: Main process exited, code=killed, status=9/KILL", "process-killed", diag.ClassCrashed},
	{"systemd core dump", "", "Mar 01 09:14:02 host systemd[1]: g4f-api.service: Main process exited, code=dumped, status=11/SEGV", "process-killed", diag.ClassCrashed},
	{"systemd OOM", "", "Mar 01 09:14:02 host systemd[1]: g4f-api.service: A process of this unit has been killed by the OOM killer.", "process-killed", diag.ClassCrashed},
	{"kubernetes OOMKilled", "", "      Reason:       OOMKilled", "process-killed", diag.ClassCrashed},
	{"gunicorn timeout", "", "[2025-05-02 10:16:04 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:11)", "worker-timeout", diag.ClassTimeout},
	{"gunicorn timeout of a uvicorn worker", "[2025-05-02 10:14:03 +0000] [1] [INFO] Using worker: uvicorn.workers.UvicornWorker",
		"[2025-05-02 10:16:04 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:9)", "worker-timeout-uvicorn", diag.ClassLoopBlocked},
	{"curl no answer", "", "curl: (28) Operation timed out after 120002 milliseconds with 0 bytes received", "client-timeout", diag.ClassTimeout},
	{"curl stalled", "", "curl: (28) Operation timed out after 60001 milliseconds with 2271 bytes received", "client-stall", diag.ClassStall},
	{"curl stalled, length known", "", "curl: (28) Operation timed out after 60001 milliseconds with 120 out of 4000 bytes received", "client-stall", diag.ClassStall},
	{"curl cut", "", "curl: (18) transfer closed with outstanding read data remaining", "client-protocol", diag.ClassProtocol},
	{"curl empty reply", "", "curl: (52) Empty reply from server", "client-protocol", diag.ClassProtocol},
	{"nginx 502", "", "<head><title>502 Bad Gateway</title></head>", "gateway-bad", diag.ClassProtocol},
	{"nginx 504", "", "<head><title>504 Gateway Time-out</title></head>", "gateway-timeout", diag.ClassTimeout},
	{"asyncio slow callback", "", "WARNING:asyncio:Executing <Task pending name='Task-7' coro=<on_message() running at /srv/bot/handlers.py:41>> took 12.406 seconds", "loop-slow-callback", diag.ClassLoopBlocked},
	{"coroutine never awaited", "", "/srv/bot/handlers.py:30: RuntimeWarning: coroutine 'AsyncCompletions.create' was never awaited", "coroutine-never-awaited", diag.ClassProviderError},
	{"g4f wrapper never awaited", "", "sys:1: RuntimeWarning: coroutine 'await_callback' was never awaited", "reentry-never-awaited", diag.ClassLoopReentry},
	{"g4f list wrapper never awaited", "", "<sys>:0: RuntimeWarning: coroutine 'async_generator_to_list' was never awaited", "reentry-never-awaited", diag.ClassLoopReentry},
	{"nest_asyncio2 mispatch warning", "", "/srv/app/.venv/lib/python3.13/site-packages/nest_asyncio2.py:158: UserWarning: asyncio is already patched by nest_asyncio. You may encounter bugs related to asyncio", "reentry-nest-mispatch-warning", diag.ClassLoopReentry},
	{"task destroyed pending", "", "Task was destroyed but it is pending!", "task-destroyed-pending", diag.ClassLoopClosed},
	{"task destroyed pending, logged", "", "2026-02-11 08:03:12,551 ERROR asyncio: Task was destroyed but it is pending!", "task-destroyed-pending", diag.ClassLoopClosed},
}

func TestLineSignatures(t *testing.T) {
	t.Parallel()
	for _, tc := range lineCases {
		t.Run(tc.name, func(t *testing.T) {
			x := newExplainer(Options{})
			if tc.after != "" {
				x.noteAfter(tc.after)
			}
			r, _, ok := x.lineSignature(tc.line)
			if !ok {
				t.Fatalf("%q matched no line signature, want %s", tc.line, tc.wantSig)
			}
			if r.sig.ID != tc.wantSig || r.sig.Class != tc.want {
				t.Errorf("%q matched %s (%s), want %s (%s)", tc.line, r.sig.ID, r.sig.Class, tc.wantSig, tc.want)
			}
		})
	}
	// lines that only look like an ending
	for _, line := range []string{
		"Killed 3 idle sessions",
		"Failed to perform, curl: (28) Operation timed out after 30001 milliseconds with 0 bytes received", // curl_cffi in a provider
		"the worker exited with code 0",
		"[INFO] Worker exiting (pid: 11)",
		"WARNING:asyncio:Executing the plan",
		"Mar 01 09:14:02 host systemd[1]: g4f-api.service: Main process exited, code=exited, status=0/SUCCESS",
	} {
		x := newExplainer(Options{})
		if r, _, ok := x.lineSignature(line); ok {
			t.Errorf("%q matched %s", line, r.sig.ID)
		}
	}
}

func TestEveryLineSignatureHasACase(t *testing.T) {
	t.Parallel()
	covered := map[diag.SignatureID]bool{}
	for _, tc := range lineCases {
		covered[tc.wantSig] = true
	}
	for _, s := range diag.Signatures {
		if s.Line != nil && !covered[s.ID] {
			t.Errorf("signature %s has a Line but no test case in lineCases", s.ID)
		}
	}
}
