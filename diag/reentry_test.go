package diag

import (
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestReentryRules pins where the two rules differ: a stack must show a
// loop further out and never blames the harness; a traceback chain starts
// inside the handler, with no loop frame further out, and a script's
// <module> starting its loop re-enters nothing.
func TestReentryRules(t *testing.T) {
	t.Parallel()
	const (
		runners = "/usr/lib/python3.11/asyncio/runners.py"
		base    = "/usr/lib/python3.11/asyncio/base_events.py"
		harness = "/tmp/g4fdiag-x/harness.py"
		wrapper = "/srv/g4f/providers/asyncio.py"
	)
	sync := scan.Frame{File: wrapper, Line: 57, Func: "to_sync_generator", Code: "yield loop.run_until_complete(gen.__anext__())"}
	for _, tt := range []struct {
		name             string
		frames           []scan.Frame
		onStack, inChain string
	}{
		{"a sync call inside the running loop", []scan.Frame{
			{File: harness, Line: 1005, Func: "run_on_loop", Code: "loop.run_until_complete(main())"},
			{File: base, Line: 640, Func: "run_until_complete"},
			{File: "/srv/g4f/client/__init__.py", Line: 80, Func: "create", Code: "return to_sync_generator(gen)"},
			sync,
			{File: base, Line: 630, Func: "run_until_complete"},
		}, "g4f/providers/asyncio.py:57 in to_sync_generator", "g4f/providers/asyncio.py:57 in to_sync_generator"},
		{"a logged traceback starts in the handler", []scan.Frame{
			{File: "/srv/bot/handlers.py", Line: 41, Func: "on_message", Code: "return asyncio.run(ask(text))"},
			{File: runners, Line: 186, Func: "run"},
		}, "", "srv/bot/handlers.py:41 in on_message"},
		{"the harness's baseline starts a fresh loop", []scan.Frame{
			{File: harness, Line: 210, Func: "run_call", Code: "asyncio.run(call())"},
			{File: runners, Line: 190, Func: "run"},
			{File: base, Line: 640, Func: "run_until_complete"},
		}, "", "tmp/g4fdiag-x/harness.py:210 in run_call"},
		{"a script's module starts its loop", []scan.Frame{
			{File: "/srv/bot/main.py", Line: 12, Func: "<module>", Code: "asyncio.run(main())"},
			{File: runners, Line: 190, Func: "run"},
		}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := func(r ReentryRule) string {
				if f, ok := Reentry(tt.frames, r); ok {
					return FormatFrame(f)
				}
				return ""
			}
			if s := got(ReentryOnStack); s != tt.onStack {
				t.Errorf("ReentryOnStack: %q, want %q", s, tt.onStack)
			}
			if s := got(ReentryInTraceback); s != tt.inChain {
				t.Errorf("ReentryInTraceback: %q, want %q", s, tt.inChain)
			}
		})
	}
}

// TestChainReentryWalk: the matched exception's traceback first, then the
// chain from the raised end (not the nearest first, as ChainFrame walks).
func TestChainReentryWalk(t *testing.T) {
	t.Parallel()
	at := func(file string) []scan.Frame {
		return []scan.Frame{{File: file, Line: 1, Func: "f", Code: "asyncio.run(g())"}, {File: "/usr/lib/python3.11/asyncio/runners.py", Line: 190, Func: "run"}}
	}
	chain := []scan.PyException{{Frames: at("/srv/raised.py")}, {Frames: at("/srv/middle.py")}, {}}
	if f, ok := ChainReentry(chain, 2); !ok || f.File != "/srv/raised.py" {
		t.Errorf("ChainReentry(chain, 2) = %+v, %v; want the raised one's", f, ok)
	}
	if f, ok := ChainReentry(chain, 1); !ok || f.File != "/srv/middle.py" {
		t.Errorf("ChainReentry(chain, 1) = %+v, %v; want the matched one's", f, ok)
	}
}

// A loop refusing to be entered again is the innermost frame of what a
// traceback cut before its exception line still shows of a re-entry.
func TestRefusedEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame scan.Frame
		sig   SignatureID
		ok    bool
	}{
		{"stdlib check", scan.Frame{File: "/usr/lib/python3.10/asyncio/base_events.py", Func: "_check_running",
			Code: "raise RuntimeError('This event loop is already running')"}, SigReentryStdlib, true},
		{"stdlib run_until_complete calling the check", scan.Frame{File: `C:\Python311\Lib\asyncio\base_events.py`,
			Func: "run_until_complete", Code: "self._check_running()"}, SigReentryStdlib, true},
		{"asyncio.run's check", scan.Frame{File: "/usr/lib/python3.8/asyncio/runners.py", Func: "run",
			Code: "raise RuntimeError("}, SigReentryAsyncioRun, true},
		{"uvloop", scan.Frame{File: "uvloop/loop.pyx", Func: "uvloop.loop.Loop.run_forever"}, SigReentryUvloop, true},
		{"the result of a call that ran", scan.Frame{File: "/usr/lib/python3.12/asyncio/base_events.py",
			Func: "run_until_complete", Code: "return future.result()"}, "", false},
		{"asyncio.run running the program", scan.Frame{File: "/usr/lib/python3.12/asyncio/runners.py", Func: "run",
			Code: "return runner.run(main)"}, "", false},
		{"a provider", scan.Frame{File: "/v/g4f/Provider/Blackbox.py", Func: "create_async_generator"}, "", false},
	}
	for _, tt := range tests {
		sig, ok := RefusedEntry([]scan.Frame{{File: "bot.py", Func: "on_message"}, tt.frame})
		if sig != tt.sig || ok != tt.ok {
			t.Errorf("%s: %q %v, want %q %v", tt.name, sig, ok, tt.sig, tt.ok)
		}
	}
	if _, ok := RefusedEntry(nil); ok {
		t.Error("no frames refuse nothing")
	}
}
