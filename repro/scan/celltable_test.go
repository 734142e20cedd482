package scan

import (
	"slices"
	"testing"
)

// TestModeTable pins the modes, their report order and their columns.
func TestModeTable(t *testing.T) {
	t.Parallel()
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

// TestLoopTable pins the loops, their report order and their columns.
func TestLoopTable(t *testing.T) {
	t.Parallel()
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
