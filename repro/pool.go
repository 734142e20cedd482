package repro

import (
	"context"
	"embed"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

//go:embed harness/harness.py
var harnessPy []byte

// modules are what the embedded scripts import from beside them:
// g4fdiag_inspect.py (what g4f is installed; harness.py and doctor.py),
// probes.py and probe_openai.py (g4fdiag's probe providers, which the
// harness loads when G4FDIAG_PROBES=1; see WithProbes).
//
//go:embed harness/g4fdiag_inspect.py harness/probes.py harness/probe_openai.py
var modules embed.FS

// WriteHarness writes the embedded harness into dir, with the modules it
// imports, and returns its path. Workers run it; so do the API servers
// g4fdiag starts (--serve-api).
func WriteHarness(dir string) (string, error) {
	return writeScript(dir, "harness.py", harnessPy)
}

// writeScript writes one of the embedded scripts into dir, next to the
// modules they import, and returns its path.
func writeScript(dir, name string, script []byte) (string, error) {
	entries, err := fs.ReadDir(modules, "harness")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		data, err := fs.ReadFile(modules, "harness/"+e.Name())
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, script, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// DefaultMessages is what every call asks when the plan says nothing else.
var DefaultMessages = []Message{{Role: "user", Content: "Say hello in one word."}}

// Pool is the in-process Driver: one fork server per loop variant, which
// imported g4f once and forks a fresh child for every cell, so no state
// passes from one cell to another (see the package doc). Where a worker
// cannot fork, each cell gets a worker process of its own instead, started
// for it and ended after it: slower, equally isolated.
type Pool struct {
	target         Target
	blockThreshold time.Duration
	messages       []Message
	dir            string // private temp dir: harness.py and dump files
	harness        string
	life           context.Context // ends at Close: a worker still starting is stopped
	end            context.CancelFunc

	mu       sync.Mutex
	workers  map[scan.Loop][]*worker // usable workers; retired ones are left out
	live     map[*worker]bool
	loopInfo map[scan.Loop]scan.LoopInfo
	starting map[scan.Loop]*sync.Mutex
	dumpSeq  int
	children map[int]bool // forked cell processes Go still waits for
	forks    int          // cells forked, and what their forks cost the
	forkMS   float64      // fork servers: for ForkCost
	closed   bool
}

// PoolOptions are the knobs of the in-process driver.
type PoolOptions struct {
	BlockThreshold time.Duration // heartbeat silence that means a blocked loop
	Messages       []Message     // nil means DefaultMessages
}

// NewPool writes the harness to a private temp dir. Close removes it.
func NewPool(t Target, o PoolOptions) (*Pool, error) {
	dir, err := os.MkdirTemp("", "g4fdiag-")
	if err != nil {
		return nil, err
	}
	harness, err := WriteHarness(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if o.BlockThreshold <= 0 {
		o.BlockThreshold = 2 * time.Second
	}
	if o.Messages == nil {
		o.Messages = DefaultMessages
	}
	life, end := context.WithCancel(context.Background())
	return &Pool{
		target: t, blockThreshold: o.BlockThreshold, messages: o.Messages,
		dir: dir, harness: harness, life: life, end: end,
		workers: make(map[scan.Loop][]*worker), live: make(map[*worker]bool),
		loopInfo: make(map[scan.Loop]scan.LoopInfo), starting: make(map[scan.Loop]*sync.Mutex),
		children: make(map[int]bool),
	}, nil
}

// Start starts one worker per loop variant, in parallel, and returns what
// they report of the environment and the provider catalog. A loop variant
// that cannot be set up is reported unavailable, not as an error; an
// interpreter that cannot import g4f is an *EnvError.
func (p *Pool) Start(ctx context.Context, loops []scan.Loop) (scan.Environment, []providers.Provider, error) {
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := p.acquire(ctx, l)
			if err == nil {
				p.release(w)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return scan.Environment{}, nil, err
		}
	}
	env := p.Environment()
	if len(loops) == 0 {
		return env, nil, nil
	}
	w, err := p.acquire(ctx, loops[0])
	if err != nil {
		return env, nil, err
	}
	ev, err := w.call(ctx, request{Op: "catalog"}, p.target.startTimeout())
	p.release(w)
	if err != nil {
		return env, nil, envErrorf("check that g4f.Provider imports cleanly", "listing g4f providers: %v", err)
	}
	return env, ev.Providers, nil
}

// Environment reports the interpreter and loop variants seen so far.
func (p *Pool) Environment() scan.Environment {
	p.mu.Lock()
	defer p.mu.Unlock()
	env := scan.Environment{Python: p.target.Python, Demo: p.target.Demo}
	for _, w := range p.liveWorkers() {
		r := w.ready
		if r.Python != "" {
			env.Python = r.Python
		}
		env.PythonVersion, env.G4FVersion, env.G4FPath = r.PythonVersion, r.G4FVersion, r.G4FPath
		if r.NestModule != "" {
			env.NestModule = r.NestModule
		}
	}
	for _, li := range p.loopInfo {
		env.Loops = append(env.Loops, li)
	}
	sort.Slice(env.Loops, func(i, j int) bool { return loopRank(env.Loops[i].Loop) < loopRank(env.Loops[j].Loop) })
	return env
}

func (p *Pool) liveWorkers() []*worker {
	ws := make([]*worker, 0, len(p.live))
	for w := range p.live {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return loopRank(ws[i].loop) < loopRank(ws[j].loop) })
	return ws
}

func loopRank(l scan.Loop) int {
	for i, x := range scan.AllLoops {
		if x == l {
			return i
		}
	}
	return len(scan.AllLoops)
}

var errPoolClosed = errors.New("worker pool closed")

// acquire returns a worker of a loop variant that can take one more cell,
// starting one when there is none, and counts the cell in flight on it.
func (p *Pool) acquire(ctx context.Context, l scan.Loop) (*worker, error) {
	p.mu.Lock()
	gate := p.starting[l]
	if gate == nil {
		gate = &sync.Mutex{}
		p.starting[l] = gate
	}
	p.mu.Unlock()

	gate.Lock() // one start per loop at a time
	defer gate.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	usable := p.workers[l][:0]
	var found *worker
	for _, w := range p.workers[l] {
		if w.isExited() {
			continue
		}
		usable = append(usable, w)
		w.mu.Lock()
		if found == nil && (w.ready.Fork || w.inflight == 0) {
			found = w
			w.inflight++
		}
		w.mu.Unlock()
	}
	p.workers[l] = usable
	if found != nil {
		p.mu.Unlock()
		return found, nil
	}
	p.dumpSeq++
	dump := filepath.Join(p.dir, fmt.Sprintf("stacks-%d.txt", p.dumpSeq))
	p.mu.Unlock()

	sctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(p.life, cancel)
	w, err := startWorker(sctx, p.target, p.harness, dump, l)
	unhook()
	cancel()
	if err != nil {
		if p.life.Err() != nil && ctx.Err() == nil {
			return nil, errPoolClosed
		}
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		w.kill()
		return nil, errPoolClosed
	}
	p.live[w] = true
	p.workers[l] = append(p.workers[l], w)
	p.loopInfo[l] = scan.LoopInfo{Loop: l, Available: w.ready.Available, Reason: w.ready.Reason,
		Package: w.ready.Package, Version: w.ready.Version, Isolation: isolation(w.ready)}
	w.inflight++
	go p.reap(w)
	return w, nil
}

// isolation says how a worker keeps cells apart, for the report.
func isolation(r event) string {
	switch {
	case !r.Available:
		return ""
	case r.Fork:
		return IsolationFork
	case r.ForkReason != "":
		return IsolationProcess + " (cannot fork: " + r.ForkReason + ")"
	}
	return IsolationProcess
}

// How cells are kept apart (LoopInfo.Isolation).
const (
	// IsolationFork: each cell runs in a child forked from a worker that
	// imported g4f once.
	IsolationFork = "fork per cell"
	// IsolationProcess: each cell runs in a worker started for it alone.
	IsolationProcess = "process per cell"
)

// reap forgets a worker once its process has exited, and kills what it
// left: a worker per cell, or a fork server killed, gives g4fdiag the
// processes its cells started and left (see contain.go).
func (p *Pool) reap(w *worker) {
	<-w.exited
	p.mu.Lock()
	delete(p.live, w)
	p.mu.Unlock()
	ReapAdopted()
}

// release ends one cell's claim on a worker, and kills a retired worker once
// no cell is left in it.
func (p *Pool) release(w *worker) {
	w.mu.Lock()
	w.inflight--
	end := w.tainted && w.inflight == 0
	w.mu.Unlock()
	if end {
		w.kill()
	}
}

// retire stops routing cells to a worker: a cell is stuck in it, or
// nest_asyncio has patched it.
func (p *Pool) retire(w *worker) {
	p.mu.Lock()
	ws := p.workers[w.loop]
	for i, x := range ws {
		if x == w {
			p.workers[w.loop] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	w.mu.Lock()
	w.tainted = true
	w.mu.Unlock()
}

// RunCell runs one cell and returns its observation. The error is non-nil
// only when ctx ended first; the observation then ends EndInterrupted with
// what the cell had by then.
func (p *Pool) RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error) {
	return p.RunCellYielding(ctx, c, timeout, nil)
}

// RunCellYielding is RunCell that calls yield (when not nil) once the
// cell's process has stopped using the CPU: the cell only waits — on a
// hang, a stalled stream, its deadline — and its job slot can go to
// another cell.
func (p *Pool) RunCellYielding(ctx context.Context, c scan.Cell, timeout time.Duration, yield func()) (scan.Observation, error) {
	obs := scan.Observation{Cell: c, Started: time.Now()}
	finish := func() (scan.Observation, error) {
		obs.DurationMS = msSince(obs.Started)
		return obs, nil
	}
	p.mu.Lock()
	li, known := p.loopInfo[c.Loop]
	p.mu.Unlock()
	if known && !li.Available {
		obs.End, obs.SkipReason = scan.EndUnavailable, li.Reason
		return finish()
	}
	interrupted := func(err error) (scan.Observation, error) {
		obs.End = scan.EndInterrupted
		obs.DurationMS = msSince(obs.Started)
		return obs, err
	}
	w, err := p.acquire(ctx, c.Loop)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx.Err())
		}
		obs.End = scan.EndCrashed
		obs.Worker = &scan.WorkerInfo{ExitStatus: "could not start", StderrTail: err.Error()}
		return finish()
	}
	defer p.release(w)
	if !w.ready.Available {
		obs.End, obs.SkipReason = scan.EndUnavailable, w.ready.Reason
		return finish()
	}
	if !w.ready.Fork {
		// A worker of its own: it ends with the cell, so nothing the cell
		// leaves behind reaches another.
		p.retire(w)
	}
	obs.Worker = &scan.WorkerInfo{PID: w.cmd.Process.Pid}
	cl := cellRun{pool: p, w: w, obs: &obs, yield: yield}
	if err := cl.run(ctx, timeout); err != nil {
		return interrupted(err)
	}
	return finish()
}

