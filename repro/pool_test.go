package repro

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func testPython(tb testing.TB) string {
	tb.Helper()
	return reprotest.Python(tb)
}

// demoTarget is the miniature g4f with the test interpreter; extraPath dirs
// go first on PYTHONPATH.
func demoTarget(tb testing.TB, extraPath ...string) Target {
	tb.Helper()
	dir, err := providers.WriteDemo(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	path := strings.Join(append(extraPath, dir), string(os.PathListSeparator))
	return Target{Python: testPython(tb), Env: WithPythonPath(os.Environ(), path), Demo: true}
}

func demoPool(tb testing.TB, extraPath ...string) *Pool {
	tb.Helper()
	p, err := NewPool(demoTarget(tb, extraPath...), PoolOptions{BlockThreshold: 500 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func firstError(o scan.Observation) string {
	for _, c := range o.Calls {
		if len(c.Chain) > 0 {
			return c.Chain[0].Type + ": " + c.Chain[0].Message
		}
	}
	return ""
}

func TestPoolStartReportsEnvironmentAndCatalog(t *testing.T) {
	p := demoPool(t)
	env, catalog, err := p.Start(context.Background(), scan.AllLoops)
	if err != nil {
		t.Fatal(err)
	}
	if env.G4FVersion == "" || env.PythonVersion == "" || !strings.HasSuffix(env.G4FPath, "g4f") {
		t.Errorf("environment = %+v", env)
	}
	for _, l := range scan.AllLoops {
		if li, ok := env.Loop(l); !ok || !li.Available {
			t.Errorf("loop %s: %+v (ok %v)", l, li, ok)
		}
	}
	kinds := map[string]providers.Kind{}
	for _, pr := range catalog {
		kinds[pr.Name] = pr.Kind
	}
	if kinds["StreamAsync"] != providers.KindAsyncGenerator || kinds["EchoSync"] != providers.KindSync || kinds["RunAsync"] != providers.KindAsync {
		t.Errorf("kinds = %v", kinds)
	}
}

// TestLoopVariants runs the sync-wrapped async-generator provider on each
// loop for real: it re-enters the running loop except where nest_asyncio
// patches it.
func TestLoopVariants(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	want := map[scan.Loop]string{
		scan.LoopAsyncio: "RuntimeError: This event loop is already running",
		scan.LoopUvloop:  "RuntimeError: this event loop is already running.",
		scan.LoopNest:    "",
	}
	for loop, msg := range want {
		obs, err := p.RunCell(ctx, scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: loop, Concurrency: 1, Repeat: 2}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if obs.End != scan.EndCompleted || len(obs.Calls) != 2 {
			t.Fatalf("%s: end %s with %d calls", loop, obs.End, len(obs.Calls))
		}
		if got := firstError(obs); got != msg {
			t.Errorf("%s: error %q, want %q", loop, got, msg)
		}
	}
}

// TestNestFirstRequest: in a process nest_asyncio has not patched yet, two
// sync calls at once meet nest_asyncio's "Cannot enter into task" and the
// second never ends — what the first requests to a fresh server meet. A
// worker, once patched, takes no further cell, so the next cell meets it too.
func TestNestFirstRequest(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	var pids []int
	for range 2 {
		obs, err := p.RunCell(ctx, scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopNest, Concurrency: 2, Repeat: 1}, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if obs.End != scan.EndDeadline || !strings.Contains(obs.Log, "Cannot enter into task") {
			t.Fatalf("end %s, log:\n%s", obs.End, obs.Log)
		}
		pids = append(pids, obs.Worker.PID)
	}
	if pids[0] == pids[1] {
		t.Errorf("both cells ran in worker %d", pids[0])
	}
}

func TestStreamTimings(t *testing.T) {
	p := demoPool(t)
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "StreamAsync", Mode: scan.ModeAsyncStream, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 2}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Calls) != 2 {
		t.Fatalf("calls = %d, want 2 (repeat 2)", len(obs.Calls))
	}
	for _, c := range obs.Calls {
		if c.Outcome != scan.OutcomeOK || c.Chunks < 2 || c.FirstChunkMS <= 0 || c.MaxGapMS <= 0 || c.LastChunkMS < c.FirstChunkMS {
			t.Errorf("call %+v", c)
		}
	}
}

// TestBlockedLoopRetiresWorker: the heartbeat finds the loop thread stuck,
// the cell ends early with its stack, its process is ended, and the next
// cell runs in another.
func TestBlockedLoopRetiresWorker(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	obs, err := p.RunCell(ctx, scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndBlocked || obs.Stacks == nil {
		t.Fatalf("end = %s, stacks %v", obs.End, obs.Stacks)
	}
	if !strings.Contains(obs.Stacks.LoopThread, "result") || obs.Stacks.BlockedMS < 500 {
		t.Errorf("loop thread stack (blocked %.0f ms):\n%s", obs.Stacks.BlockedMS, obs.Stacks.LoopThread)
	}
	if !strings.Contains(obs.Stacks.Threads, "Thread 0x") {
		t.Errorf("no faulthandler dump:\n%s", obs.Stacks.Threads)
	}
	next, err := p.RunCell(ctx, scan.Cell{Provider: "EchoSync", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if next.End != scan.EndCompleted || next.Worker.PID == obs.Worker.PID {
		t.Errorf("next cell: end %s on worker %d (stuck one was %d)", next.End, next.Worker.PID, obs.Worker.PID)
	}
	waitGone(t, obs.Worker.PID)
}

// TestDeadlineKeepsEvidence: a stream that stops is cut at the deadline,
// with the chunks it sent, every thread's stack and the loop's tasks.
func TestDeadlineKeepsEvidence(t *testing.T) {
	p := demoPool(t)
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "StallStream", Mode: scan.ModeAsyncStream, Loop: scan.LoopNest, Concurrency: 1, Repeat: 1}, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndDeadline || obs.Stacks == nil {
		t.Fatalf("end = %s", obs.End)
	}
	if len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomePending || obs.Calls[0].Chunks != 2 {
		t.Errorf("calls at the deadline = %+v", obs.Calls)
	}
	if !strings.Contains(obs.Stacks.Tasks, "Task") {
		t.Errorf("tasks = %q", obs.Stacks.Tasks)
	}
	// the await chain down to what the provider waits on, through the
	// async generators Task.print_stack does not follow
	if !strings.Contains(obs.Stacks.Tasks, "StallStream.py\", line 17, in create_async_generator\n    await asyncio.Event().wait()") {
		t.Errorf("tasks do not reach the provider's wait:\n%s", obs.Stacks.Tasks)
	}
	if !strings.Contains(obs.Stacks.Threads, "Thread 0x") {
		t.Errorf("threads = %q", obs.Stacks.Threads)
	}
	waitGone(t, obs.Worker.PID)
}

// TestWorkerCrash: a cell whose process is killed mid-cell ends crashed,
// with how it died; the fork server goes on serving. A fork server killed
// mid-cell crashes its cells, and the next cell gets a fresh one.
func TestWorkerCrash(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	stuck := scan.Cell{Provider: "StallStream", Mode: scan.ModeAsync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1}
	for _, victim := range []string{"cell", "fork server"} {
		done := make(chan scan.Observation)
		go func() {
			obs, _ := p.RunCell(ctx, stuck, 30*time.Second)
			done <- obs
		}()
		pid := waitChild(t, p)
		if victim == "fork server" {
			p.mu.Lock()
			pid = p.workers[scan.LoopUvloop][0].cmd.Process.Pid
			p.mu.Unlock()
		}
		if err := reprotest.Kill(pid); err != nil {
			t.Fatal(err)
		}
		obs := <-done
		if obs.End != scan.EndCrashed || obs.Worker == nil || !strings.Contains(strings.ToLower(obs.Worker.ExitStatus), "kill") {
			t.Fatalf("%s killed: observation = %s, worker %+v", victim, obs.End, obs.Worker)
		}
		next, err := p.RunCell(ctx, scan.Cell{Provider: "EchoSync", Mode: scan.ModeAsync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1}, 10*time.Second)
		if err != nil || next.End != scan.EndCompleted {
			t.Fatalf("%s killed: next cell: %v %s", victim, err, next.End)
		}
	}
}

// waitChild waits for the pool's first forked child and returns its pid.
func waitChild(t *testing.T, p *Pool) int {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p.mu.Lock()
		for pid := range p.children {
			p.mu.Unlock()
			time.Sleep(200 * time.Millisecond) // let the cell get going
			return pid
		}
		p.mu.Unlock()
	}
	t.Fatal("no forked child")
	return 0
}

// TestEveryCellItsOwnProcess: cells of one provider at once never share a
// process, and a fork server, not the cell, is what stays: Crowded shares a
// private loop between the calls of a process, so six cells at once are
// all ok only when each has a process of its own.
func TestEveryCellItsOwnProcess(t *testing.T) {
	for _, fork := range []bool{true, false} {
		t.Run(map[bool]string{true: "fork", false: "process per cell"}[fork], func(t *testing.T) {
			tgt := demoTarget(t)
			if !fork {
				tgt.Env = append(tgt.Env, "G4FDIAG_FORK=0")
			}
			p, err := NewPool(tgt, PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			env, _, err := p.Start(context.Background(), []scan.Loop{scan.LoopUvloop})
			if err != nil {
				t.Fatal(err)
			}
			li, _ := env.Loop(scan.LoopUvloop)
			if want := map[bool]string{true: IsolationFork, false: IsolationProcess + " (cannot fork: G4FDIAG_FORK=0 in the environment)"}[fork]; li.Isolation != want {
				t.Errorf("isolation = %q, want %q", li.Isolation, want)
			}
			var cells []scan.Cell
			for range 6 {
				cells = append(cells, scan.Cell{Provider: "Crowded", Mode: scan.ModeSync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1})
			}
			pids := map[int]bool{}
			for obs := range RunCells(context.Background(), p, nil, cells, 6, 10*time.Second) {
				if obs.End != scan.EndCompleted || obs.Calls[0].Outcome != scan.OutcomeOK {
					t.Errorf("cell: %s %s", obs.End, firstError(obs))
				}
				pids[obs.Worker.PID] = true
			}
			if len(pids) != len(cells) {
				t.Errorf("%d cells ran in %d processes", len(cells), len(pids))
			}
		})
	}
}

// TestWaitingCellGivesUpItsSlot: a cell hung in epoll stops using the CPU,
// and says so (yield) while it still runs.
func TestWaitingCellGivesUpItsSlot(t *testing.T) {
	p := demoPool(t)
	yielded := make(chan bool, 1)
	var child int
	obs, err := p.RunCellYielding(context.Background(), scan.Cell{Provider: "StallStream", Mode: scan.ModeAsync, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1},
		4*time.Second, func() {
			p.mu.Lock()
			for pid := range p.children {
				child = pid
			}
			p.mu.Unlock()
			yielded <- child != 0 && reprotest.Exists(child)
		})
	if err != nil || obs.End != scan.EndDeadline {
		t.Fatalf("%v %s", err, obs.End)
	}
	select {
	case running := <-yielded:
		if !running {
			t.Error("yielded after the cell's process ended")
		}
	default:
		t.Error("a hung cell never gave its slot back")
	}
}

// TestUnavailableLoop: an interpreter where uvloop cannot be imported shows
// the uvloop variant as unavailable, not as an error.
func TestUnavailableLoop(t *testing.T) {
	shadow := t.TempDir()
	if err := os.WriteFile(filepath.Join(shadow, "uvloop.py"), []byte("raise ImportError('No module named uvloop (shadowed by the test)')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := demoPool(t, shadow)
	env, _, err := p.Start(context.Background(), scan.AllLoops)
	if err != nil {
		t.Fatal(err)
	}
	li, _ := env.Loop(scan.LoopUvloop)
	if li.Available || !strings.Contains(li.Reason, "uvloop") {
		t.Errorf("uvloop = %+v, want unavailable with a reason", li)
	}
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "EchoSync", Mode: scan.ModeSync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1}, 5*time.Second)
	if err != nil || obs.End != scan.EndUnavailable {
		t.Errorf("cell on an unavailable loop: %v %s", err, obs.End)
	}
}

// TestCloseEndsEveryWorker: nothing outlives the pool, stuck workers
// included.
func TestCloseEndsEveryWorker(t *testing.T) {
	p := demoPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, err := p.Start(ctx, scan.AllLoops); err != nil {
		t.Fatal(err)
	}
	go p.RunCell(ctx, scan.Cell{Provider: "StallStream", Mode: scan.ModeAsync, Loop: scan.LoopNest, Concurrency: 1, Repeat: 1}, time.Minute)
	time.Sleep(300 * time.Millisecond)
	p.mu.Lock()
	var pids []int
	for w := range p.live {
		pids = append(pids, w.cmd.Process.Pid)
	}
	for pid := range p.children {
		pids = append(pids, pid)
	}
	p.mu.Unlock()
	if len(pids) < 4 {
		t.Fatalf("%d processes, want a fork server per loop and the stuck cell's child", len(pids))
	}
	cancel()
	p.Close()
	for _, pid := range pids {
		waitGone(t, pid)
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s left behind", p.dir)
	}
}

// waitGone fails the test when pid is still running (and not a zombie)
// after a few seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z") {
			return
		}
	}
	t.Errorf("worker %d still runs", pid)
}

// TestCatalogLeavesOutBaseClasses: a g4f that lists its base classes in
// g4f.Provider beside its providers (as releases do through `from
// .base_provider import ...`) gets a catalog of providers only.
func TestCatalogLeavesOutBaseClasses(t *testing.T) {
	dir := reprotest.WriteDemo(t, nil, "\nfrom ..providers.base_provider import BaseProvider, AbstractProvider, AsyncProvider, AsyncGeneratorProvider\n"+
		"__providers__ = __providers__ + [BaseProvider, AbstractProvider, AsyncProvider, AsyncGeneratorProvider]\n")
	p, err := NewPool(Target{Python: testPython(t), Env: WithPythonPath(os.Environ(), dir), Demo: true}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, catalog, err := p.Start(context.Background(), []scan.Loop{scan.LoopAsyncio})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pr := range catalog {
		names = append(names, pr.Name)
	}
	for _, base := range []string{"BaseProvider", "AbstractProvider", "AsyncProvider", "AsyncGeneratorProvider"} {
		if slices.Contains(names, base) {
			t.Errorf("the catalog lists the base class %s: %v", base, names)
		}
	}
	if !slices.Contains(names, "StreamAsync") || len(names) != 10 {
		t.Errorf("catalog %v, want the demo's 10 providers", names)
	}
}

// TestNestVariantFollowsG4F: a g4f that imports nest_asyncio2 where only
// nest_asyncio is installed cannot re-enter a stdlib loop through it: the
// nest variant is unavailable, saying why, instead of claiming
// "asyncio + nest_asyncio" for cells g4f runs without any patch.
func TestNestVariantFollowsG4F(t *testing.T) {
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "g4f", "providers", "asyncio.py")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("    import nest_asyncio\n")) {
		t.Fatalf("the demo's bridge changed: %s", path)
	}
	src = bytes.Replace(src, []byte("    import nest_asyncio\n"), []byte("    import nest_asyncio2 as nest_asyncio\n"), 1)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(Target{Python: testPython(t), Env: WithPythonPath(os.Environ(), dir), Demo: true}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	env, _, err := p.Start(context.Background(), []scan.Loop{scan.LoopNest})
	if err != nil {
		t.Fatal(err)
	}
	li, _ := env.Loop(scan.LoopNest)
	want := "this g4f imports nest_asyncio2, which is not installed (nest_asyncio is, and this g4f does not use it)"
	if li.Available || li.Reason != want || env.NestModule != "nest_asyncio2" {
		t.Errorf("nest loop %+v, g4f's nest module %q; want unavailable: %s", li, env.NestModule, want)
	}
}
