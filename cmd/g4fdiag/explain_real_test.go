package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests below make real Python processes fail the way the corpus's texts
// say — a loop thread waiting on itself, blocked by a sync call, stopped by
// Ctrl-C, a segfault — under the real stdlib loop and uvloop, and give what
// they print to explain.

// deadlockScript blocks the loop thread on work only that loop can do, the
// way a sync wrapper called from async code does.
const deadlockScript = `
import asyncio, faulthandler, sys
if "--faulthandler" in sys.argv:
    faulthandler.dump_traceback_later(1.0, exit=True)
if "--uvloop" in sys.argv:
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

async def answer():
    return "hi"

def sync_create(loop):
    return asyncio.run_coroutine_threadsafe(answer(), loop).result()

async def main():
    print("ready", flush=True)
    sync_create(asyncio.get_running_loop())

asyncio.run(main())
`

// blockedScript holds the loop thread in a sync sleep.
const blockedScript = `
import asyncio, faulthandler, sys, time
if "--faulthandler" in sys.argv:
    faulthandler.dump_traceback_later(0.5, exit=True)

async def handler():
    time.sleep(float(sys.argv[1]))

async def main():
    await asyncio.create_task(handler())

asyncio.run(main(), debug="--debug" in sys.argv)
`

func writeScript(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// stderrOf runs python with args and returns what it wrote to stderr; the
// process is expected to fail.
func stderrOf(t *testing.T, python string, args ...string) string {
	t.Helper()
	cmd := exec.Command(python, args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err == nil {
		t.Fatalf("%v exited 0; stderr %q", args, errOut.String())
	}
	return errOut.String()
}

type explained struct {
	Verdict   string `json:"verdict"`
	Signature string `json:"signature"`
	Evidence  string `json:"evidence"`
	Frame     string `json:"frame"`
}

func explainJSON(t *testing.T, text string) (explained, int) {
	t.Helper()
	code, out, errOut := runExplainIO(t, text, "--format", "json")
	var e explained
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("explain: %v (stderr %q)\n%s", err, errOut, out)
	}
	return e, code
}

func TestExplainRealFailures(t *testing.T) {
	python := testPython(t)
	deadlock := writeScript(t, deadlockScript)
	blocked := writeScript(t, blockedScript)
	tests := []struct {
		name      string
		args      []string
		verdict   string
		signature string
		code      int
		evidence  string // a substring
		succeeds  bool   // the script does not fail: all it logs is the text
	}{
		{"faulthandler dump of a deadlocked stdlib loop", []string{deadlock, "--faulthandler"},
			"deadlock", "deadlock-loop-thread", exitFailures, "Timeout (0:00:01): main thread", false},
		{"faulthandler dump of a deadlocked uvloop loop", []string{deadlock, "--faulthandler", "--uvloop"},
			"deadlock", "deadlock-loop-thread", exitFailures, "waits forever in concurrent.futures Future.result()", false},
		{"faulthandler dump of a loop held by time.sleep", []string{blocked, "5", "--faulthandler"},
			"loop-blocked", "loop-thread-blocked", exitFailures, "is blocked in", false},
		{"asyncio debug mode's slow-callback warning", []string{blocked, "0.3", "--debug"},
			"loop-blocked", "loop-slow-callback", exitFailures, "task handler() at", true},
		{"a segfault", []string{"-X", "faulthandler", "-c", "import ctypes; ctypes.string_at(0)"},
			"crashed", "python-fatal-error", exitOK, "Fatal Python error: Segmentation fault", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text string
			if tt.succeeds {
				out, err := exec.Command(python, tt.args...).CombinedOutput()
				if err != nil {
					t.Fatalf("%v: %v\n%s", tt.args, err, out)
				}
				text = string(out)
			} else {
				text = stderrOf(t, python, tt.args...)
			}
			e, code := explainJSON(t, text)
			if e.Verdict != tt.verdict || e.Signature != tt.signature || code != tt.code {
				t.Fatalf("%s (%s), exit %d; want %s (%s), exit %d\ntext:\n%s", e.Verdict, e.Signature, code,
					tt.verdict, tt.signature, tt.code, text)
			}
			if !strings.Contains(e.Evidence, tt.evidence) {
				t.Errorf("evidence %q lacks %q", e.Evidence, tt.evidence)
			}
		})
	}
}

// Ctrl-C on a script whose loop thread waits on itself: asyncio.run's
// handler only cancels the main task on the first SIGINT, which a blocked
// loop never runs; the second raises KeyboardInterrupt inside the wait, and
// that traceback shows the deadlock.
// startReady starts python with args, its stdout piped and its stderr
// kept, and waits for the script's "ready" line; the process is killed when
// the test ends.
func startReady(t *testing.T, python string, args ...string) (*exec.Cmd, io.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(python, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut := &bytes.Buffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ready := make([]byte, 6)
	if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // stderr is complete, and no longer written
		t.Fatalf("script did not start: %q %v; stderr %q", ready, err, errOut.String())
	}
	return cmd, stdout, errOut
}

func TestExplainRealCtrlC(t *testing.T) {
	python := testPython(t)
	cmd, _, errOut := startReady(t, python, writeScript(t, deadlockScript))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for i := 0; ; i++ {
		time.Sleep(200 * time.Millisecond) // let it reach the wait
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			if i < 5 {
				continue
			}
			t.Fatalf("no exit after %d SIGINTs; stderr %q", i+1, errOut.String())
		}
		break
	}
	e, code := explainJSON(t, errOut.String())
	if e.Verdict != "deadlock" || code != exitFailures || !strings.HasPrefix(e.Evidence, "KeyboardInterrupt: ") {
		t.Fatalf("%+v, exit %d\ntext:\n%s", e, code, errOut.String())
	}
}
