//go:build unix

package repro

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// BenchmarkCellOverhead measures what the engine costs per cell when the
// provider answers at once (the demo's EchoSync): wall time per cell at
// --jobs 2 and CPU per cell, Go, fork servers and their forked cells
// together. Every cell runs in a child forked for it.
//
//	go test ./repro -run '^$' -bench CellOverhead -benchtime 400x
func BenchmarkCellOverhead(b *testing.B) {
	benchCells(b, false)
}

// BenchmarkCellOverheadNoFork is BenchmarkCellOverhead where workers cannot
// fork (G4FDIAG_FORK=0): a worker process, g4f import included, per cell.
//
//	go test ./repro -run '^$' -bench CellOverheadNoFork -benchtime 20x
func BenchmarkCellOverheadNoFork(b *testing.B) {
	benchCells(b, true)
}

func benchCells(b *testing.B, noFork bool) {
	for _, c := range []struct {
		mode scan.Mode
		loop scan.Loop
	}{
		{scan.ModeBaseline, scan.LoopAsyncio}, {scan.ModeSync, scan.LoopAsyncio}, {scan.ModeAsync, scan.LoopAsyncio},
		{scan.ModeSync, scan.LoopNest}, {scan.ModeSync, scan.LoopUvloop}, {scan.ModeAsyncStream, scan.LoopUvloop},
	} {
		b.Run(string(c.mode)+"/"+string(c.loop), func(b *testing.B) {
			tgt := demoTarget(b)
			if noFork {
				tgt.Env = append(tgt.Env, "G4FDIAG_FORK=0")
			}
			pool, err := NewPool(tgt, PoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			ctx := context.Background()
			if _, _, err := pool.Start(ctx, []scan.Loop{c.loop}); err != nil {
				b.Fatal(err)
			}
			cell := scan.Cell{Provider: "EchoSync", Mode: c.mode, Loop: c.loop, Concurrency: 1, Repeat: 1}
			const jobs = 2
			cells := make(chan scan.Cell)
			var wg sync.WaitGroup
			var failed sync.Once
			b.ResetTimer()
			cpu0 := cpuTime(pool)
			start := time.Now()
			for range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for c := range cells {
						obs, err := pool.RunCell(ctx, c, 10*time.Second)
						if err != nil || obs.End != scan.EndCompleted || obs.Calls[0].Outcome != scan.OutcomeOK {
							failed.Do(func() { b.Errorf("cell did not pass: %v %+v", err, obs) })
						}
					}
				}()
			}
			for range b.N {
				cells <- cell
			}
			close(cells)
			wg.Wait()
			wall := time.Since(start)
			cpu := cpuTime(pool) - cpu0
			b.StopTimer()
			b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "wall-ms/cell")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/cell")
			if _, fork := pool.ForkCost(); fork > 0 {
				b.ReportMetric(float64(fork.Microseconds())/1000, "fork-ms")
			}
		})
	}
}

// BenchmarkWorkerStart measures starting one worker up to its ready line,
// g4f import included (the demo's miniature g4f).
//
//	go test ./repro -run '^$' -bench WorkerStart -benchtime 20x
func BenchmarkWorkerStart(b *testing.B) {
	pool := demoPool(b)
	for i := range b.N {
		w, err := startWorker(context.Background(), pool.target, pool.harness,
			pool.dir+fmt.Sprintf("/bench-%d.txt", i), scan.LoopUvloop)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.kill()
		<-w.exited
		b.StartTimer()
	}
}

// cpuTime is the user+system CPU of this process, of the workers it has
// reaped, and of the pool's live workers and the cells they have reaped.
func cpuTime(p *Pool) time.Duration {
	var ru, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
	p.mu.Lock()
	ws := p.liveWorkers()
	p.mu.Unlock()
	for _, w := range ws {
		total += procCPU(w.cmd.Process.Pid)
	}
	return total
}

// procCPU reads utime+stime+cutime+cstime of a process from /proc — its own
// CPU and that of the children it waited for — in clock ticks of 10 ms on
// Linux's usual USER_HZ of 100.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, field := range f[11:15] {
		n, _ := strconv.ParseInt(field, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
