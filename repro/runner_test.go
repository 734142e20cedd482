package repro

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// waitingDriver is a Yielder whose "wait" cells give their slot back and
// then wait until released, and whose other cells end at once.
type waitingDriver struct {
	release chan struct{}
	mu      sync.Mutex
	started map[string]int
}

func (d *waitingDriver) RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error) {
	return d.RunCellYielding(ctx, c, timeout, nil)
}

func (d *waitingDriver) RunCellYielding(ctx context.Context, c scan.Cell, _ time.Duration, yield func()) (scan.Observation, error) {
	d.mu.Lock()
	d.started[c.Provider]++
	d.mu.Unlock()
	if c.Provider == "wait" {
		if yield != nil {
			yield()
		}
		select {
		case <-d.release:
		case <-ctx.Done():
			return scan.Observation{Cell: c, End: scan.EndInterrupted}, ctx.Err()
		}
	}
	return scan.Observation{Cell: c, End: scan.EndCompleted}, nil
}

// TestWaitingCellsDoNotHoldJobs: with one job, two cells that only wait
// let a working cell run past them; it ends first.
func TestWaitingCellsDoNotHoldJobs(t *testing.T) {
	d := &waitingDriver{release: make(chan struct{}), started: map[string]int{}}
	cells := []scan.Cell{{Provider: "wait", Mode: scan.ModeSync}, {Provider: "wait", Mode: scan.ModeAsync}, {Provider: "work", Mode: scan.ModeSync}}
	out := RunCells(context.Background(), d, nil, cells, 1, time.Minute)
	first := <-out
	if first.Provider != "work" {
		t.Fatalf("first to end: %s, want the working cell", first.Provider)
	}
	close(d.release)
	n := 1
	for range out {
		n++
	}
	if n != len(cells) {
		t.Errorf("%d observations, want %d", n, len(cells))
	}
}

// TestInterruptedCellsAreSent: when ctx ends, the cells running then come
// out marked interrupted, the finished one keeps its end, and the channel
// closes.
func TestInterruptedCellsAreSent(t *testing.T) {
	d := &waitingDriver{release: make(chan struct{}), started: map[string]int{}}
	cells := []scan.Cell{{Provider: "wait", Mode: scan.ModeSync}, {Provider: "wait", Mode: scan.ModeAsync}, {Provider: "work", Mode: scan.ModeSync}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := RunCells(ctx, d, nil, cells, 3, time.Minute)
	if first := <-out; first.Provider != "work" || first.End != scan.EndCompleted {
		t.Fatalf("first to end: %s %s, want the working cell completed", first.Provider, first.End)
	}
	cancel()
	var ends []string
	for obs := range out {
		ends = append(ends, obs.Provider+"/"+string(obs.Mode)+":"+string(obs.End))
	}
	if got := strings.Join(ends, " "); len(ends) != 2 || !strings.Contains(got, "wait/sync:interrupted") ||
		!strings.Contains(got, "wait/async:interrupted") {
		t.Errorf("after the cancel: %s, want both waiting cells interrupted", got)
	}
}

// TestJobsBoundWorkingCells: a driver that never yields keeps to --jobs.
func TestJobsBoundWorkingCells(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	d := driverFunc(func(ctx context.Context, c scan.Cell, _ time.Duration) (scan.Observation, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return scan.Observation{Cell: c, End: scan.EndCompleted}, nil
	})
	var cells []scan.Cell
	for range 40 {
		cells = append(cells, scan.Cell{Provider: "p", Mode: scan.ModeSync})
	}
	n := 0
	for range RunCells(context.Background(), d, nil, cells, 3, time.Minute) {
		n++
	}
	if n != len(cells) || most > 3 {
		t.Errorf("%d observations, at most %d at once; want %d, at most 3", n, most, len(cells))
	}
}

type driverFunc func(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error)

func (f driverFunc) RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error) {
	return f(ctx, c, timeout)
}

// TestCellQueue: providers take turns, and a promoted provider's remaining
// cells go before everyone else's.
func TestCellQueue(t *testing.T) {
	var cells []scan.Cell
	for _, p := range []string{"a", "b", "c"} {
		for _, m := range []scan.Mode{scan.ModeBaseline, scan.ModeSync, scan.ModeAsync} {
			cells = append(cells, scan.Cell{Provider: p, Mode: m})
		}
	}
	q := newCellQueue(cells)
	var got []string
	take := func() { c := q.next(); got = append(got, c.Provider+"/"+string(c.Mode)) }
	take()
	take()
	q.promote("c")
	for range len(cells) - 2 {
		take()
	}
	want := "a/baseline b/baseline c/baseline c/sync c/async a/sync b/sync a/async b/async"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("order:\n got %s\nwant %s", g, want)
	}
}
