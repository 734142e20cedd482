package pytext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// The header forms: faulthandler's (with the 3.14 name), the harness's
// heartbeat, faulthandler's "Stack" of dump_traceback(all_threads=False),
// py-spy's, and the loose forms a report shows as blocks.
const (
	hFault    = "Thread 0x00007f3a1c7fe640 (most recent call first):"
	hCurrent  = "Current thread 0x00007f3b2b9a2740 (most recent call first):"
	hFault314 = "Thread 0x00007f3a1c7fe640 [g4fdiag-cell-9] (most recent call first):"
	hBeat     = `Thread 0x7f3a1c7fe640 "g4fdiag-cell-4" (most recent call last):`
	hStack    = "Stack (most recent call first):"
	hPySpy    = `Thread 4242 (idle): "MainThread"`
	hPySpyGIL = "Thread 0x7F3A1C7FE640 (active+gil)"
	hStackOf  = "Stack of <Thread(g4fdiag-cell-2)>"
	hComment  = "# Thread 7"
)

func TestParseThreadHeader(t *testing.T) {
	t.Parallel()
	type res struct {
		ok            bool
		id, name      string
		current       bool
		dumpLabelHead string // DumpLabel with no frames
	}
	for _, tt := range []struct {
		line                 string
		split, dump, display res
	}{
		{hFault, res{true, "0x00007f3a1c7fe640", "", false, ""}, res{true, "0x00007f3a1c7fe640", "", false, "thread 0x00007f3a1c7fe640"}, res{ok: true}},
		{hCurrent, res{true, "0x00007f3b2b9a2740", "", false, ""}, res{true, "0x00007f3b2b9a2740", "", true, "thread 0x00007f3b2b9a2740"}, res{ok: true}},
		{hFault314, res{true, "0x00007f3a1c7fe640", "g4fdiag-cell-9", false, ""}, res{true, "0x00007f3a1c7fe640", "", false, "thread 0x00007f3a1c7fe640"}, res{ok: true}},
		{hBeat, res{true, "0x7f3a1c7fe640", "g4fdiag-cell-4", false, ""}, res{}, res{ok: true}},
		{hStack, res{}, res{true, "", "", true, "the dumped thread"}, res{}},
		{hPySpy, res{}, res{true, "4242", "MainThread", false, `thread "MainThread"`}, res{ok: true}},
		{hPySpyGIL, res{true, "0x7F3A1C7FE640", "", false, ""}, res{true, "0x7F3A1C7FE640", "", false, "thread 0x7F3A1C7FE640"}, res{ok: true}},
		{hStackOf, res{}, res{}, res{ok: true}},
		{hComment, res{}, res{}, res{ok: true}},
		// a leading blank: HeaderDump reads a whole-line header, the others column 0 only
		{"  " + hFault, res{}, res{true, "0x00007f3a1c7fe640", "", false, "thread 0x00007f3a1c7fe640"}, res{}},
		{"\t" + hFault, res{}, res{true, "0x00007f3a1c7fe640", "", false, "thread 0x00007f3a1c7fe640"}, res{}},
		// more after the header
		{hFault + " and more", res{true, "0x00007f3a1c7fe640", "", false, ""}, res{}, res{ok: true}},
		{"Thread started", res{}, res{}, res{ok: true}},
	} {
		for _, c := range []struct {
			d    HeaderDialect
			want res
		}{{HeaderSplit, tt.split}, {HeaderDump, tt.dump}, {HeaderDisplay, tt.display}} {
			h, ok := ParseThreadHeader(tt.line, c.d)
			if ok != c.want.ok {
				t.Errorf("ParseThreadHeader(%q, %d) ok = %v", tt.line, c.d, ok)
				continue
			}
			if !ok || c.d == HeaderDisplay {
				continue
			}
			if h.ID != c.want.id || h.Name != c.want.name || h.Current != c.want.current || h.Text != strings.TrimSpace(tt.line) {
				t.Errorf("ParseThreadHeader(%q, %d) = %+v, want %+v", tt.line, c.d, h, c.want)
			}
			if c.d == HeaderDump {
				if got := h.DumpLabel(nil); got != c.want.dumpLabelHead {
					t.Errorf("DumpLabel(%q) = %q, want %q", tt.line, got, c.want.dumpLabelHead)
				}
			}
		}
	}
}

