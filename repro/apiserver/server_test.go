package apiserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/httpapi"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

var _ httpapi.Lease = (*Server)(nil)

func demoTarget(t *testing.T, extraPath ...string) repro.Target {
	return demoTargetB(t, extraPath...)
}

func demoTargetB(t testing.TB, extraPath ...string) repro.Target {
	t.Helper()
	python := reprotest.Python(t)
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Join(append(extraPath, dir), string(os.PathListSeparator))
	return repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), path), Demo: true}
}

// noFork is t with the harness told not to fork: a process per server.
func noFork(t repro.Target) repro.Target {
	t.Env = append(append([]string{}, t.Env...), "G4FDIAG_FORK=0")
	return t
}

func startSet(t *testing.T, target repro.Target, loops ...scan.Loop) (*Set, []scan.LoopInfo) {
	t.Helper()
	set, infos, err := StartAll(context.Background(), target, loops, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Stop(time.Second) })
	return set, infos
}

func use(t *testing.T, set *Set, l scan.Loop) *Server {
	t.Helper()
	srv, err := set.Use(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

const streamBody = `{"model":"","provider":"StreamAsync","stream":true,"messages":[{"role":"user","content":"hi"}]}`

func post(t *testing.T, ctx context.Context, base, id, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-G4fdiag-Request", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// groupGone reports whether no process of group pgid is left, zombies included
// (a zombie still counts until its parent reaps it).
func groupGone(pgid int) bool {
	return !reprotest.Exists(-pgid)
}

// groupEnded reports whether no process of group pgid runs: zombies count
// as ended.
func groupEnded(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return false
		}
	}
	return true
}

// processGone reports whether pid has ended and been reaped.
func processGone(pid int) bool {
	return !reprotest.Exists(pid)
}

// The ready line gives the port; anything else, or a broken one, does not.
func TestReadyLine(t *testing.T) {
	for line, want := range map[string]int{
		"g4fdiag-serve ready port=41234 loop=nest pid=7":                  41234,
		"g4fdiag-serve ready port=41234":                                  41234,
		"g4fdiag-serve ready port=":                                       0,
		"g4fdiag-serve ready port=x loop=nest":                            0,
		"g4fdiag-serve ready port=-1":                                     0,
		"g4fdiag-log t=1.000 req=- root INFO: g4fdiag-serve ready port=1": 0,
	} {
		s := newServer(scan.LoopNest, "", true)
		s.line(line)
		got := 0
		select {
		case got = <-s.ready:
		default:
		}
		if got != want {
			t.Errorf("%q: port %d, want %d", line, got, want)
		}
	}
}

// TestUvloopServer starts a demo API server on uvloop for real: a streaming
// request gets the loop error inside an HTTP 200 stream, and the server's
// log holds the traceback under that request's id, complete once the
// server is returned.
func TestUvloopServer(t *testing.T) {
	set, infos := startSet(t, demoTarget(t), scan.LoopUvloop)
	if len(infos) != 1 || !infos[0].Available || infos[0].Isolation != repro.IsolationFork {
		t.Fatalf("infos = %+v", infos)
	}
	srv := use(t, set, scan.LoopUvloop)
	if !srv.Forked || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("server forked %v at %q", srv.Forked, srv.URL)
	}
	from := time.Now()
	code, body := post(t, context.Background(), srv.URL, "req-1", streamBody)
	if code != 200 || !strings.Contains(body, `"RuntimeError: this event loop is already running."`) || !strings.Contains(body, "data: [DONE]") {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	if st := srv.Return(false); st != nil {
		t.Errorf("stacks of a server that did not hang: %+v", st)
	}
	log := srv.RequestLog("req-1", from, time.Now())
	if !strings.Contains(log, "RuntimeError: this event loop is already running.") || !strings.Contains(log, "run_until_complete") {
		t.Errorf("server log for req-1:\n%s", log)
	}
	if other := srv.RequestLog("req-2", from.Add(-time.Hour), from.Add(-time.Minute)); other != "" {
		t.Errorf("log of another request: %q", other)
	}
	if !groupGone(srv.PID()) || set.Live() != 0 {
		t.Errorf("server %d still there after Return (%d live)", srv.PID(), set.Live())
	}
}

// TestHungServerIsKilled: on the stdlib loop with nest_asyncio, a fresh
// server's first streams hang in nest_asyncio's task switch, and uvicorn
// would ignore SIGTERM. Returning it as hung gives its stacks and kills its
// whole process group.
func TestHungServerIsKilled(t *testing.T) {
	set, _ := startSet(t, demoTarget(t), scan.LoopNest)
	srv := use(t, set, scan.LoopNest)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, ctx, srv.URL, "hang-"+strconv.Itoa(i), streamBody)
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	waitFor(t, "the task-switch error in the server log", func() bool {
		return strings.Contains(srv.Log().Tail(200), "Cannot enter into task")
	})
	st := srv.Return(true)
	if st == nil || !strings.Contains(st.Threads, "most recent call first") || !strings.Contains(st.Threads, "uvicorn") {
		t.Errorf("stacks of the hung server: %+v", st)
	}
	if !groupGone(srv.PID()) {
		t.Errorf("process group %d of the hung server is still there", srv.PID())
	}
	if log := srv.RequestLog("hang-0", time.Time{}, time.Time{}) + srv.RequestLog("hang-1", time.Time{}, time.Time{}); !strings.Contains(log, "RuntimeError: Cannot enter into task") {
		t.Errorf("the hung requests' log:\n%s", log)
	}
}

