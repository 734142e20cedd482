//go:build unix

package repro

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// protocolGolden is the worker protocol as it is spoken: the requests Go
// writes (marshalled from its request type), the events the real harness
// answers with on fd 3 (as Python wrote them, keys sorted), and notes on
// what a request did beyond its answer.
const protocolGolden = "testdata/worker-protocol.golden"

// ignoredEventKeys are keys the harness sends that Go reads nothing from,
// on purpose: anything else it sends must be a field of Go's event type.
var ignoredEventKeys = map[string]string{
	"nest_patched_before": "the cell's state at its start: a fresh child is never patched",
}

// TestWorkerProtocolTranscript drives a real fork-server worker over the
// demo miniature through the protocol's every event — ready, catalog, a
// run that answers, one whose call raises, one that hangs (tasks with its
// pending call, the child's stacks, the kill and its exited), one that
// blocks its loop, one the harness refuses — and a worker that cannot
// import g4f (fatal), and compares the transcript with a golden file
// (-update rewrites it). Renaming a field on either side fails it: a
// request's in the transcript; an event's in the transcript, and in the
// check that Go's event type has a field for every key the harness sends.
func TestWorkerProtocolTranscript(t *testing.T) {
	target := demoTarget(t)
	dir := t.TempDir()
	harness, err := WriteHarness(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := &transcriber{t: t, dir: dir}

	tr.note("fork server on the asyncio loop, over the demo miniature")
	s := tr.start(target, harness, scan.LoopAsyncio)
	s.expect("ready")

	s.send(request{Op: "catalog", ID: 1})
	s.until(1, "exited")

	s.send(tr.run(2, scan.Cell{Provider: "EchoSync", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Model: "mini-2", Concurrency: 2, Repeat: 1},
		[]Message{{Role: "user", Content: "Say transcript."}}))
	s.until(2, "exited")
	_, err = os.Stat(filepath.Join(dir, "cell-2.out"))
	tr.note("the child's fds 1 and 2 went to the out file: %v", err == nil)

	s.send(tr.run(3, scan.Cell{Provider: "AuthNeeded", Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 2}, nil))
	s.until(3, "exited")

	tr.note("a stream that stops after two chunks: the cell hangs")
	s.send(tr.run(4, scan.Cell{Provider: "StallStream", Mode: scan.ModeAsyncStream, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, nil))
	child := s.until(4, "forked")
	s.awaitChunks(4, 2)
	s.send(request{Op: "tasks", ID: 5, CellID: 4})
	s.until(5, "tasks")
	stacks := dumpStacksWithin(child, filepath.Join(dir, "cell-4.stacks"), 10*time.Second)
	tr.note("SIGUSR1 to the child: its faulthandler wrote the stacks to the dump file: %v",
		strings.Contains(stacks, "most recent call first"))
	tr.note("Go kills the child's process group")
	_ = syscall.Kill(-child, syscall.SIGKILL)
	s.until(4, "exited")

	tr.note("a sync call that waits on its own loop: the heartbeat sees the loop blocked")
	req := tr.run(6, scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeSync, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, nil)
	req.BlockThresholdMS = 300
	s.send(req)
	child = s.until(6, "blocked")
	// The heartbeat reports a silence past the threshold asked, 300 ms; a
	// harness that did not read it would wait for its default, 2 s.
	tr.note("the loop was reported blocked before the default threshold of 2 s: %v", s.last.BlockedMS < 2000)
	tr.note("Go kills the child's process group")
	_ = syscall.Kill(-child, syscall.SIGKILL)
	s.until(6, "exited")

	s.send(tr.run(7, scan.Cell{Provider: "EchoSync", Mode: "bogus", Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, nil))
	s.until(7, "error")

	s.send(request{Op: "exit"})
	tr.note("the worker ends: %s", s.wait())

	tr.note("a worker whose g4f cannot be imported")
	broken := Target{Python: testPython(t), Env: WithPythonPath(os.Environ(),
		reprotest.WriteG4F(t, "raise ImportError('no g4f here')\n", nil))}
	s = tr.start(broken, harness, scan.LoopAsyncio)
	s.expect("fatal")
	tr.note("the worker ends: %s", s.wait())

	got := tr.out.Bytes()
	if *update {
		if err := os.WriteFile(protocolGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(protocolGolden)
	if err != nil {
		t.Fatalf("%v (go test -run TestWorkerProtocolTranscript -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the worker protocol changed; if on purpose, rerun with -update and review the diff\n%s",
			reprotest.LineDiff(string(want), string(got)))
	}
}

// transcriber records one transcript.
type transcriber struct {
	t        *testing.T
	dir      string // the temp dir: paths under it are written <tmp>
	out      bytes.Buffer
	children map[int64]int // request id → the pid of the child forked for it
}

func (tr *transcriber) note(format string, args ...any) {
	fmt.Fprintf(&tr.out, "# "+format+"\n", args...)
}

// run is a run request as the Pool writes it for a fork server.
func (tr *transcriber) run(id int64, c scan.Cell, messages []Message) request {
	if messages == nil {
		messages = DefaultMessages
	}
	return request{Op: "run", ID: id, Cell: &c, Call: c.Mode.CallStyle(), BlockThresholdMS: 2000, Messages: messages,
		Dump: filepath.Join(tr.dir, fmt.Sprintf("cell-%d.stacks", id)),
		Out:  filepath.Join(tr.dir, fmt.Sprintf("cell-%d.out", id))}
}

// session is one worker process under the transcriber.
type session struct {
	tr     *transcriber
	cmd    *exec.Cmd
	stdin  *os.File
	lines  chan []byte
	stderr bytes.Buffer
	last   event // the last event read
}

func (tr *transcriber) start(target Target, harness string, loop scan.Loop) *session {
	t := tr.t
	t.Helper()
	replyR, replyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{tr: tr, stdin: stdinW, lines: make(chan []byte, 64)}
	s.cmd = exec.Command(target.Python, "-u", harness, "--loop", string(loop), "--dump", filepath.Join(tr.dir, "worker.stacks"))
	s.cmd.Env = target.Env
	s.cmd.Stdin = stdinR
	s.cmd.Stdout = &s.stderr
	s.cmd.Stderr = &s.stderr
	s.cmd.ExtraFiles = []*os.File{replyW}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	replyW.Close()
	stdinR.Close()
	t.Cleanup(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		s.stdin.Close()
	})
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(replyR)
		sc.Buffer(nil, maxEventLine)
		for sc.Scan() {
			s.lines <- append([]byte(nil), sc.Bytes()...)
		}
		replyR.Close()
	}()
	return s
}

func (s *session) send(req request) {
	s.tr.t.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		s.tr.t.Fatal(err)
	}
	s.tr.out.WriteString("> " + s.tr.normalize(line) + "\n")
	if _, err := s.stdin.Write(append(line, '\n')); err != nil {
		s.tr.t.Fatalf("writing to the worker: %v", err)
	}
}

// next reads one event, checks it against Go's event type and returns it,
// decoded, with its line as the harness wrote it.
func (s *session) next() (event, []byte) {
	t := s.tr.t
	t.Helper()
	select {
	case line, ok := <-s.lines:
		if !ok {
			t.Fatalf("the worker closed fd 3; its output:\n%s", s.stderr.String())
		}
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		for _, k := range unknownKeys(raw, reflect.TypeOf(event{}), "") {
			if _, ok := ignoredEventKeys[k]; !ok {
				t.Errorf("the harness sends %q, which Go's event type has no field for: %.300s", k, line)
			}
		}
		ev, err := decodeEvent(line)
		if err != nil {
			t.Fatalf("Go cannot decode %s: %v", line, err)
		}
		s.last = ev
		return ev, line
	case <-time.After(60 * time.Second):
		t.Fatalf("no event within 60 s; the worker's output:\n%s", s.stderr.String())
	}
	return event{}, nil
}

// expect records the next event, which must be of the kind given.
func (s *session) expect(kind string) event {
	s.tr.t.Helper()
	ev, line := s.next()
	s.record(line)
	if ev.Event != kind {
		s.tr.t.Fatalf("event %q, want %q: %s", ev.Event, kind, line)
	}
	return ev
}

// until records the events up to the one of request id and kind given,
// and returns the pid of the child forked for the request, if any.
func (s *session) until(id int64, kind string) int {
	s.tr.t.Helper()
	for {
		ev, line := s.next()
		s.record(line)
		if ev.ID == id && ev.Event == kind {
			return s.tr.children[id]
		}
	}
}

// awaitChunks asks for cell id's snapshot until its first call has seen n
// chunks; the asking is not recorded.
func (s *session) awaitChunks(id int64, n int) {
	t := s.tr.t
	t.Helper()
	for ask := int64(1000); ; ask++ {
		line, _ := json.Marshal(request{Op: "tasks", ID: ask, CellID: id})
		if _, err := s.stdin.Write(append(line, '\n')); err != nil {
			t.Fatal(err)
		}
		ev, raw := s.next()
		if ev.ID != ask || ev.Event != "tasks" {
			t.Fatalf("while polling: %s", raw)
		}
		if len(ev.Calls) > 0 && ev.Calls[0].Chunks >= n {
			return
		}
		if ask > 1000+200 {
			t.Fatalf("cell %d never saw %d chunks within 10 s (does the harness read cell_id?): %s", id, n, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *session) record(line []byte) {
	var ev struct {
		ID    int64  `json:"id"`
		Event string `json:"event"`
		PID   int    `json:"pid"`
	}
	_ = json.Unmarshal(line, &ev)
	if ev.Event == "forked" {
		if s.tr.children == nil {
			s.tr.children = map[int64]int{}
		}
		s.tr.children[ev.ID] = ev.PID
	}
	s.tr.out.WriteString("< " + s.tr.normalize(line) + "\n")
}

// wait waits for the worker to exit and says how it did.
func (s *session) wait() string {
	s.tr.t.Helper()
	s.stdin.Close()
	for range s.lines {
		s.tr.t.Error("an event after the end")
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return err.Error()
		}
		return "exit status 0"
	case <-time.After(30 * time.Second):
		s.tr.t.Fatal("the worker did not exit")
	}
	return ""
}

// unknownKeys lists the keys of a decoded JSON value that the Go type t has
// no field for, as dotted paths ("calls.chain.frames.col").
func unknownKeys(v any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch val := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return nil // a map of Go's (chain_of): any key goes
		}
		fields := jsonFields(t)
		for k, sub := range val {
			ft, ok := fields[k]
			p := strings.TrimPrefix(path+"."+k, ".")
			if !ok {
				out = append(out, p)
				continue
			}
			out = append(out, unknownKeys(sub, ft, p)...)
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for _, sub := range val {
			out = append(out, unknownKeys(sub, t.Elem(), path)...)
		}
	}
	sort.Strings(out)
	return slicesCompact(out)
}

// jsonFields maps the JSON names of a struct's fields, embedded ones
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			for k, ft := range jsonFields(f.Type) {
				fields[k] = ft
			}
		case name == "":
			fields[f.Name] = f.Type
		default:
			fields[name] = f.Type
		}
	}
	return fields
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// normalize makes a protocol line the same from run to run and machine to
// machine, keeping every key: pids, times, paths, versions and the text of
// stacks become placeholders, a traceback's frames one placeholder frame.
func (tr *transcriber) normalize(line []byte) string {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		tr.t.Fatalf("not JSON: %s", line)
	}
	v = tr.neutral("", v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tr.t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (tr *transcriber) neutral(key string, v any) any {
	switch val := v.(type) {
	case map[string]any:
		for k, sub := range val {
			val[k] = tr.neutral(k, sub)
		}
		return val
	case []any:
		if key == "frames" && len(val) > 0 {
			first, _ := val[0].(map[string]any)
			frame := map[string]any{}
			for k := range first {
				frame[k] = "<" + k + ">"
			}
			return []any{frame}
		}
		for i, sub := range val {
			val[i] = tr.neutral("", sub)
		}
		return val
	case json.Number:
		if key == "pid" {
			return "<pid>"
		}
		if strings.HasSuffix(key, "_ms") && key != "block_threshold_ms" {
			return "<ms>"
		}
		return val
	case string:
		if val == "" {
			return val
		}
		switch key {
		case "python", "g4f_path":
			return "<path>"
		case "python_version", "version":
			return "<version>"
		case "nest_module":
			return "<module>"
		case "tasks", "loop_thread", "traceback", "log":
			return "<text>"
		case "dump", "out":
			return strings.Replace(val, tr.dir, "<tmp>", 1)
		}
		return val
	}
	return v
}
