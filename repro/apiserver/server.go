// Package apiserver starts g4f's API server (`g4f api`, FastAPI under
// uvicorn) once per loop variant, for scans with --api-spawn: on a free
// loopback port, in a process group of its own, with its log kept so each
// failing request can carry what the server logged for it. It stops every
// server it started, escalating to SIGKILL of the process group when a
// server ignores SIGTERM (uvicorn waits for hung streams).
//
// It knows nothing of requests or verdicts: the HTTP driver sends the
// requests, diag judges them.
package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
)

// exitUnavailable is the harness's exit status when its loop variant cannot
// be set up or g4f.api cannot be imported.
const exitUnavailable = 3

// Server is one running API server.
type Server struct {
	Loop repro.Loop
	URL  string // base URL, e.g. http://127.0.0.1:41234
	cmd  *exec.Cmd
	log  *Log
	dump string // faulthandler's file: SIGUSR1 writes every thread's stack there

	exited  chan struct{}
	exitErr error
}

// UnavailableError says a loop variant's server could not start because the
// variant cannot be set up there (its package is missing) or g4f has no API
// module: the report shows the loop unavailable, the scan goes on.
type UnavailableError struct {
	Loop   repro.Loop
	Reason string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("the %s API server cannot start: %s", e.Loop, e.Reason)
}

// Start starts the API server of one loop variant with the harness at
// harness and waits until it answers HTTP, at most startTimeout. The server's
// stack dumps go to dump.
func Start(ctx context.Context, t repro.Target, harness, dump string, loop repro.Loop, startTimeout time.Duration) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(t.Python, "-u", harness, "--loop", string(loop), "--serve-api",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--dump", dump)
	cmd.Env = t.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream, in order
	if err := cmd.Start(); err != nil {
		return nil, &repro.EnvError{What: fmt.Sprintf("cannot start Python %q: %v", t.Python, err),
			Fix: "pass --python with the path of a Python 3 interpreter"}
	}
	s := &Server{Loop: loop, URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd,
		log: NewLog(4 << 20), dump: dump, exited: make(chan struct{})}
	go s.read(out)

	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			reason := lastLine(s.log.Tail(5))
			if s.exitCode() == exitUnavailable && strings.Contains(reason, "fatal: loop variant") {
				return nil, &UnavailableError{Loop: loop, Reason: strings.TrimPrefix(reason, "g4fdiag-serve fatal: ")}
			}
			return nil, &repro.EnvError{
				What: fmt.Sprintf("the %s API server exited at start (%v): %s", loop, s.exitErr, reason),
				Fix:  "check that `import g4f.api` and uvicorn work with " + t.Python}
		case <-ctx.Done():
			s.Stop(0)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if answers(ctx, client, s.URL) {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop(0)
			return nil, &repro.EnvError{
				What: fmt.Sprintf("the %s API server did not answer within %s", loop, startTimeout),
				Fix:  "check its log with g4fdiag repro, or raise the start timeout"}
		}
	}
}

// answers reports whether the server answers GET /v1/models at all.
func answers(ctx context.Context, c *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return true
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		s.log.Add(sc.Text(), time.Now())
	}
	io.Copy(io.Discard, r) // a line over the limit: drain so the server never blocks
	s.exitErr = s.cmd.Wait()
	close(s.exited)
}

