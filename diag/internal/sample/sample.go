// Package sample is the hand-made scan the tests and golden files of diag
// and its packages render: one provider per mechanism of the demo target,
// every mode, every loop. It holds observations only (repro types), so every
// package under diag can build its report from it without an import cycle.
package sample

import (
	"fmt"
	"time"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// G4F is where the sample's g4f is installed.
const G4F = "/tmp/g4fdiag-demo/g4f"

// Start is when every cell of the sample started.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Frame is one traceback frame.
func Frame(file string, line int, fn, code string) scan.Frame {
	return scan.Frame{File: file, Line: line, Func: fn, Code: code}
}

// syncWrapperFrames is the path of a sync client call into g4f's wrapper.
func SyncWrapperFrames(provider string) []scan.Frame {
	return []scan.Frame{
		Frame("/tmp/g4fdiag-x/harness.py", 210, "run_call", "result = client.chat.completions.create(**kwargs)"),
		Frame(G4F+"/client/__init__.py", 88, "create", "return to_sync_generator(response)"),
		Frame(G4F+"/providers/asyncio.py", 57, "to_sync_generator", "yield loop.run_until_complete(await_callback(gen.__anext__, timeout))"),
	}
}

// ErrorCall is a call that raised chain.
func ErrorCall(i int, durMS float64, chain ...scan.PyException) scan.Call {
	return scan.Call{Index: i, Outcome: scan.OutcomeError, Chain: chain, DurationMS: durMS}
}

// OKCall is a call that answered, streaming chunks when chunks > 0.
func OKCall(i int, chunks int, durMS float64) scan.Call {
	c := scan.Call{Index: i, Outcome: scan.OutcomeOK, DurationMS: durMS, Text: "Hello! How can I help?"}
	if chunks > 0 {
		c.Chunks, c.FirstChunkMS, c.MaxGapMS, c.LastChunkMS = chunks, 3, 4, durMS-1
	}
	return c
}

var (
	ReentryUvloop = scan.PyException{Type: "RuntimeError", Message: "this event loop is already running."}
	ReentryStdlib = scan.PyException{Type: "RuntimeError", Message: "This event loop is already running"}
	asyncioRun    = scan.PyException{Type: "RuntimeError", Message: "asyncio.run() cannot be called from a running event loop"}
	noThreadLoop  = scan.PyException{Type: "RuntimeError", Message: "There is no current event loop in thread 'g4fdiag-baseline'."}
	NestTask      = scan.PyException{Type: "RuntimeError", Message: "Cannot enter into task <Task pending name='Task-3' coro=<main() running at harness.py:230>> while another task <Task pending name='Task-4' coro=<ConcurrencyFlaky.create_async_generator() running at /tmp/g4fdiag-demo/g4f/Provider/ConcurrencyFlaky.py:21>> is being executed."}
)

// WithFrames gives e its frames and the traceback text they print as.
func WithFrames(e scan.PyException, frames []scan.Frame) scan.PyException {
	e.Frames = frames
	e.Traceback = pytext.FormatTraceback(frames) + e.Type + ": " + e.Message + "\n"
	return e
}

// NetworkChain is the exception chain of a network failure in the mode.
func NetworkChain(mode scan.Mode, provider string) []scan.PyException {
	frames := SyncWrapperFrames(provider)
	if mode == scan.ModeAsync || mode == scan.ModeAsyncStream {
		frames = frames[:1]
	}
	frames = append(frames,
		Frame(G4F+"/Provider/"+provider+".py", 19, "create_async_generator", "async with session.post(cls.url, json=data) as response:"),
		Frame("/usr/lib/python3/dist-packages/aiohttp/client.py", 536, "_request", "conn = await self._connector.connect("),
		Frame("/usr/lib/python3/dist-packages/aiohttp/connector.py", 1002, "_create_direct_connection", "raise ClientConnectorError(req.connection_key, exc) from exc"),
	)
	return []scan.PyException{
		WithFrames(scan.PyException{Type: "aiohttp.client_exceptions.ClientConnectorError",
			Message: "Cannot connect to host network-down.invalid:443 ssl:default [Name or service not known]"}, frames),
		{Type: "socket.gaierror", Message: "[Errno -2] Name or service not known", Relation: "cause"},
	}
}

// Providers are the sample's providers, one per mechanism.
var Providers = []providers.Provider{
	{Name: "HealthySync", Kind: providers.KindSync, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "AsyncGenHealthy", Kind: providers.KindAsyncGenerator, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "CreateAsyncRun", Kind: providers.KindAsync, Working: true, DefaultModel: "demo-model"},
	{Name: "DeadlockLoop", Kind: providers.KindSync, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "BlockingSleep", Kind: providers.KindSync, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "ThreadLocalLoop", Kind: providers.KindAsyncGenerator, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "StallStream", Kind: providers.KindAsyncGenerator, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "NetworkDown", Kind: providers.KindAsyncGenerator, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "NeedsAuth", Kind: providers.KindAsyncGenerator, Working: true, NeedsAuth: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "ConcurrencyFlaky", Kind: providers.KindAsyncGenerator, Working: true, SupportsStream: true, DefaultModel: "demo-model"},
	{Name: "RetiredProvider", Kind: providers.KindAsyncGenerator, Working: false, DefaultModel: "demo-model"},
}

// sampleCell decides what one cell of the sample scan observed.
func Cell(p string, m scan.Mode, l scan.Loop) scan.Observation {
	o := scan.Observation{
		Cell:    scan.Cell{Provider: p, Mode: m, Loop: l, Model: "demo-model", Concurrency: 2, Repeat: 1},
		End:     scan.EndCompleted,
		Started: Start,
	}
	streaming := m.Streaming()
	syncInLoop := m == scan.ModeSync || m == scan.ModeSyncStream
	chunks := 0
	if streaming {
		chunks = 3
	}
	allOK := func(dur float64) {
		o.Calls = []scan.Call{OKCall(0, chunks, dur), OKCall(1, chunks, dur+2)}
		o.DurationMS = dur + 4
	}
	both := func(dur float64, chain ...scan.PyException) {
		o.Calls = []scan.Call{ErrorCall(0, dur, chain...), ErrorCall(1, dur+1, chain...)}
		o.DurationMS = dur + 3
	}
	switch p {
	case "HealthySync":
		allOK(12)
	case "AsyncGenHealthy":
		switch {
		case syncInLoop && l == scan.LoopUvloop:
			both(3, WithFrames(ReentryUvloop, append(SyncWrapperFrames(p), Frame("uvloop/loop.pyx", 1511, "uvloop.loop.Loop.run_until_complete", ""))))
		case syncInLoop && l == scan.LoopAsyncio:
			both(2, WithFrames(ReentryStdlib, append(SyncWrapperFrames(p),
				Frame("/usr/lib/python3.11/asyncio/base_events.py", 629, "run_until_complete", "self._check_running()"),
				Frame("/usr/lib/python3.11/asyncio/base_events.py", 588, "_check_running", "raise RuntimeError('This event loop is already running')"))))
		default:
			allOK(15)
		}
	case "CreateAsyncRun":
		if syncInLoop && l != scan.LoopNest {
			both(2, WithFrames(asyncioRun, []scan.Frame{
				Frame("/tmp/g4fdiag-x/harness.py", 210, "run_call", "result = client.chat.completions.create(**kwargs)"),
				Frame(G4F+"/Provider/CreateAsyncRun.py", 24, "create_completion", "yield asyncio.run(cls.create_async(model, messages))"),
				Frame("/usr/lib/python3.11/asyncio/runners.py", 186, "run", "raise RuntimeError("),
			}))
		} else {
			allOK(9)
		}
	case "DeadlockLoop":
		if syncInLoop {
			o.End = scan.EndBlocked
			o.DurationMS = 2104
			o.Calls = []scan.Call{{Index: 0, Outcome: scan.OutcomePending, DurationMS: 2100}, {Index: 1, Outcome: scan.OutcomePending, DurationMS: 2100}}
			o.Stacks = &scan.Stacks{
				BlockedMS: 2100,
				LoopThread: "Thread 0x00007f3a1c7fe640 (most recent call first):\n" +
					"  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n" +
					"  File \"/usr/lib/python3.11/concurrent/futures/_base.py\", line 451 in result\n" +
					"  File \"" + G4F + "/Provider/DeadlockLoop.py\", line 30 in create_completion\n" +
					"  File \"" + G4F + "/client/__init__.py\", line 80 in create\n" +
					"  File \"/tmp/g4fdiag-x/harness.py\", line 210 in run_call\n",
				Threads: "Thread 0x00007f3a1c7fe640 (most recent call first):\n" +
					"  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n" +
					"  File \"/usr/lib/python3.11/concurrent/futures/_base.py\", line 451 in result\n" +
					"  File \"" + G4F + "/Provider/DeadlockLoop.py\", line 30 in create_completion\n" +
					"\nThread 0x00007f3a1d7ff640 (most recent call first):\n" +
					"  File \"/usr/lib/python3.11/selectors.py\", line 468 in select\n" +
					"  File \"/tmp/g4fdiag-x/harness.py\", line 95 in serve\n",
				Tasks: "Task-7 pending: <Task pending name='Task-7' coro=<DeadlockLoop._answer() running at " + G4F + "/Provider/DeadlockLoop.py:18>>\n",
			}
		} else {
			allOK(8)
		}
	case "BlockingSleep":
		if syncInLoop && l == scan.LoopUvloop {
			o.End = scan.EndBlocked
			o.DurationMS = 1530
			o.Calls = []scan.Call{{Index: 0, Outcome: scan.OutcomePending, DurationMS: 1500}}
			o.Stacks = &scan.Stacks{BlockedMS: 1500,
				LoopThread: "Traceback (most recent call last):\n" +
					"  File \"/tmp/g4fdiag-x/harness.py\", line 210, in run_call\n    result = client.chat.completions.create(**kwargs)\n" +
					"  File \"" + G4F + "/Provider/BlockingSleep.py\", line 14, in create_completion\n    time.sleep(3)\n"}
		} else {
			allOK(20)
		}
	case "ThreadLocalLoop":
		if m == scan.ModeBaseline {
			both(1, WithFrames(noThreadLoop, []scan.Frame{
				Frame("/tmp/g4fdiag-x/harness.py", 180, "baseline_call", "result = client.chat.completions.create(**kwargs)"),
				Frame(G4F+"/Provider/ThreadLocalLoop.py", 17, "create_completion", "loop = asyncio.get_event_loop()"),
				Frame("/usr/lib/python3.11/asyncio/events.py", 677, "get_event_loop", "raise RuntimeError('There is no current event loop in thread %r.'"),
			}))
		} else {
			allOK(11)
		}
	case "StallStream":
		switch {
		case streaming:
			o.End = scan.EndDeadline
			o.DurationMS = 5003
			o.Calls = []scan.Call{
				{Index: 0, Outcome: scan.OutcomePending, Chunks: 2, FirstChunkMS: 5, MaxGapMS: 7, LastChunkMS: 12, DurationMS: 5001},
				{Index: 1, Outcome: scan.OutcomePending, Chunks: 2, FirstChunkMS: 6, MaxGapMS: 7, LastChunkMS: 13, DurationMS: 5001},
			}
			o.Stacks = &scan.Stacks{Tasks: "<Task pending name='Task-2' coro=<StallStream.create_async_generator() running at " +
				G4F + "/Provider/StallStream.py:22> wait_for=<Future pending>>\n"}
		case m == scan.ModeAsync && l == scan.LoopUvloop:
			o.End = scan.EndDeadline
			o.DurationMS = 5002
			o.Calls = []scan.Call{{Index: 0, Outcome: scan.OutcomePending, DurationMS: 5000}, {Index: 1, Outcome: scan.OutcomePending, DurationMS: 5000}}
		default:
			allOK(14)
		}
	case "NetworkDown":
		both(4, NetworkChain(m, p)...)
		o.Log = "Error fetching https://network-down.invalid/v1: offline\n"
	case "NeedsAuth":
		both(1, WithFrames(scan.PyException{Type: "g4f.errors.MissingAuthError", Message: "Add a \"api_key\" or cookies\x1b[2J\x1b]0;pwned\x07"},
			append(SyncWrapperFrames(p)[:1], Frame(G4F+"/Provider/NeedsAuth.py", 12, "create_async_generator", "raise MissingAuthError('Add a \"api_key\" or cookies')"))))
		o.Log = "POST https://auth.invalid/v1 with Authorization: Bearer sk-live1234567890abcdefghijkl\n"
	case "ConcurrencyFlaky":
		switch {
		case m == scan.ModeSync && l == scan.LoopNest:
			o.Calls = []scan.Call{OKCall(0, 0, 30), ErrorCall(1, 31, WithFrames(NestTask, SyncWrapperFrames(p)))}
			o.DurationMS = 33
		case m == scan.ModeAsyncStream && l == scan.LoopUvloop:
			o.End = scan.EndCrashed
			o.DurationMS = 41
			o.Calls = []scan.Call{{Index: 0, Outcome: scan.OutcomePending, Chunks: 1, FirstChunkMS: 4, LastChunkMS: 4, DurationMS: 40}}
			o.Worker = &scan.WorkerInfo{PID: 4242, ExitStatus: "signal: segmentation fault",
				StderrTail: "Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f3a1c7fe640 (most recent call first):\n  File \"" + G4F + "/Provider/ConcurrencyFlaky.py\", line 33 in create_async_generator\n"}
		default:
			allOK(18)
		}
	case "RetiredProvider":
		o.End = scan.EndNotWorking
		o.SkipReason = "provider class is marked working = False"
	default:
		panic(fmt.Sprintf("sample: unknown provider %s", p))
	}
	return o
}

// sampleObservations is the sample scan in a shuffled order, as cells finish.
func Observations() []scan.Observation {
	var obs []scan.Observation
	for _, l := range []scan.Loop{scan.LoopUvloop, scan.LoopAsyncio, scan.LoopNest} {
		for i := len(Providers) - 1; i >= 0; i-- {
			for _, m := range scan.AllModes {
				obs = append(obs, Cell(Providers[i].Name, m, l))
			}
		}
	}
	return obs
}

// ObservationsWith is the sample scan with some cells replaced (by
// provider, mode and loop) and some left out.
func ObservationsWith(replace []scan.Observation, drop ...scan.Cell) []scan.Observation {
	byKey := map[string]scan.Observation{}
	for _, o := range replace {
		byKey[o.Key()] = o
	}
	gone := map[string]bool{}
	for _, c := range drop {
		gone[c.Key()] = true
	}
	var obs []scan.Observation
	for _, o := range Observations() {
		if gone[o.Key()] {
			continue
		}
		if r, ok := byKey[o.Key()]; ok {
			o = r
		}
		obs = append(obs, o)
	}
	return obs
}

// Command is the command line the sample scan ran (with a key to redact).
const Command = "g4fdiag check --demo --concurrency 2 --api-key sk-testkeyABCDEFGHIJKLMNOP123456"

// samplePlan is the plan of the sample scan.
func Plan() scan.Plan {
	names := make([]string, len(Providers))
	for i, p := range Providers {
		names[i] = p.Name
	}
	return scan.Plan{Providers: names, Modes: scan.AllModes, Loops: scan.AllLoops,
		Concurrency: 2, Repeat: 1, Jobs: 4, Timeout: 5 * time.Second, BlockThreshold: time.Second, IncludeAuth: true}
}

// sampleEnvironment is the environment of the sample scan.
func Environment() scan.Environment {
	return scan.Environment{
		Python: "/usr/bin/python3", PythonVersion: "3.11.2", G4FVersion: "0.0.0-demo", G4FPath: G4F,
		Demo: true, NestModule: "nest_asyncio",
		Loops: []scan.LoopInfo{
			{Loop: scan.LoopAsyncio, Available: true},
			{Loop: scan.LoopNest, Available: true, Package: "nest_asyncio", Version: "1.5.6"},
			{Loop: scan.LoopUvloop, Available: true, Package: "uvloop", Version: "0.17.0"},
		},
	}
}

// sampleEvidenceModes are the modes of the evidence sample.
var EvidenceModes = []scan.Mode{scan.ModeSync, scan.ModeAsyncStream}

// sampleEvidenceObservations is a smaller scan for the evidence and JSON
// golden files: the sync and async-stream cells of the providers whose
// failures carry the most evidence.
func EvidenceObservations() []scan.Observation {
	keep := map[string]bool{"AsyncGenHealthy": true, "DeadlockLoop": true, "StallStream": true,
		"ConcurrencyFlaky": true, "NeedsAuth": true, "NetworkDown": true, "HealthySync": true}
	var obs []scan.Observation
	for _, o := range Observations() {
		if !keep[o.Provider] || (o.Mode != scan.ModeSync && o.Mode != scan.ModeAsyncStream) {
			continue
		}
		if (o.Provider == "NeedsAuth" || o.Provider == "NetworkDown") && (o.Mode != scan.ModeSync || o.Loop != scan.LoopUvloop) {
			continue
		}
		obs = append(obs, o)
	}
	return obs
}

// Observation is a cell of provider p that ended with end after the calls.
func Observation(p string, m scan.Mode, l scan.Loop, end scan.End, calls ...scan.Call) scan.Observation {
	return scan.Observation{Cell: scan.Cell{Provider: p, Mode: m, Loop: l, Concurrency: len(calls), Repeat: 1},
		End: end, Calls: calls, DurationMS: 10}
}

// remedyRun is what trying a remedy did in the sample scan: to-thread moves
// the sync call off the loop and answers; nest_asyncio under a stdlib
// stream trades the error for a hang; the others behave like the cell they
// become.
func remedyRun(of scan.Cell, rc scan.Cell) scan.Observation {
	var o scan.Observation
	switch {
	case rc.Remedy == scan.RemedyToThread:
		o = Cell("HealthySync", rc.Mode, rc.Loop)
	case rc.Remedy == scan.RemedyNest && of.Provider == "AsyncGenHealthy" && of.Mode == scan.ModeSyncStream:
		o = Cell(of.Provider, rc.Mode, rc.Loop)
		o.End, o.DurationMS = scan.EndDeadline, 5003
		o.Calls = []scan.Call{{Index: 0, Outcome: scan.OutcomePending, DurationMS: 5001}, {Index: 1, Outcome: scan.OutcomePending, DurationMS: 5001}}
	default:
		o = Cell(of.Provider, rc.Mode, rc.Loop)
	}
	o.Cell = rc
	return o
}

// Remedies are the re-runs of the sample scan with --verify-fixes: each
// loop failure re-run under every remedy scan.PlanRemedies plans for it,
// or the note of why one is not run.
func Remedies(loopFailures []scan.Cell) []scan.Observation {
	var obs []scan.Observation
	for _, c := range loopFailures {
		for _, p := range scan.PlanRemedies(c, Environment()) {
			if p.Cell == nil {
				obs = append(obs, p.NotRun(c))
				continue
			}
			obs = append(obs, remedyRun(c, *p.Cell))
		}
	}
	return obs
}
