package apiserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Set is the API servers of one scan: a fork server per loop variant, and
// the servers lent to cells, one fresh server per cell.
type Set struct {
	t        repro.Target
	harness  string
	dir      string
	timeout  time.Duration
	stopping chan struct{}  // closed by Stop: starts in progress give up
	starting sync.WaitGroup // starts in progress, which Stop waits for

	mu      sync.Mutex
	loops   map[scan.Loop]*forkServer
	live    map[*Server]struct{}
	stopped bool
	seq     int
}

// StartAll starts one fork server per loop, in parallel, and waits until
// each has imported g4f.api. A loop whose variant is unavailable is
// reported in the returned infos, not as an error; so is a loop that
// cannot fork (its Isolation says why), whose servers are then processes
// of their own. startTimeout bounds each start: a fork server's, and each
// server's from its request to its ready line.
func StartAll(ctx context.Context, t repro.Target, loops []scan.Loop, startTimeout time.Duration) (*Set, []scan.LoopInfo, error) {
	dir, err := os.MkdirTemp("", "g4fdiag-api-")
	if err != nil {
		return nil, nil, err
	}
	harness, err := repro.WriteHarness(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	set := &Set{t: t, harness: harness, dir: dir, timeout: startTimeout, stopping: make(chan struct{}),
		loops: make(map[scan.Loop]*forkServer), live: make(map[*Server]struct{})}
	infos := make([]scan.LoopInfo, len(loops))
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dump := filepath.Join(dir, fmt.Sprintf("stacks-%s-fork-server.txt", l))
			fs, err := startForkServer(ctx, t, harness, dump, l, startTimeout)
			var un *UnavailableError
			switch {
			case errors.As(err, &un):
				infos[i] = scan.LoopInfo{Loop: l, Reason: un.Reason}
			case err != nil:
				errs[i] = err
			default:
				infos[i] = scan.LoopInfo{Loop: l, Available: true, Isolation: repro.IsolationFork}
				if !fs.canFork {
					infos[i].Isolation = repro.IsolationProcess + " (cannot fork: " + fs.reason + ")"
				}
				set.mu.Lock()
				set.loops[l] = fs
				set.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		set.Stop(0)
		return nil, nil, err
	}
	return set, infos, nil
}

// Use starts a fresh server of loop l for one cell and returns it once it
// listens. The cell returns it (Server.Return) when its calls end, which
// stops it: no two cells ever share a server.
func (s *Set) Use(ctx context.Context, l scan.Loop) (*Server, error) {
	s.mu.Lock()
	fs, ok := s.loops[l]
	stopped := s.stopped
	if ok && !stopped {
		s.starting.Add(1)
	}
	s.seq++
	dump := filepath.Join(s.dir, fmt.Sprintf("stacks-%s-%d.txt", l, s.seq))
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("no g4f API server for loop %s", l)
	case stopped:
		return nil, errStopped
	}
	defer s.starting.Done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-s.stopping:
			cancel(errStopped)
		case <-ctx.Done():
		}
	}()
	begun := time.Now()
	srv, err := s.start(ctx, fs, dump)
	if err == nil {
		srv.begun = begun
		if err = srv.waitReady(ctx, s.timeout, s.t.Python); err != nil {
			srv.Stop(0)
		}
	}
	if err != nil {
		if context.Cause(ctx) == errStopped {
			return nil, errStopped
		}
		return nil, err
	}
	s.mu.Lock()
	if s.stopped { // Stop began while this one started
		s.mu.Unlock()
		srv.Stop(0)
		return nil, errStopped
	}
	srv.release = func() {
		s.mu.Lock()
		delete(s.live, srv)
		s.mu.Unlock()
	}
	s.live[srv] = struct{}{}
	s.mu.Unlock()
	return srv, nil
}

// start forks a server, or starts a process for it where the loop cannot fork.
func (s *Set) start(ctx context.Context, fs *forkServer, dump string) (*Server, error) {
	if fs.canFork {
		return fs.fork(ctx, dump)
	}
	srv := newServer(fs.loop, dump, false)
	var err error
	srv.proc, err = startHarness(s.t, s.harness,
		[]string{"--loop", string(fs.loop), "--serve-api", "--port", "0", "--dump", dump}, srv.line)
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// Live is the number of servers lent to cells and not yet stopped.
func (s *Set) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Stop kills every server still lent out, then stops the fork servers
// (SIGKILL after grace), kills what they left (repro.ReapAdopted) and
// removes the temp dir. Servers go first: a fork server reports its
// children's ends.
func (s *Set) Stop(grace time.Duration) {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stopping)
	}
	s.mu.Unlock()
	s.starting.Wait()
	s.mu.Lock()
	servers := make([]*Server, 0, len(s.live))
	for srv := range s.live {
		servers = append(servers, srv)
	}
	forks := make([]*forkServer, 0, len(s.loops))
	for _, fs := range s.loops {
		forks = append(forks, fs)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Stop(0)
		}()
	}
	wg.Wait()
	for _, fs := range forks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fs.stop(grace)
		}()
	}
	wg.Wait()
	repro.ReapAdopted()
	os.RemoveAll(s.dir)
}
