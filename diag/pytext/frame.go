package pytext

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// frameLine matches a frame of a Python traceback ("File "x", line 3, in f")
// and of a faulthandler dump ("File "x", line 3 in f"), at any indentation.
var frameLine = regexp.MustCompile(`^\s*File "([^"]*)", line (\d+),? in (.*?)\s*$`)

// ParseFrameLine reads a traceback or faulthandler frame line.
func ParseFrameLine(line string) (scan.Frame, bool) {
	if !strings.Contains(line, `File "`) {
		return scan.Frame{}, false // the regexp needs it: spare it the lines that cannot be frames
	}
	m := frameLine.FindStringSubmatch(line)
	if m == nil {
		return scan.Frame{}, false
	}
	n, _ := strconv.Atoi(m[2])
	return scan.Frame{File: m[1], Line: n, Func: m[3]}, true
}

// pySpyFrame is a frame of py-spy dump: "    wait (threading.py:327)".
var pySpyFrame = regexp.MustCompile(`^\s+(\S(?:.*\S)?) \(([^()]+):(\d+)\)\s*$`)

// ParsePySpyFrame reads a py-spy dump frame line. py-spy's short paths
// ("asyncio/events.py", "threading.py") get a leading slash, so that they
// look like the absolute ones the frame tests know.
func ParsePySpyFrame(line string) (scan.Frame, bool) {
	m := pySpyFrame.FindStringSubmatch(line)
	if m == nil {
		return scan.Frame{}, false
	}
	n, _ := strconv.Atoi(m[3])
	return scan.Frame{File: pySpyPath(m[2]), Line: n, Func: m[1]}, true
}

func pySpyPath(p string) string {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "<") || (len(p) > 2 && p[1] == ':') {
		return p
	}
	return "/" + p
}

// CodeRule says which indented lines under a frame are its source line.
type CodeRule int

const (
	// CodeStack refuses the carets and tildes Python 3.11+ prints under
	// the failing expression (the stack reader, ParseStack).
	CodeStack CodeRule = iota
	// CodeBlock also refuses "[" lines: "[Previous line repeated N more
	// times]" (explain's traceback block).
	CodeBlock
)

// IsCode reports whether a trimmed, indented line under a frame is that
// frame's source line under the rule.
func IsCode(trimmed string, r CodeRule) bool {
	if trimmed == "" || trimmed[0] == '^' || trimmed[0] == '~' {
		return false
	}
	return r != CodeBlock || trimmed[0] != '['
}

// Reverse reverses frames in place: faulthandler and py-spy print the most
// recent call first, the readers hand frames on outermost first.
func Reverse(fs []scan.Frame) {
	for i, j := 0, len(fs)-1; i < j; i, j = i+1, j-1 {
		fs[i], fs[j] = fs[j], fs[i]
	}
}

// ParseStack reads the first stack of a traceback, a heartbeat stack, a
// faulthandler thread or a task's print_stack into frames, outermost first.
// A header saying "most recent call first" (faulthandler) reverses the
// frames; the first unindented line after a frame (the exception line, the
// next thread) ends the stack. Source lines follow CodeStack.
func ParseStack(text string) []scan.Frame {
	var frames []scan.Frame
	recentFirst := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if f, ok := ParseFrameLine(line); ok {
			frames = append(frames, f)
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			// a code line belongs to the frame above it
			if len(frames) > 0 && frames[len(frames)-1].Code == "" && IsCode(trimmed, CodeStack) {
				frames[len(frames)-1].Code = trimmed
			}
		case len(frames) > 0:
			// the next thread or exception starts
			if recentFirst {
				Reverse(frames)
			}
			return frames
		default:
			recentFirst = strings.Contains(line, "most recent call first")
		}
	}
	if recentFirst {
		Reverse(frames)
	}
	return frames
}

// FormatTraceback prints frames the way Python's traceback module does,
// without the exception line; "" for no frames. Paths are quoted with Go's
// %q, which is Python's quoting for every path a traceback holds in
// practice.
func FormatTraceback(frames []scan.Frame) string {
	if len(frames) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(TracebackHead + "\n")
	for _, f := range frames {
		b.WriteString("  File " + strconv.Quote(f.File) + ", line " + strconv.Itoa(f.Line) + ", in " + f.Func + "\n")
		if f.Code != "" {
			b.WriteString("    " + f.Code + "\n")
		}
	}
	return b.String()
}

// CoroRule says which task reprs ParseCoroRepr reads.
type CoroRule int

const (
	// CoroRunning reads "coro=<Name() running at FILE:LINE>", FILE may
	// hold spaces (a pending task's repr, hang analysis).
	CoroRunning CoroRule = iota
	// CoroRunningOrDone also reads "done, defined at", FILE without
	// spaces (asyncio debug mode's slow-callback warning).
	CoroRunningOrDone
)

var coroRepr = [...]*regexp.Regexp{
	CoroRunning:       regexp.MustCompile(`coro=<([^()<>\s]+)\(\) running at ([^<>]+?):(\d+)>`),
	CoroRunningOrDone: regexp.MustCompile(`coro=<([^\s(<>]+)\(\) (?:running|done, defined) at ([^\s>]+):(\d+)>`),
}

// ParseCoroRepr reads the frame a task repr says its coroutine runs at,
// anywhere in s.
func ParseCoroRepr(s string, r CoroRule) (scan.Frame, bool) {
	m := coroRepr[r].FindStringSubmatch(s)
	if m == nil {
		return scan.Frame{}, false
	}
	n, _ := strconv.Atoi(m[3])
	return scan.Frame{File: m[2], Line: n, Func: m[1]}, true
}