// waitFor polls cond until it holds; what it waits for is certain to
// happen, the bound only keeps a broken build from hanging the tests.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %s", what)
		}
	}
}

// TestTwoCellsNeverShareAServer: two cells of one loop at once get two
// servers, processes of their own with logs of their own; returning one
// leaves the other serving.
func TestTwoCellsNeverShareAServer(t *testing.T) {
	set, _ := startSet(t, demoTarget(t), scan.LoopAsyncio)
	a, b := use(t, set, scan.LoopAsyncio), use(t, set, scan.LoopAsyncio)
	if a.PID() == b.PID() || a.URL == b.URL {
		t.Fatalf("two cells share a server: %d %s, %d %s", a.PID(), a.URL, b.PID(), b.URL)
	}
	const echo = `{"model":"","provider":"EchoSync","stream":false,"messages":[{"role":"user","content":"hi"}]}`
	id := func(s *Server) string { return "on-" + strconv.Itoa(s.PID()) }
	for _, s := range []*Server{a, b} {
		if code, body := post(t, context.Background(), s.URL, id(s), echo); code != 200 {
			t.Errorf("HTTP %d: %s", code, body)
		}
	}
	a.Return(false)
	if code, body := post(t, context.Background(), b.URL, "again", echo); code != 200 {
		t.Errorf("after the other server stopped: HTTP %d: %s", code, body)
	}
	b.Return(false)
	var all time.Time
	for _, pair := range [][2]*Server{{a, b}, {b, a}} {
		s, other := pair[0], pair[1]
		if got := s.RequestLog(id(s), all, all); !strings.Contains(got, "POST /v1/chat/completions") {
			t.Errorf("server %d has no log of its own request: %q", s.PID(), got)
		}
		if got := s.RequestLog(id(other), all, all); got != "" {
			t.Errorf("server %d logged the other server's request: %q", s.PID(), got)
		}
	}
	if !groupGone(a.PID()) || !groupGone(b.PID()) {
		t.Error("a returned server is still there")
	}
}

