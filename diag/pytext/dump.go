package pytext

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// MaxDumpFrames bounds the frames DumpReader keeps of one thread; past it
// the middle of the stack is dropped.
const MaxDumpFrames = 512

// DumpThread is one thread of a stack dump.
type DumpThread struct {
	Header ThreadHeader
	// Frames, most recent call first while the thread is read, outermost
	// first once DumpReader hands it on.
	Frames []scan.Frame
}

func (t *DumpThread) add(f scan.Frame) {
	if len(t.Frames) >= MaxDumpFrames {
		half := MaxDumpFrames / 2
		t.Frames = append(t.Frames[:half], t.Frames[len(t.Frames)-half+1:]...)
	}
	t.Frames = append(t.Frames, f)
}

// DumpReader reads a stack dump line by line, as a log holds it: it
// starts at a HeaderDump header (FindThreadHeader), and each thread (each
// task, for the asyncio forms) is handed on when it ends, so only one is
// held at a time. The form of the first header decides how the lines read
// (DumpForm). Frame lines are frames; the tools' notes (faulthandler's
// "<no Python frame>", "...", the C stack and extension module lists;
// gdb's "<built-in method …>", "Waiting for the GIL", C frames and
// prompts) are skipped; an indented line under a frame is its source line
// where the tool prints one (gdb, thread dumps), else skipped (py-spy
// --locals); a line that is a whole header starts the next thread; any
// other line ends the dump.
type DumpReader struct {
	cur     *DumpThread
	threads int
	form    DumpForm
	// the line read last was a frame: only then is an indented line its
	// source (gdb wraps a long C frame onto an indented line)
	afterFrame bool
	// the asyncio pstree nodes from the root to the line read last
	path []treeNode
}

// treeNode is a node of an asyncio pstree: its depth, and the task it
// belongs to (its own header for a task node).
type treeNode struct {
	depth int
	task  ThreadHeader
}

// NewDumpReader starts a dump at the header of its first thread.
func NewDumpReader(h ThreadHeader) *DumpReader {
	r := &DumpReader{cur: &DumpThread{Header: h}, threads: 1, form: h.Form}
	switch {
	case h.lead != "":
		r.cur.Header.lead = ""
		r.Feed(h.lead)
	case h.Form == FormAsyncioPs:
		r.cur, r.threads = nil, 0 // the table's head is no task
	case h.Form == FormAsyncioTree:
		r.path = []treeNode{{depth: 0, task: h}}
	}
	return r
}

// Form is the form of the dump, from its first header.
func (r *DumpReader) Form() DumpForm { return r.form }

// Feed reads the next line of the dump, a log's prefix already cut.
// consumed is false when the line is no part of the dump, which ended
// before it; ended is the thread a new header ended, frames outermost
// first.
func (r *DumpReader) Feed(body string) (ended *DumpThread, consumed bool) {
	trimmed := strings.TrimSpace(body)
	after := r.afterFrame
	r.afterFrame = false
	switch r.form {
	case FormAsyncioPs:
		return r.feedPs(trimmed)
	case FormAsyncioTree:
		return r.feedTree(body, trimmed)
	}
	switch {
	case trimmed == "", trimmed == "<no Python frame>", trimmed == "...",
		strings.HasPrefix(trimmed, "Extension modules:"), strings.HasPrefix(trimmed, "Current thread's C stack"),
		strings.HasPrefix(trimmed, "Binary file "), strings.HasPrefix(trimmed, "<cannot get C stack"):
		return nil, true
	case r.form == FormGdb && gdbNote(trimmed):
		return nil, true
	}
	if h, ok := ParseThreadHeader(body, HeaderDump); ok {
		if r.form == FormGdb && h.Text == pyBtHead && r.cur != nil && len(r.cur.Frames) == 0 {
			return nil, true // py-bt's head under gdb's thread header
		}
		ended = r.Close()
		r.cur = &DumpThread{Header: h}
		r.threads++
		return ended, true
	}
	if r.cur == nil {
		return nil, false
	}
	switch r.form {
	case FormGdb:
		if f, ok := ParseFrameLine(body); ok {
			r.cur.add(f)
			r.afterFrame = true
			return nil, true
		}
		if f, _, ok := ParseGdbFrame(trimmed); ok {
			r.cur.add(f)
			r.afterFrame = true
			return nil, true
		}
		return nil, r.code(body, trimmed, after)
	case FormThreadDump:
		if f, ok := parseThreadDumpFrame(body); ok {
			r.cur.add(f)
			r.afterFrame = true
			return nil, true
		}
		return nil, r.code(body, trimmed, after)
	}
	if f, ok := ParseFrameLine(body); ok {
		r.cur.add(f)
		return nil, true
	}
	if f, ok := ParsePySpyFrame(body); ok {
		r.cur.add(f)
		return nil, true
	}
	// py-spy --locals, a code line
	return nil, body != "" && (body[0] == ' ' || body[0] == '\t')
}

