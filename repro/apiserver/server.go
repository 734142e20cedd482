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
// harness and waits until it answers HTTP, at most startTimeout.
func Start(ctx context.Context, t repro.Target, harness string, loop repro.Loop, startTimeout time.Duration) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(t.Python, "-u", harness, "--loop", string(loop), "--serve-api",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port))
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
		log: NewLog(4 << 20), exited: make(chan struct{})}
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

// Set is the servers of one scan, one per loop variant.
type Set struct {
	mu      sync.Mutex
	servers map[repro.Loop]*Server
	dir     string
}

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
	set := &Set{servers: make(map[repro.Loop]*Server), dir: dir}
	infos := make([]repro.LoopInfo, len(loops))
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Start(ctx, t, harness, l, startTimeout)
			var un *UnavailableError
			switch {
			case errors.As(err, &un):
				infos[i] = repro.LoopInfo{Loop: l, Reason: un.Reason}
			case err != nil:
				errs[i] = err
			default:
				infos[i] = repro.LoopInfo{Loop: l, Available: true}
				set.mu.Lock()
				set.servers[l] = s
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

// URLs maps each running server's loop to its base URL.
func (s *Set) URLs() map[repro.Loop]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[repro.Loop]string, len(s.servers))
	for l, srv := range s.servers {
		out[l] = srv.URL
	}
	return out
}

// Server returns the server of one loop, if it runs.
func (s *Set) Server(l repro.Loop) (*Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.servers[l]
	return srv, ok
}

// ServerLog is what the loop's server logged for one request: the lines
// tagged with its id, and untagged lines read while it ran.
func (s *Set) ServerLog(l repro.Loop, requestID string, from, to time.Time) string {
	srv, ok := s.Server(l)
	if !ok {
		return ""
	}
	return srv.log.For(requestID, from, to)
}

// Stop stops every server, in parallel, and removes the temp dir.
func (s *Set) Stop(grace time.Duration) {
	s.mu.Lock()
	servers := make([]*Server, 0, len(s.servers))
	for _, srv := range s.servers {
		servers = append(servers, srv)
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

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no output"
	}
	return stripPrefix(s)
}
