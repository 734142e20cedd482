//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

// The signal matrix runs the real binary on the demo miniature and ends
// each run four ways — SIGINT, SIGTERM, SIGHUP, and a stdout closed before
// the report — during a scan, an --api-spawn scan, repro --emit-script's
// run of its script, --verify-fixes' remedy cells, and merge. Each case
// checks the exit code, that every -o file holds the cells that finished,
// and that no process (found by a marker in its environment) nor temp dir
// (TMPDIR is the case's own) is left.

// matrixRun is one run of the binary under a signal or a closed stdout.
type matrixRun struct {
	dir     string // the case's directory: -o files go here
	tmp     string // TMPDIR of the run: must be empty after it
	marker  string // in every process's environment started by the run
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	code    int
	took    time.Duration // from the signal to the exit
	atSig   int           // observations in the jsonl output when the signal went
	elapsed time.Duration // the whole run
}

// matrixCommand is a command of the matrix: its arguments (OUT stands for
// the case's directory), and when it is ready for the signal.
type matrixCommand struct {
	name string
	args func(python, out string) []string
	// ready reports that the run is where the signal should land.
	ready func(r *matrixRun) bool
	// wantOutputs are the -o files the run must leave, by format.
	wantOutputs []string
	// interruptedNote is a line stderr must hold after a signal, if any.
	interruptedNote string
}

var matrixTimes = struct {
	sync.Mutex
	lines []string
}{}

func recordTime(format string, args ...any) {
	matrixTimes.Lock()
	matrixTimes.lines = append(matrixTimes.lines, fmt.Sprintf(format, args...))
	matrixTimes.Unlock()
}

func TestSignalMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary some twenty times")
	}
	python := testPython(t)
	bin := buildBinary(t)
	shards := writeShards(t, bin, python)
	if other := os.Getenv("G4FDIAG_MATRIX_BINARY"); other != "" {
		bin = other // another build under the same matrix (an older one, to compare)
	}

	commands := []matrixCommand{
		{
			name: "check",
			args: func(python, out string) []string {
				return []string{"check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync,StallStream",
					"--modes", "sync,async-stream", "--loops", "asyncio", "--timeout", "30s", "--jobs", "2",
					"-o", "json=" + out + "/r.json", "-o", "junit=" + out + "/r.xml", "-o", "jsonl=" + out + "/r.jsonl"}
			},
			ready:       observationsAtLeast(3),
			wantOutputs: []string{"json", "junit", "jsonl"},
		},
		{
			name: "check-api-spawn",
			args: func(python, out string) []string {
				return []string{"check", "--demo", "--api-spawn", "--python", python, "--provider", "EchoSync,StallStream",
					"--modes", "api-json,api-sse", "--loops", "nest", "--timeout", "30s", "--stall-timeout", "30s",
					"--jobs", "2", "-o", "json=" + out + "/r.json", "-o", "junit=" + out + "/r.xml", "-o", "jsonl=" + out + "/r.jsonl"}
			},
			ready:       observationsAtLeast(2),
			wantOutputs: []string{"json", "junit", "jsonl"},
		},
		{
			name: "repro-emit-script",
			args: func(python, out string) []string {
				return []string{"repro", "--demo", "--python", python, "--provider", "StallStream", "--modes", "sync",
					"--loops", "asyncio", "--timeout", "20s", "--emit-script", out + "/repro.py",
					"-o", "json=" + out + "/r.json", "-o", "junit=" + out + "/r.xml", "-o", "jsonl=" + out + "/r.jsonl"}
			},
			// The script's remedies hang until --timeout: signal during one.
			ready: func(r *matrixRun) bool {
				return r.countObservations() >= 1 && processWith(r.marker, "--remedy")
			},
			wantOutputs:     []string{"json", "junit", "jsonl"},
			interruptedNote: "interrupted while running the script",
		},
		{
			name: "repro-verify-fixes",
			args: func(python, out string) []string {
				return []string{"repro", "--demo", "--python", python, "--provider", "StallStream", "--modes", "sync",
					"--loops", "asyncio", "--timeout", "20s", "--verify-fixes",
					"-o", "json=" + out + "/r.json", "-o", "junit=" + out + "/r.xml", "-o", "jsonl=" + out + "/r.jsonl"}
			},
			// The remedy cells of StallStream hang: signal once they run.
			ready: func(r *matrixRun) bool {
				return r.countObservations() >= 1 && r.sinceStart() > 1500*time.Millisecond
			},
			wantOutputs: []string{"json", "junit", "jsonl"},
		},
		{
			name: "merge",
			// merge reads a FIFO the test keeps open: the signal lands while
			// it waits for the rest of a shard.
			args: func(_, out string) []string {
				return []string{"merge", out + "/slow.jsonl", "-o", "json=" + out + "/r.json"}
			},
			ready: func(r *matrixRun) bool { return r.sinceStart() > 500*time.Millisecond },
		},
	}
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
	for _, mc := range commands {
		for _, sig := range signals {
			t.Run(mc.name+"/"+sig.String(), func(t *testing.T) {
				r := startMatrixRun(t, bin, python, mc, shards, func(r *matrixRun, cmd *exec.Cmd) {
					deadline := time.Now().Add(60 * time.Second)
					for !mc.ready(r) {
						if time.Now().After(deadline) {
							t.Fatalf("never ready for the signal; stderr:\n%s", r.stderr.String())
						}
						time.Sleep(50 * time.Millisecond)
					}
					r.atSig = r.countObservations()
					_ = cmd.Process.Signal(sig)
				})
				recordTime("%-20s %-10s exit %3d after %s", mc.name, sig, r.code, r.took.Round(time.Millisecond))
				if r.code != exitInterrupted {
					t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitInterrupted, r.stderr.String())
				}
				if r.took > 5*time.Second {
					t.Errorf("took %s to exit after %s", r.took, sig)
				}
				r.checkOutputs(t, mc.wantOutputs, true)
				if mc.interruptedNote != "" && !strings.Contains(r.stderr.String(), mc.interruptedNote) {
					t.Errorf("stderr does not say %q:\n%s", mc.interruptedNote, r.stderr.String())
				}
				if mc.name == "merge" {
					if _, err := os.Stat(filepath.Join(r.dir, "r.json")); err == nil {
						t.Error("an interrupted merge left an -o file behind")
					}
				}
				r.checkNothingLeft(t)
			})
		}
		t.Run(mc.name+"/closed-stdout", func(t *testing.T) {
			finished := mc
			finished.args = func(python, out string) []string {
				return closedStdoutArgs(mc.name, python, out, shards)
			}
			r := startMatrixRun(t, bin, python, finished, shards, nil)
			recordTime("%-20s %-10s exit %3d after %s (whole run)", mc.name, "stdout", r.code, r.elapsed.Round(time.Millisecond))
			if r.code != exitEnv {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitEnv, r.stderr.String())
			}
			if !strings.Contains(r.stderr.String(), "to stdout: broken pipe") {
				t.Errorf("stderr does not name stdout:\n%s", r.stderr.String())
			}
			outs := mc.wantOutputs
			if mc.name == "merge" {
				outs = []string{"json"}
			}
			r.checkOutputs(t, outs, false)
			r.checkNothingLeft(t)
		})
	}

	t.Run("second-ctrl-c", func(t *testing.T) {
		r := startMatrixRun(t, bin, python, commands[1], shards, func(r *matrixRun, cmd *exec.Cmd) {
			for deadline := time.Now().Add(60 * time.Second); r.countObservations() < 2; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("never ready; stderr:\n%s", r.stderr.String())
				}
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
			time.Sleep(20 * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGINT)
		})
		recordTime("%-20s %-10s exit %3d after %s (from the second)", "check-api-spawn", "2×SIGINT", r.code, r.took.Round(time.Millisecond))
		if r.code != exitInterrupted {
			t.Errorf("exit %d, want %d; stderr:\n%s", r.code, exitInterrupted, r.stderr.String())
		}
		if r.took > 3*time.Second {
			t.Errorf("took %s to exit after a second Ctrl-C, want at most 3s", r.took)
		}
		r.checkNothingLeft(t)
	})

	matrixTimes.Lock()
	sort.Strings(matrixTimes.lines)
	t.Logf("time to exit:\n%s", strings.Join(matrixTimes.lines, "\n"))
	matrixTimes.Unlock()
}

