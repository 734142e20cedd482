package apiserver

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/httpapi"
)

// BenchmarkDriverAgainstDemoServer measures what the HTTP driver sustains
// against the demo's real API server (uvicorn on uvloop, EchoSync streaming
// its answer): requests per second at 1, 8 and 32 requests at once, and the
// driver's own CPU per request (the server is another process).
//
//	go test ./repro/apiserver -run '^$' -bench DriverAgainstDemoServer -benchtime 200x
func BenchmarkDriverAgainstDemoServer(b *testing.B) {
	set, _, err := StartAll(context.Background(), demoTargetB(b), []repro.Loop{repro.LoopUvloop}, 60*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer set.Stop(time.Second)
	d := httpapi.New(httpapi.Options{Servers: set.URLs()})
	for _, conc := range []int{1, 8, 32} {
		for _, mode := range []repro.Mode{repro.ModeAPISSE, repro.ModeAPIJSON} {
			b.Run(fmt.Sprintf("%s/c%d", mode, conc), func(b *testing.B) {
				cell := repro.Cell{Provider: "EchoSync", Mode: mode, Loop: repro.LoopUvloop, Concurrency: conc, Repeat: 1}
				var ru0, ru1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				start := time.Now()
				for range b.N {
					obs, err := d.RunCell(context.Background(), cell, 30*time.Second)
					if err != nil || obs.End != repro.EndCompleted {
						b.Fatalf("cell: %v %s", err, obs.End)
					}
					for _, c := range obs.Calls {
						if c.Outcome != repro.OutcomeOK {
							b.Fatalf("call: %+v", c)
						}
					}
				}
				wall := time.Since(start)
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				reqs := float64(b.N * conc)
				cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
				b.ReportMetric(reqs/wall.Seconds(), "req/s")
				b.ReportMetric(float64(cpu.Microseconds())/reqs, "driver-cpu-µs/req")
			})
		}
	}
}
