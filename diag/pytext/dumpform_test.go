package pytext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestDumpReaderGdbPyBt(t *testing.T) {
	t.Parallel()
	threads, rest := readDump(t, strings.Join([]string{
		`Thread 2 (Thread 0x7f3b2a1fe6c0 (LWP 4131) "python3"):`,
		"Traceback (most recent call first):",
		"  <built-in method acquire of _thread.lock object at remote 0x7f3b2a9c1f00>",
		`  File "/usr/lib/python3.11/threading.py", line 320, in wait`,
		"    waiter.acquire()",
		`  File "/app/worker.py", line 9, in consume`,
		"    item = q.get()",
		"",
		`Thread 1 (Thread 0x7f3b2b9a2740 (LWP 4130) "python3"):`,
		"Traceback (most recent call first):",
		"  Waiting for the GIL",
		`  File "/usr/lib/python3.11/selectors.py", line 468, in select`,
		"    fd_event_list = self._selector.poll(timeout, max_ev)",
		`  File "/app/bot.py", line 40, in <module>`,
		"    asyncio.run(main())",
		"(gdb) quit",
		"A debugging session is active.",
	}, "\n"))
	if rest != "A debugging session is active." || len(threads) != 2 {
		t.Fatalf("%d threads, ended at %q", len(threads), rest)
	}
	want := &DumpThread{Header: ThreadHeader{Text: `Thread 2 (Thread 0x7f3b2a1fe6c0 (LWP 4131) "python3"):`, ID: "2", Name: "python3", Form: FormGdb},
		Frames: []scan.Frame{
			{File: "/app/worker.py", Line: 9, Func: "consume", Code: "item = q.get()"},
			{File: "/usr/lib/python3.11/threading.py", Line: 320, Func: "wait", Code: "waiter.acquire()"},
		}}
	if !reflect.DeepEqual(threads[0], want) {
		t.Errorf("thread 2:\n%+v\nwant\n%+v", threads[0], want)
	}
	if got := threads[1].Frames[1]; got.Func != "select" || got.Code != "fd_event_list = self._selector.poll(timeout, max_ev)" {
		t.Errorf("thread 1 innermost %+v", got)
	}
	if l := threads[1].Header.DumpLabel(threads[1].Frames); l != "gdb thread 1" {
		t.Errorf("label %q", l)
	}
}

func TestDumpReaderGdbBarePyBt(t *testing.T) {
	t.Parallel()
	threads, _ := readDump(t, strings.Join([]string{
		"(gdb) py-bt",
		"Traceback (most recent call first):",
		`  File "/usr/lib/python3.12/selectors.py", line 468, in select`,
		"    fd_event_list = self._selector.poll(timeout, max_ev)",
		"  (unable to read python frame information)",
		`  File "/srv/bot.py", line 51, in <module>`,
	}, "\n")[len("(gdb) py-bt\n"):])
	if len(threads) != 1 || len(threads[0].Frames) != 2 {
		t.Fatalf("threads %+v", threads)
	}
	if l := threads[0].Header.DumpLabel(threads[0].Frames); l != "the thread gdb dumped" {
		t.Errorf("label %q", l)
	}
}

