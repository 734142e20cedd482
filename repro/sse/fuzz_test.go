package sse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// chunked hands out its input in reads of the sizes a fuzzer picks, and
// counts what was taken.
type chunked struct {
	in    []byte
	sizes []byte
	i     int
	zeros int
	taken int64
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(c.in)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])
		c.i++
		if n == 0 { // a few empty reads, never enough to look stuck
			if c.zeros++; c.zeros > 3 {
				n, c.zeros = 1, 0
			}
		}
	}
	n = min(n, len(p), len(c.in))
	copy(p, c.in[:n])
	c.in = c.in[n:]
	c.taken += int64(n)
	return n, nil
}

// reference parses a whole stream the slow, obvious way: the oracle the
// streaming Reader must agree with.
func reference(in []byte, lim Limits) ([]Event, error) {
	bodyOver := int64(len(in)) > lim.MaxBody
	if bodyOver {
		in = in[:lim.MaxBody]
	}
	var (
		evs             []Event
		frame           int64
		fields, hasData bool
		data            []byte
		typ, id         string
		first           = true
		frameErr        = errors.New("frame")
		pendingLF       bool
	)
	reset := func() { frame, fields, hasData, data, typ, id = 0, false, false, nil, "", "" }
	field := func(line []byte) {
		fields = true
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = trimSpace(value)
		switch string(name) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				id = string(value)
			}
		}
	}
	for len(in) > 0 {
		if pendingLF && in[0] == '\n' {
			in = in[1:]
			pendingLF = false
			continue
		}
		pendingLF = false
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			if frame+int64(len(in)) > lim.MaxFrame {
				return evs, frameErr
			}
			break
		}
		line := in[:i]
		if frame+int64(len(line))+1 > lim.MaxFrame {
			return evs, frameErr
		}
		pendingLF = in[i] == '\r'
		in = in[i+1:]
		frame += int64(len(line)) + 1
		if first {
			first = false
			line = bytes.TrimPrefix(line, bom)
		}
		switch {
		case len(line) == 0:
			if hasData {
				evs = append(evs, Event{Type: typ, ID: id, Data: string(data), Size: frame})
			}
			reset()
		case line[0] == ':':
			evs = append(evs, Event{Comment: true, Data: string(trimSpace(line[1:])), Size: int64(len(line)) + 1})
		default:
			field(line)
		}
	}
	// in holds the last line, without its line end, if any
	if bodyOver {
		return evs, ErrBodyTooLarge
	}
	if len(in) == 0 && !fields {
		return evs, io.EOF
	}
	if len(in) > 0 {
		line := in
		if first {
			line = bytes.TrimPrefix(line, bom)
		}
		frame += int64(len(line))
		if len(line) > 0 && line[0] != ':' {
			field(line)
		}
	}
	return append(evs, Event{Type: typ, ID: id, Data: string(data), Truncated: true, Size: frame}), ErrTruncated
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {\"error\": {\"message\": \"RuntimeError: this event loop is already running.\"}}\n\ndata: [DONE]\n\n"), []byte{7, 1, 3}, uint16(64), uint16(4096))
	f.Add([]byte("data: a\r\ndata: b\r\r: c\n\nevent: x\nid: 1\ndata\n\n"), []byte{1}, uint16(0), uint16(0))
	f.Add([]byte("\xef\xbb\xbfdata: x\rdata: y"), []byte{}, uint16(5), uint16(9))
	f.Add([]byte("data: 0123456789\n\ndata: 0123456789\n\n"), []byte{2, 30}, uint16(12), uint16(25))
	f.Add([]byte(":\n\n\r\r\n\n"), []byte{0, 1}, uint16(1), uint16(3))
	f.Fuzz(func(t *testing.T, in, sizes []byte, maxFrame, maxBody uint16) {
		lim := Limits{MaxFrame: int64(maxFrame), MaxBody: int64(maxBody)}.WithDefaults()
		src := &chunked{in: in, sizes: sizes}
		r := NewReader(src, lim)
		got, err := readAll(t, r)

		if src.taken > lim.MaxBody+1 || r.BytesRead() != src.taken {
			t.Fatalf("took %d bytes (reader says %d) with a body limit of %d", src.taken, r.BytesRead(), lim.MaxBody)
		}
		for _, ev := range got {
			if int64(len(ev.Data)) > lim.MaxFrame || ev.Size > lim.MaxFrame || ev.Size < int64(len(ev.Data)) {
				t.Fatalf("event %q of size %d past the frame limit %d", ev.Data, ev.Size, lim.MaxFrame)
			}
		}
		var le *LimitError
		if errors.As(err, &le) {
			if le.Err == ErrFrameTooLarge && le.Limit != lim.MaxFrame || le.Err == ErrBodyTooLarge && le.Limit != lim.MaxBody {
				t.Fatalf("%v names the wrong limit", err)
			}
		}

		want, wantErr := reference(in, lim)
		switch {
		case wantErr.Error() == "frame":
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("error %v, want a frame limit", err)
			}
		case !errors.Is(err, wantErr):
			t.Fatalf("error %v, want %v", err, wantErr)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("events\n got %#v\nwant %#v", got, want)
		}
	})
}
