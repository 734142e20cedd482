package pytext

import (
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// LogFrame is what a log puts around the lines of a traceback it holds.
// BlockReader knows Python's text; its caller knows the logs, and says
// through these what their lines look like.
type LogFrame struct {
	// Fence reports a Markdown code fence line.
	Fence func(line string) bool
	// RecordStart reports a line (its prefix cut) that starts the next
	// log record: it ends an exception's message.
	RecordStart func(body string) bool
	// Timed reports a line (its prefix cut) starting with a log time: no
	// exception line, whatever follows.
	Timed func(body string) bool
	// LinePrefix reports whether the text before "Traceback" is a prefix
	// every line of the block repeats: "api-1  | ", "> ".
	LinePrefix func(prefix string) bool
	// Stamp is where a log collector's time and source at the start of a
	// line end ("2022-06-15T03:42:11.794121+00:00 app[web.1]: "), -1
	// when the line has none.
	Stamp func(line string) int
}

// BlockOptions are a BlockReader's log frame and bounds; the bounds hold
// whatever the text is.
type BlockOptions struct {
	Log LogFrame
	// MaxFrames: past twice as many frames in one section, only the
	// innermost MaxFrames are kept.
	MaxFrames int
	// MaxSections: past as many sections in a chain, the newest replaces
	// the last kept, so the root causes and the raised exception stay.
	MaxSections int
	// MaxMessageLines, MaxMessageBytes bound each exception's message.
	MaxMessageLines, MaxMessageBytes int
}

// blockState is where a BlockReader is inside a traceback.
type blockState int

const (
	blockOutside blockState = iota
	blockFrames             // after "Traceback (most recent call last):"
	blockMessage            // after the exception line
	blockGap                // a blank line after a message: a chain marker may follow
	blockChain              // after a chain marker: the next section follows
)

// section is one traceback of a chain, in the order the text prints it.
type section struct {
	frames   []scan.Frame
	typ      string
	msg      strings.Builder
	msgLines int
	relation string // how this section links to the one printed after it
	done     bool   // its exception line was read
}

// BlockReader reads a traceback as a log holds it, line by line: its
// frames (and IPython's), the exception line and the lines of its message,
// the chain markers and the tracebacks they join, an exception group's
// margins already cut by the caller (StripGroupMargin). Every line of the
// block may repeat the prefix its "Traceback" line had: an indentation, a
// container name, a Markdown quote, a log collector's stamp.
type BlockReader struct {
	o        BlockOptions
	state    blockState
	indent   string
	stamped  bool   // every line starts with a log collector's time and source
	ipython  bool   // IPython's (Jupyter's) traceback format
	headType string // the exception type IPython's head names
	sections []*section
	pendRel  string // relation of the next section to the last one
	blankRun int
}

// NewBlockReader returns a reader with no block open.
func NewBlockReader(o BlockOptions) *BlockReader { return &BlockReader{o: o} }

// Active reports whether a block is open.
func (b *BlockReader) Active() bool { return b.state != blockOutside }

// Start opens a block at a line holding TracebackHead; the text before it
// is the prefix the block's lines repeat. With ipython, the line is
// IPython's head ("RuntimeError   Traceback (most recent call last)") and
// carries no prefix. A block still open is dropped: Finish it first.
func (b *BlockReader) Start(line string, ipython bool) {
	b.state = blockFrames
	b.indent, b.stamped, b.ipython, b.headType = "", false, ipython, ""
	if ipython {
		b.headType = IPythonHeadType(strings.TrimSpace(line))
	}
	if i := strings.Index(line, TracebackHead); i > 0 && !ipython {
		switch p := line[:i]; {
		case strings.TrimSpace(p) == "" || b.o.Log.LinePrefix(p):
			b.indent = p
		case b.o.Log.Stamp(p) == len(p):
			b.stamped = true
		}
	}
	b.sections = []*section{{}}
	b.pendRel = ""
}

// Feed reads the next line of the open block. consumed is false when the
// line is no part of it; ended, when the block ended at this line (or
// before it): Finish it then.
func (b *BlockReader) Feed(line string) (consumed, ended bool) {
	if b.o.Log.Fence(line) {
		if b.state == blockFrames {
			return true, false
		}
		return true, b.end()
	}
	body, indented := b.dedent(line)
	trimmed := strings.TrimSpace(body)
	cur := b.sections[len(b.sections)-1]
	switch b.state {
	case blockFrames:
		if b.ipython && b.ipythonLine(cur, body) {
			return true, false
		}
		if f, ok := ParseFrameLine(body); ok {
			b.addFrame(cur, f)
			return true, false
		}
		if trimmed == "" {
			return true, false
		}
		if indented {
			if n := len(cur.frames); n > 0 && cur.frames[n-1].Code == "" && IsCode(trimmed, CodeBlock) {
				cur.frames[n-1].Code = trimmed
			}
			return true, false
		}
		if b.exceptionLine(cur, body) {
			return true, false
		}
		return false, b.end()
	case blockMessage:
		switch {
		case trimmed == "":
			b.state, b.blankRun = blockGap, 1
			return true, false
		case b.chainMarker(trimmed):
			return true, false
		case strings.Contains(body, TracebackHead), b.o.Log.RecordStart(body):
			return false, b.end()
		}
		if cur.msgLines < b.o.MaxMessageLines && cur.msg.Len() < b.o.MaxMessageBytes {
			cur.msg.WriteByte('\n')
			cur.msg.WriteString(body[:min(len(body), b.o.MaxMessageBytes-cur.msg.Len())])
			cur.msgLines++
		}
		return true, false
	case blockGap:
		switch {
		case trimmed == "" && b.blankRun < 2:
			b.blankRun++
			return true, false
		case b.chainMarker(trimmed):
			return true, false
		}
		return false, b.end()
	case blockChain:
		switch {
		case trimmed == "":
			return true, false
		case strings.HasPrefix(trimmed, TracebackHead):
			b.newSection()
			b.state = blockFrames
			return true, false
		case b.ipython && IsIPythonRule(trimmed):
			return true, false
		case b.ipython && IsIPythonHead(trimmed):
			b.newSection()
			b.state = blockFrames
			return true, false
		}
		s := b.newSection()
		if !indented && b.exceptionLine(s, body) {
			return true, false
		}
		b.sections = b.sections[:len(b.sections)-1]
		return false, b.end()
	}
	return false, false
}

// end closes the block; Finish hands on what it read.
func (b *BlockReader) end() bool {
	b.state = blockOutside
	return true
}

// Finish closes the block and returns its chain, raised first, each
// exception's Relation saying how it links to the one before (as the
// harness sends chains). ok is false when no block was read or no section
// reached its exception line.
func (b *BlockReader) Finish() ([]scan.PyException, bool) {
	chain, _, ok := b.FinishCut()
	return chain, ok
}

// Cut is a traceback cut short before its exception line (the last line
// of a paste lost): the frames its last section read and the exception
// type its head names. IPython's head names one ("RuntimeError
// Traceback (most recent call last)"); Python's never does.
type Cut struct {
	HeadType string
	Frames   []scan.Frame
	// Chained: the cut section followed a chain marker, so the chain
	// before it was raised while handling, or caused, the cut one.
	Chained bool
}

// FinishCut is Finish that also hands on the block's last section when it
// never reached its exception line: cut is nil when the block ended on an
// exception line, or read nothing. ok is Finish's.
func (b *BlockReader) FinishCut() (chain []scan.PyException, cut *Cut, ok bool) {
	b.state = blockOutside
	secs := b.sections
	b.sections = nil
	if n := len(secs); n > 0 && !secs[n-1].done && (len(secs[n-1].frames) > 0 || b.headType != "") {
		cut = &Cut{Frames: secs[n-1].frames, Chained: n > 1}
		if n == 1 {
			cut.HeadType = b.headType
		}
	}
	for len(secs) > 0 && !secs[len(secs)-1].done {
		secs = secs[:len(secs)-1]
	}
	if len(secs) == 0 {
		return nil, cut, false
	}
	chain = make([]scan.PyException, len(secs))
	for i, s := range secs {
		j := len(secs) - 1 - i
		chain[j] = scan.PyException{Type: s.typ, Message: s.msg.String(), Frames: s.frames}
		if j > 0 {
			chain[j].Relation = s.relation
		}
	}
	return chain, cut, true
}

// Held is about the bytes the open block holds, for a caller's memory
// bound.
func (b *BlockReader) Held() int {
	held := 0
	for _, s := range b.sections {
		held += s.msg.Cap() + len(s.typ)
		for _, f := range s.frames {
			held += len(f.File) + len(f.Func) + len(f.Code) + 32
		}
	}
	return held
}

// dedent strips the prefix the block's "Traceback" line had and reports
// whether indentation remains.
func (b *BlockReader) dedent(line string) (string, bool) {
	if b.stamped {
		if n := b.o.Log.Stamp(line); n >= 0 {
			line = line[n:]
		}
	}
	body := strings.TrimPrefix(line, b.indent)
	if len(body) == len(line) && strings.TrimSpace(b.indent) != "" {
		// a quote or container prefix with its trailing blank trimmed
		body = strings.TrimPrefix(line, strings.TrimRight(b.indent, " \t"))
	}
	return body, body != "" && (body[0] == ' ' || body[0] == '\t')
}

func (b *BlockReader) addFrame(s *section, f scan.Frame) {
	s.frames = append(s.frames, f)
	if len(s.frames) > 2*b.o.MaxFrames {
		s.frames = append(s.frames[:0:0], s.frames[len(s.frames)-b.o.MaxFrames:]...)
	}
}

// exceptionLine reads "Type: message" into s, when the line is one.
func (b *BlockReader) exceptionLine(s *section, body string) bool {
	if b.o.Log.Timed(body) {
		return false
	}
	typ, msg, ok := ParseExceptionLine(body)
	if !ok {
		return false
	}
	s.typ = typ
	s.msg.WriteString(msg[:min(len(msg), b.o.MaxMessageBytes)])
	s.done = true
	b.state = blockMessage
	return true
}

// chainMarker takes a trimmed line that is a chain marker: the next
// section follows.
func (b *BlockReader) chainMarker(trimmed string) bool {
	rel, ok := ChainMarker(trimmed)
	if ok {
		b.pendRel, b.state = rel, blockChain
	}
	return ok
}

// newSection starts the next section of the chain.
func (b *BlockReader) newSection() *section {
	s := &section{}
	last := b.sections[len(b.sections)-1]
	last.relation = b.pendRel
	if len(b.sections) >= b.o.MaxSections {
		b.sections[len(b.sections)-1] = s
	} else {
		b.sections = append(b.sections, s)
	}
	return s
}

// ipythonLine reads a line of an IPython traceback's frames into s.
func (b *BlockReader) ipythonLine(s *section, body string) bool {
	switch kind, f := ParseIPythonLine(body); kind {
	case IPyArrow:
		if n := len(s.frames); n > 0 {
			s.frames[n-1].Line, s.frames[n-1].Code = f.Line, f.Code
		}
	case IPyFrame:
		b.addFrame(s, f)
	case IPyOther:
		return false
	}
	return true
}