// code reads an indented line right under a frame as that frame's source
// line, and skips any other; false for a line at column 0, which ends the
// dump.
func (r *DumpReader) code(body, trimmed string, afterFrame bool) bool {
	if body == "" || (body[0] != ' ' && body[0] != '\t') {
		return false
	}
	if n := len(r.cur.Frames); afterFrame && n > 0 && r.cur.Frames[n-1].Code == "" && IsCode(trimmed, CodeStack) {
		r.cur.Frames[n-1].Code = trimmed
	}
	return true
}

// gdbNote reports whether a trimmed line is one gdb prints among the
// Python frames: a frame in C, the GIL or the collector, a frame it could
// not read, a C frame of a bt, its prompt, or its own Python's error.
func gdbNote(trimmed string) bool {
	if strings.HasPrefix(trimmed, "#") {
		rest := strings.TrimLeft(trimmed[1:], "0123456789")
		if len(rest) < len(trimmed)-1 && (rest == "" || rest[0] == ' ') {
			if _, _, ok := ParseGdbFrame(trimmed); !ok {
				return true // "#3 <built-in method …>", "#7  0x… in epoll_wait () from …"
			}
		}
	}
	for _, p := range []string{"<built-in ", "<method-wrapper ", "<wrapper_descriptor ", "Waiting for the GIL",
		"Garbage-collecting", "(unable to read python frame", "(frame information optimized out)", "(not a python frame)",
		"(gdb)", "[New LWP", "[New Thread", "[Thread debugging", "Python Exception <", "Error occurred in Python"} {
		if strings.HasPrefix(trimmed, p) {
			return true
		}
	}
	return false
}

// gdbFrame is a py-bt-full frame: '#4 Frame 0x7f…, for file F, line N, in f
// (locals)'.
var gdbFrame = regexp.MustCompile(`^#\d+ Frame 0x[0-9a-fA-F]+, for file (.+?), line (\d+), in (\S+)(?: \((.*))?$`)

// ParseGdbFrame reads a frame of gdb's py-bt-full, trimmed, and the locals
// it prints in parentheses after the function ("self=<…>, timeout=-1"; gdb
// cuts them at 1024 bytes, so the closing parenthesis may be missing).
func ParseGdbFrame(trimmed string) (f scan.Frame, locals string, ok bool) {
	if !strings.HasPrefix(trimmed, "#") || !strings.Contains(trimmed, ", for file ") {
		return scan.Frame{}, "", false
	}
	m := gdbFrame.FindStringSubmatch(trimmed)
	if m == nil {
		return scan.Frame{}, "", false
	}
	n, _ := strconv.Atoi(m[2])
	return scan.Frame{File: m[1], Line: n, Func: m[3]}, strings.TrimSuffix(m[4], ")"), true
}

// threadDumpFrame is a frame of a thread dump: 'File: "x", line 3, in f'.
var threadDumpFrame = regexp.MustCompile(`^\s*File: "([^"]*)", line (\d+), in (.*?)\s*$`)

func parseThreadDumpFrame(line string) (scan.Frame, bool) {
	if !strings.Contains(line, `File: "`) {
		return scan.Frame{}, false
	}
	m := threadDumpFrame.FindStringSubmatch(line)
	if m == nil {
		return scan.Frame{}, false
	}
	n, _ := strconv.Atoi(m[2])
	return scan.Frame{File: m[1], Line: n, Func: m[3]}, true
}

// psRow is a row of "python -m asyncio ps": thread id, task id, task
// name, then the coroutine stack ("sleep -> play", innermost first).
var psRow = regexp.MustCompile(`^(\d+)\s+(0x[0-9a-fA-F]+)\s+(\S+)\s+(\S+(?: -> \S+)*)`)

// feedPs reads a row of the asyncio ps table: each row is a task.
func (r *DumpReader) feedPs(trimmed string) (*DumpThread, bool) {
	if trimmed == "" || strings.Trim(trimmed, "-") == "" {
		return nil, true
	}
	m := psRow.FindStringSubmatch(trimmed)
	if m == nil {
		return nil, false
	}
	ended := r.Close()
	r.cur = &DumpThread{Header: ThreadHeader{Text: trimmed, ID: m[2], Name: m[3], Form: FormAsyncioPs}}
	r.threads++
	stack := m[4]
	if strings.HasPrefix(stack, "0x") && !strings.Contains(stack, " -> ") {
		stack = "" // no coroutine stack: the column read is the awaiter id
	}
	for _, fn := range strings.Split(stack, " -> ") {
		if fn != "" {
			r.cur.add(scan.Frame{Func: fn})
		}
	}
	return ended, true
}

