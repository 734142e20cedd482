package diag

import (
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Hand-written stacks as the worker and the API servers record them:
// faulthandler dumps (most recent call first, no code lines), the
// heartbeat's traceback.format_stack of the loop thread (most recent call
// last, with code), and Task.print_stack output for the pending tasks.

const (
	py311     = "/usr/lib/python3.11"
	harnessPy = "/tmp/g4fdiag-x/harness.py"
	sitePkgs  = "/usr/lib/python3/dist-packages"
)

// workerIdleThreads are the threads of a worker besides the cells': the
// main thread reading requests and the heartbeat watchdog.
const workerIdleThreads = `Thread 0x00007f3a1f5ff640 (most recent call first):
  File "` + py311 + `/threading.py", line 331 in wait
  File "` + harnessPy + `", line 1110 in watchdog
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

Current thread 0x00007f3a21b9e740 (most recent call first):
  File "` + harnessPy + `", line 1598 in main
  File "` + harnessPy + `", line 1640 in <module>
`

// deadlockDump: the DeadlockLoop provider, called sync inside the cell's
// stdlib loop, blocks the loop thread on a future scheduled on that loop.
// Another cell's idle loop runs beside it.
const deadlockDump = `Thread 0x00007f3a1c7fe640 (most recent call first):
  File "` + py311 + `/threading.py", line 320 in wait
  File "` + py311 + `/concurrent/futures/_base.py", line 451 in result
  File "` + sample.G4F + `/Provider/DeadlockLoop.py", line 33 in create_completion
  File "` + sample.G4F + `/client/__init__.py", line 80 in create
  File "` + harnessPy + `", line 770 in call_sync
  File "` + harnessPy + `", line 1051 in loop_call
  File "` + py311 + `/asyncio/events.py", line 80 in _run
  File "` + py311 + `/asyncio/base_events.py", line 1922 in _run_once
  File "` + py311 + `/asyncio/base_events.py", line 607 in run_forever
  File "` + py311 + `/asyncio/base_events.py", line 640 in run_until_complete
  File "` + harnessPy + `", line 1005 in run_on_loop
  File "` + harnessPy + `", line 937 in run_cell
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

Thread 0x00007f3a1d7ff640 (most recent call first):
  File "` + py311 + `/selectors.py", line 468 in select
  File "` + py311 + `/asyncio/base_events.py", line 1884 in _run_once
  File "` + py311 + `/asyncio/base_events.py", line 607 in run_forever
  File "` + py311 + `/asyncio/base_events.py", line 640 in run_until_complete
  File "` + harnessPy + `", line 1005 in run_on_loop
  File "` + harnessPy + `", line 937 in run_cell
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

` + workerIdleThreads

// networkDump: an async-generator provider called sync-stream on the nest
// loop. g4f's to_sync_generator re-entered the loop (nest_asyncio), the
// nested loop sits idle in select and the chunk's task waits on an aiohttp
// read that never gets an answer. The heartbeat kept running (nested runs
// run its callbacks), so the cell reached its deadline.
const networkDump = `Thread 0x00007f3a1c7fe640 (most recent call first):
  File "` + py311 + `/selectors.py", line 468 in select
  File "` + py311 + `/asyncio/base_events.py", line 1884 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 133 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 92 in run_until_complete
  File "` + sample.G4F + `/providers/asyncio.py", line 57 in to_sync_generator
  File "` + harnessPy + `", line 775 in call_sync_stream
  File "` + harnessPy + `", line 1053 in loop_call
  File "` + py311 + `/asyncio/events.py", line 80 in _run
  File "` + sitePkgs + `/nest_asyncio.py", line 133 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 92 in run_until_complete
  File "` + harnessPy + `", line 1005 in run_on_loop
  File "` + harnessPy + `", line 937 in run_cell
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

` + workerIdleThreads

const networkTasks = `Stack for <Task pending name='Task-4' coro=<SlowNetwork.create_async_generator() running at ` + sample.G4F + `/Provider/SlowNetwork.py:27> wait_for=<Future pending cb=[Task.task_wakeup()]>> (most recent call last):
  File "` + sample.G4F + `/Provider/SlowNetwork.py", line 27, in create_async_generator
    async for chunk in response.content.iter_any():
  File "` + sitePkgs + `/aiohttp/streams.py", line 44, in __anext__
    rv = await self.read_func()
  File "` + sitePkgs + `/aiohttp/streams.py", line 470, in readany
    await self._wait("readany")
  File "` + sitePkgs + `/aiohttp/streams.py", line 347, in _wait
    await waiter
Stack for <Task pending name='Task-1' coro=<loop_main() running at ` + harnessPy + `:1030> wait_for=<_GatheringFuture pending cb=[Task.task_wakeup()]>> (most recent call last):
  File "` + harnessPy + `", line 1030, in loop_main
    await asyncio.gather(*[loop_call(cell, index, round_)
`

// sleepLoopThread: the heartbeat's stack of a loop thread an async
// generator holds in time.sleep, inside a nested run of g4f's sync wrapper.
const sleepLoopThread = `Thread 0x7f3a1c7fe640 "g4fdiag-cell-4" (most recent call last):
  File "` + py311 + `/threading.py", line 995, in _bootstrap
    self._bootstrap_inner()
  File "` + py311 + `/threading.py", line 1038, in _bootstrap_inner
    self.run()
  File "` + py311 + `/threading.py", line 975, in run
    self._target(*self._args, **self._kwargs)
  File "` + harnessPy + `", line 937, in run_cell
    run_on_loop(cell)
  File "` + harnessPy + `", line 1005, in run_on_loop
    loop.run_until_complete(loop_main(cell))
  File "` + sitePkgs + `/nest_asyncio.py", line 92, in run_until_complete
    self._run_once()
  File "` + sitePkgs + `/nest_asyncio.py", line 133, in _run_once
    handle._run()
  File "` + py311 + `/asyncio/events.py", line 80, in _run
    self._context.run(self._callback, *self._args)
  File "` + harnessPy + `", line 1053, in loop_call
    call_sync_stream(cell.call, rec)
  File "` + harnessPy + `", line 775, in call_sync_stream
    for chunk in API.sync_create(call.checked(), stream=True):
  File "` + sample.G4F + `/providers/asyncio.py", line 57, in to_sync_generator
    chunk = loop.run_until_complete(iterator.__anext__())
  File "` + sitePkgs + `/nest_asyncio.py", line 92, in run_until_complete
    self._run_once()
  File "` + sitePkgs + `/nest_asyncio.py", line 133, in _run_once
    handle._run()
  File "` + py311 + `/asyncio/events.py", line 80, in _run
    self._context.run(self._callback, *self._args)
  File "` + sample.G4F + `/Provider/SleepyStream.py", line 21, in create_async_generator
    time.sleep(5)
`

// stallTasks: the StallStream provider sent two chunks, then awaits an
// asyncio.Event nothing sets. The worker's dump shows its loop idle.
const stallTasks = `Stack for <Task pending name='Task-2' coro=<loop_call() running at ` + harnessPy + `:1057> wait_for=<Future pending cb=[Task.task_wakeup()]>> (most recent call last):
  File "` + harnessPy + `", line 1057, in loop_call
    await call_async_stream(cell.call, rec)
  File "` + harnessPy + `", line 796, in call_async_stream
    async for chunk in result:
  File "` + sample.G4F + `/Provider/StallStream.py", line 22, in create_async_generator
    await cls._never.wait()
  File "` + py311 + `/asyncio/locks.py", line 213, in wait
    await fut
`

const stallDump = `Thread 0x00007f3a1c7fe640 [g4fdiag-cell-9] (most recent call first):
  File "` + py311 + `/selectors.py", line 468 in select
  File "` + py311 + `/asyncio/base_events.py", line 1884 in _run_once
  File "` + py311 + `/asyncio/base_events.py", line 607 in run_forever
  File "` + py311 + `/asyncio/base_events.py", line 640 in run_until_complete
  File "` + harnessPy + `", line 1005 in run_on_loop
  File "` + harnessPy + `", line 937 in run_cell
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

` + workerIdleThreads

// apiServerDump: g4f's API server under uvicorn on uvloop, dumped at the
// request's deadline. The handler runs on the main thread's loop and
// blocks it in future.result(); uvloop's own frames are C, so the stack
// jumps from asyncio.run to the ASGI app. anyio's worker thread idles.
const apiServerDump = `Thread 0x00007f0d1b7fe6c0 (most recent call first):
  File "` + py311 + `/threading.py", line 324 in wait
  File "` + sitePkgs + `/anyio/_backends/_asyncio.py", line 869 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap

Current thread 0x00007f0d2c9e9b80 (most recent call first):
  File "` + py311 + `/threading.py", line 320 in wait
  File "` + py311 + `/concurrent/futures/_base.py", line 451 in result
  File "` + sample.G4F + `/Provider/DeadlockLoop.py", line 33 in create_completion
  File "` + sample.G4F + `/client/__init__.py", line 80 in create
  File "` + sample.G4F + `/api/__init__.py", line 112 in chat_completions
  File "` + sitePkgs + `/fastapi/routing.py", line 212 in run_endpoint_function
  File "` + sitePkgs + `/fastapi/routing.py", line 301 in app
  File "` + sitePkgs + `/starlette/routing.py", line 73 in app
  File "` + sitePkgs + `/starlette/_exception_handler.py", line 42 in wrapped_app
  File "` + sitePkgs + `/starlette/routing.py", line 76 in app
  File "` + sitePkgs + `/starlette/routing.py", line 288 in handle
  File "` + sitePkgs + `/starlette/routing.py", line 735 in app
  File "` + sitePkgs + `/starlette/middleware/errors.py", line 165 in __call__
  File "` + sitePkgs + `/starlette/applications.py", line 113 in __call__
  File "` + sitePkgs + `/fastapi/applications.py", line 1054 in __call__
  File "` + sitePkgs + `/uvicorn/middleware/proxy_headers.py", line 84 in __call__
  File "` + sitePkgs + `/uvicorn/protocols/http/httptools_impl.py", line 419 in run_asgi
  File "` + py311 + `/asyncio/runners.py", line 118 in run
  File "` + py311 + `/asyncio/runners.py", line 190 in run
  File "` + sitePkgs + `/uvicorn/server.py", line 61 in run
  File "` + harnessPy + `", line 1458 in serve_api
  File "` + harnessPy + `", line 1620 in main
  File "` + harnessPy + `", line 1640 in <module>
`

// sleepServerDump: g4f's API server on uvloop, its handler's sync provider
// in time.sleep on the loop thread (C: the dump's innermost frame is the
// provider's).
const sleepServerDump = `Current thread 0x00007f0d2c9e9b80 (most recent call first):
  File "` + sample.G4F + `/Provider/BlockingSleep.py", line 14 in create_completion
  File "` + sample.G4F + `/client/__init__.py", line 24 in create
  File "` + sample.G4F + `/api/__init__.py", line 317 in chat_completions
  File "` + sitePkgs + `/fastapi/routing.py", line 163 in run_endpoint_function
  File "` + sitePkgs + `/starlette/routing.py", line 66 in app
  File "` + sitePkgs + `/uvicorn/protocols/http/httptools_impl.py", line 419 in run_asgi
  File "` + py311 + `/asyncio/runners.py", line 118 in run
  File "` + py311 + `/asyncio/runners.py", line 190 in run
  File "` + sitePkgs + `/uvicorn/server.py", line 60 in run
  File "` + harnessPy + `", line 1458 in serve_api
  File "` + harnessPy + `", line 1593 in main
  File "` + harnessPy + `", line 1619 in <module>
`

// nestTaskDump: nest_asyncio re-entered the loop, asyncio refused the task
// switch (logged, raised to nobody) and the sync-stream call waits in the
// nested run for a chunk that never comes.
const nestTaskDump = `Thread 0x00007f3a1c7fe640 (most recent call first):
  File "` + py311 + `/selectors.py", line 468 in select
  File "` + py311 + `/asyncio/base_events.py", line 1884 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 133 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 92 in run_until_complete
  File "` + sample.G4F + `/providers/asyncio.py", line 57 in to_sync_generator
  File "` + sample.G4F + `/client/__init__.py", line 88 in create
  File "` + harnessPy + `", line 775 in call_sync_stream
  File "` + harnessPy + `", line 1053 in loop_call
  File "` + py311 + `/asyncio/events.py", line 80 in _run
  File "` + sitePkgs + `/nest_asyncio.py", line 133 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 92 in run_until_complete
  File "` + harnessPy + `", line 1005 in run_on_loop
  File "` + harnessPy + `", line 937 in run_cell
  File "` + py311 + `/threading.py", line 975 in run
  File "` + py311 + `/threading.py", line 1038 in _bootstrap_inner
  File "` + py311 + `/threading.py", line 995 in _bootstrap
`

// nestServerDump: g4f's API server on the stdlib loop with nest_asyncio,
// dumped at the request's deadline. The handler's sync call re-entered the
// loop in to_sync_generator; the nested run goes on serving callbacks (here
// h11 closing a connection) while the call's own task can never be stepped.
const nestServerDump = `Current thread 0x00007fe2531e22c0 (most recent call first):
  File "` + py311 + `/typing.py", line 341 in inner
  File "` + sitePkgs + `/h11/_state.py", line 310 in _fire_event_triggered_transitions
  File "` + sitePkgs + `/h11/_state.py", line 293 in process_event
  File "` + sitePkgs + `/h11/_connection.py", line 272 in _process_event
  File "` + sitePkgs + `/h11/_connection.py", line 512 in send
  File "` + sitePkgs + `/uvicorn/protocols/http/h11_impl.py", line 100 in connection_lost
  File "` + py311 + `/asyncio/selector_events.py", line 875 in _call_connection_lost
  File "` + py311 + `/asyncio/events.py", line 80 in _run
  File "` + sitePkgs + `/nest_asyncio.py", line 111 in _run_once
  File "` + sitePkgs + `/nest_asyncio.py", line 75 in run_until_complete
  File "` + sample.G4F + `/providers/asyncio.py", line 62 in to_sync_generator
  File "` + sample.G4F + `/providers/base_provider.py", line 69 in create_completion
  File "` + sample.G4F + `/client/__init__.py", line 24 in create
  File "` + sample.G4F + `/api/__init__.py", line 317 in chat_completions
  File "` + sitePkgs + `/fastapi/routing.py", line 163 in run_endpoint_function
  File "` + sitePkgs + `/starlette/routing.py", line 66 in app
  File "` + sitePkgs + `/starlette/middleware/base.py", line 70 in coro
  File "` + py311 + `/asyncio/tasks.py", line 267 in __step
  File "` + sitePkgs + `/nest_asyncio.py", line 183 in step
  File "` + py311 + `/asyncio/events.py", line 80 in _run
  File "` + sitePkgs + `/nest_asyncio.py", line 111 in _run_once
  File "` + py311 + `/asyncio/base_events.py", line 607 in run_forever
  File "` + py311 + `/asyncio/base_events.py", line 640 in run_until_complete
  File "` + py311 + `/asyncio/runners.py", line 118 in run
  File "` + py311 + `/asyncio/runners.py", line 190 in run
  File "` + sitePkgs + `/uvicorn/server.py", line 60 in run
  File "` + harnessPy + `", line 1458 in serve_api
  File "` + harnessPy + `", line 1593 in main
  File "` + harnessPy + `", line 1619 in <module>
`

// nestServerLog is what that server logged for the request.
const nestServerLog = "asyncio ERROR: Exception in callback Task.task_wakeup(<Future finished result=None>)\n" +
	"asyncio ERROR: RuntimeError: Cannot enter into task <Task pending name='Task-1' coro=<Server.serve() running at " + sitePkgs + "/uvicorn/server.py:80>> " +
	"while another task <Task pending name='starlette.middleware.base.BaseHTTPMiddleware.__call__.<locals>.call_next.<locals>.coro'> is being executed.\n"

// hungCell is a classified cell whose calls are still pending.
func hungCell(provider string, m scan.Mode, l scan.Loop, end scan.End, chunks int, st *scan.Stacks) CellReport {
	o := scan.Observation{
		Cell:       scan.Cell{Provider: provider, Mode: m, Loop: l, Concurrency: 1, Repeat: 1},
		End:        end,
		Started:    sample.Start,
		DurationMS: 5002,
		Calls:      []scan.Call{{Outcome: scan.OutcomePending, DurationMS: 5000, Chunks: chunks}},
		Stacks:     st,
	}
	if chunks > 0 {
		o.Calls[0].FirstChunkMS, o.Calls[0].LastChunkMS, o.Calls[0].MaxGapMS = 5, 12, 7
	}
	return CellReport{Observation: o, Verdict: Classify(o)}
}

func TestSummarizeHang(t *testing.T) {
	t.Parallel()
	nestTask := hungCell("Crowded", scan.ModeSyncStream, scan.LoopNest, scan.EndDeadline, 0,
		&scan.Stacks{Threads: nestTaskDump})
	nestTask.Log = "asyncio ERROR: Exception in callback Task.task_wakeup()\nRuntimeError: " + nestTask.Log + nestTaskMessage + "\n"
	nestTask.Verdict = Classify(nestTask.Observation)

	tests := []struct {
		name  string
		cell  CellReport
		class Class
		want  HangSummary
	}{
		{
			name: "loop thread in future.result (faulthandler dump)",
			cell: hungCell("DeadlockLoop", scan.ModeSync, scan.LoopAsyncio, scan.EndBlocked, 0,
				&scan.Stacks{LoopThread: pytext.SplitThreads(deadlockDump, pytext.HeaderSplit)[0], Threads: deadlockDump, BlockedMS: 1200}),
			class: ClassDeadlock,
			want: HangSummary{
				Kind:       "deadlock",
				LoopThread: "thread 0x00007f3a1c7fe640",
				WaitsOn:    "concurrent.futures Future.result() (threading.Condition.wait)",
				WaitFrame:  "g4f/Provider/DeadlockLoop.py:33 in create_completion",
				Sentence:   "Deadlock: the loop thread waits on a future that only this loop can complete.",
			},
		},
		{
			name: "loop idle in select, task waits on an aiohttp read",
			cell: hungCell("SlowNetwork", scan.ModeSyncStream, scan.LoopNest, scan.EndDeadline, 0,
				&scan.Stacks{Threads: networkDump, Tasks: networkTasks}),
			class: ClassTimeout,
			want: HangSummary{
				Kind:       "network",
				LoopThread: "thread 0x00007f3a1c7fe640",
				WaitsOn:    "socket recv / selectors.select (network I/O)",
				WaitFrame:  "g4f/Provider/SlowNetwork.py:27 in create_async_generator",
				Reentered:  "g4f/providers/asyncio.py:57 in to_sync_generator",
				Sentence:   "Network hang: the loop is idle in select while a call waits for a socket.",
			},
		},
		{
			name: "loop thread in time.sleep (heartbeat stack)",
			cell: hungCell("SleepyStream", scan.ModeSyncStream, scan.LoopNest, scan.EndBlocked, 0,
				&scan.Stacks{LoopThread: sleepLoopThread, BlockedMS: 1500}),
			class: ClassLoopBlocked,
			want: HangSummary{
				Kind:       "blocked",
				LoopThread: "g4fdiag-cell-4 (0x7f3a1c7fe640)",
				WaitsOn:    "time.sleep",
				WaitFrame:  "g4f/Provider/SleepyStream.py:21 in create_async_generator",
				Reentered:  "g4f/providers/asyncio.py:57 in to_sync_generator",
				Sentence:   "Blocked loop: a sync call holds the loop thread (time.sleep), so nothing else on the loop runs.",
			},
		},
		{
			name: "stream stalled on an asyncio.Event",
			cell: hungCell("StallStream", scan.ModeAsyncStream, scan.LoopAsyncio, scan.EndDeadline, 2,
				&scan.Stacks{Threads: stallDump, Tasks: stallTasks}),
			class: ClassStall,
			want: HangSummary{
				Kind:       "stall",
				LoopThread: "g4fdiag-cell-9 (0x00007f3a1c7fe640)",
				WaitsOn:    "asyncio.Event.wait in a task",
				WaitFrame:  "g4f/Provider/StallStream.py:22 in create_async_generator",
				Sentence:   "Stalled stream: the loop runs; the provider's generator waits forever after 2 chunks.",
			},
		},
		{
			name: "API server's main thread in uvicorn, handler in future.result",
			cell: hungCell("DeadlockLoop", scan.ModeAPIJSON, scan.LoopUvloop, scan.EndDeadline, 0,
				&scan.Stacks{Threads: apiServerDump}),
			class: ClassDeadlock,
			want: HangSummary{
				Kind:       "deadlock",
				LoopThread: "main thread (0x00007f0d2c9e9b80)",
				WaitsOn:    "concurrent.futures Future.result() (threading.Condition.wait)",
				WaitFrame:  "g4f/Provider/DeadlockLoop.py:33 in create_completion",
				Sentence:   "Deadlock: the API server's loop thread waits on a future that only this loop can complete.",
			},
		},
		{
			name:  "nest_asyncio task switch refused, logged, call hangs",
			cell:  nestTask,
			class: ClassLoopReentry,
			want: HangSummary{
				Kind:       "reentry",
				LoopThread: "thread 0x00007f3a1c7fe640",
				Reentered:  "g4f/providers/asyncio.py:57 in to_sync_generator",
				Sentence:   "Re-entry hang: nest_asyncio re-entered the running loop and asyncio refused the task switch, so the call waits for a task that never runs.",
			},
		},
		{
			name: "API server: nest_asyncio's nested run serving callbacks after a refused task switch",
			cell: func() CellReport {
				c := hungCell("StallStream", scan.ModeAPIJSON, scan.LoopNest, scan.EndDeadline, 0, &scan.Stacks{Threads: nestServerDump})
				c.Calls[0].ServerLog = nestServerLog
				c.Verdict = Classify(c.Observation)
				return c
			}(),
			class: ClassLoopReentry,
			want: HangSummary{
				Kind:       "reentry",
				LoopThread: "main thread (0x00007fe2531e22c0)",
				Reentered:  "g4f/providers/asyncio.py:62 in to_sync_generator",
				Sentence:   "Re-entry hang: nest_asyncio re-entered the running loop and asyncio refused the task switch, so the call waits for a task that never runs.",
			},
		},
		{
			// one snapshot of the loop thread inside a callback is the loop
			// running, not a blocked loop
			name:  "API server: loop thread caught in a transport callback",
			cell:  hungCell("StallStream", scan.ModeAPIJSON, scan.LoopNest, scan.EndDeadline, 0, &scan.Stacks{Threads: nestServerDump}),
			class: ClassTimeout,
			want: HangSummary{
				Kind:       "unknown",
				LoopThread: "main thread (0x00007fe2531e22c0)",
				Reentered:  "g4f/providers/asyncio.py:62 in to_sync_generator",
				Sentence:   "No answer: the loop runs, and no stack shows what the call waits on.",
			},
		},
		{
			name:  "API server: handler's provider in C on the loop thread",
			cell:  hungCell("BlockingSleep", scan.ModeAPIJSON, scan.LoopUvloop, scan.EndDeadline, 0, &scan.Stacks{Threads: sleepServerDump}),
			class: ClassTimeout,
			want: HangSummary{
				Kind:       "blocked",
				LoopThread: "main thread (0x00007f0d2c9e9b80)",
				WaitsOn:    "a call into C code (faulthandler shows only Python frames)",
				WaitFrame:  "g4f/Provider/BlockingSleep.py:14 in create_completion",
				Sentence:   "Blocked loop: a sync call holds the loop thread (a call into C code), so nothing else on the loop runs.",
			},
		},
		{
			name: "sample: heartbeat stack of DeadlockLoop",
			cell: func() CellReport {
				o := sample.Cell("DeadlockLoop", scan.ModeSync, scan.LoopNest)
				return CellReport{Observation: o, Verdict: Classify(o)}
			}(),
			class: ClassDeadlock,
			want: HangSummary{
				Kind:       "deadlock",
				LoopThread: "thread 0x00007f3a1c7fe640",
				WaitsOn:    "concurrent.futures Future.result() (threading.Condition.wait)",
				WaitFrame:  "g4f/Provider/DeadlockLoop.py:30 in create_completion",
				Sentence:   "Deadlock: the loop thread waits on a future that only this loop can complete.",
			},
		},
		{
			name: "sample: stall with only the task's repr",
			cell: func() CellReport {
				o := sample.Cell("StallStream", scan.ModeSyncStream, scan.LoopUvloop)
				return CellReport{Observation: o, Verdict: Classify(o)}
			}(),
			class: ClassStall,
			want: HangSummary{
				Kind:      "stall",
				WaitsOn:   "an asyncio Future in a task",
				WaitFrame: "g4f/Provider/StallStream.py:22 in StallStream.create_async_generator",
				Sentence:  "Stalled stream: the loop runs; the provider's generator waits forever after 2 chunks.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cell.Class != tt.class {
				t.Errorf("class %s (%s), want %s", tt.cell.Class, tt.cell.Evidence, tt.class)
			}
			got, ok := SummarizeHang(tt.cell)
			if !ok {
				t.Fatal("no hang summary")
			}
			if got != tt.want {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

const nestTaskMessage = "Cannot enter into task <Task pending name='Task-3' coro=<loop_call() running at /tmp/g4fdiag-x/harness.py:1053>> while another task <Task pending name='Task-4' coro=<Crowded.create_async_generator() running at /tmp/g4fdiag-demo/g4f/Provider/Crowded.py:21>> is being executed."

func TestSummarizeHangNotHung(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cell CellReport
	}{
		{"answered", func() CellReport {
			o := sample.Cell("HealthySync", scan.ModeSync, scan.LoopUvloop)
			return CellReport{Observation: o, Verdict: Classify(o)}
		}()},
		{"raised the conflict", func() CellReport {
			o := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
			return CellReport{Observation: o, Verdict: Classify(o)}
		}()},
		{"hung without stacks", hungCell("Slow", scan.ModeAsync, scan.LoopUvloop, scan.EndDeadline, 0, nil)},
		{"hung with empty stacks", hungCell("Slow", scan.ModeAsync, scan.LoopUvloop, scan.EndDeadline, 0, &scan.Stacks{Threads: "\n"})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if h, ok := SummarizeHang(tt.cell); ok {
				t.Errorf("summary for a cell that did not hang with stacks: %#v", h)
			}
		})
	}
}

// A worker's dump holds other cells' loop threads: a stuck one is not the
// loop of a cell that reached its deadline, and an idle one that does not
// show the provider may be anybody's.
func TestSummarizeHangOtherCellsThreads(t *testing.T) {
	t.Parallel()
	c := hungCell("StallStream", scan.ModeAsyncStream, scan.LoopAsyncio, scan.EndDeadline, 2,
		&scan.Stacks{Threads: deadlockDump})
	h, ok := SummarizeHang(c)
	if !ok {
		t.Fatal("no summary")
	}
	if h.Kind != "stall" || h.LoopThread != "" {
		t.Errorf("took another cell's thread: %#v", h)
	}
}

// Untrusted text in the stacks reaches the summary cleaned.
func TestSummarizeHangCleaned(t *testing.T) {
	t.Parallel()
	dump := strings.ReplaceAll(sleepLoopThread, "time.sleep(5)", "time.sleep(5)  # \x1b]0;owned\x07 api_key=sk-ABCDEFGHIJKLMNOPQRSTUVWX")
	dump = strings.ReplaceAll(dump, "SleepyStream.py", "Sleepy\x1b[31mStream.py")
	c := hungCell("SleepyStream", scan.ModeSyncStream, scan.LoopNest, scan.EndBlocked, 0, &scan.Stacks{LoopThread: dump})
	h, ok := SummarizeHang(c)
	if !ok {
		t.Fatal("no summary")
	}
	for _, s := range []string{h.LoopThread, h.WaitsOn, h.WaitFrame, h.Reentered, h.Sentence} {
		if strings.ContainsAny(s, "\x1b\a\n") || strings.Contains(s, "ABCDEFGHIJKLMNOP") {
			t.Errorf("summary field not cleaned: %q", s)
		}
	}
}
