package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The limits a zero Limits stands for.
const (
	DefaultMaxFrame = 1 << 20  // 1 MiB
	DefaultMaxBody  = 64 << 20 // 64 MiB
)

// Limits bound what a Reader takes from its stream. A zero field means its
// default.
type Limits struct {
	// MaxFrame bounds one frame: every line up to the blank line that ends
	// it, comment lines included, each line end counted as one byte.
	MaxFrame int64
	// MaxBody bounds the whole stream, in bytes as read.
	MaxBody int64
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxFrame <= 0 {
		l.MaxFrame = DefaultMaxFrame
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	return l
}

// The errors Next returns for a stream it stops reading. A limit is
// reported as a *LimitError that wraps ErrFrameTooLarge or ErrBodyTooLarge.
var (
	ErrFrameTooLarge = errors.New("sse: frame too large")
	ErrBodyTooLarge  = errors.New("sse: body too large")
	// ErrTruncated says the stream ended inside a frame: after a line with
	// no blank line to end its frame, or in the middle of a line.
	ErrTruncated = errors.New("sse: stream ended inside a frame")
)

// LimitError says which limit a stream passed and where.
type LimitError struct {
	Err    error // ErrFrameTooLarge or ErrBodyTooLarge
	Limit  int64 // the limit passed, in bytes
	Offset int64 // bytes of the stream read when it was passed
}

func (e *LimitError) Error() string {
	what := "frame"
	if e.Err == ErrBodyTooLarge {
		what = "body"
	}
	return fmt.Sprintf("sse: %s over the limit of %d bytes at byte %d of the stream", what, e.Limit, e.Offset)
}

func (e *LimitError) Unwrap() error { return e.Err }

// Event is one frame of the stream, or one comment line.
type Event struct {
	// Type is the frame's event: field, "" when it has none (a browser
	// calls that "message").
	Type string
	// ID is the frame's own id: field, "" when it has none; unlike a
	// browser's last event ID it does not carry over to later frames.
	ID string
	// Data is the frame's data: lines joined with "\n"; for a comment, the
	// text after the colon.
	Data string
	// Comment marks a ":" line. Comments come as events of their own, in
	// stream order, even from the middle of a frame.
	Comment bool
	// Truncated marks the frame the stream ended inside; Next returns it
	// with ErrTruncated and holds what the frame had, a last line without
	// its line end included.
	Truncated bool
	// Size is the bytes of the frame (or comment line), each line end
	// counted as one byte.
	Size int64
}

var bom = []byte("\xef\xbb\xbf")

// Reader reads events from a stream; it buffers at most one frame and one
// read's worth of the stream, and never reads more than one byte past
// Limits.MaxBody.
type Reader struct {
	r   io.Reader
	lim Limits
	buf []byte

	pos, end int
	bufAt    int64 // stream offset of buf[0]
	read     int64 // bytes taken from r
	readErr  error // what r said last, once buf is drained
	err      error // sticky: every Next from now on returns it
	started  bool  // a line was seen: the BOM is only skipped before the first

	line       []byte // the line read so far
	crPending  bool   // the last line ended in CR: an LF next is its line end
	frame      int64  // bytes of the frame's completed lines
	fields     bool   // the frame has a field line
	hasData    bool
	data       []byte
	typ, id    string
	noProgress int
}

// NewReader returns a Reader of r within lim (zero fields mean the defaults).
func NewReader(r io.Reader, lim Limits) *Reader {
	return &Reader{r: r, lim: lim.WithDefaults(), buf: make([]byte, 32<<10)}
}

// BytesRead is how many bytes the Reader has taken from its stream.
func (r *Reader) BytesRead() int64 { return r.read }

// InFrame reports whether a frame was in progress: a line read in part, or
// field lines with no blank line after them yet. After a read error it says
// whether the stream broke inside a frame.
func (r *Reader) InFrame() bool { return len(r.line) > 0 || r.fields }

// Next returns the next frame or comment. At the end of the stream it
// returns io.EOF, or the truncated frame and ErrTruncated when the stream
// ended inside one; past a limit a *LimitError; when the underlying reader
// fails, its error. Every later call returns the same error.
func (r *Reader) Next() (Event, error) {
	for {
		if r.err != nil {
			return Event{}, r.err
		}
		if r.pos == r.end {
			if r.readErr != nil {
				return r.finish()
			}
			r.fill()
			continue
		}
		if r.crPending {
			r.crPending = false
			if r.buf[r.pos] == '\n' {
				r.pos++
				continue
			}
		}
		chunk := r.buf[r.pos:r.end]
		i := bytes.IndexAny(chunk, "\r\n")
		n := len(chunk)
		if i >= 0 {
			n = i + 1
		}
		if r.frame+int64(len(r.line))+int64(n) > r.lim.MaxFrame {
			r.err = &LimitError{Err: ErrFrameTooLarge, Limit: r.lim.MaxFrame, Offset: r.bufAt + int64(r.pos) + int64(n)}
			return Event{}, r.err
		}
		if i < 0 {
			r.line = append(r.line, chunk...)
			r.pos = r.end
			continue
		}
		line := chunk[:i]
		if len(r.line) > 0 {
			r.line = append(r.line, line...)
			line = r.line
		}
		r.crPending = chunk[i] == '\r'
		r.pos += n
		r.frame += int64(len(line)) + 1
		ev, ok := r.processLine(line)
		r.line = r.line[:0]
		if ok {
			return ev, nil
		}
	}
}

// fill reads once from r, at most one byte past the body limit.
func (r *Reader) fill() {
	room := r.lim.MaxBody + 1 - r.read
	p := r.buf
	if int64(len(p)) > room {
		p = p[:room]
	}
	r.bufAt = r.read
	n, err := r.r.Read(p)
	if n < 0 || n > len(p) {
		n, err = 0, fmt.Errorf("sse: the underlying reader returned %d bytes for a %d-byte buffer", n, len(p))
	}
	r.read += int64(n)
	r.pos, r.end = 0, n
	switch {
	case r.read > r.lim.MaxBody:
		r.end -= int(r.read - r.lim.MaxBody)
		r.readErr = &LimitError{Err: ErrBodyTooLarge, Limit: r.lim.MaxBody, Offset: r.read}
	case err != nil:
		r.readErr = err
	case n == 0:
		if r.noProgress++; r.noProgress >= 100 {
			r.readErr = io.ErrNoProgress
		}
	default:
		r.noProgress = 0
	}
}

// finish ends the stream once its bytes are used up.
func (r *Reader) finish() (Event, error) {
	if r.readErr != io.EOF {
		r.err = r.readErr
		return Event{}, r.err
	}
	if !r.InFrame() {
		r.err = io.EOF
		return Event{}, r.err
	}
	if len(r.line) > 0 {
		line := r.line
		if !r.started {
			line = bytes.TrimPrefix(line, bom)
		}
		r.frame += int64(len(line))
		if len(line) > 0 && line[0] != ':' {
			r.field(line)
		}
		r.line = r.line[:0]
	}
	ev := Event{Type: r.typ, ID: r.id, Data: string(r.data), Truncated: true, Size: r.frame}
	r.resetFrame()
	r.err = ErrTruncated
	return ev, r.err
}

// processLine acts on one complete line and returns an event when the line
// is a comment or the blank line that ends a frame with data.
func (r *Reader) processLine(line []byte) (Event, bool) {
	if !r.started {
		r.started = true
		line = bytes.TrimPrefix(line, bom)
	}
	if len(line) == 0 {
		ev := Event{Type: r.typ, ID: r.id, Data: string(r.data), Size: r.frame}
		ok := r.hasData
		r.resetFrame()
		return ev, ok
	}
	if line[0] == ':' {
		return Event{Comment: true, Data: string(trimSpace(line[1:])), Size: int64(len(line)) + 1}, true
	}
	r.field(line)
	return Event{}, false
}

func (r *Reader) field(line []byte) {
	r.fields = true
	name, value, _ := bytes.Cut(line, []byte(":"))
	value = trimSpace(value)
	switch string(name) {
	case "data":
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		r.typ = string(value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			r.id = string(value)
		}
	}
}

func (r *Reader) resetFrame() {
	r.frame, r.fields, r.hasData = 0, false, false
	r.data = r.data[:0]
	r.typ, r.id = "", ""
}

// trimSpace removes the one space a field value may start with.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && b[0] == ' ' {
		return b[1:]
	}
	return b
}
