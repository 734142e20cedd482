//go:build unix

package repro_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers/scale"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// BenchmarkScaleMatrix scans the scale fixture (providers/scale: 110
// providers in g4f 0.3.5.8's mix) the way `g4fdiag check --demo-scale
// --include-auth` does: every mode on every loop, --jobs the number of
// CPUs, a 5 s deadline per cell ($G4FDIAG_SCALE_TIMEOUT to change it). Each
// iteration is one whole scan, workers' start and g4f import included.
//
//	G4FDIAG_PYTHON=/usr/bin/python3 go test ./repro -run '^$' -bench ScaleMatrix -benchtime 1x
//
// Metrics, per scan:
//
//	wall-s          wall time of the scan
//	cells           cells in the report; cells-run, the ones that ran (the
//	                rest are decided unrun: not-working providers)
//	cpu-ms/cell     user+system CPU of this process (less the sampler's own
//	                thread) and of every child process, over the cells run;
//	                children count once reaped, so the pool is closed first
//	peak-rss-MB     the largest sum, over 50 ms samples, of the RSS of this
//	                process and of every process descended from it. Forked
//	                cells share their fork server's pages, which RSS counts
//	                in each process: an upper bound on what the scan holds
//	peak-pss-MB     the same sum with PSS, which splits shared pages
//	                between the processes sharing them: closer to the truth
//	start-s         from the pool's start to the catalog: a worker per loop
//	                started and g4f imported
//	floor-s         start-s plus the longest cell: no number of jobs makes
//	                the scan shorter
func BenchmarkScaleMatrix(b *testing.B) {
	python := os.Getenv("G4FDIAG_PYTHON")
	if python == "" {
		b.Skip("set G4FDIAG_PYTHON (scripts/bench.sh uses /usr/bin/python3)")
	}
	if _, err := os.Stat(python); err != nil {
		b.Skipf("G4FDIAG_PYTHON: %v", err)
	}
	timeout := 5 * time.Second
	if v := os.Getenv("G4FDIAG_SCALE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("G4FDIAG_SCALE_TIMEOUT=%q: want a positive duration such as 5s", v)
		}
		timeout = d
	}
	dir, err := scale.Write(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	target := repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), dir), Demo: true}
	plan := scan.Plan{
		Modes: scan.AllModes, Loops: scan.AllLoops, Concurrency: 1, Repeat: 1,
		Jobs: runtime.NumCPU(), Timeout: timeout, BlockThreshold: 2 * time.Second,
		IncludeAuth: true,
	}

	var total scanFigures
	b.ResetTimer()
	for range b.N {
		f := scanOnce(b, target, plan)
		total.add(f)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(total.wall.Seconds()/n, "wall-s")
	b.ReportMetric(float64(total.cells)/n, "cells")
	b.ReportMetric(float64(total.cellsRun)/n, "cells-run")
	if total.cellsRun > 0 {
		b.ReportMetric(float64(total.cpu.Microseconds())/1000/float64(total.cellsRun), "cpu-ms/cell")
	}
	b.ReportMetric(float64(total.peakRSS)/(1<<20), "peak-rss-MB")
	b.ReportMetric(float64(total.peakPSS)/(1<<20), "peak-pss-MB")
	b.ReportMetric(total.start.Seconds()/n, "start-s")
	b.ReportMetric((total.start+total.longest).Seconds()/n, "floor-s")
}

// scanFigures are what one scan cost; add sums times and keeps peaks.
type scanFigures struct {
	wall, cpu, start, longest time.Duration
	cells, cellsRun           int
	peakRSS, peakPSS          int64
}

func (s *scanFigures) add(f scanFigures) {
	s.wall += f.wall
	s.cpu += f.cpu
	s.start += f.start
	s.longest += f.longest
	s.cells += f.cells
	s.cellsRun += f.cellsRun
	s.peakRSS = max(s.peakRSS, f.peakRSS)
	s.peakPSS = max(s.peakPSS, f.peakPSS)
}

