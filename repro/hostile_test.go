package repro_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// hostileProviders are added to the miniature g4f for these tests.
const hostileProviders = `
import asyncio, itertools

from ..providers.base_provider import AsyncGeneratorProvider

_calls = itertools.count()


class HugeError(AsyncGeneratorProvider):
    """Raises one exception with a 100 MB message."""
    url = "http://127.0.0.1/huge-error"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        await asyncio.sleep(0)
        raise ValueError("upstream answered garbage: " + "x" * (100 << 20))
        yield ""


class HugeLoopError(AsyncGeneratorProvider):
    """A loop re-entry error whose message is 100 MB long."""
    url = "http://127.0.0.1/huge-loop-error"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        await asyncio.sleep(0)
        raise RuntimeError("this event loop is already running. " + "z" * (100 << 20))
        yield ""


class ManyErrors(AsyncGeneratorProvider):
    """Every call raises a 200 KB message of its own."""
    url = "http://127.0.0.1/many-errors"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        n = next(_calls)
        await asyncio.sleep(0.01)
        raise ValueError("call %d: upstream answered garbage: %s" % (n, "y" * (200 << 10)))
        yield ""


class SameErrors(AsyncGeneratorProvider):
    """Every call raises the same 200 KB message."""
    url = "http://127.0.0.1/same-errors"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        await asyncio.sleep(0.01)
        raise ValueError("upstream answered garbage: " + "y" * (200 << 10))
        yield ""


class SteadyStream(AsyncGeneratorProvider):
    """Streams a chunk every 0.1 s for a minute: slow, never stalled."""
    url = "http://127.0.0.1/steady-stream"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        for i in range(600):
            yield "chunk %d " % i
            await asyncio.sleep(0.1)


class BusyChunks(AsyncGeneratorProvider):
    """Healthy, with 1 ms of work per chunk (parsing, say): a thousand calls
    make each round of the loop take a second."""
    url = "http://127.0.0.1/busy-chunks"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        import time
        for i in range(2):
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 0.001:
                pass
            yield "part %d " % i
            await asyncio.sleep(0)

`

// hostileTarget is the miniature g4f with hostileProviders registered.
func hostileTarget(tb testing.TB) repro.Target {
	tb.Helper()
	dir := reprotest.WriteDemo(tb, map[string]string{"Hostile.py": hostileProviders},
		reprotest.Register("Hostile", "HugeError", "HugeLoopError", "ManyErrors", "SameErrors", "SteadyStream", "BusyChunks"))
	return repro.Target{Python: scriptPython(tb), Env: repro.WithPythonPath(os.Environ(), dir), Demo: true}
}

