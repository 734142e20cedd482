package repro_test

// An external test package: the tests classify what the scripts print with
// diag, which imports repro.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func scriptPython(tb testing.TB) string {
	tb.Helper()
	return reprotest.Python(tb)
}

// scriptTarget is the miniature g4f with the test interpreter.
func scriptTarget(tb testing.TB) repro.Target {
	tb.Helper()
	dir, err := providers.WriteDemo(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return repro.Target{Python: scriptPython(tb), Env: repro.WithPythonPath(os.Environ(), dir), Demo: true}
}

func writeScript(tb testing.TB, s repro.ScriptSpec) string {
	tb.Helper()
	src, err := repro.EmitScript(s)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "repro.py")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func runScript(tb testing.TB, t repro.Target, path string, r scan.Remedy, timeout time.Duration) (scan.Observation, diag.Verdict) {
	tb.Helper()
	obs, err := repro.RunScript(context.Background(), t, path, r, timeout)
	if err != nil {
		tb.Fatalf("RunScript(--remedy %q): %v", r, err)
	}
	return obs, diag.Classify(obs)
}

// threadName is the one part of an error line the script and the scan name
// differently: the thread the call ran on.
var threadName = regexp.MustCompile(`in thread '[^']*'`)

func firstErrorLine(o scan.Observation) string {
	for _, c := range o.Calls {
		if len(c.Chain) > 0 {
			return c.Chain[0].Type + ": " + c.Chain[0].Message
		}
	}
	return ""
}

// TestScriptReproducesAndRemedies is the done-when: for each failing
// cell of the demo, g4fdiag's own run (the pool) and the emitted script,
// run with the same interpreter, agree on the signature; the script run with
// a fixing remedy passes, and with one that does not fix it still fails.
func TestScriptReproducesAndRemedies(t *testing.T) {
	target := scriptTarget(t)
	// The scan and the scripts use the same block threshold, as the command does.
	pool, err := repro.NewPool(target, repro.PoolOptions{BlockThreshold: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	env, _, err := pool.Start(context.Background(), scan.AllLoops)
	if err != nil {
		t.Fatal(err)
	}

	type remedyWant struct {
		remedy    scan.Remedy
		signature string
		mode      scan.Mode
		loop      scan.Loop
	}
	cases := []struct {
		cell      scan.Cell
		signature string
		class     diag.Class
		end       scan.End
		remedies  []remedyWant
		timeout   time.Duration // of the scan's cell and of the script; zero means 20 s
	}{
		{
			cell:      scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop},
			signature: "reentry-uvloop", class: diag.ClassLoopReentry, end: scan.EndCompleted,
			remedies: []remedyWant{
				{scan.RemedyAsync, "ok", scan.ModeAsync, scan.LoopUvloop},
				{scan.RemedyToThread, "ok", scan.ModeSync, scan.LoopUvloop},
				{scan.RemedyNoUvloop, "ok", scan.ModeSync, scan.LoopNest},
			},
		},
		{
			cell:      scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopAsyncio},
			signature: "reentry-stdlib", class: diag.ClassLoopReentry, end: scan.EndCompleted,
			remedies: []remedyWant{{scan.RemedyNest, "ok", scan.ModeSync, scan.LoopNest}},
		},
		{
			cell:      scan.Cell{Provider: "RunAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop},
			signature: "reentry-asyncio-run", class: diag.ClassLoopReentry, end: scan.EndCompleted,
		},
		{
			cell:      scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeSync, Loop: scan.LoopUvloop},
			signature: "deadlock-loop-thread", class: diag.ClassDeadlock, end: scan.EndBlocked,
			remedies: []remedyWant{
				// Not a uvloop problem: the stdlib loop deadlocks the same way.
				{scan.RemedyNoUvloop, "deadlock-loop-thread", scan.ModeSync, scan.LoopNest},
				{scan.RemedyToThread, "ok", scan.ModeSync, scan.LoopUvloop},
			},
		},
		{
			cell:      scan.Cell{Provider: "ThreadLoop", Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio},
			signature: "missing-thread-loop", class: diag.ClassLoopMissing, end: scan.EndCompleted,
		},
		{
			// A fresh process nest_asyncio has not patched: two calls at once
			// meet "Cannot enter into task", logged, and the second never ends.
			cell:      scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopNest, Concurrency: 2},
			signature: "reentry-nest-task", class: diag.ClassLoopReentry, end: scan.EndDeadline, timeout: 2 * time.Second,
			remedies: []remedyWant{
				{scan.RemedyAsync, "ok", scan.ModeAsync, scan.LoopNest},
				{scan.RemedyToThread, "ok", scan.ModeSync, scan.LoopNest},
			},
		},
		{
			cell:      scan.Cell{Provider: "StallStream", Mode: scan.ModeAsyncStream, Loop: scan.LoopNest},
			signature: "stream-stalled", class: diag.ClassStall, end: scan.EndDeadline, timeout: 2 * time.Second,
		},
	}
	for _, tc := range cases {
		tc.cell.Concurrency, tc.cell.Repeat = max(tc.cell.Concurrency, 1), 1
		if tc.timeout == 0 {
			tc.timeout = 20 * time.Second
		}
		t.Run(tc.cell.Key(), func(t *testing.T) {
			t.Parallel()
			seen, err := pool.RunCell(context.Background(), tc.cell, tc.timeout)
			if err != nil {
				t.Fatal(err)
			}
			verdict := diag.Classify(seen)
			if verdict.Signature != tc.signature {
				t.Fatalf("the scan saw %s (%s), want %s", verdict.Signature, verdict.Evidence, tc.signature)
			}
			path := writeScript(t, repro.ScriptSpec{Cell: tc.cell, Env: env, Expected: firstErrorLine(seen),
				Signature: verdict.Signature, BlockThreshold: 500 * time.Millisecond})

			obs, v := runScript(t, target, path, "", tc.timeout)
			if v.Signature != verdict.Signature || v.Class != tc.class || obs.End != tc.end {
				t.Fatalf("script: %s / %s, end %s (%s); want %s / %s, end %s\nlog:\n%s",
					v.Signature, v.Class, obs.End, v.Evidence, verdict.Signature, tc.class, tc.end, obs.Log)
			}
			if obs.Cell != tc.cell {
				t.Errorf("script cell = %+v, want %+v", obs.Cell, tc.cell)
			}
			if tc.end == scan.EndCompleted && threadName.ReplaceAllString(firstErrorLine(obs), "") != threadName.ReplaceAllString(firstErrorLine(seen), "") {
				t.Errorf("script raised %q, the scan saw %q", firstErrorLine(obs), firstErrorLine(seen))
			}
			if tc.end == scan.EndCompleted && (obs.Calls[0].Chain[0].Traceback == "" || v.Frame == "") {
				t.Errorf("no traceback or g4f frame: frame %q, chain %+v", v.Frame, obs.Calls[0].Chain)
			}
			if tc.end == scan.EndDeadline && (obs.Stacks == nil || !strings.Contains(obs.Stacks.Threads, "most recent call first")) {
				t.Errorf("deadline without every thread's stack: %+v", obs.Stacks)
			}
			if tc.end == scan.EndBlocked && (obs.Stacks == nil || !strings.Contains(obs.Stacks.LoopThread, "result") || obs.Stacks.BlockedMS < 500) {
				t.Errorf("blocked without the loop thread's stack: %+v", obs.Stacks)
			}

			for _, rw := range tc.remedies {
				obs, v := runScript(t, target, path, rw.remedy, tc.timeout)
				if v.Signature != rw.signature {
					t.Errorf("--remedy %s: %s (%s), want %s\nlog:\n%s", rw.remedy, v.Signature, v.Evidence, rw.signature, obs.Log)
				}
				if obs.Remedy != rw.remedy || obs.Of != tc.cell.Key() || obs.Mode != rw.mode || obs.Loop != rw.loop || obs.Provider != tc.cell.Provider {
					t.Errorf("--remedy %s: cell %+v, want mode %s loop %s of %s", rw.remedy, obs.Cell, rw.mode, rw.loop, tc.cell.Key())
				}
			}
		})
	}
}

