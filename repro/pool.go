package repro

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

//go:embed harness/harness.py
var harnessPy []byte

// WriteHarness writes the embedded harness into dir and returns its path.
// Workers run it; so do the API servers g4fdiag starts (--serve-api).
func WriteHarness(dir string) (string, error) {
	path := filepath.Join(dir, "harness.py")
	if err := os.WriteFile(path, harnessPy, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// DefaultMessages is what every call asks when the plan says nothing else.
var DefaultMessages = []Message{{Role: "user", Content: "Say hello in one word."}}

// Pool is the in-process Driver: long-lived Python workers per loop variant,
// each serving cells on threads of its own — many at once, except where a
// loop variant needs a worker per cell (see exclusive). A worker with a stuck
// cell is retired: it takes no new cell, and its process group is killed once
// Go waits for none of its cells.
type Pool struct {
	target         Target
	blockThreshold time.Duration
	messages       []Message
	dir            string // private temp dir: harness.py and dump files
	harness        string

	mu       sync.Mutex
	workers  map[Loop][]*worker // usable workers; retired ones are left out
	live     map[*worker]bool
	loopInfo map[Loop]LoopInfo
	starting map[Loop]*sync.Mutex
	dumpSeq  int
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
	return &Pool{
		target: t, blockThreshold: o.BlockThreshold, messages: o.Messages,
		dir: dir, harness: harness,
		workers: make(map[Loop][]*worker), live: make(map[*worker]bool),
		loopInfo: make(map[Loop]LoopInfo), starting: make(map[Loop]*sync.Mutex),
	}, nil
}

// Start starts one worker per loop variant, in parallel, and returns what
// they report of the environment and the provider catalog. A loop variant
// that cannot be set up is reported unavailable, not as an error; an
// interpreter that cannot import g4f is an *EnvError.
func (p *Pool) Start(ctx context.Context, loops []Loop) (Environment, []providers.Provider, error) {
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
			return Environment{}, nil, err
		}
	}
	env := p.Environment()
	var catalog []providers.Provider
	for _, l := range loops {
		w, err := p.acquire(ctx, l)
		if err != nil {
			return env, nil, err
		}
		ev, err := w.call(ctx, request{Op: "catalog"}, p.target.startTimeout())
		p.release(w)
		if err != nil {
			return env, nil, envErrorf("check that g4f.Provider imports cleanly", "listing g4f providers: %v", err)
		}
		catalog = ev.Providers
		break
	}
	return env, catalog, nil
}

