package repro

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// transcript is what real workers wrote on fd 3 (a fork server under
// uvloop, a worker that cannot fork under nest, one that cannot import g4f,
// a done event whose calls share one chain), paths made neutral.
func transcript(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/worker-transcript.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAll drains an eventReader: the events it accepts and the protocol
// problems it reports, checking on the way that it never holds more than
// its limit.
func readAll(tb testing.TB, r io.Reader, max int) (evs []event, problems []*ProtocolError) {
	tb.Helper()
	er := newEventReader(r, max)
	for {
		ev, err := er.next()
		if cap(er.line) > max {
			tb.Fatalf("the reader holds %d bytes, over its limit %d", cap(er.line), max)
		}
		var perr *ProtocolError
		switch {
		case errors.As(err, &perr):
			problems = append(problems, perr)
			continue
		case err != nil:
			return evs, problems
		}
		evs = append(evs, ev)
	}
}

func TestTranscriptDecodes(t *testing.T) {
	evs, problems := readAll(t, bytes.NewReader(transcript(t)), maxEventLine)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems[0])
	}
	kinds := map[string]int{}
	for _, ev := range evs {
		kinds[ev.Event]++
	}
	for _, k := range []string{"ready", "fatal", "catalog", "forked", "done", "exited", "blocked", "tasks", "error"} {
		if kinds[k] == 0 {
			t.Errorf("the transcript has no %s event: %v", k, kinds)
		}
	}
	// The last line: three calls of NetFail, one chain sent for all.
	last := evs[len(evs)-1]
	if len(last.Calls) != 3 || last.Calls[2].Chain[0].Message != last.Calls[0].Chain[0].Message || last.Calls[0].Chain[0].Type == "" {
		t.Errorf("shared chains not filled in: %+v", last.Calls)
	}
}

// An oversize line is reported as soon as it passes the limit and dropped
// as it comes; the lines after it decode as usual, also when it never ends.
func TestOversizeLineIsSkipped(t *testing.T) {
	const max = 1 << 10
	huge := strings.Repeat("x", 10*max)
	in := `{"id":1,"event":"forked","pid":7}` + "\n" + huge + "\n" + `{"id":1,"event":"done"}` + "\n" + huge
	evs, problems := readAll(t, iotest.HalfReader(strings.NewReader(in)), max)
	if len(evs) != 2 || evs[0].Event != "forked" || evs[1].Event != "done" {
		t.Errorf("events %+v", evs)
	}
	if len(problems) != 2 || !problems[0].TooLong || !problems[1].TooLong {
		t.Fatalf("problems %v", problems)
	}
	if got := problems[0].Error(); got != "a protocol line over the 1024-byte limit was skipped" {
		t.Errorf("message %q", got)
	}
}

// A writer that never ends its line is not waited for: the problem is
// reported while it still writes, and the reader keeps draining the pipe.
func TestOversizeLineReportedBeforeItEnds(t *testing.T) {
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	er := newEventReader(pr, 1<<20)
	_, err := er.next()
	var perr *ProtocolError
	if !errors.As(err, &perr) || !perr.TooLong {
		t.Fatalf("err %v", err)
	}
	if cap(er.line) > 1<<20 {
		t.Errorf("holds %d bytes", cap(er.line))
	}
}

func TestSharedChains(t *testing.T) {
	line := `{"id":3,"event":"done","calls":[` +
		`{"index":0,"outcome":"error","chain":[{"type":"RuntimeError","message":"boom"}]},` +
		`{"index":1,"outcome":"error"},{"index":2,"outcome":"error"},{"index":3,"outcome":"ok"}],` +
		`"chain_of":{"1":0,"2":1,"3":9,"0":0}}`
	ev, err := decodeEvent([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Calls[1].Chain; len(got) != 1 || got[0].Message != "boom" {
		t.Errorf("call 1 chain %+v", got)
	}
	// 2 names 1, which has no chain of its own: refused, as are 3 (out of
	// range) and 0 (itself).
	if len(ev.Calls[2].Chain) != 0 || len(ev.Calls[3].Chain) != 0 || len(ev.Calls[0].Chain) != 1 {
		t.Errorf("calls %+v", ev.Calls)
	}
	if ev.ChainOf != nil {
		t.Errorf("ChainOf left: %v", ev.ChainOf)
	}
}

// FuzzWorkerEvents feeds the fd-3 decoder arbitrary bytes: it must not
// panic, must never hold more than its limit, must split lines the same
// whatever the reads look like, must accept exactly the lines of at most the
// limit that decode, and what it accepts must encode and decode again to the
// same event.
func FuzzWorkerEvents(f *testing.F) {
	tr := transcript(f)
	f.Add(tr)
	sc := bufio.NewScanner(bytes.NewReader(tr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f.Add(append([]byte(nil), sc.Bytes()...))
	}
	f.Add([]byte(`{"id":2,"event":"done","calls":[{"outcome":"error","chain":[{"type":"E","message":"m"}]},{"outcome":"error"}],"chain_of":{"1":0}}`))
	f.Add([]byte(`{"id":2,"event":"done","calls":[],"chain_of":{"-1":0,"0":-5}}` + "\n\n\r\n{"))
	f.Add([]byte(strings.Repeat("z", 5000) + "\n" + `{"event":"ready"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 4096
		whole, wholeProblems := readAll(t, bytes.NewReader(data), max)
		bytewise, byteProblems := readAll(t, iotest.OneByteReader(bytes.NewReader(data)), max)
		if len(whole) != len(bytewise) || len(wholeProblems) != len(byteProblems) {
			t.Fatalf("split differs with the reads: %d/%d events, %d/%d problems", len(whole), len(bytewise), len(wholeProblems), len(byteProblems))
		}
		var want []event
		lines := bytes.Split(data, []byte("\n"))
		for i, line := range lines {
			if i == len(lines)-1 && len(line) == 0 {
				break
			}
			if len(line) == 0 || len(line) > max {
				continue
			}
			if ev, err := decodeEvent(line); err == nil {
				want = append(want, ev)
			}
		}
		if len(want) != len(whole) {
			t.Fatalf("accepted %d events, want the %d lines within the limit that decode", len(whole), len(want))
		}
		for i, ev := range whole {
			a, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(want[i]); !bytes.Equal(a, b) {
				t.Fatalf("event %d decodes as\n%s\nalone as\n%s", i, a, b)
			}
			if c, _ := json.Marshal(bytewise[i]); !bytes.Equal(a, c) {
				t.Fatalf("event %d read byte by byte:\n%s\nwhole:\n%s", i, c, a)
			}
			again, err := decodeEvent(a)
			if err != nil {
				t.Fatalf("event %d does not decode again: %v\n%s", i, err, a)
			}
			if b, _ := json.Marshal(again); !bytes.Equal(a, b) {
				t.Fatalf("event %d changes when decoded again:\n%s\n%s", i, a, b)
			}
		}
	})
}