func TestDumpReaderGdbPyBtFull(t *testing.T) {
	t.Parallel()
	first := "#4 Frame 0x7f3b2a9d4a40, for file /usr/lib/python3.11/selectors.py, line 468, in select (self=<EpollSelector(_fd_to_key={}) at remote 0x7f3b2a9b8f50>, timeout=-1, max_ev=2, ready=[])"
	at, h, ok := FindThreadHeader("(gdb) py-bt-full")
	if ok {
		t.Fatalf("a prompt is no header: %d %+v", at, h)
	}
	at, h, ok = FindThreadHeader("gdb> " + first)
	if !ok || at != len("gdb> ") || h.Form != FormGdb {
		t.Fatalf("FindThreadHeader(py-bt-full frame) = %d %+v %v", at, h, ok)
	}
	threads, rest := readDump(t, strings.Join([]string{
		first,
		"    fd_event_list = self._selector.poll(timeout, max_ev)",
		"#5 <built-in method poll of select.epoll object at remote 0x7f3b2a9b8f90>",
		"#7  0x00007f3b2b6e1c2e in epoll_wait (epfd=3, events=0x55d1, maxevents=2, timeout=-1) at ../sysdeps/unix/sysv/linux/epoll_wait.c:30",
		"    at Objects/call.c:12",
		"#9 Frame 0x7f3b2a9d4800, for file /usr/lib/python3.11/asyncio/base_events.py, line 1884, in _run_once (self=<_UnixSelectorEventLoop(_timer_cancelled_count=0) at remote 0x7f3b2a9a0e10>, sched_count=0...(truncated)",
		"    event_list = self._selector.select(timeout)",
		"#14 Frame 0x7f3b2a9d4600, for file /app/my bot.py, line 40, in <module> ()",
		"    asyncio.run(main())",
		"$1 = 0",
	}, "\n"))
	if rest != "$1 = 0" || len(threads) != 1 {
		t.Fatalf("%d threads, ended at %q", len(threads), rest)
	}
	want := []scan.Frame{
		{File: "/app/my bot.py", Line: 40, Func: "<module>", Code: "asyncio.run(main())"},
		{File: "/usr/lib/python3.11/asyncio/base_events.py", Line: 1884, Func: "_run_once", Code: "event_list = self._selector.select(timeout)"},
		{File: "/usr/lib/python3.11/selectors.py", Line: 468, Func: "select", Code: "fd_event_list = self._selector.poll(timeout, max_ev)"},
	}
	if !reflect.DeepEqual(threads[0].Frames, want) {
		t.Errorf("frames\n%+v\nwant\n%+v", threads[0].Frames, want)
	}
	if _, locals, ok := ParseGdbFrame(first); !ok || !strings.HasPrefix(locals, "self=<EpollSelector") || !strings.HasSuffix(locals, "ready=[]") {
		t.Errorf("locals %q", locals)
	}
}

func TestDumpReaderThreadDump(t *testing.T) {
	t.Parallel()
	at, h, ok := FindThreadHeader("# Thread: ThreadPoolExecutor-0_0(140230044661440)")
	if !ok || at != 0 || h.Name != "ThreadPoolExecutor-0_0" || h.ID != "140230044661440" || h.Form != FormThreadDump {
		t.Fatalf("header %+v %v", h, ok)
	}
	threads, rest := readDump(t, strings.Join([]string{
		"# Thread: Thread-1 (serve)(140230044661440)",
		`File: "/usr/lib/python3.11/threading.py", line 995, in _bootstrap`,
		"  self._bootstrap_inner()",
		`File: "/app/server.py", line 30, in serve`,
		"  job = jobs.get()",
		`File: "/usr/lib/python3.11/queue.py", line 171, in get`,
		"  self.not_empty.wait()",
		"",
		"# Thread: MainThread(140230061448000)",
		`File: "/app/server.py", line 50, in <module>`,
		"[2025-05-02 10:16:04 +0000] [7] [INFO] Handling signal: int",
	}, "\n"))
	if rest != "[2025-05-02 10:16:04 +0000] [7] [INFO] Handling signal: int" || len(threads) != 2 {
		t.Fatalf("%d threads, ended at %q", len(threads), rest)
	}
	// most recent call last: the order is kept
	want := []scan.Frame{
		{File: "/usr/lib/python3.11/threading.py", Line: 995, Func: "_bootstrap", Code: "self._bootstrap_inner()"},
		{File: "/app/server.py", Line: 30, Func: "serve", Code: "job = jobs.get()"},
		{File: "/usr/lib/python3.11/queue.py", Line: 171, Func: "get", Code: "self.not_empty.wait()"},
	}
	if !reflect.DeepEqual(threads[0].Frames, want) {
		t.Errorf("frames\n%+v\nwant\n%+v", threads[0].Frames, want)
	}
	if l := threads[0].Header.DumpLabel(threads[0].Frames); l != `thread "Thread-1 (serve)"` {
		t.Errorf("label %q", l)
	}
}

