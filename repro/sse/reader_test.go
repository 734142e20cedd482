package sse

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every event and the error that ended the stream.
func readAll(t testing.TB, r *Reader) ([]Event, error) {
	t.Helper()
	var evs []Event
	for range 1 << 16 {
		ev, err := r.Next()
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				evs = append(evs, ev)
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("Next never ended the stream")
	return nil, nil
}

func data(s string) Event { return Event{Data: s} }

// withoutSize drops Size so cases can state events briefly.
func withoutSize(evs []Event) []Event {
	if len(evs) == 0 {
		return nil
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		e.Size = 0
		out[i] = e
	}
	return out
}

func TestReader(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want []Event
		err  error
	}{
		{"one frame", "data: hi\n\n", []Event{data("hi")}, io.EOF},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []Event{data("a"), data("b")}, io.EOF},
		{"CR", "data: a\r\rdata: b\r\r", []Event{data("a"), data("b")}, io.EOF},
		{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", []Event{data("a\nb\nc")}, io.EOF},
		{"multi-line data", "data: one\ndata: two\ndata:\ndata: four\n\n", []Event{data("one\ntwo\n\nfour")}, io.EOF},
		{"no space after the colon", "data:x\n\n", []Event{data("x")}, io.EOF},
		{"only one space is removed", "data:  x\n\n", []Event{data(" x")}, io.EOF},
		{"field without a colon", "data\n\n", []Event{data("")}, io.EOF},
		{"empty data", "data:\n\n", []Event{data("")}, io.EOF},
		{"event and id", "event: delta\nid: 7\ndata: {}\n\n", []Event{{Type: "delta", ID: "7", Data: "{}"}}, io.EOF},
		{"event and id do not carry over", "event: a\nid: 1\ndata: x\n\ndata: y\n\n", []Event{{Type: "a", ID: "1", Data: "x"}, data("y")}, io.EOF},
		{"id with NUL is ignored", "id: a\x00b\ndata: x\n\n", []Event{data("x")}, io.EOF},
		{"frame without data is no event", "event: ping\n\nretry: 10\n\ndata: x\n\n", []Event{data("x")}, io.EOF},
		{"unknown fields are ignored", "foo: bar\ndata: x\n\n", []Event{data("x")}, io.EOF},
		{"comment", ": ping\n\ndata: x\n\n", []Event{{Comment: true, Data: "ping"}, data("x")}, io.EOF},
		{"comment inside a frame comes first", "data: a\n:keep-alive\ndata: b\n\n", []Event{{Comment: true, Data: "keep-alive"}, data("a\nb")}, io.EOF},
		{"blank lines between frames", "\n\n\ndata: x\n\n\n\n", []Event{data("x")}, io.EOF},
		{"byte order mark", "\xef\xbb\xbfdata: x\n\n", []Event{data("x")}, io.EOF},
		{"only the first BOM", "data: a\n\n\xef\xbb\xbfdata: b\n\n", []Event{data("a")}, io.EOF},
		{"empty stream", "", nil, io.EOF},
		{"g4f's in-band error",
			"data: {\"error\": {\"message\": \"RuntimeError: this event loop is already running.\"}, \"model\": \"gpt-4o-mini\", \"provider\": \"Blackbox\"}\n\ndata: [DONE]\n\n",
			[]Event{data(`{"error": {"message": "RuntimeError: this event loop is already running."}, "model": "gpt-4o-mini", "provider": "Blackbox"}`), data("[DONE]")}, io.EOF},

		// the stream ends inside a frame
		{"EOF mid-line", "data: {\"cho", []Event{{Data: `{"cho`, Truncated: true}}, ErrTruncated},
		{"EOF without the blank line", "data: a\n\ndata: b\n", []Event{data("a"), {Data: "b", Truncated: true}}, ErrTruncated},
		{"EOF after a CR", "data: b\r", []Event{{Data: "b", Truncated: true}}, ErrTruncated},
		{"older g4f's error frame without a line end", `data: {"error": {"message": "x"}}`, []Event{{Data: `{"error": {"message": "x"}}`, Truncated: true}}, ErrTruncated},
		{"EOF inside a comment line", ": pi", []Event{{Truncated: true}}, ErrTruncated},
		{"a complete comment at EOF is not a frame", ": ping\n", []Event{{Comment: true, Data: "ping"}}, io.EOF},
		{"EOF after an event field", "event: x\n", []Event{{Type: "x", Truncated: true}}, ErrTruncated},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for _, tc := range cases {
		for rname, wrap := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				r := NewReader(wrap(strings.NewReader(tc.in)), Limits{})
				got, err := readAll(t, r)
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				if !reflect.DeepEqual(withoutSize(got), tc.want) {
					t.Errorf("events\n got %#v\nwant %#v", withoutSize(got), tc.want)
				}
				if _, again := r.Next(); !errors.Is(again, tc.err) {
					t.Errorf("second call after the end: %v, want %v again", again, tc.err)
				}
			})
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: ab\r\nid: 1\r\n\r\n: c\n"), Limits{})
	evs, err := readAll(t, r)
	if err != io.EOF || len(evs) != 2 {
		t.Fatalf("%v %v", evs, err)
	}
	// "data: ab" + "id: 1" + "" with one byte per line end
	if evs[0].Size != 9+6+1 || evs[1].Size != 4 {
		t.Errorf("sizes %d %d", evs[0].Size, evs[1].Size)
	}
}

