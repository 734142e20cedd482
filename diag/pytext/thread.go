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
}

var (
	// splitHeader: ID and name of a HeaderSplit header.
	splitHeader = regexp.MustCompile(`^(?:Current thread|Thread) (0x[0-9a-fA-F]+)(?: \[([^\]]*)\]| "([^"]*)")?`)
	dumpHeader  = regexp.MustCompile(`(?:Current thread|Thread) 0x[0-9a-fA-F]+(?: \[[^\]]*\])? \(most recent call first\):|` +
		`Stack \(most recent call first\):|` +
		`Thread (?:0x[0-9A-Fa-f]+|\d+) \((?:idle|active|active\+gil|gil|waiting)\)(?:: "[^"]*")?[ \t]*$`)
	threadID = regexp.MustCompile(`\b(0x[0-9a-fA-F]+|\d+)\b`)
)

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
		if !dumpHeader.MatchString(line) || strings.TrimSpace(dumpHeader.ReplaceAllString(line, "")) != "" {
			return ThreadHeader{}, false
		}
		return dumpThreadHeader(strings.TrimSpace(line)), true
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
// prefix may come before it) and returns where it starts.
func FindThreadHeader(line string) (int, ThreadHeader, bool) {
	loc := dumpHeader.FindStringIndex(line)
	if loc == nil {
		return 0, ThreadHeader{}, false
	}
	return loc[0], dumpThreadHeader(strings.TrimSpace(line[loc[0]:])), true
}

// dumpThreadHeader reads a HeaderDump header from its start.
func dumpThreadHeader(text string) ThreadHeader {
	h := ThreadHeader{Text: text, Current: strings.HasPrefix(text, "Current thread") || strings.HasPrefix(text, "Stack ")}
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

// DumpLabel names a HeaderDump thread for explain: py-spy's name in its
// quotes ('thread "MainThread"'), "the dumped thread" for "Stack (…)",
// "main thread 0x…" when its outermost frame is a module's, "thread 0x…",
// else "a thread". The 3.14 "[name]" is not read.
func (h ThreadHeader) DumpLabel(frames []scan.Frame) string {
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
