package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// exitUnavailable is the harness's exit status when its loop variant cannot
// be set up or g4f.api cannot be imported.
const exitUnavailable = 3

// readyPrefix starts the line a server prints once uvicorn listens.
const readyPrefix = "g4fdiag-serve ready port="

// fatalPrefix starts the line the harness prints before it exits 3.
const fatalPrefix = "g4fdiag-serve fatal: "

// Server is one running API server, lent to one cell: it is the HTTP
// driver's lease (httpapi.Lease).
type Server struct {
	Loop scan.Loop
	URL  string // base URL, e.g. http://127.0.0.1:41234
	// Forked says the server is a child of its loop's fork server, not a
	// process started for it alone.
	Forked bool
	// Started is how long the server took from the request to its ready
	// line: a fork (or a process start) and uvicorn's start-up.
	Started time.Duration

	proc  *process
	dump  string    // faulthandler's file: SIGUSR1 writes every thread's stack there
	ready chan int  // the port of the ready line
	begun time.Time // when it was asked for: Started counts from there

	returned sync.Once
	release  func() // tells the Set the server is stopped; nil before the Set has it
}

// UnavailableError says a loop variant's server could not start because the
// variant cannot be set up there (its package is missing) or g4f has no API
// module: the report shows the loop unavailable, the scan goes on.
type UnavailableError struct {
	Loop   scan.Loop
	Reason string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("the %s API server cannot start: %s", e.Loop, e.Reason)
}

// errStopped is what a server asked of a stopped Set gets.
var errStopped = errors.New("the API servers are stopped")

func newServer(loop scan.Loop, dump string, forked bool) *Server {
	return &Server{Loop: loop, Forked: forked, dump: dump, ready: make(chan int, 1)}
}

// line watches the server's output for its ready line.
func (s *Server) line(text string) {
	rest, ok := strings.CutPrefix(text, readyPrefix)
	if !ok {
		return
	}
	field, _, _ := strings.Cut(rest, " ")
	port, err := strconv.Atoi(field)
	if err != nil || port <= 0 {
		return
	}
	select {
	case s.ready <- port:
	default:
	}
}

// waitReady waits for the ready line, at most timeout, and sets URL.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration, python string) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case port := <-s.ready:
		s.listening(port)
		return nil
	case <-s.proc.gone:
		// the reader saw every line before gone: a ready line is in s.ready
		select {
		case port := <-s.ready:
			s.listening(port)
			return nil
		default:
		}
		return s.startError(python)
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return &repro.EnvError{
			What: fmt.Sprintf("the %s API server did not listen within %s: %s", s.Loop, timeout, lastLine(s.proc.log.Tail(5))),
			Fix:  "check its log with g4fdiag repro, or raise the start timeout"}
	}
}

func (s *Server) listening(port int) {
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	s.Started = time.Since(s.begun)
}

// startError is why a server that ended before its ready line did not start.
func (s *Server) startError(python string) error {
	return exitedAtStart(s.Loop, "API server", s.proc, python)
}

// exitedAtStart explains a harness process that ended before it was ready:
// an unavailable loop variant, or an environment error with its last line.
func exitedAtStart(loop scan.Loop, what string, p *process, python string) error {
	reason := lastLine(p.log.Tail(5))
	if p.code == exitUnavailable && strings.HasPrefix(reason, fatalPrefix+"loop variant") {
		return &UnavailableError{Loop: loop, Reason: strings.TrimPrefix(reason, fatalPrefix)}
	}
	return &repro.EnvError{
		What: fmt.Sprintf("the %s %s exited at start (%s): %s", loop, what, p.status, strings.TrimPrefix(reason, fatalPrefix)),
		Fix:  "check that `import g4f.api` and uvicorn work with " + python}
}

// PID is the server's process id, also the id of its process group.
func (s *Server) PID() int { return s.proc.pid }

// Log is the server's log: its own, no other server's.
func (s *Server) Log() *Log { return s.proc.log }

// Stop ends the server's process group: SIGTERM, then SIGKILL after grace
// (at once when grace is 0). It returns once the server is reaped and its
// output read.
func (s *Server) Stop(grace time.Duration) {
	s.proc.stop(grace)
	if !s.Forked {
		repro.ReapAdopted() // what a server of its own left comes to g4fdiag
	}
	if s.release != nil {
		s.release()
	}
}

// Stacks returns every thread's stack of the server, from faulthandler.
func (s *Server) Stacks() string {
	if s.proc.isGone() {
		return ""
	}
	return repro.DumpStacks(s.proc.pid, s.dump)
}

// Base is the server's base URL.
func (s *Server) Base() string { return s.URL }

// Return ends the cell's use of the server: it takes every thread's stack
// when calls were left hanging, then kills the server, whose state no
// other cell may meet. Its log is complete when Return returns.
func (s *Server) Return(hung bool) *scan.Stacks {
	var st *scan.Stacks
	s.returned.Do(func() {
		if hung {
			st = &scan.Stacks{Threads: s.Stacks()}
		}
		s.Stop(0)
	})
	return st
}

// RequestLog is what the server logged for one request: the lines tagged
// with its id, and untagged lines read between from and to.
func (s *Server) RequestLog(requestID string, from, to time.Time) string {
	return s.proc.log.For(requestID, from, to)
}

func lastLine(s string) string { return stripPrefix(repro.LastLine(s)) }
