//go:build linux

package apiserver

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// escapeeTarget is the miniature g4f with the providers of
// reprotest.Escapee, which leave a process in a session of its own with the
// returned mark in its argv (as repro's own containment test).
func escapeeTarget(t *testing.T) (repro.Target, string) {
	t.Helper()
	dir, mark := reprotest.Escapee(t)
	tgt := demoTarget(t)
	tgt.Env = append(repro.WithPythonPath(os.Environ(), dir), reprotest.EscapeeVar+"="+mark)
	return tgt, mark
}

// waitEscapees waits (generously) until a process with mark runs, or until
// none does, and fails the test if that never happens.
func waitEscapees(t *testing.T, mark string, running bool) {
	t.Helper()
	reprotest.AwaitEscapees(t, mark, running, "its API server")
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
				set, _ := startSet(t, tgt, scan.LoopAsyncio)
				srv := use(t, set, scan.LoopAsyncio)
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
	set, _ := startSet(t, tgt, scan.LoopAsyncio)
	srv := use(t, set, scan.LoopAsyncio)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go post(t, ctx, srv.URL, "contain-1", `{"model":"","provider":"EscapeeHang","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
	waitEscapees(t, mark+"-left", true)
	set.mu.Lock()
	pid := set.loops[scan.LoopAsyncio].proc.pid
	set.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cancel()
	set.Stop(time.Second)
	waitEscapees(t, mark, false)
}
