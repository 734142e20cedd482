// Package pytext is the one reader of Python text: traceback frames and
// tracebacks, exception lines, chain markers and the order a chain is
// walked in, stack dumps with their thread headers, asyncio task stacks
// and task reprs, IPython (Jupyter) tracebacks. diag, diag/explain and diag/render read Python's text only
// through it, in the way go/scanner serves both the parser and gofmt.
//
// Where the readers of the same text differ on purpose (a strict exception
// line for free text, a loose one inside a traceback; a thread header that
// splits a dump, one that starts a dump in a log, one that only marks a
// block for display), each rule is a named dialect, style or option of one
// function here, never a second copy: merging two rules changes verdicts,
// and is a change of its own.
//
// The stack dumps DumpReader reads (DumpForm), a header and a frame of each:
//
//	faulthandler        Thread 0x00007f3a1c7fe640 (most recent call first):   File "/app/bot.py", line 17 in ask
//	py-spy dump         Thread 4242 (idle): "MainThread"                      wait (threading.py:327)
//	gdb py-bt           Thread 2 (Thread 0x7f… (LWP 4131) "python3"):  Traceback (most recent call first):  File "/app/bot.py", line 17, in ask
//	gdb py-bt-full      #4 Frame 0x7f3b…, for file /usr/lib/python3.11/selectors.py, line 468, in select (self=<…>, timeout=-1)
//	thread dump         # Thread: MainThread(140230044661440)                 File: "/app/bot.py", line 17, in ask
//	asyncio ps (3.14)   tid  task id  task name  coroutine stack …            4131  0x7f…  Task-3  sleep -> consume …
//	asyncio pstree      └── (T) Task-1                                        └──  consume bot.py:12
//
// The thread dump is what servers print on a signal with the snippet of
// gunicorn's example config (worker_int), which waitress and other WSGI
// apps use as well; neither server has a dump of its own. py-spy's
// --locals lines are skipped; py-bt-full's locals are read by
// ParseGdbFrame and not kept. Python 3.14's faulthandler "[name]" header
// and dump_traceback_later's "Timeout (0:00:30)!" head are faulthandler's.
//
// pytext reads text into frames and exceptions (repro/scan's Frame and
// PyException) and writes them back as Python would; it judges nothing.
// Which frame runs a loop, re-enters it or waits forever, and which
// exception of a chain a signature matches, are diag's. It imports only
// the standard library and repro/scan.
package pytext
