//go:build unix

package main

import (
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadDumpScript hangs in the way its argument names and, on SIGUSR1,
// prints every thread's stack the way servers do on a signal ("# Thread:
// name(id)", then 'File: "f", line n, in fn' and the source line, most
// recent call last), from a handler that runs on the interrupted main
// thread, then exits.
const threadDumpScript = `
import asyncio, os, queue, signal, sys, threading, time, traceback

def dump(signum, frame):
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, top in sys._current_frames().items():
        out.append("\n# Thread: %s(%d)" % (names.get(ident, ""), ident))
        for fs in traceback.extract_stack(top):
            out.append('File: "%s", line %d, in %s' % (fs.filename, fs.lineno, fs.name))
            if fs.line:
                out.append("  %s" % fs.line.strip())
    print("\n".join(out), flush=True)
    os._exit(0)

signal.signal(signal.SIGUSR1, dump)

async def other():
    return 1

def consume(q, started):
    started.set()
    return q.get()

async def main():
    mode = sys.argv[1]
    if mode == "idle":
        started = threading.Event()
        threading.Thread(target=consume, args=(queue.Queue(), started), name="consumer", daemon=True).start()
        started.wait()
        print("ready", flush=True)
        await asyncio.get_running_loop().create_future()
    print("ready", flush=True)
    if mode == "blocked":
        time.sleep(60)
    else:
        asyncio.run_coroutine_threadsafe(other(), asyncio.get_running_loop()).result()

asyncio.run(main())
`

func TestExplainRealThreadDump(t *testing.T) {
	python := testPython(t)
	script := writeScript(t, threadDumpScript)
	tests := []struct {
		mode, verdict, signature string
		evidence                 []string
	}{
		{"blocked", "loop-blocked", "loop-thread-blocked", []string{`thread "MainThread" runs the event loop and is blocked in time.sleep`}},
		{"deadlock", "deadlock", "deadlock-loop-thread", []string{`thread "MainThread" runs the event loop and waits forever on run_coroutine_threadsafe(...).result()`}},
		{"idle", "timeout", "hang-dump", []string{`the loop of thread "MainThread" idles in select(): no loop fault`, `thread "consumer" waits on queue.Queue.get()`}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd, stdout, errOut := startReady(t, python, script, tt.mode)
			time.Sleep(500 * time.Millisecond) // let it reach the wait
			if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(stdout)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v; stderr %q", err, errOut.String())
			}
			e, code := explainJSON(t, string(out))
			wantCode := exitFailures
			if tt.verdict == "timeout" {
				wantCode = 0
			}
			if e.Verdict != tt.verdict || e.Signature != tt.signature || code != wantCode {
				t.Fatalf("%s (%s), exit %d; want %s (%s), exit %d\n%+v\ndump:\n%s", e.Verdict, e.Signature, code, tt.verdict, tt.signature, wantCode, e, out)
			}
			for _, want := range tt.evidence {
				if !strings.Contains(e.Evidence, want) {
					t.Errorf("evidence %q, want it to hold %q\ndump:\n%s", e.Evidence, want, out)
				}
			}
		})
	}
}
