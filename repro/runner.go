package repro

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Driver runs single cells. The in-process Pool is one; a driver knows
// nothing of verdicts.
type Driver interface {
	// RunCell runs one cell within timeout. The error is non-nil only when
	// ctx ended first; the observation then ends EndInterrupted (or is
	// dropped, when it does not).
	RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error)
}

// Yielder is a Driver that can tell when a running cell has stopped using
// the CPU — it only waits, on a hang, a stream or its deadline — and then
// calls yield once, so the runner can start another cell: --jobs bounds the
// cells that work, not the ones that wait.
type Yielder interface {
	Driver
	RunCellYielding(ctx context.Context, c scan.Cell, timeout time.Duration, yield func()) (scan.Observation, error)
}

// Route is the Driver of a scan that mixes in-process and HTTP modes: it
// sends each cell to the driver of its mode.
type Route struct {
	InProcess Driver
	HTTP      Driver
}

// RunCell runs c on the driver of its mode. A mode whose driver is missing
// is a planning mistake the command layer rules out; it ends as skipped.
func (r Route) RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error) {
	d := r.InProcess
	if c.Mode.OverHTTP() {
		d = r.HTTP
	}
	if d == nil {
		return scan.Observation{Cell: c, Started: time.Now(), End: scan.EndSkipped,
			SkipReason: "no driver for mode " + string(c.Mode)}, nil
	}
	return d.RunCell(ctx, c, timeout)
}

// RunCellYielding runs c on the driver of its mode, yielding when that
// driver can tell the cell only waits.
func (r Route) RunCellYielding(ctx context.Context, c scan.Cell, timeout time.Duration, yield func()) (scan.Observation, error) {
	d := r.InProcess
	if c.Mode.OverHTTP() {
		d = r.HTTP
	}
	if y, ok := d.(Yielder); ok {
		return y.RunCellYielding(ctx, c, timeout, yield)
	}
	return r.RunCell(ctx, c, timeout)
}

// Decide returns the observation of a cell that the plan says not to run —
// a probe this g4f cannot have, a provider marked not working, one that
// needs auth, a loop variant that is not available — and false for a cell
// to run.
func Decide(p scan.Plan, c scan.Cell, pr providers.Provider, env scan.Environment) (scan.Observation, bool) {
	obs := scan.Observation{Cell: c, Started: time.Now()}
	switch {
	case pr.Unavailable != "":
		obs.End, obs.SkipReason = scan.EndUnavailable, pr.Unavailable
	case !pr.Working && !p.IncludeNotWorking:
		obs.End, obs.SkipReason = scan.EndNotWorking, "the provider class says working = False (--include-not-working runs it)"
	case pr.NeedsAuth && !p.IncludeAuth:
		obs.End, obs.SkipReason = scan.EndSkipped, "the provider needs auth (--include-auth runs it)"
	default:
		if li, ok := env.Loop(c.Loop); ok && !li.Available {
			obs.End, obs.SkipReason = scan.EndUnavailable, li.Reason
			return obs, true
		}
		return scan.Observation{}, false
	}
	return obs, true
}

// Run runs the plan's cells through d, at most p.Jobs at once, and sends each
// observation on the returned channel as it ends, the decided ones first.
// The channel is closed when every cell has ended, or when ctx is done and
// the cells running then have ended: those are sent with End
// EndInterrupted; cells not started are not sent. The caller reads the
// channel to its end.
func Run(ctx context.Context, d Driver, p scan.Plan, catalog []providers.Provider, env scan.Environment) <-chan scan.Observation {
	byName := make(map[string]providers.Provider, len(catalog))
	for _, pr := range catalog {
		byName[pr.Name] = pr
	}
	var todo []scan.Cell
	var decided []scan.Observation
	for _, c := range p.Cells(catalog) {
		if obs, ok := Decide(p, c, byName[c.Provider], env); ok {
			decided = append(decided, obs)
			continue
		}
		todo = append(todo, c)
	}
	return RunCells(ctx, d, decided, todo, p.Jobs, p.Timeout)
}

// maxWaiting bounds the cells that have given their job slot back and still
// wait: each holds a process until its deadline.
const maxWaiting = 64