// closedStdoutArgs are the matrix commands made to finish quickly: with a
// closed stdout they run to the end, and the report to stdout fails.
func closedStdoutArgs(name, python, out string, shards []string) []string {
	outs := []string{"-o", "json=" + out + "/r.json", "-o", "junit=" + out + "/r.xml", "-o", "jsonl=" + out + "/r.jsonl"}
	switch name {
	case "check":
		return append([]string{"check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync",
			"--modes", "sync,async", "--loops", "asyncio"}, outs...)
	case "check-api-spawn":
		return append([]string{"check", "--demo", "--api-spawn", "--python", python, "--provider", "EchoSync",
			"--modes", "api-json", "--loops", "asyncio"}, outs...)
	case "repro-emit-script":
		return append([]string{"repro", "--demo", "--python", python, "--provider", "StreamAsync", "--modes", "sync",
			"--loops", "asyncio", "--emit-script", out + "/repro.py"}, outs...)
	case "repro-verify-fixes":
		return append([]string{"repro", "--demo", "--python", python, "--provider", "StreamAsync", "--modes", "sync",
			"--loops", "asyncio", "--verify-fixes"}, outs...)
	}
	return append([]string{"merge"}, append(shards, "-o", "json="+out+"/r.json")...)
}

// startMatrixRun runs the binary for mc in a fresh directory and TMPDIR
// with a marker in its environment. With signal nil the run's stdout is a
// pipe closed before it starts; else signal is called while it runs.
func startMatrixRun(t *testing.T, bin, python string, mc matrixCommand, shards []string, signal func(*matrixRun, *exec.Cmd)) *matrixRun {
	t.Helper()
	r := &matrixRun{dir: t.TempDir(), tmp: t.TempDir(), marker: fmt.Sprintf("G4FDIAG_MATRIX_MARKER=%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))}
	cmd := exec.Command(bin, mc.args(python, r.dir)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp, r.marker)
	cmd.Stderr = &r.stderr
	if mc.name == "merge" && signal != nil {
		fifo := filepath.Join(r.dir, "slow.jsonl")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		writer := make(chan *os.File, 1)
		defer func() {
			select {
			case f := <-writer:
				f.Close()
			case <-time.After(time.Second):
			}
		}()
		go func() {
			// Half a shard, then nothing: the writer stays open.
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			data, _ := os.ReadFile(shards[0])
			_, _ = f.Write(data[:len(data)/2])
			writer <- f
		}()
	}
	if signal == nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pr.Close() // nobody reads: the first write to stdout fails
		cmd.Stdout = pw
		defer pw.Close()
	} else {
		cmd.Stdout = &r.stdout
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.started(start)
	var sent time.Time
	if signal != nil {
		signal(r, cmd)
		sent = time.Now()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("did not exit; stderr:\n%s", r.stderr.String())
	}
	if !sent.IsZero() {
		r.took = time.Since(sent)
	}
	r.elapsed = time.Since(start)
	r.code = cmd.ProcessState.ExitCode()
	return r
}

var matrixStarts sync.Map // *matrixRun → time.Time

func (r *matrixRun) started(at time.Time) { matrixStarts.Store(r, at) }
func (r *matrixRun) sinceStart() time.Duration {
	at, _ := matrixStarts.Load(r)
	return time.Since(at.(time.Time))
}

// countObservations counts the cells in the run's jsonl output: its
// observation lines, but a remedy's.
func (r *matrixRun) countObservations() int {
	f, err := os.Open(filepath.Join(r.dir, "r.jsonl"))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var o struct {
			Record string `json:"record"`
			Remedy string `json:"remedy_tried"`
		}
		// A remedy's observation joins its cell in the report: count cells.
		if json.Unmarshal(sc.Bytes(), &o) == nil && (o.Record == "" || o.Record == "observation") && o.Remedy == "" {
			n++
		}
	}
	return n
}

func observationsAtLeast(n int) func(*matrixRun) bool {
	return func(r *matrixRun) bool { return r.countObservations() >= n }
}

// checkOutputs reads every -o file back: each must parse and hold at least
// the cells that had finished when the signal went.
func (r *matrixRun) checkOutputs(t *testing.T, formats []string, interrupted bool) {
	t.Helper()
	for _, format := range formats {
		switch format {
		case "json":
			data, err := os.ReadFile(filepath.Join(r.dir, "r.json"))
			if err != nil {
				t.Errorf("no json output: %v", err)
				continue
			}
			var rep reportJSON
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Errorf("json output does not parse: %v", err)
				continue
			}
			if len(rep.Cells) < max(r.atSig, 1) {
				t.Errorf("json output holds %d cells, %d had finished", len(rep.Cells), r.atSig)
			}
		case "junit":
			data, err := os.ReadFile(filepath.Join(r.dir, "r.xml"))
			if err != nil {
				t.Errorf("no junit output: %v", err)
				continue
			}
			var suites struct {
				Cases []struct {
					Name string `xml:"name,attr"`
				} `xml:"testsuite>testcase"`
			}
			if err := xml.Unmarshal(data, &suites); err != nil {
				t.Errorf("junit output does not parse: %v", err)
				continue
			}
			if len(suites.Cases) < max(r.atSig, 1) {
				t.Errorf("junit output holds %d test cases, %d cells had finished", len(suites.Cases), r.atSig)
			}
		case "jsonl":
			f, err := os.Open(filepath.Join(r.dir, "r.jsonl"))
			if err != nil {
				t.Errorf("no jsonl output: %v", err)
				continue
			}
			rep, info, err := report.ReadReportInfo(f)
			f.Close()
			if err != nil {
				t.Errorf("jsonl output does not read: %v", err)
				continue
			}
			if info.CutShort {
				t.Error("jsonl output has no end record")
			}
			if len(rep.Cells) < max(r.atSig, 1) {
				t.Errorf("jsonl output holds %d cells, %d had finished", len(rep.Cells), r.atSig)
			}
			_ = interrupted
		}
	}
}

