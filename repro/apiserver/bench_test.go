//go:build unix

package apiserver

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/httpapi"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// BenchmarkDriverAgainstDemoServer measures what the HTTP driver sustains
// against one of the demo's real API servers (uvicorn on uvloop, EchoSync
// streaming its answer): requests per second at 1, 8 and 32 requests at
// once, and the driver's own CPU per request (the server is another
// process). One server serves every cell here: the figure is the driver's,
// not a server start's (BenchmarkServerStart has those).
//
//	go test ./repro/apiserver -run '^$' -bench DriverAgainstDemoServer -benchtime 200x
func BenchmarkDriverAgainstDemoServer(b *testing.B) {
	set, _, err := StartAll(context.Background(), demoTargetB(b), []scan.Loop{scan.LoopUvloop}, 60*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer set.Stop(time.Second)
	srv, err := set.Use(context.Background(), scan.LoopUvloop)
	if err != nil {
		b.Fatal(err)
	}
	d := httpapi.New(httpapi.Options{Servers: map[scan.Loop]string{scan.LoopUvloop: srv.URL}})
	for _, conc := range []int{1, 8, 32} {
		for _, mode := range []scan.Mode{scan.ModeAPISSE, scan.ModeAPIJSON} {
			b.Run(fmt.Sprintf("%s/c%d", mode, conc), func(b *testing.B) {
				cell := scan.Cell{Provider: "EchoSync", Mode: mode, Loop: scan.LoopUvloop, Concurrency: conc, Repeat: 1}
				var ru0, ru1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				start := time.Now()
				for range b.N {
					obs, err := d.RunCell(context.Background(), cell, 30*time.Second)
					if err != nil || obs.End != scan.EndCompleted {
						b.Fatalf("cell: %v %s", err, obs.End)
					}
					for _, c := range obs.Calls {
						if c.Outcome != scan.OutcomeOK {
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

// BenchmarkServerStart measures what a fresh server per cell costs: from
// the request to the ready line of uvicorn listening, then the kill, for a
// child forked from the loop's fork server ("fork") and for a process
// started for the server alone, as where the harness cannot fork
// ("process": interpreter start, imports of uvicorn, g4f and g4f.api).
//
//	go test ./repro/apiserver -run '^$' -bench ServerStart -benchtime 50x
func BenchmarkServerStart(b *testing.B) {
	for _, tc := range []struct {
		name string
		fork bool
	}{{"fork", true}, {"process", false}} {
		b.Run(tc.name, func(b *testing.B) {
			target := demoTargetB(b)
			if !tc.fork {
				target.Env = append(target.Env, "G4FDIAG_FORK=0")
			}
			set, _, err := StartAll(context.Background(), target, []scan.Loop{scan.LoopNest}, 60*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer set.Stop(time.Second)
			var ready, stop time.Duration
			b.ResetTimer()
			for range b.N {
				srv, err := set.Use(context.Background(), scan.LoopNest)
				if err != nil {
					b.Fatal(err)
				}
				if srv.Forked != tc.fork {
					b.Fatalf("forked %v, want %v", srv.Forked, tc.fork)
				}
				ready += srv.Started
				t0 := time.Now()
				srv.Return(false)
				stop += time.Since(t0)
			}
			b.ReportMetric(float64(ready.Microseconds())/1000/float64(b.N), "ms-to-ready")
			b.ReportMetric(float64(stop.Microseconds())/1000/float64(b.N), "ms-to-stop")
		})
	}
}