func TestScriptHeaderNamesWhatWasSeen(t *testing.T) {
	env := scan.Environment{
		Python: "/usr/bin/python3", PythonVersion: "3.11.2",
		G4FVersion: "0.3.9.7", G4FPath: "/srv/venv/lib/python3.11/site-packages/g4f", NestModule: "nest_asyncio",
		Loops: []scan.LoopInfo{
			{Loop: scan.LoopAsyncio, Available: true, Package: "asyncio", Version: "3.11.2"},
			{Loop: scan.LoopNest, Available: true, Package: "nest_asyncio", Version: "1.5.4"},
			{Loop: scan.LoopUvloop, Available: true, Package: "uvloop", Version: "0.17.0"},
		},
	}
	cell := scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1}
	src, err := repro.EmitScript(repro.ScriptSpec{Cell: cell, Env: env, File: "bug.py",
		Expected: "RuntimeError: this event loop is already running.", Signature: "reentry-uvloop"})
	if err != nil {
		t.Fatal(err)
	}
	header := string(src[:strings.Index(string(src), "\nimport ")])
	for _, want := range []string{
		`provider  "StreamAsync"`, "mode      sync:", "loop      uvloop:",
		"python    3.11.2 (/usr/bin/python3)",
		"g4f       0.3.9.7 (/srv/venv/lib/python3.11/site-packages/g4f)",
		"loop      uvloop 0.17.0", "nest      nest_asyncio",
		"Expected:   RuntimeError: this event loop is already running.",
		"Signature:  reentry-uvloop",
		"python3 bug.py   ", "python3 bug.py --remedy uvloop-removed", "python3 bug.py --remedy async",
		"python3 bug.py --remedy to-thread",
	} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q:\n%s", want, header)
		}
	}
	if !strings.Contains(string(src), "\nBLOCKED_AFTER = 2.0  #") {
		t.Errorf("default block threshold is not 2 s")
	}
	if strings.Contains(header, "--remedy nest-asyncio") {
		t.Errorf("header offers nest-asyncio on uvloop:\n%s", header)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "import" || f[0] == "from") && strings.Contains(f[1], "g4fdiag") {
			t.Errorf("the script depends on g4fdiag: %s", line)
		}
	}
	if n := strings.Count(string(src), "\n"); n > 300 {
		t.Errorf("script is %d lines long", n)
	}
}

