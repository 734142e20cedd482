//go:build unix

package httpapi

import (
	"context"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// BenchmarkDriver measures the driver against an httptest server that
// answers a small event stream (three chunks and [DONE]) at once, at
// concurrency 1, 8 and 32: requests per second, and CPU per request from
// getrusage of the whole process. The httptest server runs in this process
// too, so the CPU figure is driver and server together: an upper bound on
// the driver's own cost.
//
//	go test ./repro/httpapi -run '^$' -bench Driver -benchtime 5000x
func BenchmarkDriver(b *testing.B) {
	stream := chunkFrame("Hel") + chunkFrame("lo") + chunkFrame("!") + "data: [DONE]\n\n"
	srv := httptest.NewServer(sseHandler(stream))
	defer srv.Close()
	for _, conc := range []int{1, 8, 32} {
		b.Run("concurrency-"+strconv.Itoa(conc), func(b *testing.B) {
			d := New(Options{Servers: map[scan.Loop]string{scan.LoopServer: srv.URL}})
			c := scan.Cell{Provider: "P", Mode: scan.ModeAPISSE, Loop: scan.LoopServer, Concurrency: conc, Repeat: 1}
			ctx := context.Background()
			// one round first: connections are open before the clock starts
			if _, err := d.RunCell(ctx, c, 10*time.Second); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := processCPU()
			start := time.Now()
			requests := 0
			for requests < b.N {
				obs, err := d.RunCell(ctx, c, 10*time.Second)
				if err != nil || obs.End != scan.EndCompleted {
					b.Fatalf("cell: %v %+v", err, obs)
				}
				for _, call := range obs.Calls {
					if call.Outcome != scan.OutcomeOK {
						b.Fatalf("call %+v", call)
					}
				}
				requests += len(obs.Calls)
			}
			wall := time.Since(start)
			cpu := processCPU() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(requests)/wall.Seconds(), "req/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(requests), "cpu-µs/req")
		})
	}
}

// processCPU is the user+system CPU of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
