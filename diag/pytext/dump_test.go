package pytext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// readDump feeds a dump's lines to a DumpReader the way explain does, and
// returns its threads and the line that ended it.
func readDump(t *testing.T, text string) ([]*DumpThread, string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	_, h, ok := FindThreadHeader(lines[0])
	if !ok {
		t.Fatalf("no dump header in %q", lines[0])
	}
	r := NewDumpReader(h)
	var threads []*DumpThread
	rest := ""
	for _, l := range lines[1:] {
		ended, ok := r.Feed(l)
		if ended != nil {
			threads = append(threads, ended)
		}
		if !ok {
			rest = l
			break
		}
	}
	if th := r.Close(); th != nil {
		threads = append(threads, th)
	}
	if r.Current() != nil || r.Threads() != len(threads) {
		t.Errorf("after Close: current %v, %d threads counted, %d read", r.Current(), r.Threads(), len(threads))
	}
	return threads, rest
}

func TestDumpReaderFaulthandler(t *testing.T) {
	t.Parallel()
	threads, rest := readDump(t, strings.Join([]string{
		"Thread 0x00007f3b28000640 (most recent call first):",
		`  File "/srv/app/g4f/Provider/Vercel.py", line 44 in create_completion`,
		`  File "/usr/lib/python3.11/threading.py", line 995 in _bootstrap`,
		"",
		"Current thread 0x00007f3b2b9a2740 (most recent call first):",
		"  <no Python frame>",
		"  ...",
		`  File "/srv/bot/main.py", line 12 in <module>`,
		"",
		"Current thread's C stack (most recent call first):",
		"  Binary file \"/usr/bin/python3.11\", at _Py_DumpExtensionModules+0x4d [0x55f1]",
		"  <cannot get C stack on this system>",
		"Extension modules: multidict._multidict, yarl._quoting_c (total: 2)",
		"Segmentation fault (core dumped)",
	}, "\n"))
	if rest != "Segmentation fault (core dumped)" {
		t.Errorf("the dump ended at %q", rest)
	}
	want := []*DumpThread{
		{Header: ThreadHeader{Text: "Thread 0x00007f3b28000640 (most recent call first):", ID: "0x00007f3b28000640"}, Frames: []scan.Frame{
			{File: "/usr/lib/python3.11/threading.py", Line: 995, Func: "_bootstrap"},
			{File: "/srv/app/g4f/Provider/Vercel.py", Line: 44, Func: "create_completion"},
		}},
		{Header: ThreadHeader{Text: "Current thread 0x00007f3b2b9a2740 (most recent call first):", ID: "0x00007f3b2b9a2740", Current: true}, Frames: []scan.Frame{
			{File: "/srv/bot/main.py", Line: 12, Func: "<module>"},
		}},
	}
	if !reflect.DeepEqual(threads, want) {
		t.Errorf("threads:\n%+v\nwant\n%+v", threads, want)
	}
}

func TestDumpReaderPySpy(t *testing.T) {
	t.Parallel()
	threads, rest := readDump(t, strings.Join([]string{
		`Thread 4242 (idle): "MainThread"`,
		"    wait (threading.py:327)",
		"        Arguments:",
		"            self: <Condition at 0x7f>",
		"    run (asyncio/runners.py:118)",
		`Thread 4301 (idle): "ThreadPoolExecutor-0_0"`,
		"    _worker (concurrent/futures/thread.py:81)",
		"",
	}, "\n"))
	if rest != "" || len(threads) != 2 {
		t.Fatalf("%d threads, ended at %q", len(threads), rest)
	}
	if want := []scan.Frame{{File: "/asyncio/runners.py", Line: 118, Func: "run"}, {File: "/threading.py", Line: 327, Func: "wait"}}; !reflect.DeepEqual(threads[0].Frames, want) {
		t.Errorf("MainThread frames %+v", threads[0].Frames)
	}
	if h := threads[1].Header; h.Name != "ThreadPoolExecutor-0_0" || h.ID != "4301" || h.DumpLabel(threads[1].Frames) != `thread "ThreadPoolExecutor-0_0"` {
		t.Errorf("second header %+v", h)
	}
}

func TestDumpReaderKeepsEnds(t *testing.T) {
	t.Parallel()
	r := NewDumpReader(ThreadHeader{Text: "Stack (most recent call first):", Current: true})
	for i := range 2 * MaxDumpFrames {
		r.Feed(`  File "/srv/f.py", line ` + strings.Repeat("1", 1+i%3) + " in f" + string(rune('a'+i%26)))
	}
	th := r.Close()
	if len(th.Frames) != MaxDumpFrames {
		t.Fatalf("%d frames kept, want %d", len(th.Frames), MaxDumpFrames)
	}
	// the innermost (printed first) and the outermost (printed last) stay
	if th.Frames[len(th.Frames)-1].Func != "fa" || th.Frames[0].Func != "f"+string(rune('a'+(2*MaxDumpFrames-1)%26)) {
		t.Errorf("ends %q … %q", th.Frames[0].Func, th.Frames[len(th.Frames)-1].Func)
	}
}

func TestIsFaultTimeout(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]bool{
		"Timeout (0:00:30)!":        true,
		"Timeout (1:02:03.500000)!": true,
		"Timeout (30s)!":            false,
		"Timeout waiting for x":     false,
	} {
		if IsFaultTimeout(line) != want {
			t.Errorf("IsFaultTimeout(%q) = %v", line, !want)
		}
	}
}