// TestStopEndsEverything: Stop kills the servers still lent out and the
// fork servers; no process of theirs is left, nor the temp dir.
func TestStopEndsEverything(t *testing.T) {
	set, _, err := StartAll(context.Background(), demoTarget(t), []scan.Loop{scan.LoopNest, scan.LoopUvloop}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, fs := range set.loops {
		pids = append(pids, fs.proc.pid)
	}
	nest, uv := use(t, set, scan.LoopNest), use(t, set, scan.LoopUvloop)
	pids = append(pids, nest.PID(), uv.PID())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { // a stream left hanging on the nest server
		defer close(done)
		post(t, ctx, nest.URL, "left", streamBody)
	}()
	waitFor(t, "the hung stream", func() bool { return strings.Contains(nest.Log().Tail(200), "Cannot enter into task") })
	set.Stop(500 * time.Millisecond)
	for _, pid := range pids {
		if !processGone(pid) || !groupGone(pid) {
			t.Errorf("process %d (or its group) outlived Stop", pid)
		}
	}
	if _, err := os.Stat(set.dir); !os.IsNotExist(err) {
		t.Errorf("temp dir left: %v", err)
	}
	if _, err := set.Use(context.Background(), scan.LoopNest); !errors.Is(err, errStopped) {
		t.Errorf("Use after Stop: %v", err)
	}
	cancel()
	<-done
}

// TestServerDiesWithItsForkServer: a fork server that is killed takes its
// children with it (PR_SET_PDEATHSIG); the Set then says so instead of
// forking.
func TestServerDiesWithItsForkServer(t *testing.T) {
	set, _ := startSet(t, demoTarget(t), scan.LoopAsyncio)
	srv := use(t, set, scan.LoopAsyncio)
	fs := set.loops[scan.LoopAsyncio]
	if err := reprotest.Kill(fs.proc.pid); err != nil {
		t.Fatal(err)
	}
	<-srv.proc.gone
	// Its zombie may stay: the test binary is a subreaper (repro's
	// contain.go) and the orphan is its child, not init's.
	waitFor(t, "the end of the orphaned server", func() bool { return groupEnded(srv.PID()) })
	if _, err := set.Use(context.Background(), scan.LoopAsyncio); err == nil || !strings.Contains(err.Error(), "fork server") {
		t.Errorf("Use with the fork server dead: %v", err)
	}
}

// TestCannotForkFallsBack: where the harness must not fork — told so, or
// with a thread alive after the imports — each server is a process of its
// own, and the loop's isolation says why.
func TestCannotForkFallsBack(t *testing.T) {
	threads := t.TempDir()
	if err := os.WriteFile(filepath.Join(threads, "sitecustomize.py"), []byte(
		"import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True, name='poller').start()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		target repro.Target
		why    string
	}{
		{"told", noFork(demoTarget(t)), "G4FDIAG_FORK=0 in the environment"},
		{"threads", demoTarget(t, threads), "started threads (poller)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, infos := startSet(t, tc.target, scan.LoopUvloop)
			if len(infos) != 1 || !infos[0].Available ||
				!strings.HasPrefix(infos[0].Isolation, repro.IsolationProcess+" (cannot fork: ") || !strings.Contains(infos[0].Isolation, tc.why) {
				t.Fatalf("infos = %+v, want a process per cell because %q", infos, tc.why)
			}
			srv := use(t, set, scan.LoopUvloop)
			if srv.Forked {
				t.Error("a server forked where the harness must not fork")
			}
			code, body := post(t, context.Background(), srv.URL, "req", streamBody)
			if code != 200 || !strings.Contains(body, "this event loop is already running") {
				t.Errorf("HTTP %d: %s", code, body)
			}
			srv.Return(false)
			if !groupGone(srv.PID()) {
				t.Errorf("server %d still there after Return", srv.PID())
			}
		})
	}
}

// TestUnavailableServerLoop: with uvloop shadowed, the uvloop server is
// reported unavailable, not an error.
func TestUnavailableServerLoop(t *testing.T) {
	shadow := t.TempDir()
	if err := os.WriteFile(filepath.Join(shadow, "uvloop.py"), []byte("raise ImportError('No module named uvloop (shadowed by the test)')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, infos := startSet(t, demoTarget(t, shadow), scan.LoopUvloop, scan.LoopAsyncio)
	if infos[0].Available || !strings.Contains(infos[0].Reason, "uvloop") || !infos[1].Available {
		t.Errorf("infos = %+v", infos)
	}
	if _, err := set.Use(context.Background(), scan.LoopUvloop); err == nil {
		t.Error("an unavailable loop lends a server")
	}
}

// TestStartWithoutG4F is an environment error naming the fix.
func TestStartWithoutG4F(t *testing.T) {
	python := reprotest.Python(t)
	target := repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), t.TempDir())}
	_, _, err := StartAll(context.Background(), target, []scan.Loop{scan.LoopAsyncio}, 30*time.Second)
	var env *repro.EnvError
	if err == nil || !errors.As(err, &env) || !strings.Contains(err.Error(), "g4f") {
		t.Fatalf("err = %v", err)
	}
}
