package repro

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestHarnessCallsByStyle: the harness calls g4f as the run request's call
// style says, whatever the mode is named, and refuses a run without a call
// style it can make instead of guessing one.
func TestHarnessCallsByStyle(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	run := func(mode scan.Mode, call *scan.CallStyle) event {
		t.Helper()
		w, err := p.acquire(ctx, scan.LoopAsyncio)
		if err != nil {
			t.Fatal(err)
		}
		defer p.release(w)
		ev, err := w.call(ctx, request{Op: "run", Cell: &scan.Cell{Provider: "StreamAsync", Mode: mode, Loop: scan.LoopAsyncio,
			Concurrency: 1, Repeat: 1}, Call: call}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// A name the harness never heard of, with the async-stream call style:
	// the chunks of a stream (a non-streaming answer counts one).
	for _, tc := range []struct {
		call      scan.CallStyle
		streaming bool
	}{
		{scan.CallStyle{Client: "async", Stream: true, OnLoop: true}, true},
		{scan.CallStyle{Client: "async", OnLoop: true}, false},
		{scan.CallStyle{Client: "sync"}, false},
		{scan.CallStyle{Client: "sync", Stream: true}, true},
	} {
		ev := run("no-such-mode", &tc.call)
		if ev.Event != "done" || len(ev.Calls) != 1 || ev.Calls[0].Outcome != scan.OutcomeOK {
			t.Fatalf("%+v: event %s with calls %+v (error %v)", tc.call, ev.Event, ev.Calls, ev.Error)
		}
		if got := ev.Calls[0].Chunks > 1; got != tc.streaming {
			t.Errorf("%+v: %d chunks, want a stream: %v", tc.call, ev.Calls[0].Chunks, tc.streaming)
		}
	}
	for _, tc := range []struct {
		mode scan.Mode
		call *scan.CallStyle
		want string
	}{
		{"legacy", nil, "run: mode 'legacy' comes without a call style"},
		{scan.ModeAsync, &scan.CallStyle{Client: "legacy", OnLoop: true}, "run: mode 'async' has an unknown call style"},
		{scan.ModeAsync, &scan.CallStyle{Client: "async"}, "the async client runs only on the cell's loop"},
	} {
		ev := run(tc.mode, tc.call)
		if ev.Event != "error" || ev.Error == nil || !strings.Contains(ev.Error.Message, tc.want) {
			t.Errorf("%s %+v: event %s (%+v), want an error %q", tc.mode, tc.call, ev.Event, ev.Error, tc.want)
		}
	}
}

// TestUnknownModeRefused: a cell of a mode Go's table does not know reaches
// the report as a refused cell, never as some other mode's answer.
func TestUnknownModeRefused(t *testing.T) {
	p := demoPool(t)
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "EchoSync", Mode: "legacy", Loop: scan.LoopAsyncio,
		Concurrency: 1, Repeat: 1}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndCrashed || obs.Worker == nil || !strings.Contains(obs.Worker.StderrTail, "comes without a call style") {
		t.Fatalf("end %s, worker %+v; want a refused cell", obs.End, obs.Worker)
	}
}
