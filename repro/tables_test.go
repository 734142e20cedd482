package repro

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestModeTable pins the modes, their report order and their columns.
func TestModeTable(t *testing.T) {
	if want := []Mode{ModeBaseline, ModeSync, ModeSyncStream, ModeAsync, ModeAsyncStream}; !slices.Equal(AllModes, want) {
		t.Errorf("AllModes %v, want %v", AllModes, want)
	}
	if want := []Mode{ModeAPIJSON, ModeAPISSE}; !slices.Equal(APIModes, want) {
		t.Errorf("APIModes %v, want %v", APIModes, want)
	}
	seen := map[Mode]bool{}
	for _, r := range modeTable {
		if seen[r.mode] {
			t.Errorf("mode %s has two rows", r.mode)
		}
		seen[r.mode] = true
		if r.call != nil {
			if r.call.Stream != r.stream {
				t.Errorf("%s: the call streams %v, the mode %v", r.mode, r.call.Stream, r.stream)
			}
			if r.call.Client != "sync" && r.call.Client != "async" {
				t.Errorf("%s: client %q", r.mode, r.call.Client)
			}
			if r.call.Client == "async" && !r.call.OnLoop {
				t.Errorf("%s: the async client runs only on a loop", r.mode)
			}
		}
	}
	for _, tc := range []struct {
		name string
		keep func(Mode) bool
		want []Mode
	}{
		{"streaming", Mode.Streaming, []Mode{ModeSyncStream, ModeAsyncStream, ModeAPISSE}},
		{"over HTTP", Mode.OverHTTP, []Mode{ModeAPIJSON, ModeAPISSE}},
		{"sync client", Mode.SyncClient, []Mode{ModeBaseline, ModeSync, ModeSyncStream}},
		{"on a loop", func(m Mode) bool { c := m.CallStyle(); return c != nil && c.OnLoop },
			[]Mode{ModeSync, ModeSyncStream, ModeAsync, ModeAsyncStream}},
	} {
		var got []Mode
		for _, r := range modeTable {
			if tc.keep(r.mode) {
				got = append(got, r.mode)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	unknown := Mode("legacy")
	if unknown.Streaming() || unknown.OverHTTP() || unknown.SyncClient() || unknown.CallStyle() != nil {
		t.Errorf("an unknown mode must have no call and no property")
	}
}

// TestHarnessCallsByStyle: the harness calls g4f as the run request's call
// style says, whatever the mode is named, and refuses a run without a call
// style it can make instead of guessing one.
func TestHarnessCallsByStyle(t *testing.T) {
	p := demoPool(t)
	ctx := context.Background()
	run := func(mode Mode, call *CallStyle) event {
		t.Helper()
		w, err := p.acquire(ctx, LoopAsyncio)
		if err != nil {
			t.Fatal(err)
		}
		defer p.release(w)
		ev, err := w.call(ctx, request{Op: "run", Cell: &Cell{Provider: "StreamAsync", Mode: mode, Loop: LoopAsyncio,
			Concurrency: 1, Repeat: 1}, Call: call}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// A name the harness never heard of, with the async-stream call style:
	// the chunks of a stream (a non-streaming answer counts one).
	for _, tc := range []struct {
		call      CallStyle
		streaming bool
	}{
		{CallStyle{Client: "async", Stream: true, OnLoop: true}, true},
		{CallStyle{Client: "async", OnLoop: true}, false},
		{CallStyle{Client: "sync"}, false},
		{CallStyle{Client: "sync", Stream: true}, true},
	} {
		ev := run("no-such-mode", &tc.call)
		if ev.Event != "done" || len(ev.Calls) != 1 || ev.Calls[0].Outcome != OutcomeOK {
			t.Fatalf("%+v: event %s with calls %+v (error %v)", tc.call, ev.Event, ev.Calls, ev.Error)
		}
		if got := ev.Calls[0].Chunks > 1; got != tc.streaming {
			t.Errorf("%+v: %d chunks, want a stream: %v", tc.call, ev.Calls[0].Chunks, tc.streaming)
		}
	}
	for _, tc := range []struct {
		mode Mode
		call *CallStyle
		want string
	}{
		{"legacy", nil, "run: mode 'legacy' comes without a call style"},
		{ModeAsync, &CallStyle{Client: "legacy", OnLoop: true}, "run: mode 'async' has an unknown call style"},
		{ModeAsync, &CallStyle{Client: "async"}, "the async client runs only on the cell's loop"},
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
	obs, err := p.RunCell(context.Background(), Cell{Provider: "EchoSync", Mode: "legacy", Loop: LoopAsyncio,
		Concurrency: 1, Repeat: 1}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != EndCrashed || obs.Worker == nil || !strings.Contains(obs.Worker.StderrTail, "comes without a call style") {
		t.Fatalf("end %s, worker %+v; want a refused cell", obs.End, obs.Worker)
	}
}

// TestLoopTable pins the loops, their report order and their columns.
func TestLoopTable(t *testing.T) {
	if want := []Loop{LoopAsyncio, LoopNest, LoopUvloop}; !slices.Equal(AllLoops, want) {
		t.Errorf("AllLoops %v, want %v", AllLoops, want)
	}
	seen := map[string]bool{}
	for _, r := range loopTable {
		if n := len([]rune(r.short)); n == 0 || n > 4 || seen[r.short] {
			t.Errorf("%s: short name %q is not 1-4 characters or not unique", r.loop, r.short)
		}
		seen[r.short] = true
		if r.meaning == "" {
			t.Errorf("%s: needs a meaning", r.loop)
		}
	}
	if LoopServer.Short() != "srv" || LoopServer.Meaning() != "the API server's own loop (--api)" {
		t.Errorf("server loop: %q, %q", LoopServer.Short(), LoopServer.Meaning())
	}
	if l := Loop("trio"); l.Short() != "" || l.Meaning() != "trio" {
		t.Errorf("unknown loop: short %q, meaning %q", l.Short(), l.Meaning())
	}
}
