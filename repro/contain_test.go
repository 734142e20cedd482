//go:build linux

package repro

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// escapeeTarget is the miniature g4f with the Escapee providers, whose left
// processes carry the returned mark in their argv.
func escapeeTarget(t *testing.T, fork bool) (Target, string) {
	t.Helper()
	dir, mark := reprotest.Escapee(t)
	env := append(WithPythonPath(os.Environ(), dir), reprotest.EscapeeVar+"="+mark)
	if !fork {
		env = append(env, "G4FDIAG_FORK=0")
	}
	return Target{Python: testPython(t), Env: env, Demo: true}, mark
}

// waitEscapees waits (generously) until a process with mark runs, or until
// none does, and fails the test if that never happens.
func waitEscapees(t *testing.T, mark string, running bool) {
	t.Helper()
	reprotest.AwaitEscapees(t, mark, running, "its cell")
}

// TestNothingOutlivesTheCell: a provider that leaves a process in a session
// of its own (setsid and a double fork, as browsers and drivers do) leaves
// nothing once its cell is over: a cell that answers, one killed at its
// deadline, one whose fork server is killed under it, each with a fork per
// cell and with a worker per cell.
func TestNothingOutlivesTheCell(t *testing.T) {
	for _, fork := range []bool{true, false} {
		for _, tc := range []struct {
			name     string
			provider string
			end      scan.End
			kill     bool // kill the worker (the fork server) mid-cell
		}{
			{"answers", "Escapee", scan.EndCompleted, false},
			{"deadline", "EscapeeHang", scan.EndDeadline, false},
			{"worker killed", "EscapeeHang", scan.EndCrashed, true},
		} {
			name := map[bool]string{true: "fork", false: "process per cell"}[fork] + "/" + tc.name
			t.Run(name, func(t *testing.T) {
				tgt, mark := escapeeTarget(t, fork)
				p, err := NewPool(tgt, PoolOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				timeout := 4 * time.Second
				if tc.kill {
					timeout = time.Minute
				}
				cell := scan.Cell{Provider: tc.provider, Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}
				done := make(chan scan.Observation, 1)
				go func() {
					obs, _ := p.RunCell(context.Background(), cell, timeout)
					done <- obs
				}()
				if tc.end != scan.EndCompleted {
					waitEscapees(t, mark+"-left", true)
				}
				if tc.kill {
					p.mu.Lock()
					pid := 0
					for w := range p.live { // a worker per cell is retired: not in p.workers
						pid = w.cmd.Process.Pid
					}
					p.mu.Unlock()
					if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
				obs := <-done
				if obs.End != tc.end {
					t.Fatalf("cell ended %s (%s), want %s", obs.End, firstError(obs), tc.end)
				}
				if tc.end == scan.EndCompleted && (len(obs.Calls) != 1 || obs.Calls[0].Text != "escaped") {
					t.Fatalf("calls = %+v, want one that answers after leaving a process", obs.Calls)
				}
				if !tc.kill { // the cell's own end is enough
					waitEscapees(t, mark, false)
				}
				p.Close()
				waitEscapees(t, mark, false)
			})
		}
	}
}

// BenchmarkReapAdopted is the cost of one sweep with nothing to kill (what a
// worker per cell adds to its cell, and Close to a scan): a walk of /proc.
//
//	go test ./repro -run '^$' -bench ReapAdopted
func BenchmarkReapAdopted(b *testing.B) {
	cmd := exec.Command("sleep", "60") // makes this process a subreaper
	if err := StartContained(cmd); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	for b.Loop() {
		ReapAdopted()
	}
}

// TestNothingOutlivesTheScript: an emitted script run by g4fdiag (repro
// --emit-script, --verify-fixes) whose provider leaves a process in a
// session of its own leaves nothing, whether it answers or hangs to its
// deadline.
func TestNothingOutlivesTheScript(t *testing.T) {
	for _, tc := range []struct {
		provider string
		end      scan.End
	}{{"Escapee", scan.EndCompleted}, {"EscapeeHang", scan.EndDeadline}} {
		t.Run(tc.provider, func(t *testing.T) {
			tgt, mark := escapeeTarget(t, true)
			src, err := EmitScript(ScriptSpec{Cell: scan.Cell{Provider: tc.provider, Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "repro.py")
			if err := os.WriteFile(path, src, 0o644); err != nil {
				t.Fatal(err)
			}
			obs, err := RunScript(context.Background(), tgt, path, "", 2*time.Second)
			if err != nil || obs.End != tc.end {
				t.Fatalf("RunScript = %s, %v; want %s; log: %s", obs.End, err, tc.end, obs.Log)
			}
			waitEscapees(t, mark, false)
		})
	}
}