// scanOnce runs one whole scan: start the pool, list the catalog, run every
// cell, close the pool.
func scanOnce(b *testing.B, target repro.Target, plan scan.Plan) scanFigures {
	b.Helper()
	var f scanFigures
	self0, children0 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
	sampler := startSampler(50 * time.Millisecond)
	began := time.Now()

	pool, err := repro.NewPool(target, repro.PoolOptions{BlockThreshold: plan.BlockThreshold})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	env, catalog, err := pool.Start(ctx, plan.Loops)
	if err != nil {
		pool.Close()
		b.Fatal(err)
	}
	f.start = time.Since(began)
	plan.Providers = nil
	for _, p := range catalog {
		plan.Providers = append(plan.Providers, p.Name)
	}
	var observations []scan.Observation
	for obs := range repro.Run(ctx, pool, plan, catalog, env) {
		observations = append(observations, obs)
		f.cells++
		if obs.End == scan.EndNotWorking || obs.End == scan.EndSkipped || obs.End == scan.EndUnavailable {
			continue
		}
		f.cellsRun++
		f.longest = max(f.longest, time.Duration(obs.DurationMS*float64(time.Millisecond)))
	}
	pool.Close() // every worker reaped: RUSAGE_CHILDREN holds them now
	f.wall = time.Since(began)

	samplerCPU := sampler.finish()
	self1, children1 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
	f.cpu = self1 - self0 - samplerCPU + children1 - children0
	f.peakRSS, f.peakPSS = sampler.peakRSS, sampler.peakPSS
	if want := len(catalog) * len(plan.Modes) * len(plan.Loops); f.cells != want {
		b.Errorf("%d cells in the scan, want %d", f.cells, want)
	}
	// A scan that measured well but judged wrong measured something else:
	// the providers that fail like the documented conflict on uvloop must
	// be the table's.
	reentry := map[string]bool{}
	for _, obs := range observations {
		if obs.Loop == scan.LoopUvloop && diag.Classify(obs).Class == diag.ClassLoopReentry {
			reentry[obs.Provider] = true
		}
	}
	if want := scale.Count(scale.Kinds).UvloopBreaking; len(reentry) != want {
		b.Errorf("%d providers fail with loop-reentry on uvloop, want %d", len(reentry), want)
	}
	return f
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread alone.
const rusageThread = 1

// memSampler sums the memory of this process and its descendants every
// interval, on a thread of its own whose CPU it reports, so the scan's CPU
// can leave the measuring out.
type memSampler struct {
	stop             chan struct{}
	done             chan time.Duration
	peakRSS, peakPSS int64 // bytes; read after finish
}

func startSampler(every time.Duration) *memSampler {
	s := &memSampler{stop: make(chan struct{}), done: make(chan time.Duration, 1)}
	go func() {
		runtime.LockOSThread() // the thread's CPU is then the sampler's alone
		defer runtime.UnlockOSThread()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			rss, pss := familyMemory(os.Getpid())
			s.peakRSS, s.peakPSS = max(s.peakRSS, rss), max(s.peakPSS, pss)
			select {
			case <-tick.C:
			case <-s.stop:
				s.done <- rusage(rusageThread)
				return
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the CPU its thread used.
func (s *memSampler) finish() time.Duration {
	close(s.stop)
	return <-s.done
}

// familyMemory is the RSS and the PSS, in bytes, of pid and every process
// descended from it. A process that ends between the listing and the read
// counts as zero.
func familyMemory(pid int) (rss, pss int64) {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	page := int64(os.Getpagesize())
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[p]...)
		if data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "statm")); err == nil {
			if f := strings.Fields(string(data)); len(f) > 1 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				rss += n * page
			}
		}
		pss += rollupPSS(p)
	}
	return rss, pss
}

// parentOf reads a process's parent from /proc/PID/stat (the field after
// the state, which follows the command name's closing parenthesis).
func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// rollupPSS reads Pss from /proc/PID/smaps_rollup, in bytes.
func rollupPSS(pid int) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
