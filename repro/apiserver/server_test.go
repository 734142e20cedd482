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
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
)

func demoTarget(t *testing.T, extraPath ...string) repro.Target {
	return demoTargetB(t, extraPath...)
}

func demoTargetB(t testing.TB, extraPath ...string) repro.Target {
	t.Helper()
	python := os.Getenv("G4FDIAG_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Join(append(extraPath, dir), string(os.PathListSeparator))
	return repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), path), Demo: true}
}

func post(t *testing.T, ctx context.Context, base, id, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
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

// TestUvloopServer starts the demo's API server on uvloop for real: a
// streaming request gets the loop error inside an HTTP 200 stream, and the
// server's log holds the traceback under that request's id.
func TestUvloopServer(t *testing.T) {
	set, infos, err := StartAll(context.Background(), demoTarget(t), []repro.Loop{repro.LoopUvloop}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Stop(time.Second)
	if len(infos) != 1 || !infos[0].Available {
		t.Fatalf("infos = %+v", infos)
	}
	base := set.URLs()[repro.LoopUvloop]
	from := time.Now()
	code, body := post(t, context.Background(), base, "req-1",
		`{"model":"","provider":"StreamAsync","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if code != 200 || !strings.Contains(body, `"RuntimeError: this event loop is already running."`) || !strings.Contains(body, "data: [DONE]") {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	time.Sleep(300 * time.Millisecond)
	log := set.ServerLog(repro.LoopUvloop, "req-1", from, time.Now())
	if !strings.Contains(log, "RuntimeError: this event loop is already running.") || !strings.Contains(log, "run_until_complete") {
		t.Errorf("server log for req-1:\n%s", log)
	}
	if other := set.ServerLog(repro.LoopUvloop, "req-2", from.Add(-time.Hour), from.Add(-time.Minute)); other != "" {
		t.Errorf("log of another request: %q", other)
	}
}

// TestStopKillsServerIgnoringSIGTERM: on the stdlib loop with nest_asyncio,
// a fresh server's first stream hangs and uvicorn then ignores SIGTERM;
// Stop escalates to SIGKILL of the process group.
func TestStopKillsServerIgnoringSIGTERM(t *testing.T) {
	set, _, err := StartAll(context.Background(), demoTarget(t), []repro.Loop{repro.LoopNest}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := set.Server(repro.LoopNest)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code, _ := post(t, ctx, srv.URL, "first",
		`{"model":"","provider":"StreamAsync","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if code != 0 {
		t.Logf("first stream answered HTTP %d (expected a hang)", code)
	}
	start := time.Now()
	set.Stop(500 * time.Millisecond)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stop took %s", took)
	}
	if err := syscall.Kill(srv.PID(), 0); err == nil {
		if state, _ := os.ReadFile("/proc/" + strconv.Itoa(srv.PID()) + "/stat"); !strings.Contains(string(state), ") Z") {
			t.Errorf("server %d still runs after Stop", srv.PID())
		}
	}
	if _, err := os.Stat(filepath.Join(set.dir)); !os.IsNotExist(err) {
		t.Errorf("temp dir left: %v", err)
	}
}

// TestUnavailableServerLoop: with uvloop shadowed, the uvloop server is
// reported unavailable, not an error.
func TestUnavailableServerLoop(t *testing.T) {
	shadow := t.TempDir()
	if err := os.WriteFile(filepath.Join(shadow, "uvloop.py"), []byte("raise ImportError('No module named uvloop (shadowed by the test)')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, infos, err := StartAll(context.Background(), demoTarget(t, shadow), []repro.Loop{repro.LoopUvloop, repro.LoopAsyncio}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Stop(time.Second)
	if infos[0].Available || !strings.Contains(infos[0].Reason, "uvloop") || !infos[1].Available {
		t.Errorf("infos = %+v", infos)
	}
	if _, ok := set.Server(repro.LoopUvloop); ok {
		t.Error("an unavailable loop has a server")
	}
}

// TestStartWithoutG4F is an environment error naming the fix.
func TestStartWithoutG4F(t *testing.T) {
	python := os.Getenv("G4FDIAG_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	target := repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), t.TempDir())}
	_, _, err := StartAll(context.Background(), target, []repro.Loop{repro.LoopAsyncio}, 30*time.Second)
	var env *repro.EnvError
	if err == nil || !errors.As(err, &env) || !strings.Contains(err.Error(), "g4f") {
		t.Fatalf("err = %v", err)
	}
}