func TestDumpReaderAsyncioPs(t *testing.T) {
	t.Parallel()
	threads, rest := readDump(t, strings.Join([]string{
		"tid        task id              task name            coroutine stack                                    awaiter chain                                      awaiter name    awaiter id     ",
		strings.Repeat("-", 180),
		"4131       0x7f3b2a9c0050       Task-1               TaskGroup._aexit -> TaskGroup.__aexit__ -> main                                                                       0x0            ",
		"4131       0x7f3b2a9c0230       consumer             Queue.get -> consume                               TaskGroup._aexit -> TaskGroup.__aexit__ -> main    Task-1          0x7f3b2a9c0050 ",
		"$ ",
	}, "\n"))
	if rest != "$ " || len(threads) != 2 {
		t.Fatalf("%d tasks, ended at %q", len(threads), rest)
	}
	if h := threads[1].Header; h.Name != "consumer" || h.ID != "0x7f3b2a9c0230" || h.DumpLabel(nil) != `task "consumer"` {
		t.Errorf("header %+v", h)
	}
	if want := []scan.Frame{{Func: "consume"}, {Func: "Queue.get"}}; !reflect.DeepEqual(threads[1].Frames, want) {
		t.Errorf("frames %+v", threads[1].Frames)
	}
	if want := []scan.Frame{{Func: "main"}, {Func: "TaskGroup.__aexit__"}, {Func: "TaskGroup._aexit"}}; !reflect.DeepEqual(threads[0].Frames, want) {
		t.Errorf("Task-1 frames %+v", threads[0].Frames)
	}
}

func TestDumpReaderAsyncioPstree(t *testing.T) {
	t.Parallel()
	threads, rest := readDump(t, strings.Join([]string{
		"└── (T) Task-1",
		"    └──  main /app/bot.py:40",
		"        └──  TaskGroup.__aexit__ /usr/lib/python3.14/asyncio/taskgroups.py:72",
		"            └──  TaskGroup._aexit /usr/lib/python3.14/asyncio/taskgroups.py:121",
		"                ├── (T) consumer",
		"                │   └──  consume /app/bot.py:12",
		"                │       └──  Queue.get /usr/lib/python3.14/asyncio/queues.py:186",
		"                └── (T) ticker",
		"                    └──  tick /app/bot.py:20",
		"                        └──  sleep /usr/lib/python3.14/asyncio/tasks.py:702",
		"└── (T) Task-9",
		"done",
	}, "\n"))
	if rest != "done" || len(threads) != 4 {
		t.Fatalf("%d tasks, ended at %q: %+v", len(threads), rest, threads)
	}
	names := []string{}
	for _, th := range threads {
		names = append(names, th.Header.Name)
	}
	if !reflect.DeepEqual(names, []string{"Task-1", "consumer", "ticker", "Task-9"}) {
		t.Errorf("tasks %q", names)
	}
	want := []scan.Frame{{File: "/app/bot.py", Line: 12, Func: "consume"}, {File: "/usr/lib/python3.14/asyncio/queues.py", Line: 186, Func: "Queue.get"}}
	if !reflect.DeepEqual(threads[1].Frames, want) {
		t.Errorf("consumer frames %+v", threads[1].Frames)
	}
	if len(threads[0].Frames) != 3 || threads[0].Frames[0].Func != "main" {
		t.Errorf("Task-1 frames %+v", threads[0].Frames)
	}
}

func TestMayStartDump(t *testing.T) {
	t.Parallel()
	for _, l := range []string{
		"Thread 0x00007f3a (most recent call first):", `Thread 1 (Thread 0x7f (LWP 2) "python3"):`, "Traceback (most recent call first):",
		"#4 Frame 0x7f, for file a.py, line 1, in f ()", "# Thread: MainThread(1)", "tid        task id              task name            coroutine stack",
		"└── (T) Task-1",
	} {
		if !MayStartDump(l) {
			t.Errorf("MayStartDump(%q) = false", l)
		}
		if _, _, ok := FindThreadHeader(l); !ok {
			t.Errorf("FindThreadHeader(%q) found none", l)
		}
	}
}

func TestDumpReaderPstreeDepthBounded(t *testing.T) {
	t.Parallel()
	r := NewDumpReader(ThreadHeader{Text: "└── (T) Task-1", Name: "Task-1", Form: FormAsyncioTree})
	for i := range 4 * maxTreeDepth {
		if _, ok := r.Feed(strings.Repeat("    ", i+1) + "└──  f /a.py:1"); !ok {
			t.Fatalf("line %d ended the tree", i)
		}
	}
	if len(r.path) > maxTreeDepth {
		t.Errorf("path holds %d nodes", len(r.path))
	}
	if th := r.Close(); th == nil || th.Header.Name != "Task-1" || len(th.Frames) != MaxDumpFrames {
		t.Errorf("task %+v", th)
	}
}