// RunCells sends the decided observations, then runs cells through d, each
// within timeout, and sends each observation as it ends. At most jobs cells
// work at once; with a Yielder, a cell that only waits gives its slot to the
// next one, and at most maxWaiting such cells wait beside them. The channel
// is closed when every cell has ended, or when ctx is done and the cells
// running then have ended: every cell that ended is sent, those cut short
// by ctx with End EndInterrupted (see Run). The caller reads the channel to
// its end.
//
// Cells start in the order of a cellQueue: the providers take turns, and
// the cells of a provider one of whose cells waits go first, so the hung
// cells of a provider wait side by side from early in the scan instead of
// one deadline after another at its end. Verdicts do not depend on the
// order (see the package doc); the wall time of a scan does.
func RunCells(ctx context.Context, d Driver, decided []scan.Observation, todo []scan.Cell, jobs int, timeout time.Duration) <-chan scan.Observation {
	out := make(chan scan.Observation)
	jobs = max(jobs, 1)
	run := func(ctx context.Context, c scan.Cell, yield func()) (scan.Observation, error) {
		return d.RunCell(ctx, c, timeout)
	}
	if y, ok := d.(Yielder); ok {
		run = func(ctx context.Context, c scan.Cell, yield func()) (scan.Observation, error) {
			return y.RunCellYielding(ctx, c, timeout, yield)
		}
	}
	go func() {
		defer close(out)
		for _, obs := range decided {
			select {
			case out <- obs:
			case <-ctx.Done():
				return
			}
		}
		queue := newCellQueue(todo)
		busy := make(chan struct{}, jobs)                // a token per working cell
		inFlight := make(chan struct{}, jobs+maxWaiting) // working and waiting
		var wg sync.WaitGroup
		defer wg.Wait()
		for range todo {
			select {
			case inFlight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case busy <- struct{}{}:
			case <-ctx.Done():
				<-inFlight
				return
			}
			c := queue.next() // after the wait: promotions made meanwhile count
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inFlight }()
				var once sync.Once
				release := func() { once.Do(func() { <-busy }) }
				defer release()
				yield := func() {
					queue.promote(c.Provider)
					release()
				}
				obs, err := run(ctx, c, yield)
				if err != nil && obs.End != scan.EndInterrupted {
					return // ctx ended, and the driver kept nothing of the cell
				}
				// Sent even when ctx is done: the caller reads to the end,
				// and a cell that ended, or was cut short, is in the report.
				out <- obs
			}()
		}
	}()
	return out
}

// cellQueue hands out cells a provider at a time in turn, in the order the
// providers first appear, each provider's cells in their own order; a
// promoted provider's cells come before all others.
type cellQueue struct {
	mu       sync.Mutex
	order    []string               // providers in turn order
	cells    map[string][]scan.Cell // cells not handed out yet
	turn     int
	promoted []string // providers whose cells go first, first promoted first
}

func newCellQueue(cells []scan.Cell) *cellQueue {
	q := &cellQueue{cells: make(map[string][]scan.Cell)}
	for _, c := range cells {
		if _, ok := q.cells[c.Provider]; !ok {
			q.order = append(q.order, c.Provider)
		}
		q.cells[c.Provider] = append(q.cells[c.Provider], c)
	}
	return q
}

// next returns the next cell; the caller asks no more often than there are
// cells.
func (q *cellQueue) next() scan.Cell {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.promoted) > 0 {
		p := q.promoted[0]
		if cs := q.cells[p]; len(cs) > 0 {
			q.cells[p] = cs[1:]
			return cs[0]
		}
		q.promoted = q.promoted[1:]
	}
	for range q.order {
		p := q.order[q.turn%len(q.order)]
		q.turn++
		if cs := q.cells[p]; len(cs) > 0 {
			q.cells[p] = cs[1:]
			return cs[0]
		}
	}
	panic("repro: cellQueue.next called with no cell left")
}

// promote sends a provider's remaining cells to the front: one of its cells
// only waits, and so, likely, will the others.
func (q *cellQueue) promote(provider string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.cells[provider]) > 0 && !slices.Contains(q.promoted, provider) {
		q.promoted = append(q.promoted, provider)
	}
}