func hostilePool(tb testing.TB) *repro.Pool {
	tb.Helper()
	p, err := repro.NewPool(hostileTarget(tb), repro.PoolOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// Huge exception messages are cut by the harness, so the done event fits
// and the verdict is what the message says, never a timeout of a dropped
// worker.
func TestHugeExceptionMessages(t *testing.T) {
	p := hostilePool(t)
	for _, tc := range []struct {
		provider    string
		concurrency int
		class       diag.Class
		evidence    string
	}{
		{"HugeError", 1, diag.ClassProviderError, "ValueError: upstream answered garbage: xxx"},
		{"HugeLoopError", 1, diag.ClassLoopReentry, "this event loop is already running."},
		{"ManyErrors", 400, diag.ClassProviderError, "ValueError: call "},
		{"SameErrors", 400, diag.ClassProviderError, "ValueError: upstream answered garbage: yyy"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			c := scan.Cell{Provider: tc.provider, Mode: scan.ModeAsync, Loop: scan.LoopAsyncio, Concurrency: tc.concurrency, Repeat: 1}
			obs, err := p.RunCell(context.Background(), c, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if obs.End != scan.EndCompleted || len(obs.Calls) != tc.concurrency {
				t.Fatalf("end %s with %d calls (worker %+v)", obs.End, len(obs.Calls), obs.Worker)
			}
			for _, call := range obs.Calls {
				if len(call.Chain) == 0 {
					t.Fatalf("call %d has no exception", call.Index)
				}
				msg := call.Chain[0].Message
				if len(msg) > 20<<10 || !strings.Contains(msg, " characters cut by g4fdiag ...] ") {
					t.Fatalf("call %d message of %d bytes: %.200q", call.Index, len(msg), msg)
				}
				if len(call.Chain[0].Traceback) > 8<<10 {
					t.Errorf("traceback of %d bytes", len(call.Chain[0].Traceback))
				}
			}
			// Every call was checked above; classifying 400 distinct
			// messages takes long under -race, so a spread of them decides.
			sample := obs
			sample.Calls = nil
			for i := 0; i < len(obs.Calls); i += max(1, len(obs.Calls)/20) {
				sample.Calls = append(sample.Calls, obs.Calls[i])
			}
			v := diag.Classify(sample)
			if v.Class != tc.class || !strings.Contains(v.Evidence, tc.evidence) {
				t.Errorf("verdict %s (%s): %s", v.Class, v.Signature, v.Evidence)
			}
		})
	}
}

// A stream still sending a chunk every 0.1 s at the deadline is a timeout,
// not a stall; a stream that sent two chunks and went silent is a stall.
func TestSteadyStreamIsNoStall(t *testing.T) {
	p := hostilePool(t)
	for _, tc := range []struct {
		provider  string
		class     diag.Class
		signature string
		evidence  string
	}{
		{"SteadyStream", diag.ClassTimeout, "stream-still-running", "still streaming at the deadline: "},
		{"StallStream", diag.ClassStall, "stream-stalled", "stream stopped after 2 chunks; "},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			c := scan.Cell{Provider: tc.provider, Mode: scan.ModeAsyncStream, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}
			obs, err := p.RunCell(context.Background(), c, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if obs.End != scan.EndDeadline || len(obs.Calls) != 1 {
				t.Fatalf("end %s with %d calls", obs.End, len(obs.Calls))
			}
			v := diag.Classify(obs)
			if v.Class != tc.class || v.Signature != tc.signature || !strings.HasPrefix(v.Evidence, tc.evidence) {
				t.Errorf("verdict %s [%s] %s (call %+v)", v.Class, v.Signature, v.Evidence, obs.Calls[0])
			}
		})
	}
}

// A loop that runs a thousand tasks is busy, not blocked, even when one
// round of them takes longer than the block threshold; a loop thread held
// by one call is still reported blocked at that threshold.
func TestBusyLoopIsNotBlocked(t *testing.T) {
	p, err := repro.NewPool(hostileTarget(t), repro.PoolOptions{BlockThreshold: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for _, tc := range []struct {
		cell scan.Cell
		end  scan.End
	}{
		{scan.Cell{Provider: "EchoSync", Mode: scan.ModeAsync, Loop: scan.LoopAsyncio, Concurrency: scan.MaxConcurrency, Repeat: 1}, scan.EndCompleted},
		{scan.Cell{Provider: "BusyChunks", Mode: scan.ModeAsyncStream, Loop: scan.LoopAsyncio, Concurrency: scan.MaxConcurrency, Repeat: 1}, scan.EndCompleted},
		{scan.Cell{Provider: "BusyChunks", Mode: scan.ModeAsync, Loop: scan.LoopUvloop, Concurrency: scan.MaxConcurrency, Repeat: 1}, scan.EndCompleted},
		{scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, scan.EndBlocked},
	} {
		obs, err := p.RunCell(context.Background(), tc.cell, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if obs.End != tc.end {
			v := diag.Classify(obs)
			t.Errorf("%s %s/%s: end %s, want %s (%s: %s)", tc.cell.Provider, tc.cell.Mode, tc.cell.Loop, obs.End, tc.end, v.Class, v.Evidence)
		}
	}
}