// checkNothingLeft fails when a process of the run, or a file in its
// TMPDIR, outlives it.
func (r *matrixRun) checkNothingLeft(t *testing.T) {
	t.Helper()
	list := func() []int { return processesWith(r.marker) }
	if !reprotest.Await(list, false, 3*time.Second) {
		t.Errorf("processes outlived the run:%s", reprotest.Describe(list()))
	}
	reprotest.EmptyDir(t, r.tmp)
}

// processesWith lists the live processes whose environment holds marker.
func processesWith(marker string) []int {
	var pids []int
	for _, pid := range reprotest.EnvMarked(marker) {
		if alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processWith reports whether a process of the run has arg on its command
// line.
func processWith(marker, arg string) bool {
	for _, pid := range processesWith(marker) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(arg)) {
			return true
		}
	}
	return false
}

// writeShards scans the demo in two shards for merge to read.
func writeShards(t *testing.T, bin, python string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := 1; i <= 2; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		cmd := exec.Command(bin, "check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync",
			"--modes", "sync,async", "--loops", "asyncio,uvloop", "--shard", fmt.Sprintf("%d/2", i), "-q", "-o", "jsonl="+p)
		if out, err := cmd.CombinedOutput(); err != nil && cmd.ProcessState.ExitCode() > 1 {
			t.Fatalf("shard %d: %v\n%s", i, err, out)
		}
		paths = append(paths, p)
	}
	return paths
}

// A second signal runs every cleanup at once and leaves after at most
// secondSignalGrace, even when a cleanup hangs.
func TestSecondSignalLeavesAtOnce(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	stdio := IO{Out: &bytes.Buffer{}, Err: &stderr, Signals: sigs}
	ctx, stop := interruptContext(&stdio)
	defer stop()
	stdio.stop.exit = func(code int) { exited <- code }
	ran := make(chan struct{})
	stdio.stop.onAbort(func() { close(ran) })
	stdio.stop.onAbort(func() { select {} }) // a cleanup that never ends
	unregistered := false
	stdio.stop.onAbort(func() { unregistered = true })()

	sigs <- syscall.SIGINT
	<-ctx.Done()
	select {
	case <-ran:
		t.Fatal("the first signal ran the cleanups: it must stop in order")
	case <-time.After(100 * time.Millisecond):
	}
	sent := time.Now()
	sigs <- syscall.SIGINT
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not exit")
	}
	took := time.Since(sent)
	t.Logf("second signal: exit after %s", took)
	if took > 3*time.Second {
		t.Errorf("exit %s after the second signal", took)
	}
	select {
	case <-ran:
	default:
		t.Error("the cleanups did not run")
	}
	if unregistered {
		t.Error("an unregistered cleanup ran")
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr: %q", stderr.String())
	}
}
