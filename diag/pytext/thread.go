package pytext

import (
	"regexp"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// HeaderDialect is one rule for what starts a thread's stack in a dump.
// The readers differ on purpose: each dialect is what one consumer has
// always read, and merging two changes which threads a dump holds.
type HeaderDialect int

const (
	// HeaderSplit is a faulthandler or heartbeat header at column 0:
	// "Thread 0x…" or "Current thread 0x…", hex ids only, anything after
	// the id; it reads the 3.14 "[name]" and the heartbeat's "name". Hang
	// analysis splits the dumps of a scan with it; the text before the
	// first header is no thread.
	HeaderSplit HeaderDialect = iota
	// HeaderDump is a whole header of a dump found in a log:
	// faulthandler's "(Current thread|Thread) 0x… [name] (most recent call
	// first):", "Stack (most recent call first):", or py-spy's
	// 'Thread 4242 (idle): "MainThread"'. The heartbeat's "most recent
	// call last" is not one.
	HeaderDump
	// HeaderDisplay is any line at column 0 (a tab allowed) starting
	// "Thread ", "Current thread ", "Stack of " or "# Thread": the blocks
	// a report shows. The text before the first header is a block too.
	HeaderDisplay
)

// DumpForm is the tool a dump came from: it decides which lines of the
// dump are frames, which are notes, and in which order the frames come.
type DumpForm int

// The forms DumpReader reads, with a line of each (see the package doc).
const (
	// FormFaulthandler: 'Thread 0x… (most recent call first):', frames
	// '  File "x", line 3 in f', most recent call first.
	FormFaulthandler DumpForm = iota
	// FormPySpy: 'Thread 4242 (idle): "MainThread"', frames
	// '    wait (threading.py:327)', most recent call first.
	FormPySpy
	// FormGdb: gdb's 'Thread 2 (Thread 0x… (LWP 4131) "python3"):' and
	// py-bt's 'Traceback (most recent call first):', frames in traceback
	// form with their source line, or py-bt-full's '#4 Frame 0x…, for file
	// F, line N, in f (locals)', most recent call first.
	FormGdb
	// FormThreadDump: the all-threads dump servers print on a signal
	// (gunicorn's worker_int example and the snippet it comes from):
	// '# Thread: MainThread(1403…)', frames 'File: "x", line 3, in f' with
	// their source line, most recent call last.
	FormThreadDump
	// FormAsyncioPs: Python 3.14's "python -m asyncio ps PID" table; each
	// row is a task, its coroutine stack 'sleep -> consume' innermost first.
	FormAsyncioPs
	// FormAsyncioTree: Python 3.14's "python -m asyncio pstree PID"; each
	// '(T) name' node is a task, the coroutine nodes under it its frames
	// 'consume bot.py:12', outermost first.
	FormAsyncioTree
)

// Tasks reports whether the form lists asyncio tasks rather than threads.
func (f DumpForm) Tasks() bool { return f == FormAsyncioPs || f == FormAsyncioTree }

// ThreadHeader is a thread's header line as a dialect read it.
type ThreadHeader struct {
	// Text is the header, trimmed; for HeaderDump, from the header on.
	Text string
	// ID is the thread id ("0x7f3a…", or py-spy's decimal id); Name the
	// thread's name (HeaderSplit: the 3.14 "[name]" or the heartbeat's
	// "name"), "" when the header has none or the dialect does not read it.
	ID, Name string
	// Current: faulthandler's "Current thread" or "Stack (…)", the thread
	// that crashed or dumped (HeaderDump).
	Current bool
	// Form is the tool whose header this is (HeaderDump).
	Form DumpForm
	// lead is a frame line that started the dump (py-bt-full prints no
	// header): NewDumpReader reads it first.
	lead string
}

// dumpHeaders are the HeaderDump headers, one row per form of header.
var dumpHeaders = []struct {
	re   *regexp.Regexp
	form DumpForm
}{
	{regexp.MustCompile(`(?:Current thread|Thread) 0x[0-9a-fA-F]+(?: \[[^\]]*\])? \(most recent call first\):|Stack \(most recent call first\):`), FormFaulthandler},
	{regexp.MustCompile(`Thread (?:0x[0-9A-Fa-f]+|\d+) \((?:idle|active|active\+gil|gil|waiting)\)(?:: "[^"]*")?[ \t]*$`), FormPySpy},
	{regexp.MustCompile(`Thread \d+ \((?:Thread 0x[0-9a-fA-F]+ \(LWP \d+\)|LWP \d+)(?: "[^"]*")?\):|` + regexp.QuoteMeta(pyBtHead)), FormGdb},
	{regexp.MustCompile(`# Thread: .*\(\d+\)[ \t]*$`), FormThreadDump},
	{regexp.MustCompile(`tid +task id +task name +coroutine (?:stack|chain)\b`), FormAsyncioPs},
	{regexp.MustCompile(`└── \(T\) \S`), FormAsyncioTree},
}

// pyBtHead is what gdb's py-bt prints before the frames of a thread.
const pyBtHead = "Traceback (most recent call first):"

var (
	// splitHeader: ID and name of a HeaderSplit header.
	splitHeader = regexp.MustCompile(`^(?:Current thread|Thread) (0x[0-9a-fA-F]+)(?: \[([^\]]*)\]| "([^"]*)")?`)
	threadID    = regexp.MustCompile(`\b(0x[0-9a-fA-F]+|\d+)\b`)
	gdbThread   = regexp.MustCompile(`^Thread (\d+) \((?:Thread (0x[0-9a-fA-F]+) )?\(?LWP (\d+)\)?(?: "([^"]*)")?\):`)
)

// MayStartDump is a cheap test that a line may hold a HeaderDump header or
// a py-bt-full frame, to spare the regexps the lines of a log that cannot.
func MayStartDump(line string) bool {
	return strings.Contains(line, "hread ") || strings.Contains(line, "Stack (") || strings.Contains(line, "call first") ||
		strings.Contains(line, "Frame 0x") || strings.Contains(line, "task id") || strings.Contains(line, "(T) ") ||
		strings.Contains(line, "# Thread:")
}

// matchDumpHeader finds a HeaderDump header in a line: where it starts and
// ends, and its form.
func matchDumpHeader(line string) (loc []int, form DumpForm) {
	for _, h := range dumpHeaders {
		if l := h.re.FindStringIndex(line); l != nil {
			return l, h.form
		}
	}
	return nil, 0
}

// ParseThreadHeader reads a line that is a thread header in the dialect.
// HeaderSplit reads the line from column 0, after leading blank lines are
// cut by the caller; HeaderDump wants the line to be nothing but the
// header (blanks aside); HeaderDisplay only says whether it is one.
func ParseThreadHeader(line string, d HeaderDialect) (ThreadHeader, bool) {
	switch d {
	case HeaderSplit:
		m := splitHeader.FindStringSubmatch(line)
		if m == nil {
			return ThreadHeader{}, false
		}
		return ThreadHeader{Text: strings.TrimSpace(line), ID: m[1], Name: m[2] + m[3]}, true
	case HeaderDump:
		loc, form := matchDumpHeader(line)
		if loc == nil || strings.TrimSpace(line[:loc[0]]) != "" || (form != FormThreadDump && form != FormAsyncioPs &&
			form != FormAsyncioTree && strings.TrimSpace(line[loc[1]:]) != "") {
			return ThreadHeader{}, false
		}
		return dumpThreadHeader(strings.TrimSpace(line), form), true
	case HeaderDisplay:
		if strings.HasPrefix(line, " ") || !(strings.HasPrefix(line, "Thread ") || strings.HasPrefix(line, "Current thread ") ||
			strings.HasPrefix(line, "Stack of ") || strings.HasPrefix(line, "# Thread")) {
			return ThreadHeader{}, false
		}
		return ThreadHeader{Text: strings.TrimSpace(line)}, true
	}
	return ThreadHeader{}, false
}

// FindThreadHeader finds a HeaderDump header anywhere in a line (a log's
// prefix may come before it) and returns where it starts. A py-bt-full
// frame line, which gdb prints with no header, starts a dump too.
func FindThreadHeader(line string) (int, ThreadHeader, bool) {
	if loc, form := matchDumpHeader(line); loc != nil {
		return loc[0], dumpThreadHeader(strings.TrimSpace(line[loc[0]:]), form), true
	}
	if i := strings.Index(line, "Frame 0x"); i >= 0 {
		at := strings.LastIndex(line[:i], "#")
		if at < 0 {
			return 0, ThreadHeader{}, false
		}
		if _, _, ok := ParseGdbFrame(line[at:]); ok {
			return at, ThreadHeader{Text: "py-bt-full", Form: FormGdb, lead: line[at:]}, true
		}
	}
	return 0, ThreadHeader{}, false
}

// dumpThreadHeader reads a HeaderDump header from its start.
func dumpThreadHeader(text string, form DumpForm) ThreadHeader {
	h := ThreadHeader{Text: text, Form: form}
	switch form {
	case FormGdb:
		if m := gdbThread.FindStringSubmatch(text); m != nil {
			h.ID, h.Name = m[1], m[4]
		}
		return h
	case FormThreadDump:
		name := strings.TrimSpace(strings.TrimPrefix(text, "# Thread:"))
		if i := strings.LastIndexByte(name, '('); i >= 0 {
			h.ID = strings.TrimSuffix(strings.TrimSpace(name[i+1:]), ")")
			h.Name = name[:i]
		}
		return h
	case FormAsyncioPs:
		return h
	case FormAsyncioTree:
		h.Name = strings.TrimSpace(strings.TrimPrefix(text, "└── (T)"))
		return h
	}
	h.Current = strings.HasPrefix(text, "Current thread") || strings.HasPrefix(text, "Stack ")
	if m := threadID.FindStringSubmatch(text); m != nil && !strings.HasPrefix(text, "Stack ") {
		h.ID = m[1]
	}
	if i := strings.Index(text, `: "`); i >= 0 && strings.HasSuffix(text, `"`) && len(text) >= i+4 {
		h.Name = text[i+3 : len(text)-1]
	}
	return h
}

// HangLabel names a HeaderSplit thread for a hang summary:
// "g4fdiag-cell-7 (0x7f3a…)", "main thread (0x…)" when its outermost
// frame is a module's, else "thread 0x…".
func (h ThreadHeader) HangLabel(frames []scan.Frame) string {
	switch {
	case h.Name != "":
		return h.Name + " (" + h.ID + ")"
	case len(frames) > 0 && frames[0].Func == "<module>":
		return "main thread (" + h.ID + ")"
	}
	return "thread " + h.ID
}

// DumpLabel names a HeaderDump thread for explain: gdb's thread number
// and name ('gdb thread 3 "llm-loop"', "gdb thread 1" when the name is
// the interpreter's, "the thread gdb dumped" under a bare py-bt), a task's name ('task "Task-3"'), py-spy's and a thread
// dump's name in quotes ('thread "MainThread"'), "the dumped thread" for "Stack (…)",
// "main thread 0x…" when its outermost frame is a module's, "thread 0x…",
// else "a thread". The 3.14 "[name]" is not read.
func (h ThreadHeader) DumpLabel(frames []scan.Frame) string {
	switch h.Form {
	case FormGdb:
		switch {
		case h.ID == "":
			return "the thread gdb dumped"
		case h.Name != "" && !strings.HasPrefix(h.Name, "python"):
			// before 3.14 a thread's name in gdb is the process's
			return "gdb thread " + h.ID + ` "` + h.Name + `"`
		}
		return "gdb thread " + h.ID
	case FormThreadDump:
		return `thread "` + h.Name + `"`
	case FormAsyncioPs, FormAsyncioTree:
		return `task "` + h.Name + `"`
	}
	header := h.Text
	if i := strings.Index(header, `: "`); i >= 0 && strings.HasSuffix(header, `"`) {
		return "thread " + header[i+2:]
	}
	if strings.HasPrefix(header, "Stack ") {
		return "the dumped thread"
	}
	id := ""
	if m := threadID.FindStringSubmatch(header); m != nil {
		id = m[1]
	}
	switch {
	case len(frames) > 0 && frames[0].Func == "<module>":
		return strings.TrimSpace("main thread " + id)
	case id != "":
		return "thread " + id
	}
	return "a thread"
}

// SplitThreads cuts a dump into one text per thread, each from its header
// line to the next header (line ends kept). HeaderSplit drops the text
// before the first header; HeaderDisplay keeps it as the first block.
// HeaderDump splits at lines that are nothing but a header.
func SplitThreads(dump string, d HeaderDialect) []string {
	var out []string
	start := -1
	if d == HeaderDisplay {
		start = 0
	}
	for i := 0; i < len(dump); {
		end := len(dump)
		if j := strings.IndexByte(dump[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		if _, ok := ParseThreadHeader(strings.TrimSuffix(dump[i:end], "\n"), d); ok {
			if start >= 0 && i > start {
				out = append(out, dump[start:i])
			}
			start = i
		}
		i = end
	}
	if start >= 0 && (start < len(dump) || d == HeaderDisplay) {
		out = append(out, dump[start:])
	}
	return out
}
