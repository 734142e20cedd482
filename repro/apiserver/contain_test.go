//go:build linux

package apiserver

import (
	"bytes"
	"context"
	"fmt"
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

// escapeeTarget is the miniature g4f with the providers of
// repro/testdata/escapee.py, which leave a process in a session of its own
// with the returned mark in its argv (as repro's own containment test).
func escapeeTarget(t *testing.T) (repro.Target, string) {
	t.Helper()
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "testdata", "escapee.py"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "g4f", "Provider")
	if err := os.WriteFile(filepath.Join(pkg, "Escapee.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	init, err := os.OpenFile(filepath.Join(pkg, "__init__.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = init.WriteString("\nfrom .Escapee import Escapee, EscapeeHang\n" +
		"__providers__ += [Escapee, EscapeeHang]\n" +
		"for _cls in (Escapee, EscapeeHang):\n" +
		"    __map__[_cls.__name__] = _cls\n" +
		"    ProviderUtils.convert[_cls.__name__] = _cls\n")
	init.Close()
	if err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("g4fdiag-escapee-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { // what a failed test left must not stay for 300 s
		for _, pid := range escapees(mark) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	tgt := demoTarget(t)
	tgt.Env = append(repro.WithPythonPath(os.Environ(), dir), "ESCAPEE_MARK="+mark)
	return tgt, mark
}

// escapees lists the running processes with mark in their argv.
func escapees(mark string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		argv, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(argv, []byte(mark)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitEscapees waits (generously) until a process with mark runs, or until
// none does, and fails the test if that never happens.
func waitEscapees(t *testing.T, mark string, running bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if (len(escapees(mark)) > 0) == running {
			return
		}
	}
	if running {
		t.Fatal("the provider left no process: the test cannot see containment")
	}
	t.Errorf("processes a provider started outlived its API server: %v", escapees(mark))
}

// TestNothingOutlivesTheServer: what a provider started in a session of its
// own (setsid, a double fork) ends with the API server that ran it, whether
// the call answered or hung until the server was killed, with a server
// forked per cell and with a process per server.
func TestNothingOutlivesTheServer(t *testing.T) {
	for _, fork := range []bool{true, false} {
		for _, provider := range []string{"Escapee", "EscapeeHang"} {
			name := map[bool]string{true: "fork", false: "process per server"}[fork] + "/" + provider
			t.Run(name, func(t *testing.T) {
				tgt, mark := escapeeTarget(t)
				if !fork {
					tgt = noFork(tgt)
				}
				set, _ := startSet(t, tgt, repro.LoopAsyncio)
				srv := use(t, set, repro.LoopAsyncio)
				body := `{"model":"","provider":"` + provider + `","stream":false,"messages":[{"role":"user","content":"hi"}]}`
				hang := provider == "EscapeeHang"
				ctx, cancel := context.WithCancel(context.Background())
				answered := make(chan string, 1)
				go func() {
					code, text := post(t, ctx, srv.URL, "contain-1", body)
					answered <- strconv.Itoa(code) + " " + text
				}()
				if hang {
					waitEscapees(t, mark+"-left", true)
					cancel()
				}
				got := <-answered
				cancel()
				if !hang && (!strings.HasPrefix(got, "200 ") || !strings.Contains(got, "escaped")) {
					t.Fatalf("answer = %q, want 200 and the provider's answer", got)
				}
				srv.Return(hang)
				waitEscapees(t, mark, false)
				set.Stop(time.Second)
				waitEscapees(t, mark, false)
			})
		}
	}
}

// TestNothingOutlivesAKilledForkServer: an API fork server killed (SIGKILL)
// while a server it forked hangs in a provider leaves nothing once the set
// is stopped: what the dead server and fork server had adopted comes to
// g4fdiag.
func TestNothingOutlivesAKilledForkServer(t *testing.T) {
	tgt, mark := escapeeTarget(t)
	set, _ := startSet(t, tgt, repro.LoopAsyncio)
	srv := use(t, set, repro.LoopAsyncio)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go post(t, ctx, srv.URL, "contain-1", `{"model":"","provider":"EscapeeHang","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
	waitEscapees(t, mark+"-left", true)
	set.mu.Lock()
	pid := set.loops[repro.LoopAsyncio].proc.pid
	set.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cancel()
	set.Stop(time.Second)
	waitEscapees(t, mark, false)
}
