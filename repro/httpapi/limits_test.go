package httpapi

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// A JSON answer of 100 MB is not read whole, by any of the cell's calls:
// each fails "body over limit" once past MaxAnswer, and memory stays
// bounded whatever the concurrency.
// Not parallel: it counts the process's allocations.
func TestHugeJSONAnswerIsBounded(t *testing.T) {
	const size = 100 << 20
	var sent atomic.Int64
	chunk := []byte(`{"choices":[{"message":{"content":"` + strings.Repeat("x", 64<<10-40))
	for _, declared := range []bool{false, true} {
		base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if declared {
				w.Header().Set("Content-Length", "104857600")
			}
			for n := 0; n < size; n += len(chunk) {
				m, err := w.Write(chunk)
				sent.Add(int64(m))
				if err != nil {
					return
				}
			}
		}))
		c := cell(scan.ModeAPIJSON)
		c.Concurrency = 4
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, c, 20*time.Second)
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		for _, call := range obs.Calls {
			if call.Outcome != scan.OutcomeError || len(call.Chain) != 1 || !strings.HasPrefix(call.Chain[0].Message, "body over limit: the answer passed 4194304 bytes") {
				t.Errorf("declared %v: call %+v", declared, call)
			}
		}
		if v := diag.Classify(obs); v.Class != diag.ClassProtocol {
			t.Errorf("verdict %+v", v)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 { // 64 MB each, read whole, made 600 MB
			t.Errorf("declared %v: %d MB allocated for 4 calls", declared, alloc>>20)
		}
	}
	if s := sent.Load(); s > 200<<20 {
		t.Errorf("the server got %d MB out: the bodies were read on", s>>20)
	}
}

// A stream still sending at the deadline is cut there with what it got:
// its chunks, and the times of its first and last chunk and of the cut,
// so that diag can tell a steady stream from a stalled one.
func TestSteadyStreamCutAtTheDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := io.WriteString(w, chunkFrame("tick ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-release:
				return
			case <-r.Context().Done():
				return
			}
		}
	}), release)
	const timeout = 1500 * time.Millisecond
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, cell(scan.ModeAPISSE), timeout)
	if obs.End != scan.EndDeadline || len(obs.Calls) != 1 {
		t.Fatalf("end %s, %d calls", obs.End, len(obs.Calls))
	}
	c := obs.Calls[0]
	timeoutMS := float64(timeout.Milliseconds())
	switch {
	case c.Outcome != scan.OutcomePending:
		t.Errorf("outcome %s", c.Outcome)
	case c.Chunks < 8 || c.Chunks > 16:
		t.Errorf("%d chunks in %s at one per 100 ms", c.Chunks, timeout)
	case c.FirstChunkMS > 500 || c.FirstChunkMS > c.LastChunkMS:
		t.Errorf("first chunk at %v ms, last at %v ms", c.FirstChunkMS, c.LastChunkMS)
	case c.DurationMS < timeoutMS-50 || c.DurationMS > timeoutMS+1000:
		t.Errorf("cut after %v ms, deadline %v ms", c.DurationMS, timeoutMS)
	case c.DurationMS-c.LastChunkMS > 600:
		t.Errorf("last chunk at %v ms, cut at %v ms: the chunks that came late were not counted", c.LastChunkMS, c.DurationMS)
	case c.MaxGapMS > 600 || c.MaxGapMS < 50:
		t.Errorf("max gap %v ms at one chunk per 100 ms", c.MaxGapMS)
	}
	if cadence := (c.LastChunkMS - c.FirstChunkMS) / float64(c.Chunks-1); cadence < 50 || cadence > 300 {
		t.Errorf("cadence %v ms", cadence)
	}
}

// stubbornBody streams a chunk every 100 ms and ignores Close: a transport
// that does not honour the call's context.
type stubbornBody struct{ frames chan string }

func (b *stubbornBody) Read(p []byte) (int, error) { return copy(p, <-b.frames), nil }
func (b *stubbornBody) Close() error               { return nil }

type stubbornTransport struct{ done chan struct{} }

func (s stubbornTransport) RoundTrip(*http.Request) (*http.Response, error) {
	b := &stubbornBody{frames: make(chan string)}
	go func() {
		for {
			select {
			case b.frames <- chunkFrame("tick"):
			case <-s.done:
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: b}, nil
}

// A call that goes on past the deadline's grace is measured to the
// deadline: its silence since the last chunk is not the grace.
func TestStubbornStreamEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	defer close(done)
	const timeout = time.Second
	o := Options{Servers: map[scan.Loop]string{scan.LoopServer: "http://127.0.0.1:1"}, Client: &http.Client{Transport: stubbornTransport{done}}}
	obs := run(t, o, cell(scan.ModeAPISSE), timeout)
	c := obs.Calls[0]
	if obs.End != scan.EndDeadline || c.Outcome != scan.OutcomePending || c.Chunks < 5 {
		t.Fatalf("end %s, call %+v", obs.End, c)
	}
	if c.DurationMS > float64(timeout.Milliseconds())+50 || c.DurationMS-c.LastChunkMS > 300 || c.LastChunkMS > c.DurationMS {
		t.Errorf("last chunk at %v ms, call measured to %v ms with a %s deadline", c.LastChunkMS, c.DurationMS, timeout)
	}
}
