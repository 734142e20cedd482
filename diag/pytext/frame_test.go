package pytext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestParseFrameLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		want scan.Frame
		ok   bool
	}{
		// a traceback's frame, a faulthandler dump's
		{`  File "/srv/g4f/Provider/Vercel.py", line 44, in create_completion`, scan.Frame{File: "/srv/g4f/Provider/Vercel.py", Line: 44, Func: "create_completion"}, true},
		{`  File "/usr/lib/python3.11/threading.py", line 320 in wait`, scan.Frame{File: "/usr/lib/python3.11/threading.py", Line: 320, Func: "wait"}, true},
		{`File "<stdin>", line 1, in <module>  `, scan.Frame{File: "<stdin>", Line: 1, Func: "<module>"}, true},
		{`File "C:\app\main.py", line 7, in main`, scan.Frame{File: `C:\app\main.py`, Line: 7, Func: "main"}, true},
		{`    response = client.chat.completions.create(`, scan.Frame{}, false},
		{`File "x.py", line 3`, scan.Frame{}, false},
	} {
		got, ok := ParseFrameLine(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseFrameLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParsePySpyFrame(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		want scan.Frame
		ok   bool
	}{
		// py-spy's short paths get a slash; absolute, pseudo and drive paths do not
		{"    wait (threading.py:327)", scan.Frame{File: "/threading.py", Line: 327, Func: "wait"}, true},
		{"    create_completion (g4f/providers/base_provider.py:60)", scan.Frame{File: "/g4f/providers/base_provider.py", Line: 60, Func: "create_completion"}, true},
		{"    run (/usr/lib/python3.11/asyncio/runners.py:118)", scan.Frame{File: "/usr/lib/python3.11/asyncio/runners.py", Line: 118, Func: "run"}, true},
		{"    <module> (<string>:1)", scan.Frame{File: "<string>", Line: 1, Func: "<module>"}, true},
		{`    main (C:\app\main.py:7)`, scan.Frame{File: `C:\app\main.py`, Line: 7, Func: "main"}, true},
		{"wait (threading.py:327)", scan.Frame{}, false}, // py-spy indents its frames
	} {
		got, ok := ParsePySpyFrame(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParsePySpyFrame(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		trimmed      string
		stack, block bool
	}{
		{"return asyncio.run(main())", true, true},
		{"^^^^^^^^^^^^", false, false},
		{"~~~~^^^^", false, false},
		{"[Previous line repeated 996 more times]", true, false},
		{"", false, false},
	} {
		if got := IsCode(tt.trimmed, CodeStack); got != tt.stack {
			t.Errorf("IsCode(%q, CodeStack) = %v", tt.trimmed, got)
		}
		if got := IsCode(tt.trimmed, CodeBlock); got != tt.block {
			t.Errorf("IsCode(%q, CodeBlock) = %v", tt.trimmed, got)
		}
	}
}

func TestParseStack(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, text string
		want       []scan.Frame
	}{
		{"traceback, code lines, carets skipped, stops at the exception line", strings.Join([]string{
			"Traceback (most recent call last):",
			`  File "/srv/bot/main.py", line 12, in <module>`,
			"    asyncio.run(main())",
			"    ^^^^^^^^^^^^^^^^^^^",
			`  File "/srv/g4f/client/__init__.py", line 80, in create`,
			"RuntimeError: asyncio.run() cannot be called from a running event loop",
			`  File "/not/read.py", line 1, in f`,
		}, "\n"), []scan.Frame{
			{File: "/srv/bot/main.py", Line: 12, Func: "<module>", Code: "asyncio.run(main())"},
			{File: "/srv/g4f/client/__init__.py", Line: 80, Func: "create"},
		}},
		{"faulthandler thread: most recent call first, reversed; the next thread ends it", strings.Join([]string{
			"Thread 0x00007f3a1c7fe640 (most recent call first):",
			`  File "/usr/lib/python3.11/threading.py", line 320 in wait`,
			`  File "/usr/lib/python3.11/concurrent/futures/_base.py", line 451 in result`,
			"",
			"Thread 0x00007f3a1d7ff640 (most recent call first):",
			`  File "/usr/lib/python3.11/selectors.py", line 468 in select`,
		}, "\n"), []scan.Frame{
			{File: "/usr/lib/python3.11/concurrent/futures/_base.py", Line: 451, Func: "result"},
			{File: "/usr/lib/python3.11/threading.py", Line: 320, Func: "wait"},
		}},
		{"heartbeat, CRLF", "Thread 0x7f3a1c7fe640 \"g4fdiag-cell-4\" (most recent call last):\r\n" +
			"  File \"/tmp/g4fdiag-x/harness.py\", line 210, in run_call\r\n    time.sleep(3)\r\n", []scan.Frame{
			{File: "/tmp/g4fdiag-x/harness.py", Line: 210, Func: "run_call", Code: "time.sleep(3)"},
		}},
		{"nothing", "no stack here\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseStack(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseStack = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFormatTracebackReadsBack(t *testing.T) {
	t.Parallel()
	frames := []scan.Frame{
		{File: "/srv/g4f/providers/asyncio.py", Line: 57, Func: "to_sync_generator", Code: "yield loop.run_until_complete(gen.__anext__())"},
		{File: `C:\g4f\Provider\Vercel.py`, Line: 44, Func: "create_completion"},
	}
	tb := FormatTraceback(frames)
	want := "Traceback (most recent call last):\n" +
		"  File \"/srv/g4f/providers/asyncio.py\", line 57, in to_sync_generator\n" +
		"    yield loop.run_until_complete(gen.__anext__())\n" +
		"  File \"C:\\\\g4f\\\\Provider\\\\Vercel.py\", line 44, in create_completion\n"
	if tb != want {
		t.Errorf("FormatTraceback =\n%s\nwant\n%s", tb, want)
	}
	if got := ParseStack(FormatTraceback(frames[:1])); !reflect.DeepEqual(got, frames[:1]) {
		t.Errorf("ParseStack(FormatTraceback) = %+v", got)
	}
	if FormatTraceback(nil) != "" {
		t.Error("no frames print a traceback")
	}
}

func TestParseCoroRepr(t *testing.T) {
	t.Parallel()
	const running = "<Task pending name='Task-4' coro=<SlowNetwork.create_async_generator() running at /srv/My Code/g4f/Provider/SlowNetwork.py:27> wait_for=<Future pending>>"
	const done = "Executing <Task finished name='Task-7' coro=<on_message() done, defined at /srv/bot/handlers.py:41> result=None> took 12.406 seconds"
	for _, tt := range []struct {
		s    string
		rule CoroRule
		want scan.Frame
		ok   bool
	}{
		{running, CoroRunning, scan.Frame{File: "/srv/My Code/g4f/Provider/SlowNetwork.py", Line: 27, Func: "SlowNetwork.create_async_generator"}, true},
		{running, CoroRunningOrDone, scan.Frame{}, false}, // no spaces in the path
		{done, CoroRunning, scan.Frame{}, false},
		{done, CoroRunningOrDone, scan.Frame{File: "/srv/bot/handlers.py", Line: 41, Func: "on_message"}, true},
	} {
		got, ok := ParseCoroRepr(tt.s, tt.rule)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseCoroRepr(%q, %d) = %+v, %v; want %+v, %v", tt.s, tt.rule, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTaskStacks(t *testing.T) {
	t.Parallel()
	text := "Stack for <Task pending name='Task-4' coro=<SlowNetwork.create_async_generator() running at /srv/g4f/Provider/SlowNetwork.py:27>> (most recent call last):\n" +
		"  File \"/srv/g4f/Provider/SlowNetwork.py\", line 27, in create_async_generator\n" +
		"    async with session.get(url) as r:\n" +
		"\n" +
		"<Task pending name='Task-1' coro=<loop_main() running at /tmp/harness.py:1030>>\n"
	got := TaskStacks(text)
	if len(got) != 2 {
		t.Fatalf("%d tasks, want 2: %+v", len(got), got)
	}
	if want := []scan.Frame{{File: "/srv/g4f/Provider/SlowNetwork.py", Line: 27, Func: "create_async_generator", Code: "async with session.get(url) as r:"}}; !reflect.DeepEqual(got[0].AllFrames(), want) {
		t.Errorf("task 1 frames %+v", got[0].AllFrames())
	}
	// a repr alone: the frame its coroutine runs at
	if want := []scan.Frame{{File: "/tmp/harness.py", Line: 1030, Func: "loop_main"}}; got[1].Frames != nil || !reflect.DeepEqual(got[1].AllFrames(), want) {
		t.Errorf("task 2 frames %+v, all %+v", got[1].Frames, got[1].AllFrames())
	}
	if !strings.HasPrefix(got[0].Header, "Stack for <Task pending name='Task-4'") || strings.Count(got[0].Text, "\n") != 3 {
		t.Errorf("task 1 header %q text %q", got[0].Header, got[0].Text)
	}
}