func TestThreadLabels(t *testing.T) {
	t.Parallel()
	module := []scan.Frame{{File: "/srv/bot/main.py", Line: 3, Func: "<module>"}, {File: "/srv/bot/main.py", Line: 9, Func: "main"}}
	worker := []scan.Frame{{File: "/usr/lib/python3.11/threading.py", Line: 995, Func: "_bootstrap"}}
	for _, tt := range []struct {
		line      string
		frames    []scan.Frame
		hang      string // HeaderSplit, HangLabel
		dump      string // HeaderDump, DumpLabel
		dumpParse bool
	}{
		{hFault, module, "main thread (0x00007f3a1c7fe640)", "main thread 0x00007f3a1c7fe640", true},
		{hFault, worker, "thread 0x00007f3a1c7fe640", "thread 0x00007f3a1c7fe640", true},
		{hFault314, worker, "g4fdiag-cell-9 (0x00007f3a1c7fe640)", "thread 0x00007f3a1c7fe640", true},
		{hBeat, module, "g4fdiag-cell-4 (0x7f3a1c7fe640)", "", false},
		{hPySpy, module, "", `thread "MainThread"`, true},
		{hStack, module, "", "the dumped thread", true},
	} {
		if h, ok := ParseThreadHeader(tt.line, HeaderSplit); ok != (tt.hang != "") || (ok && h.HangLabel(tt.frames) != tt.hang) {
			t.Errorf("HangLabel(%q) = %q, %v; want %q", tt.line, h.HangLabel(tt.frames), ok, tt.hang)
		}
		if h, ok := ParseThreadHeader(tt.line, HeaderDump); ok != tt.dumpParse || (ok && h.DumpLabel(tt.frames) != tt.dump) {
			t.Errorf("DumpLabel(%q) = %q, %v; want %q", tt.line, h.DumpLabel(tt.frames), ok, tt.dump)
		}
	}
	if got := (ThreadHeader{Text: "Thread"}).DumpLabel(nil); got != "a thread" {
		t.Errorf("a header without an id: %q", got)
	}
}

func TestFindThreadHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		at   int
		text string
		ok   bool
	}{
		{"api-1  | " + hCurrent, 9, hCurrent, true},
		{"2022-06-15T03:42:11.794121+00:00 app[web.1]: " + hPySpy, 45, hPySpy, true},
		{hStack, 0, hStack, true},
		{hBeat, 0, "", false}, // the heartbeat's is no dump header
		{"Thread 4242 (idle): \"MainThread\" and more", 0, "", false},
	} {
		at, h, ok := FindThreadHeader(tt.line)
		if ok != tt.ok || (ok && (at != tt.at || h.Text != tt.text)) {
			t.Errorf("FindThreadHeader(%q) = %d, %+v, %v", tt.line, at, h, ok)
		}
	}
}

func TestSplitThreads(t *testing.T) {
	t.Parallel()
	dump := "Fatal Python error: Aborted\n\n" +
		hFault314 + "\n  File \"/g4f/a.py\", line 3 in f\n\n" +
		hCurrent + "\n  File \"/srv/main.py\", line 1 in <module>\n" +
		hPySpy + "\n    wait (threading.py:327)\n" +
		hStack + "\n  File \"/srv/x.py\", line 2 in g\n" +
		"   " + hFault + "\n" +
		hComment + "\n"
	for _, tt := range []struct {
		d    HeaderDialect
		want []string
	}{
		// the text before the first header is no thread; only hex faulthandler ids at column 0 split
		{HeaderSplit, []string{
			hFault314 + "\n  File \"/g4f/a.py\", line 3 in f\n\n",
			hCurrent + "\n  File \"/srv/main.py\", line 1 in <module>\n" + hPySpy + "\n    wait (threading.py:327)\n" + hStack + "\n  File \"/srv/x.py\", line 2 in g\n   " + hFault + "\n" + hComment + "\n",
		}},
		// whole-line headers split, indented or not; "# Thread" does not
		{HeaderDump, []string{
			hFault314 + "\n  File \"/g4f/a.py\", line 3 in f\n\n",
			hCurrent + "\n  File \"/srv/main.py\", line 1 in <module>\n",
			hPySpy + "\n    wait (threading.py:327)\n",
			hStack + "\n  File \"/srv/x.py\", line 2 in g\n",
			"   " + hFault + "\n" + hComment + "\n",
		}},
		// the text before the first header is a block; "Stack (" is none, "# Thread" is one
		{HeaderDisplay, []string{
			"Fatal Python error: Aborted\n\n",
			hFault314 + "\n  File \"/g4f/a.py\", line 3 in f\n\n",
			hCurrent + "\n  File \"/srv/main.py\", line 1 in <module>\n",
			hPySpy + "\n    wait (threading.py:327)\n" + hStack + "\n  File \"/srv/x.py\", line 2 in g\n   " + hFault + "\n",
			hComment + "\n",
		}},
	} {
		if got := SplitThreads(dump, tt.d); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitThreads(%d) =\n%q\nwant\n%q", tt.d, got, tt.want)
		}
	}
	if got := SplitThreads("no header\n", HeaderSplit); len(got) != 0 {
		t.Errorf("a dump without headers split into %q", got)
	}
}