func (s *Server) exitCode() int {
	var ee *exec.ExitError
	if errors.As(s.exitErr, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Log is the server's log.
func (s *Server) Log() *Log { return s.log }

// Stop ends the server: SIGTERM to its process group, then SIGKILL after
// grace if it is still there. It returns once the process has exited.
func (s *Server) Stop(grace time.Duration) {
	pgid := -s.cmd.Process.Pid
	if grace > 0 {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
			_ = syscall.Kill(pgid, syscall.SIGKILL) // children it left behind
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-s.exited
}

// Stacks returns every thread's stack of the server, from faulthandler.
func (s *Server) Stacks() string { return repro.DumpStacks(s.cmd.Process.Pid, s.dump) }

// Set is the servers of one scan, one per loop variant. A server serves one
// cell at a time, so a cell that leaves it hung — a deadlocked loop thread
// stops the whole server — can have it restarted before the next cell
// without cutting another cell's requests.
type Set struct {
	t       repro.Target
	harness string
	dir     string
	timeout time.Duration

	mu      sync.Mutex
	loops   map[repro.Loop]*loopServer
	stopped bool
	seq     int
}

// loopServer is the server of one loop and its turn-taking.
type loopServer struct {
	turn    chan struct{} // holds a token while a cell uses the server
	current *Server
	restart bool      // the last cell left requests hanging on it
	used    bool      // a cell has used the current server
	history []*Server // earlier servers of this loop, newest last, for their logs
}

// maxHistory bounds the stopped servers whose logs are kept per loop.
const maxHistory = 4

// StartAll starts one server per loop, in parallel. A loop whose server is
// unavailable is reported in the returned infos, not as an error.
func StartAll(ctx context.Context, t repro.Target, loops []repro.Loop, startTimeout time.Duration) (*Set, []repro.LoopInfo, error) {
	dir, err := os.MkdirTemp("", "g4fdiag-api-")
	if err != nil {
		return nil, nil, err
	}
	harness, err := repro.WriteHarness(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	set := &Set{t: t, harness: harness, dir: dir, timeout: startTimeout, loops: make(map[repro.Loop]*loopServer)}
	infos := make([]repro.LoopInfo, len(loops))
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := set.start(ctx, l)
			var un *UnavailableError
			switch {
			case errors.As(err, &un):
				infos[i] = repro.LoopInfo{Loop: l, Reason: un.Reason}
			case err != nil:
				errs[i] = err
			default:
				infos[i] = repro.LoopInfo{Loop: l, Available: true}
				set.mu.Lock()
				set.loops[l] = &loopServer{turn: make(chan struct{}, 1), current: s}
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

func (s *Set) start(ctx context.Context, l repro.Loop) (*Server, error) {
	s.mu.Lock()
	s.seq++
	dump := filepath.Join(s.dir, fmt.Sprintf("stacks-%s-%d.txt", l, s.seq))
	s.mu.Unlock()
	return Start(ctx, s.t, s.harness, dump, l, s.timeout)
}

// URLs maps each running server's loop to its base URL.
func (s *Set) URLs() map[repro.Loop]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[repro.Loop]string, len(s.loops))
	for l, ls := range s.loops {
		out[l] = ls.current.URL
	}
	return out
}

// Server returns the current server of one loop, if it runs.
func (s *Set) Server(l repro.Loop) (*Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.loops[l]
	if !ok {
		return nil, false
	}
	return ls.current, true
}

// Use waits for the loop's server to be free, restarts it when the cell
// before left it hung or fresh asks for a server no request has reached, and
// hands it to one cell: the base URL, and done, to call when the cell ends.
// done(true) — requests were left hanging — returns the server's stacks and
// has it restarted before the next cell.
func (s *Set) Use(ctx context.Context, l repro.Loop, fresh bool) (string, func(hung bool) *repro.Stacks, error) {
	s.mu.Lock()
	ls, ok := s.loops[l]
	s.mu.Unlock()
	if !ok {
		return "", nil, fmt.Errorf("no g4f API server for loop %s", l)
	}
	select {
	case ls.turn <- struct{}{}:
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
	s.mu.Lock()
	restart, old, stopped := ls.restart || (fresh && ls.used), ls.current, s.stopped
	ls.used = true
	s.mu.Unlock()
	if stopped {
		<-ls.turn
		return "", nil, errors.New("the API servers are stopped")
	}
	if restart {
		old.Stop(0)
		srv, err := s.start(ctx, l)
		if err != nil {
			<-ls.turn
			return "", nil, fmt.Errorf("restarting the %s API server after a hang: %w", l, err)
		}
		s.mu.Lock()
		ls.history = append(ls.history, old)
		if len(ls.history) > maxHistory {
			ls.history = ls.history[1:]
		}
		ls.current, ls.restart, ls.used = srv, false, true
		if s.stopped { // Stop ran while this one started
			s.mu.Unlock()
			srv.Stop(0)
			<-ls.turn
			return "", nil, errors.New("the API servers are stopped")
		}
		s.mu.Unlock()
	}
	srv := ls.current
	var once sync.Once
	done := func(hung bool) *repro.Stacks {
		var st *repro.Stacks
		once.Do(func() {
			if hung {
				st = &repro.Stacks{Threads: srv.Stacks()}
				s.mu.Lock()
				ls.restart = true
				s.mu.Unlock()
			}
			<-ls.turn
		})
		return st
	}
	return srv.URL, done, nil
}

// ServerLog is what the loop's server logged for one request: the lines
// tagged with its id, and untagged lines read while it ran. Servers that
// were restarted since are searched too.
func (s *Set) ServerLog(l repro.Loop, requestID string, from, to time.Time) string {
	s.mu.Lock()
	ls, ok := s.loops[l]
	var servers []*Server
	if ok {
		servers = append(append(servers, ls.history...), ls.current)
	}
	s.mu.Unlock()
	var b strings.Builder
	for _, srv := range servers {
		b.WriteString(srv.log.For(requestID, from, to))
	}
	return b.String()
}

// Stop stops every server, in parallel, and removes the temp dir.
func (s *Set) Stop(grace time.Duration) {
	s.mu.Lock()
	s.stopped = true
	var servers []*Server
	for _, ls := range s.loops {
		servers = append(servers, ls.current)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Stop(grace)
		}()
	}
	wg.Wait()
	os.RemoveAll(s.dir)
}

func lastLine(s string) string { return stripPrefix(repro.LastLine(s)) }