func TestFrameLimit(t *testing.T) {
	t.Parallel()
	frame := "data: " + strings.Repeat("x", 93) + "\n\n" // 101 bytes as counted
	for _, tc := range []struct {
		limit int64
		err   error
	}{{101, io.EOF}, {100, ErrFrameTooLarge}, {10, ErrFrameTooLarge}} {
		r := NewReader(iotest.HalfReader(strings.NewReader(frame+frame)), Limits{MaxFrame: tc.limit})
		evs, err := readAll(t, r)
		if !errors.Is(err, tc.err) {
			t.Fatalf("limit %d: %v, want %v", tc.limit, err, tc.err)
		}
		var le *LimitError
		if tc.err == ErrFrameTooLarge {
			if len(evs) != 0 || !errors.As(err, &le) || le.Limit != tc.limit || errors.Is(err, ErrBodyTooLarge) {
				t.Errorf("limit %d: events %v, error %#v", tc.limit, evs, err)
			}
			if !strings.Contains(err.Error(), "frame over the limit") {
				t.Errorf("message %q", err)
			}
		} else if len(evs) != 2 {
			t.Errorf("limit %d: %d events", tc.limit, len(evs))
		}
	}
}

// counting is an endless stream that counts what was taken from it.
type counting struct {
	pattern []byte
	n       int64
}

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.pattern[(c.n+int64(i))%int64(len(c.pattern))]
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestBodyLimitStopsReading(t *testing.T) {
	t.Parallel()
	src := &counting{pattern: []byte("data: 0123456789\n\n")}
	r := NewReader(src, Limits{MaxBody: 1000})
	evs, err := readAll(t, r)
	var le *LimitError
	if !errors.Is(err, ErrBodyTooLarge) || !errors.As(err, &le) || le.Limit != 1000 || errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("error %#v", err)
	}
	if src.n > 1001 || r.BytesRead() > 1001 {
		t.Errorf("read %d bytes (reader says %d) with a body limit of 1000", src.n, r.BytesRead())
	}
	if len(evs) != 1000/18 {
		t.Errorf("%d events from the first 1000 bytes, want %d", len(evs), 1000/18)
	}
}

// A line that never ends is cut at the frame limit, not buffered whole.
func TestEndlessLine(t *testing.T) {
	t.Parallel()
	src := &counting{pattern: []byte("x")}
	r := NewReader(src, Limits{MaxFrame: 1 << 20})
	_, err := r.Next()
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("error %v", err)
	}
	if src.n > 1<<20+64<<10 {
		t.Errorf("read %d bytes for a 1 MiB frame limit", src.n)
	}
	if cap(r.line) > 2<<20 {
		t.Errorf("buffered %d bytes", cap(r.line))
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	l := Limits{}.WithDefaults()
	if l.MaxFrame != 1<<20 || l.MaxBody != 64<<20 {
		t.Errorf("%+v", l)
	}
	if l := (Limits{MaxFrame: 5, MaxBody: 7}).WithDefaults(); l.MaxFrame != 5 || l.MaxBody != 7 {
		t.Errorf("%+v", l)
	}
}

func TestReadErrorPassesThrough(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	in := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	r := NewReader(in, Limits{})
	ev, err := r.Next()
	if err != nil || ev.Data != "a" {
		t.Fatalf("%v %v", ev, err)
	}
	if r.InFrame() {
		t.Error("in a frame between frames")
	}
	if _, err := r.Next(); err != boom {
		t.Fatalf("error %v, want the reader's", err)
	}
	if !r.InFrame() {
		t.Error("the stream broke inside a frame, InFrame says no")
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	t.Parallel()
	if _, err := NewReader(zeroReader{}, Limits{}).Next(); err != io.ErrNoProgress {
		t.Errorf("error %v", err)
	}
}