// Environment reports the interpreter and loop variants seen so far.
func (p *Pool) Environment() Environment {
	p.mu.Lock()
	defer p.mu.Unlock()
	env := Environment{Python: p.target.Python, Demo: p.target.Demo}
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

func loopRank(l Loop) int {
	for i, x := range AllLoops {
		if x == l {
			return i
		}
	}
	return len(AllLoops)
}

var errPoolClosed = errors.New("worker pool closed")

// acquire returns a worker of a loop variant that can take one more cell,
// starting one when there is none, and counts the cell in flight on it.
func (p *Pool) acquire(ctx context.Context, l Loop) (*worker, error) {
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
		if found == nil && (!exclusive(l) || w.inflight == 0) {
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

	w, err := startWorker(ctx, p.target, p.harness, dump, l)
	if err != nil {
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
	p.loopInfo[l] = LoopInfo{Loop: l, Available: w.ready.Available, Reason: w.ready.Reason,
		Package: w.ready.Package, Version: w.ready.Version}
	w.inflight++
	go p.reap(w)
	return w, nil
}

// exclusive reports whether each cell of a loop variant needs a worker to
// itself. nest_asyncio patches the whole process the first time g4f applies
// it, so a nest cell sharing a worker with one that triggers the patch would
// see neither a fresh process (where a first request meets "Cannot enter into
// task") nor a patched one, but whichever came first.
func exclusive(l Loop) bool { return l == LoopNest }

// reap forgets a worker once its process has exited.
func (p *Pool) reap(w *worker) {
	<-w.exited
	p.mu.Lock()
	delete(p.live, w)
	p.mu.Unlock()
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
// only when ctx ended first; the observation is then incomplete.
func (p *Pool) RunCell(ctx context.Context, c Cell, timeout time.Duration) (Observation, error) {
	obs := Observation{Cell: c, Started: time.Now()}
	finish := func() (Observation, error) {
		obs.DurationMS = msSince(obs.Started)
		return obs, nil
	}
	p.mu.Lock()
	li, known := p.loopInfo[c.Loop]
	p.mu.Unlock()
	if known && !li.Available {
		obs.End, obs.SkipReason = EndUnavailable, li.Reason
		return finish()
	}
	w, err := p.acquire(ctx, c.Loop)
	if err != nil {
		if ctx.Err() != nil {
			return obs, ctx.Err()
		}
		obs.End = EndCrashed
		obs.Worker = &WorkerInfo{ExitStatus: "could not start", StderrTail: err.Error()}
		return finish()
	}
	defer p.release(w)
	if !w.ready.Available {
		obs.End, obs.SkipReason = EndUnavailable, w.ready.Reason
		return finish()
	}
	obs.Worker = &WorkerInfo{PID: w.cmd.Process.Pid}

	id, events, err := w.send(request{Op: "run", Cell: &c,
		BlockThresholdMS: p.blockThreshold.Milliseconds(), Messages: p.messages})
	if err != nil {
		<-w.exited
		return p.crashed(w, &obs)
	}
	defer w.forget(id)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-events:
			switch ev.Event {
			case "done":
				obs.End, obs.Calls, obs.Log = EndCompleted, ev.Calls, ev.Log
				if ev.NestPatchedAfter {
					p.retire(w)
				}
				return finish()
			case "error": // the harness refused the request: a g4fdiag fault
				obs.End = EndCrashed
				obs.Worker.ExitStatus = "the worker refused the cell"
				if ev.Error != nil {
					obs.Worker.StderrTail = ev.Error.Type + ": " + ev.Error.Message
				}
				return finish()
			case "blocked":
				obs.End = EndBlocked
				obs.Stacks = &Stacks{LoopThread: ev.LoopThread, BlockedMS: ev.BlockedMS}
				p.retire(w)
				p.hangEvidence(ctx, w, id, &obs)
				return finish()
			}
		case <-deadline.C:
			obs.End = EndDeadline
			obs.Stacks = &Stacks{}
			p.retire(w)
			p.hangEvidence(ctx, w, id, &obs)
			return finish()
		case <-w.exited:
			return p.crashed(w, &obs)
		case <-ctx.Done():
			return obs, ctx.Err()
		}
	}
}

// hangEvidence adds the all-thread dump, the loop's pending tasks and the
// calls finished so far to a cell that will not end by itself.
func (p *Pool) hangEvidence(ctx context.Context, w *worker, cellID int64, obs *Observation) {
	obs.Stacks.Threads = w.dumpThreads()
	ev, err := w.call(ctx, request{Op: "tasks", CellID: cellID}, 2*time.Second)
	if err != nil {
		obs.Stacks.Tasks = "(no answer from the worker: " + err.Error() + ")"
		return
	}
	obs.Stacks.Tasks = ev.Tasks
	obs.Calls, obs.Log = ev.Calls, ev.Log
}

func (p *Pool) crashed(w *worker, obs *Observation) (Observation, error) {
	w.mu.Lock()
	status := w.exitErr
	w.mu.Unlock()
	obs.End = EndCrashed
	obs.Worker = &WorkerInfo{PID: w.cmd.Process.Pid, StderrTail: w.stderr.Tail(20)}
	if status != nil {
		obs.Worker.ExitStatus = status.Error()
	}
	obs.DurationMS = msSince(obs.Started)
	return *obs, nil
}

// Close kills every worker's process group and removes the temp dir. Safe
// to call more than once and while cells are running.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	ws := p.liveWorkers()
	p.mu.Unlock()
	for _, w := range ws {
		w.kill()
	}
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		}
	}
	return os.RemoveAll(p.dir)
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
