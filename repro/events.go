package repro

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// maxEventLine bounds one protocol line from a worker. The harness keeps
// its own events under half of it (EVENT_LIMIT in harness.py: messages,
// tracebacks and a done event's errors are cut to fit), so only something
// else writing to fd 3 (a g4f that prints there on import) goes over it.
const maxEventLine = 32 << 20

// keepLineCap is the buffer an eventReader keeps between lines; a bigger one,
// grown for one big event, is let go.
const keepLineCap = 1 << 20

// ProtocolError is a line on a worker's fd 3 that is not an event: over
// maxEventLine (skipped to its end, never held whole) or not JSON. The
// reader goes on with the next line.
type ProtocolError struct {
	Size     int64 // bytes of the line (for one too long: read when it passed the limit)
	Limit    int   // the limit in force
	TooLong  bool  // over the limit
	DecodeAs error // the JSON error, when it was not too long
}

func (e *ProtocolError) Error() string {
	if e.TooLong {
		return fmt.Sprintf("a protocol line over the %d-byte limit was skipped", e.Limit)
	}
	return fmt.Sprintf("an undecodable protocol line (%d bytes) was skipped: %v", e.Size, e.DecodeAs)
}

// eventReader decodes the JSON lines a worker writes on fd 3. It never holds
// more than its limit of one line (plus the bufio buffer): the rest of an
// oversize line is read and dropped, so the writer is never left blocked on
// a full pipe, and the next line decodes as usual.
type eventReader struct {
	r    *bufio.Reader
	max  int
	line []byte
	size int64 // bytes of the current line so far
	// skipping: the current line went over the limit and is being dropped
	skipping bool
	end      error // the read error that ends the stream, once seen
}

func newEventReader(r io.Reader, max int) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next event. A *ProtocolError is a line that is no
// event: call next again. A line over the limit is reported as soon as it
// passes the limit, and the next call drops the rest of it. Any other error
// (io.EOF included) ends the stream.
func (er *eventReader) next() (event, error) {
	for {
		line, err := er.readLine()
		if err != nil {
			return event{}, err
		}
		if line == nil {
			return event{}, &ProtocolError{Size: er.size, Limit: er.max, TooLong: true}
		}
		if len(line) == 0 {
			continue
		}
		ev, derr := decodeEvent(line)
		if cap(er.line) > keepLineCap {
			er.line = nil
		}
		if derr != nil {
			return event{}, &ProtocolError{Size: er.size, Limit: er.max, DecodeAs: derr}
		}
		return ev, nil
	}
}

// readLine returns one line without its newline, or nil for a line that has
// just gone over the limit (er.size is how far it got). The rest of such a
// line is dropped, as it comes, at the next call. A last line without a
// newline counts as a line.
func (er *eventReader) readLine() ([]byte, error) {
	if er.end != nil {
		return nil, er.end
	}
	if er.skipping {
		if err := er.skipLine(); err != nil {
			return nil, err
		}
	}
	er.line = er.line[:0]
	er.size = 0
	for {
		frag, err := er.r.ReadSlice('\n')
		chunk := frag
		if err == nil {
			chunk = frag[:len(frag)-1]
		}
		er.size += int64(len(chunk))
		if er.size > int64(er.max) {
			er.line = er.line[:0]
			if cap(er.line) > keepLineCap {
				er.line = nil
			}
			er.skipping = err != nil
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				er.end = err
				er.skipping = false
			}
			return nil, nil
		}
		er.line = er.grow(chunk)
		switch {
		case err == nil:
			return er.line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		}
		er.end = err
		if er.size > 0 {
			return er.line, nil
		}
		return nil, err
	}
}

// grow appends chunk to the line, never to a capacity over the limit.
func (er *eventReader) grow(chunk []byte) []byte {
	need := len(er.line) + len(chunk)
	if need <= cap(er.line) {
		return append(er.line, chunk...)
	}
	c := max(2*cap(er.line), need, 4<<10)
	c = min(c, er.max)
	line := make([]byte, len(er.line), c)
	copy(line, er.line)
	return append(line, chunk...)
}

// skipLine drops what is left of an oversize line, up to its newline.
func (er *eventReader) skipLine() error {
	for {
		_, err := er.r.ReadSlice('\n')
		switch {
		case err == nil:
			er.skipping = false
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		}
		er.end = err
		er.skipping = false
		return err
	}
}

// decodeEvent decodes one line and resolves the calls that share another
// call's exception chain (see event.ChainOf).
func decodeEvent(line []byte) (event, error) {
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil {
		return event{}, err
	}
	ev.shareChains()
	return ev, nil
}

// shareChains gives each call named in ChainOf a copy of the chain of the
// call it names: the harness sends an exception chain repeated by many calls
// once. References to a call out of range, to itself, or to a call that has
// no chain of its own are ignored.
func (ev *event) shareChains() {
	for i, j := range ev.ChainOf {
		if i < 0 || i >= len(ev.Calls) || j < 0 || j >= len(ev.Calls) || i == j {
			continue
		}
		if len(ev.Calls[i].Chain) > 0 || len(ev.Calls[j].Chain) == 0 || ev.ChainOf.has(j) {
			continue
		}
		ev.Calls[i].Chain = append([]scan.PyException(nil), ev.Calls[j].Chain...)
	}
	ev.ChainOf = nil
}

// chainRefs maps a call's position in Calls to the position of the call
// whose exception chain it repeats.
type chainRefs map[int]int

func (m chainRefs) has(i int) bool { j, ok := m[i]; return ok && j != i }