func TestScriptRemedies(t *testing.T) {
	for _, tc := range []struct {
		mode scan.Mode
		loop scan.Loop
		want string
	}{
		{scan.ModeSync, scan.LoopUvloop, "uvloop-removed async to-thread"},
		{scan.ModeSyncStream, scan.LoopAsyncio, "async nest-asyncio to-thread"},
		{scan.ModeSync, scan.LoopNest, "async to-thread"},
		{scan.ModeBaseline, scan.LoopAsyncio, "async nest-asyncio"},
		{scan.ModeAsync, scan.LoopUvloop, "uvloop-removed"},
		{scan.ModeAsyncStream, scan.LoopAsyncio, "nest-asyncio"},
	} {
		var got []string
		for _, r := range repro.ScriptRemedies(scan.Cell{Mode: tc.mode, Loop: tc.loop}) {
			got = append(got, string(r))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s/%s: %v, want %s", tc.mode, tc.loop, got, tc.want)
		}
	}
}

// TestScriptHostileValues: a provider name, model and message made to break
// out of a string literal or a comment stay inside them: the script
// compiles, asks g4f for exactly that provider, and g4fdiag reads the name
// back from the script.
func TestScriptHostileValues(t *testing.T) {
	evil := "Evil\"\n'''\"\"\"\r\u2028\u2029\u202e\x00\\\x1b[31m# import os; os._exit(9)\xff"
	cell := scan.Cell{Provider: evil, Model: evil, Mode: scan.ModeSync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1}
	env := scan.Environment{PythonVersion: evil, G4FVersion: evil, G4FPath: evil, NestModule: evil,
		Loops: []scan.LoopInfo{{Loop: scan.LoopUvloop, Package: evil, Version: evil}}}
	path := writeScript(t, repro.ScriptSpec{Cell: cell, Env: env, Expected: evil, Signature: evil, File: evil,
		Messages: []repro.Message{{Role: evil, Content: evil}}})
	src, _ := os.ReadFile(path)
	for i, line := range strings.Split(string(src), "\n") {
		if strings.ContainsAny(line, "\r\x00\x1b\u2028\u2029\u202e") {
			t.Errorf("line %d holds a raw control or separator: %q", i+1, line)
		}
	}
	py := scriptPython(t)
	if out, err := exec.Command(py, "-c", "import ast, sys; ast.parse(open(sys.argv[1], encoding='utf-8').read())", path).CombinedOutput(); err != nil {
		t.Fatalf("the script does not parse: %v\n%s", err, out)
	}
	cmd := exec.Command(py, "-m", "py_compile", path)
	cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}

	obs, v := runScript(t, scriptTarget(t), path, "", 20*time.Second)
	clean := strings.ToValidUTF8(evil, "\uFFFD")
	if obs.Provider != clean || obs.Model != clean {
		t.Errorf("provider read back as %q, model %q", obs.Provider, obs.Model)
	}
	if want := "g4f.errors.ProviderNotFoundError: Provider not found: " + clean; firstErrorLine(obs) != want {
		t.Errorf("script raised %q, want %q", firstErrorLine(obs), want)
	}
	if v.Signature != "provider-not-found" {
		t.Errorf("signature %s (%s)", v.Signature, v.Evidence)
	}
}

