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
)

// BenchmarkCellOverhead measures what the engine costs per cell when the
// provider answers at once (the demo's EchoSync): wall time per cell at
// --jobs 2 and CPU per cell, Go and Python worker together.
//
//	go test ./repro -run '^$' -bench CellOverhead -benchtime 400x
func BenchmarkCellOverhead(b *testing.B) {
	for _, c := range []struct {
		mode Mode
		loop Loop
	}{
		{ModeBaseline, LoopAsyncio}, {ModeSync, LoopAsyncio}, {ModeAsync, LoopAsyncio},
		{ModeSync, LoopNest}, {ModeSync, LoopUvloop}, {ModeAsyncStream, LoopUvloop},
	} {
		b.Run(string(c.mode)+"/"+string(c.loop), func(b *testing.B) {
			pool := demoPool(b)
			ctx := context.Background()
			if _, _, err := pool.Start(ctx, []Loop{c.loop}); err != nil {
				b.Fatal(err)
			}
			cell := Cell{Provider: "EchoSync", Mode: c.mode, Loop: c.loop, Concurrency: 1, Repeat: 1}
			const jobs = 2
			cells := make(chan Cell)
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
						if err != nil || obs.End != EndCompleted || obs.Calls[0].Outcome != OutcomeOK {
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
			pool.dir+fmt.Sprintf("/bench-%d.txt", i), LoopUvloop)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.kill()
		<-w.exited
		b.StartTimer()
	}
}

// cpuTime is the user+system CPU of this process and of the pool's live
// workers.
func cpuTime(p *Pool) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	p.mu.Lock()
	ws := p.liveWorkers()
	p.mu.Unlock()
	for _, w := range ws {
		total += procCPU(w.cmd.Process.Pid)
	}
	return total
}

// procCPU reads utime+stime of a process from /proc, in clock ticks of 10 ms
// on Linux's usual USER_HZ of 100.
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
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
