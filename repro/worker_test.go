package repro

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// fakeG4F writes a g4f package whose __init__ is body into a temp dir and
// returns a target that imports it, marked with an environment variable so
// that the test can find every process it started.
func fakeG4F(t *testing.T, body string) (Target, string) {
	t.Helper()
	dir := reprotest.WriteG4F(t, body, nil)
	mark := fmt.Sprintf("G4FDIAG_TEST_MARK=%d", rand.Int63())
	env := append(WithPythonPath(os.Environ(), dir), mark)
	return Target{Python: testPython(t), Env: env}, mark
}

// noneLeft fails unless every marked process is gone (within a few seconds:
// a killed process takes a moment to be reaped) and the pool's temp dir too.
func noneLeft(t *testing.T, mark string, p *Pool) {
	t.Helper()
	list := func() []int { return reprotest.EnvMarked(mark) }
	if !reprotest.Await(list, false, 5*time.Second) {
		t.Errorf("processes left:%s", reprotest.Describe(list()))
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s left (%v)", p.dir, err)
	}
}

// startWithin runs p.Start and fails the test when it has not returned
// within limit.
func startWithin(ctx context.Context, t *testing.T, p *Pool, limit time.Duration) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	t0 := time.Now()
	go func() {
		_, _, err := p.Start(ctx, scan.AllLoops)
		done <- err
	}()
	select {
	case err := <-done:
		return time.Since(t0), err
	case <-time.After(limit):
		t.Fatalf("Start still waits after %s", limit)
	}
	return 0, nil
}

// A g4f whose import writes 100 MiB without a newline to fd 3, and then
// hangs: the scan must end with an environment error, at once, not wait
// for the ready line that the oversize line swallowed.
func TestStartOversizeLine(t *testing.T) {
	target, mark := fakeG4F(t, reprotest.FloodFD3)
	p, err := NewPool(target, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	took, err := startWithin(context.Background(), t, p, 30*time.Second)
	var env *EnvError
	if !errors.As(err, &env) || !strings.Contains(env.What, "wrote no ready line: a protocol line over the 1048576-byte limit was skipped") {
		t.Fatalf("err %v, want an *EnvError about the oversize line", err)
	}
	if took > 15*time.Second {
		t.Errorf("took %s", took)
	}
	p.Close()
	noneLeft(t, mark, p)
}

// A worker that writes to fd 3 for ever, a little at a time and without a
// newline, never becomes ready: a cancelled ctx ends the start at once.
func TestStartCancelled(t *testing.T) {
	target, mark := fakeG4F(t, reprotest.TrickleFD3)
	p, err := NewPool(target, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	took, err := startWithin(ctx, t, p, 30*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if took > 10*time.Second {
		t.Errorf("took %s after a cancel at 1 s", took)
	}
	p.Close()
	noneLeft(t, mark, p)
}

// Close while a worker is still starting stops it too.
func TestCloseDuringStart(t *testing.T) {
	target, mark := fakeG4F(t, "import time\ntime.sleep(600)\n")
	p, err := NewPool(target, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	time.AfterFunc(time.Second, func() { p.Close(); close(closed) })
	_, err = startWithin(context.Background(), t, p, 30*time.Second)
	if !errors.Is(err, errPoolClosed) {
		t.Fatalf("err %v", err)
	}
	// Start gives up as soon as Close begins; the temp dir goes when Close
	// returns.
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close still runs after 30 s")
	}
	noneLeft(t, mark, p)
}