// cellRun is one cell in flight on a worker: in a forked child of it, or in
// the worker itself when it cannot fork.
type cellRun struct {
	pool  *Pool
	w     *worker
	obs   *scan.Observation
	yield func()

	id        int64
	child     int    // the forked child's pid, once known
	dump, out string // the child's files
}

// target is the process that runs the cell: its stacks, its CPU.
func (cl *cellRun) target() (pid int, dump string) {
	if cl.child != 0 {
		return cl.child, cl.dump
	}
	return cl.w.cmd.Process.Pid, cl.w.dumpPath
}

func (cl *cellRun) run(ctx context.Context, timeout time.Duration) error {
	p, w, obs := cl.pool, cl.w, cl.obs
	req := request{Op: "run", Cell: &obs.Cell, Call: obs.Mode.CallStyle(),
		BlockThresholdMS: p.blockThreshold.Milliseconds(), Messages: p.messages}
	if w.ready.Fork {
		seq := p.nextSeq()
		cl.dump = filepath.Join(p.dir, fmt.Sprintf("cell-%d.stacks", seq))
		cl.out = filepath.Join(p.dir, fmt.Sprintf("cell-%d.out", seq))
		req.Dump, req.Out = cl.dump, cl.out
		defer os.Remove(cl.dump)
		defer os.Remove(cl.out)
	}
	id, events, err := w.send(req)
	if err != nil {
		<-w.exited
		p.crashed(w, obs)
		return nil
	}
	cl.id = id
	defer w.forget(id)
	defer cl.endChild()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	idle := newIdleWatch(cl.yield)
	defer idle.stop()
	if !w.ready.Fork {
		idle.watch(w.cmd.Process.Pid)
	}
	for {
		select {
		case ev := <-events:
			switch ev.Event {
			case "forked":
				cl.child = ev.PID
				obs.Worker.PID = ev.PID
				p.track(ev.PID, true)
				p.mu.Lock()
				p.forks++
				p.forkMS += ev.ForkMS
				p.mu.Unlock()
				idle.watch(ev.PID)
			case "done":
				obs.End, obs.Calls, obs.Log = scan.EndCompleted, ev.Calls, ev.Log
				return nil
			case "error": // the harness refused the request: a g4fdiag fault
				obs.End = scan.EndCrashed
				obs.Worker.ExitStatus = "the worker refused the cell"
				if ev.Error != nil {
					obs.Worker.StderrTail = ev.Error.Type + ": " + ev.Error.Message
				}
				return nil
			case "exited": // the cell's child died before it was done
				cl.child = 0
				p.track(ev.PID, false)
				obs.End = scan.EndCrashed
				obs.Worker.ExitStatus = ev.Status
				obs.Worker.StderrTail = fileTail(cl.out, 20)
				return nil
			case "blocked":
				obs.End = scan.EndBlocked
				obs.Stacks = &scan.Stacks{LoopThread: ev.LoopThread, BlockedMS: ev.BlockedMS}
				if !w.ready.Fork {
					p.retire(w)
				}
				cl.hangEvidence(ctx)
				return nil
			}
		case <-deadline.C:
			obs.End = scan.EndDeadline
			obs.Stacks = &scan.Stacks{}
			if !w.ready.Fork {
				p.retire(w)
			}
			cl.hangEvidence(ctx)
			return nil
		case <-w.exited:
			p.crashed(w, obs)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// endChild kills the cell's child and whatever it started (its process
// group) unless it was seen to exit. A child that sent done ends its group
// itself; the kill is for one that could not.
func (cl *cellRun) endChild() {
	if cl.child == 0 {
		return
	}
	KillGroup(cl.child)
	cl.pool.track(cl.child, false)
}

// evidenceBudget bounds gathering a hung cell's stacks and tasks, so the
// cell ends close to its deadline: faulthandler answers in milliseconds
// even when no Python thread can run, and the tasks come from a thread of
// their own.
const evidenceBudget = 150 * time.Millisecond

// hangEvidence adds the all-thread dump, the loop's pending tasks and the
// calls finished so far to a cell that will not end by itself. Both are
// asked for at once, within evidenceBudget.
func (cl *cellRun) hangEvidence(ctx context.Context) {
	pid, dump := cl.target()
	threads := make(chan string, 1)
	go func() { threads <- dumpStacksWithin(pid, dump, evidenceBudget) }()
	ev, err := cl.w.call(ctx, request{Op: "tasks", CellID: cl.id}, evidenceBudget)
	cl.obs.Stacks.Threads = <-threads
	if err != nil {
		cl.obs.Stacks.Tasks = "(no answer from the worker: " + err.Error() + ")"
		return
	}
	cl.obs.Stacks.Tasks = ev.Tasks
	cl.obs.Calls, cl.obs.Log = ev.Calls, ev.Log
}

func (p *Pool) nextSeq() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dumpSeq++
	return p.dumpSeq
}

// ForkCost is how many cells were forked so far and the mean time a fork
// server spent forking one (os.fork in the parent: the copy of its page
// tables; the child's own start is part of the cell).
func (p *Pool) ForkCost() (forks int, mean time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forks == 0 {
		return 0, 0
	}
	return p.forks, time.Duration(p.forkMS / float64(p.forks) * float64(time.Millisecond))
}

// track records a forked child Go may still have to kill at Close.
func (p *Pool) track(pid int, alive bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if alive {
		p.children[pid] = true
	} else {
		delete(p.children, pid)
	}
}

func (p *Pool) crashed(w *worker, obs *scan.Observation) {
	w.mu.Lock()
	status := w.exitErr
	w.mu.Unlock()
	obs.End = scan.EndCrashed
	obs.Worker = &scan.WorkerInfo{PID: w.cmd.Process.Pid, StderrTail: w.stderr.Tail(20)}
	if status != nil {
		obs.Worker.ExitStatus = status.Error()
	}
}

// Close kills every worker's process group, and every process their cells
// started wherever it moved (ReapAdopted), and removes the temp dir. Safe
// to call more than once and while cells are running.
func (p *Pool) Close() error {
	p.end()
	p.mu.Lock()
	p.closed = true
	ws := p.liveWorkers()
	children := make([]int, 0, len(p.children))
	for pid := range p.children {
		children = append(children, pid)
	}
	p.mu.Unlock()
	for _, pid := range children {
		KillGroup(pid)
	}
	for _, w := range ws {
		w.kill()
	}
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		}
	}
	ReapAdopted()
	return os.RemoveAll(p.dir)
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
