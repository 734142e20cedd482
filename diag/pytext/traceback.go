package pytext

import (
	"iter"
	"regexp"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// The lines that open a traceback and join the tracebacks of a chain.
const (
	TracebackHead = "Traceback (most recent call last):"
	MarkerContext = "During handling of the above exception, another exception occurred:"
	MarkerCause   = "The above exception was the direct cause of the following exception:"
)

// ChainMarker reads a trimmed chain marker line into the relation of the
// exception printed after it to the one before: "cause" (raise ... from),
// "context" (raised while handling).
func ChainMarker(trimmed string) (relation string, ok bool) {
	switch trimmed {
	case MarkerCause:
		return "cause", true
	case MarkerContext:
		return "context", true
	}
	return "", false
}

// caretLine is a line of the carets Python 3.11+ prints under the failing
// expression of a traceback line.
var caretLine = regexp.MustCompile(`(?m)^[ \t]*[\^~]+[ \t]*(?:\n|$)`)

// StripCarets removes the caret lines of a traceback text.
func StripCarets(tb string) string { return caretLine.ReplaceAllString(tb, "") }

// groupMargin is the margin Python 3.11+ draws around the tracebacks of an
// exception group: "  | " before each line, "  + " before the group's own
// "Exception Group Traceback", "  +-+---- 1 ----" between sub-exceptions.
var groupMargin = regexp.MustCompile(`^[ \t]*(?:\+-[+-]*(?: \d+ -+| \.\.\. -+)?[ \t]*$|[|+](?: |$))`)

// StripGroupMargin removes the exception group margins of a line (nested
// groups draw several, four are read); a separator line becomes blank.
func StripGroupMargin(line string) string {
	for range 4 {
		t := strings.TrimLeft(line, " \t")
		if t == "" || (t[0] != '|' && t[0] != '+') {
			return line
		}
		loc := groupMargin.FindStringIndex(line)
		if loc == nil {
			return line
		}
		line = line[loc[1]:]
	}
	return line
}

// --- IPython (Jupyter) tracebacks ---

var (
	// ipythonHead starts one: "RuntimeError      Traceback (most recent call last)".
	ipythonHead = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*\s+Traceback \(most recent call last\)$`)
	// ipythonRule is the line of dashes IPython prints above it.
	ipythonRule = regexp.MustCompile(`^-{20,}$`)
	// ipythonFile is a frame: "File ~/.venv/.../base_provider.py:40, in
	// AsyncProvider.create_completion(cls, model)" (IPython 8) or
	// "~/.venv/.../base_provider.py in create_completion(cls, model)" (7).
	ipythonFile = regexp.MustCompile(`^(?:File\s+(.+?):(\d+), in |(\S.*?\.py) in )([^\s(]+)`)
	// ipythonCell is the notebook cell's frame: "Cell In[3], line 3",
	// "Input In [3], in <cell line: 3>()" or "<ipython-input-3-…> in <module>";
	// in a function the cell defines, "Cell In[3], line 7, in ask(prompt)"
	// or "<ipython-input-3-…> in ask(prompt)".
	ipythonCell = regexp.MustCompile(`^(?:Cell In\s*\[(\d+)\], line (\d+)(?:, in ([A-Za-z_][A-Za-z0-9_.]*)\()?|Input In \[(\d+)\], in (?:<cell line: (\d+)>|([A-Za-z_][A-Za-z0-9_.]*)\()|(<ipython-input-[^>]*>) in (?:([A-Za-z_][A-Za-z0-9_.]*)\()?)`)
	// ipythonArrow marks the frame's current line: "---> 40 yield ...".
	ipythonArrow = regexp.MustCompile(`^-+> ?(\d+)\s?(.*)$`)
)

// IsIPythonHead reports whether a trimmed line opens an IPython traceback.
func IsIPythonHead(trimmed string) bool {
	return strings.Contains(trimmed, "Traceback (most recent call last)") && ipythonHead.MatchString(trimmed)
}

// IPythonHeadType is the exception type an IPython head names
// ("RuntimeError" of "RuntimeError   Traceback (most recent call last)"),
// "" when the trimmed line is no head.
func IPythonHeadType(trimmed string) string {
	if !IsIPythonHead(trimmed) {
		return ""
	}
	typ, _, _ := strings.Cut(trimmed, " ")
	typ, _, _ = strings.Cut(typ, "\t")
	return typ
}

// IsIPythonRule reports whether a trimmed line is the rule above one.
func IsIPythonRule(trimmed string) bool { return ipythonRule.MatchString(trimmed) }

// IPythonLine is what a line of an IPython traceback's frames is.
type IPythonLine int

const (
	// IPyOther is no line of the frames: the traceback's frames ended.
	IPyOther IPythonLine = iota
	// IPyFrame is a frame: a file's (the function cut to its bare name,
	// as the frame tests match it) or the notebook cell's (Func "<cell>").
	IPyFrame
	// IPyArrow is the frame's current line: Line and Code of the frame
	// above.
	IPyArrow
	// IPySource is a numbered line around the current one, or the wrapped
	// rest of a long signature.
	IPySource
)

// ParseIPythonLine reads a line of an IPython traceback's frames, its
// block's prefix cut.
func ParseIPythonLine(body string) (IPythonLine, scan.Frame) {
	trimmed := strings.TrimSpace(body)
	if m := ipythonArrow.FindStringSubmatch(trimmed); m != nil {
		n, _ := strconv.Atoi(m[1])
		return IPyArrow, scan.Frame{Line: n, Code: strings.TrimSpace(m[2])}
	}
	if m := ipythonFile.FindStringSubmatch(trimmed); m != nil {
		n, _ := strconv.Atoi(m[2])
		fn := m[4]
		if i := strings.LastIndexByte(fn, '.'); i >= 0 && i < len(fn)-1 {
			fn = fn[i+1:] // AsyncProvider.create_completion: the readers match the bare name
		}
		return IPyFrame, scan.Frame{File: m[1] + m[3], Line: n, Func: fn}
	}
	if m := ipythonCell.FindStringSubmatch(trimmed); m != nil {
		cell := "Cell In[" + m[1] + m[4] + "]"
		if m[7] != "" {
			cell = m[7]
		}
		// the cell's own code is "<cell>"; a function it defines keeps
		// its bare name, as file frames do
		fn := "<cell>"
		if name := m[3] + m[6] + m[8]; name != "" {
			fn = name[strings.LastIndexByte(name, '.')+1:]
		}
		n, _ := strconv.Atoi(m[2] + m[5])
		return IPyFrame, scan.Frame{File: cell, Line: n, Func: fn}
	}
	if body != "" && (body[0] == ' ' || body[0] == '\t' || (trimmed != "" && trimmed[0] >= '0' && trimmed[0] <= '9')) {
		return IPySource, scan.Frame{}
	}
	return IPyOther, scan.Frame{}
}

// --- chains ---

// Walk is an order in which a chain (raised first) is searched from the
// exception a signature matched.
type Walk int

const (
	// WalkNearest: the matched exception, the ones raised after it
	// (toward the raised end), then the ones before it.
	WalkNearest Walk = iota
	// WalkMatchedThenRaised: the matched exception, then the chain from
	// the raised end.
	WalkMatchedThenRaised
)

// WalkOrder yields the indexes of a chain of n exceptions in the walk's
// order, from idx (taken as 0 when out of range).
func WalkOrder(n, idx int, w Walk) iter.Seq[int] {
	return func(yield func(int) bool) {
		if n <= 0 {
			return
		}
		if idx < 0 || idx >= n {
			idx = 0
		}
		if !yield(idx) {
			return
		}
		if w == WalkNearest {
			for i := idx - 1; i >= 0; i-- {
				if !yield(i) {
					return
				}
			}
			for i := idx + 1; i < n; i++ {
				if !yield(i) {
					return
				}
			}
			return
		}
		for i := range n {
			if i != idx && !yield(i) {
				return
			}
		}
	}
}

// ExceptionFrames are an exception's frames, else those of its traceback
// text.
func ExceptionFrames(e scan.PyException) []scan.Frame {
	if len(e.Frames) > 0 {
		return e.Frames
	}
	return ParseStack(e.Traceback)
}

// tracebackText is the traceback of an exception to show: its text, else
// its frames printed.
func tracebackText(e scan.PyException) string {
	if strings.TrimSpace(e.Traceback) == "" {
		return FormatTraceback(e.Frames)
	}
	return e.Traceback
}

// Representative is the exception of a chain whose traceback a report
// shows, and that traceback: the one at idx (the one a signature
// matched), else the raised one when idx's shows nothing.
func Representative(chain []scan.PyException, idx int) (scan.PyException, string) {
	e := chain[idx]
	tb := tracebackText(e)
	if tb == "" && idx != 0 {
		e = chain[0]
		tb = tracebackText(e)
	}
	return e, tb
}
