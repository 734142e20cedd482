package pytext

import (
	"regexp"
	"strings"

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

// DumpReader reads a faulthandler or py-spy dump line by line, as a log
// holds it: it starts at a HeaderDump header (FindThreadHeader), and each
// thread is handed on when it ends, so only one thread is held at a time.
// Frame lines of both tools are frames; faulthandler's notes ("<no Python
// frame>", "...", the C stack and extension module lists) and indented
// lines (py-spy --locals) are skipped; a line that is a whole header starts
// the next thread; any other line ends the dump.
type DumpReader struct {
	cur     *DumpThread
	threads int
}

// NewDumpReader starts a dump at the header of its first thread.
func NewDumpReader(h ThreadHeader) *DumpReader {
	return &DumpReader{cur: &DumpThread{Header: h}, threads: 1}
}

// Feed reads the next line of the dump, a log's prefix already cut.
// consumed is false when the line is no part of the dump, which ended
// before it; ended is the thread a new header ended, frames outermost
// first.
func (r *DumpReader) Feed(body string) (ended *DumpThread, consumed bool) {
	trimmed := strings.TrimSpace(body)
	switch {
	case trimmed == "", trimmed == "<no Python frame>", trimmed == "...",
		strings.HasPrefix(trimmed, "Extension modules:"), strings.HasPrefix(trimmed, "Current thread's C stack"),
		strings.HasPrefix(trimmed, "Binary file "), strings.HasPrefix(trimmed, "<cannot get C stack"):
		return nil, true
	}
	if h, ok := ParseThreadHeader(body, HeaderDump); ok {
		ended = r.Close()
		r.cur = &DumpThread{Header: h}
		r.threads++
		return ended, true
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

// Close ends the thread being read and hands it on, frames outermost
// first; nil when there is none.
func (r *DumpReader) Close() *DumpThread {
	t := r.cur
	r.cur = nil
	if t != nil {
		Reverse(t.Frames) // both tools print the most recent call first
	}
	return t
}

// Current is the thread being read, nil after Close.
func (r *DumpReader) Current() *DumpThread { return r.cur }

// Threads counts the threads the dump held so far.
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