// feedTree reads a line of an asyncio pstree: a task node starts a task,
// a coroutine node is a frame of the task it hangs under.
func (r *DumpReader) feedTree(body, trimmed string) (*DumpThread, bool) {
	if trimmed == "" {
		return nil, true
	}
	i := strings.Index(body, "── ")
	if i < 0 || strings.Trim(body[:i], " │├└") != "" {
		return nil, false
	}
	depth := utf8.RuneCountInString(body[:i]) / 4
	node := body[i+len("── "):]
	for len(r.path) > 0 && r.path[len(r.path)-1].depth >= depth {
		r.path = r.path[:len(r.path)-1]
	}
	if name, ok := strings.CutPrefix(node, "(T) "); ok {
		ended := r.Close()
		h := ThreadHeader{Text: strings.TrimSpace(node), Name: strings.TrimSpace(name), Form: FormAsyncioTree}
		r.cur = &DumpThread{Header: h}
		r.threads++
		r.push(treeNode{depth: depth, task: h})
		return ended, true
	}
	if len(r.path) == 0 {
		return nil, false
	}
	owner := r.path[len(r.path)-1].task
	r.push(treeNode{depth: depth, task: owner})
	var ended *DumpThread
	if r.cur == nil || r.cur.Header != owner {
		// the task's frames go on after a task of its own: a part of it
		ended = r.Close()
		r.cur = &DumpThread{Header: owner}
	}
	r.cur.add(treeFrame(strings.TrimSpace(node)))
	return ended, true
}

// maxTreeDepth bounds the pstree path held: a node deeper than that joins
// the deepest one kept.
const maxTreeDepth = 256

func (r *DumpReader) push(n treeNode) {
	if len(r.path) < maxTreeDepth {
		r.path = append(r.path, n)
	}
}

// treeFrame reads a pstree coroutine node: "consume bot.py:12", or a bare
// function name.
func treeFrame(node string) scan.Frame {
	fn, loc, ok := strings.Cut(node, " ")
	if !ok {
		return scan.Frame{Func: node}
	}
	if j := strings.LastIndexByte(loc, ':'); j > 0 {
		if n, err := strconv.Atoi(loc[j+1:]); err == nil {
			return scan.Frame{File: loc[:j], Line: n, Func: fn}
		}
	}
	return scan.Frame{Func: node}
}

// Close ends the thread being read and hands it on, frames outermost
// first; nil when there is none.
func (r *DumpReader) Close() *DumpThread {
	t := r.cur
	r.cur = nil
	if t != nil && r.form != FormThreadDump && r.form != FormAsyncioTree {
		Reverse(t.Frames) // the other tools print the most recent call first
	}
	return t
}

// Current is the thread being read, nil after Close.
func (r *DumpReader) Current() *DumpThread { return r.cur }

// Threads counts the threads (the tasks, for the asyncio forms) the dump
// held so far.
func (r *DumpReader) Threads() int { return r.threads }

// faultTimeout is the header faulthandler.dump_traceback_later prints.
var faultTimeout = regexp.MustCompile(`^Timeout \(\d+:\d\d:\d\d(?:\.\d+)?\)!`)

// IsFaultTimeout reports whether a trimmed line is faulthandler's
// "Timeout (0:00:30)!", printed before the dump of a timed-out process.
func IsFaultTimeout(trimmed string) bool {
	return strings.HasPrefix(trimmed, "Timeout (") && faultTimeout.MatchString(trimmed)
}

// TaskStack is one pending task of a loop: its repr line, its text, and
// the frames its print_stack showed.
type TaskStack struct {
	Text   string
	Header string
	Frames []scan.Frame
}

// TaskStacks cuts the pending-tasks text (Task.print_stack output, or one
// repr per line) into one stack per task: every unindented line starts a
// task.
func TaskStacks(text string) []TaskStack {
	var out []TaskStack
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		indented := strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if !indented || len(out) == 0 {
			out = append(out, TaskStack{Header: l})
		}
		t := &out[len(out)-1]
		t.Text += l + "\n"
	}
	for i := range out {
		out[i].Frames = ParseStack(out[i].Text)
	}
	return out
}

// AllFrames are the task's frames, else the frame its repr says its
// coroutine runs at (CoroRunning).
func (t TaskStack) AllFrames() []scan.Frame {
	if len(t.Frames) > 0 {
		return t.Frames
	}
	if f, ok := ParseCoroRepr(t.Header, CoroRunning); ok {
		return []scan.Frame{f}
	}
	return nil
}