// fakeScript writes a script with the constants RunScript reads and the
// given body, to test RunScript's side of the protocol alone.
func fakeScript(tb testing.TB, body string) string {
	tb.Helper()
	src := "PROVIDER = \"EchoSync\"\nMODEL = \"\"\nMODE = \"sync\"\nLOOP = \"asyncio\"\nCALLS = 1\nROUNDS = 1\n" +
		"# reports on a last line G4FDIAG-RESULT {json}\n" + body
	path := filepath.Join(tb.TempDir(), "fake.py")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func fakeTarget(tb testing.TB) repro.Target {
	return repro.Target{Python: scriptPython(tb), Env: append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")}
}

// TestRunScriptLastOutcomeCounts: the provider's output is untrusted; lines
// that look like an outcome before the script's own do not count, and the
// outcome is read from the report line's JSON alone.
func TestRunScriptLastOutcomeCounts(t *testing.T) {
	path := fakeScript(t, `import json, sys
print("call: 0.001 s, 1 chunks")
print("RESULT: OK forged by the provider")
print('G4FDIAG-RESULT {"version": 1, "status": "OK", "detail": "forged", "mode": "sync", "loop": "asyncio"}')
print("call: 0.250 s, 0 chunks", flush=True)
tb = "Traceback (most recent call last):\n  File \"/x/g4f/providers/asyncio.py\", line 57, in to_sync_generator\n    loop.run_until_complete(x)\nValueError: two\nlines\n"
sys.stderr.write(tb)
sys.stderr.flush()
print("RESULT: FAILED ValueError: two\\nlines")
print("G4FDIAG-RESULT " + json.dumps({"version": 1, "status": "FAILED", "detail": "ValueError: two\nlines",
      "mode": "sync", "loop": "asyncio", "remedy": "", "call_s": 0.25, "chunks": 0,
      "exception": {"type": "ValueError", "message": "two\\nlines\nand a backslash \\\\ here", "traceback": tb,
                    "frames": [{"file": "/x/g4f/providers/asyncio.py", "line": 57, "func": "to_sync_generator",
                                "code": "loop.run_until_complete(x)"}]},
      "first_line": "call: 0.250 s, 0 chunks"}))
sys.exit(1)
`)
	obs, err := repro.RunScript(context.Background(), fakeTarget(t), path, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndCompleted || len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomeError {
		t.Fatalf("observation %+v", obs)
	}
	e := obs.Calls[0].Chain[0]
	if e.Type != "ValueError" || e.Message != "two\\nlines\nand a backslash \\\\ here" {
		t.Errorf("exception %q: %q", e.Type, e.Message)
	}
	if len(e.Frames) != 1 || e.Frames[0].Func != "to_sync_generator" || e.Frames[0].Line != 57 || e.Frames[0].Code != "loop.run_until_complete(x)" {
		t.Errorf("frames %+v", e.Frames)
	}
	if !strings.HasPrefix(e.Traceback, "Traceback (most recent call last):") {
		t.Errorf("traceback %q", e.Traceback)
	}
	if obs.Calls[0].DurationMS != 250 || !strings.Contains(obs.Log, "forged") {
		t.Errorf("duration %v, log %q", obs.Calls[0].DurationMS, obs.Log)
	}
	// The log is the provider's output: the script's own outcome is not in it.
	if strings.Contains(obs.Log, "0.250") || strings.Contains(obs.Log, "Traceback") {
		t.Errorf("log holds the script's outcome: %q", obs.Log)
	}
}

// TestRunScriptRejectsOldScript: a script from before the JSON report line
// is named as such, not run to a crash.
func TestRunScriptRejectsOldScript(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.py")
	src := "PROVIDER = \"EchoSync\"\nMODEL = \"\"\nMODE = \"sync\"\nLOOP = \"asyncio\"\nCALLS = 1\nROUNDS = 1\nprint('RESULT: OK')\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := repro.RunScript(context.Background(), fakeTarget(t), path, "", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "older g4fdiag") || !strings.Contains(err.Error(), "--emit-script") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunScriptWithoutOutcomeCrashed(t *testing.T) {
	path := fakeScript(t, "import sys\nprint('half a run')\nsys.exit(7)\n")
	obs, err := repro.RunScript(context.Background(), fakeTarget(t), path, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndCrashed || obs.Worker == nil || !strings.Contains(obs.Worker.ExitStatus, "exit status 7") {
		t.Fatalf("end %s, worker %+v", obs.End, obs.Worker)
	}
	if v := diag.Classify(obs); v.Signature != "worker-crashed" {
		t.Errorf("signature %s", v.Signature)
	}
}

// TestRunScriptKillsAtDeadline: a script that never reports is killed, its
// whole process group with it, at its timeout plus a grace.
func TestRunScriptKillsAtDeadline(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	path := fakeScript(t, `import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(`+"\""+pidFile+"\""+`, "w").write(str(child.pid))
time.sleep(60)
`)
	start := time.Now()
	obs, err := repro.RunScript(context.Background(), fakeTarget(t), path, "", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndDeadline || len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomePending {
		t.Fatalf("observation %+v", obs)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if v := diag.Classify(obs); v.Class != diag.ClassTimeout {
		t.Errorf("class %s", v.Class)
	}
	waitProcessGone(t, obs.Worker.PID)
	if b, err := os.ReadFile(pidFile); err == nil {
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		waitProcessGone(t, pid)
	}
}

func TestRunScriptCancelled(t *testing.T) {
	path := fakeScript(t, "import time\ntime.sleep(60)\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	obs, err := repro.RunScript(ctx, fakeTarget(t), path, "", 30*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	waitProcessGone(t, obs.Worker.PID)
}

func TestRunScriptRefusesRemedyThatDoesNotApply(t *testing.T) {
	path := writeScript(t, repro.ScriptSpec{Cell: scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop}})
	_, err := repro.RunScript(context.Background(), scriptTarget(t), path, scan.RemedyNest, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "does not apply") {
		t.Fatalf("err = %v", err)
	}
	// The script itself says why, for whoever runs it by hand.
	out, _ := exec.Command(scriptPython(t), path, "--remedy", "nest-asyncio").CombinedOutput()
	if !strings.Contains(string(out), "nest_asyncio cannot patch uvloop") {
		t.Errorf("script output: %s", out)
	}
}

func TestEmitScriptRejects(t *testing.T) {
	for _, c := range []scan.Cell{
		{Mode: scan.ModeSync, Loop: scan.LoopUvloop},
		{Provider: "X", Mode: scan.ModeAPISSE, Loop: scan.LoopUvloop},
		{Provider: "X", Mode: scan.ModeSync, Loop: scan.LoopServer},
		{Provider: "X", Mode: scan.ModeAsync, Loop: scan.LoopUvloop, Remedy: scan.RemedyAsync, Of: "X|sync|uvloop"},
	} {
		if _, err := repro.EmitScript(repro.ScriptSpec{Cell: c}); err == nil {
			t.Errorf("EmitScript(%+v) = nil error", c)
		}
	}
}

func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !reprotest.Exists(pid) {
			return
		}
		// A killed grandchild may wait as a zombie for a reaper: gone too.
		if stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
			if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("process %d still alive", pid)
}

// remedyDecider runs the remedy part of an emitted script — from its
// REMEDIES table to the loop set-up — for every cell and remedy, in one
// interpreter, and prints per case the mode, loop and off-loop-thread flag it
// would run with, or its refusal.
const remedyDecider = `
import contextlib, io, json, sys
src = open(sys.argv[1], encoding="utf-8").read()
part = src[src.index("\nREMEDIES = "):src.index("\nclass HideModules")]
out = []
for case in json.loads(sys.argv[2]):
    g = {"MODE": case["mode"], "LOOP": case["loop"], "__name__": "__remedy__"}
    exec("import argparse, importlib.util, json, sys, time", g)
    sys.argv = ["repro.py", "--remedy", case["remedy"]]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            exec(part, g)
        case.update(run_mode=g["mode"], run_loop=g["loop"], off_loop_thread=g["off_loop_thread"])
    except SystemExit:
        case["refused"] = json.loads(printed.getvalue().split("G4FDIAG-RESULT ", 1)[1])["detail"]
    out.append(case)
print(json.dumps(out))
`

// TestScriptAndVerifyFixesAgree: for every in-process cell and remedy, the
// emitted script applies the remedy exactly where --verify-fixes runs it,
// with the same mode and loop, and refuses it where --verify-fixes does not
// run it, for the same reason.
func TestScriptAndVerifyFixesAgree(t *testing.T) {
	py := scriptPython(t)
	// The loops as this interpreter has them: the script sees the same.
	var env scan.Environment
	for _, l := range scan.AllLoops {
		mod := map[scan.Loop]string{scan.LoopAsyncio: "asyncio", scan.LoopNest: "nest_asyncio", scan.LoopUvloop: "uvloop"}[l]
		ok := exec.Command(py, "-c", "import "+mod).Run() == nil
		env.Loops = append(env.Loops, scan.LoopInfo{Loop: l, Available: ok, Reason: mod + " is not installed"})
	}
	type decision struct {
		Mode          scan.Mode   `json:"mode"`
		Loop          scan.Loop   `json:"loop"`
		Remedy        scan.Remedy `json:"remedy"`
		RunMode       scan.Mode   `json:"run_mode"`
		RunLoop       scan.Loop   `json:"run_loop"`
		OffLoopThread bool        `json:"off_loop_thread"`
		Refused       string      `json:"refused"`
	}
	var cases []decision
	for _, m := range scan.AllModes {
		for _, l := range scan.AllLoops {
			for _, r := range scan.AllRemedies {
				cases = append(cases, decision{Mode: m, Loop: l, Remedy: r})
			}
		}
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	path := writeScript(t, repro.ScriptSpec{Cell: scan.Cell{Provider: "X", Mode: scan.ModeSync, Loop: scan.LoopUvloop}})
	out, err := exec.Command(py, "-c", remedyDecider, path, string(in)).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var got []decision
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("decisions %s: %v", out, err)
	}
	for _, d := range got {
		c := scan.Cell{Provider: "X", Mode: d.Mode, Loop: d.Loop, Concurrency: 1, Repeat: 1}
		var plan scan.RemedyPlan
		for _, p := range scan.PlanRemedies(c, env) {
			if p.Remedy == d.Remedy {
				plan = p
			}
		}
		spec, _ := scan.RemedyOf(d.Remedy)
		where := fmt.Sprintf("%s/%s --remedy %s", d.Mode, d.Loop, d.Remedy)
		switch {
		case plan.Cell == nil && d.Refused == "":
			t.Errorf("%s: the script runs it as %s/%s, --verify-fixes does not: %s", where, d.RunMode, d.RunLoop, plan.Note)
		case plan.Cell != nil && d.Refused != "":
			t.Errorf("%s: --verify-fixes runs it as %s/%s, the script refuses: %s", where, plan.Cell.Mode, plan.Cell.Loop, d.Refused)
		case plan.Cell == nil && spec.Skips(c) != "" && !strings.HasSuffix(d.Refused, ": "+plan.Note):
			t.Errorf("%s: the script refuses with %q, --verify-fixes says %q", where, d.Refused, plan.Note)
		case plan.Cell != nil && (plan.Cell.Mode != d.RunMode || plan.Cell.Loop != d.RunLoop || spec.OffLoopThread != d.OffLoopThread):
			t.Errorf("%s: the script runs %s/%s (off the loop thread: %v), --verify-fixes %s/%s (%v)",
				where, d.RunMode, d.RunLoop, d.OffLoopThread, plan.Cell.Mode, plan.Cell.Loop, spec.OffLoopThread)
		}
		if scripted := slices.Contains(repro.ScriptRemedies(c), d.Remedy); scripted != (spec.Skips(c) == "") {
			t.Errorf("%s: ScriptRemedies says %v", where, scripted)
		}
	}
}
