package repro

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// event is one JSON line a worker writes on fd 3. Which fields are set
// depends on Event.
type event struct {
	ID    int64  `json:"id"`
	Event string `json:"event"` // ready, fatal, catalog, forked, blocked, done, exited, tasks, error

	// ready
	Loop          scan.Loop `json:"loop"`
	Available     bool      `json:"available"`
	Reason        string    `json:"reason"`
	Package       string    `json:"package"`
	Version       string    `json:"version"`
	Python        string    `json:"python"`
	PythonVersion string    `json:"python_version"`
	G4FVersion    string    `json:"g4f_version"`
	G4FPath       string    `json:"g4f_path"`
	NestModule    string    `json:"nest_module"`
	PID           int       `json:"pid"`
	// Fork says the worker is a fork server: every cell runs in a child
	// forked for it. ForkReason says why not, when it is not.
	Fork       bool   `json:"fork"`
	ForkReason string `json:"fork_reason"`

	// forked: the child's pid (in PID) and what the fork cost
	ForkMS float64 `json:"fork_ms"`
	// exited: how a forked child ended (after done, or instead of it)
	Status string `json:"status"`

	// fatal, error
	Error *scan.PyException `json:"error"`

	// catalog
	Providers []providers.Provider `json:"providers"`

	// done, and the snapshot in tasks
	Calls []scan.Call `json:"calls"`
	// ChainOf: calls whose exception chain is that of another call (by
	// position in Calls), sent once; decodeEvent fills them in.
	ChainOf    chainRefs `json:"chain_of,omitempty"`
	Log        string    `json:"log"`
	DurationMS float64   `json:"duration_ms"`
	// NestPatchedAfter says nest_asyncio patched the process by the end of
	// the cell: later cells in it would not meet what a fresh process meets.
	NestPatchedAfter bool `json:"nest_patched_after"`

	// blocked
	LoopThread string  `json:"loop_thread"`
	BlockedMS  float64 `json:"blocked_ms"`

	// tasks
	Tasks string `json:"tasks"`
}

// request is one JSON line Go writes to a worker's stdin.
type request struct {
	Op               string     `json:"op"`
	ID               int64      `json:"id"`
	Cell             *scan.Cell `json:"cell,omitempty"`
	CellID           int64      `json:"cell_id,omitempty"`
	BlockThresholdMS int64      `json:"block_threshold_ms,omitempty"`
	Messages         []Message  `json:"messages,omitempty"`
	// Dump and Out are a forked child's own files: its faulthandler
	// stacks, and what it writes below Python (a crash's last words).
	Dump string `json:"dump,omitempty"`
	Out  string `json:"out,omitempty"`
	// Call is how the harness calls g4f for a run's mode (modeTable).
	Call *scan.CallStyle `json:"call,omitempty"`
}

// Message is one chat message sent to a provider.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// errWorkerExited is returned to callers waiting on a worker that died.
var errWorkerExited = errors.New("worker exited")

// worker is one long-lived Python process serving cells of one loop variant.
// It is owned by a Pool, which starts it, routes cells to it and ends it.
type worker struct {
	loop     scan.Loop
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	replies  *os.File // fd 3's read end
	dumpPath string
	stderr   *tailBuffer
	ready    event

	writeMu sync.Mutex

	mu       sync.Mutex
	nextID   int64
	waiting  map[int64]chan event
	inflight int  // cells Go still waits for
	tainted  bool // a cell is stuck in it: no new cells, end when idle
	exited   chan struct{}
	exitErr  error // set before exited is closed
}

// startWorker starts the harness for one loop variant and waits for its ready
// line. It fails with an *EnvError when the interpreter is missing, g4f
// cannot be imported, the worker is not ready within the target's start
// timeout, or something writes an oversize line to fd 3 before the ready
// line; with ctx's error when ctx ends first. In every case the worker is
// gone when it returns an error.
func startWorker(ctx context.Context, t Target, harness, dumpPath string, loop scan.Loop) (*worker, error) {
	replyR, replyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(t.Python, "-u", harness, "--loop", string(loop), "--dump", dumpPath)
	cmd.Env = t.Env
	cmd.ExtraFiles = []*os.File{replyW} // fd 3 in the child
	cmd.SysProcAttr = ProcAttr()
	// A process that left the group may still hold the worker's stdout:
	// Wait must not wait for it for ever.
	cmd.WaitDelay = exitGrace
	stderr := newTailBuffer(64 << 10)
	cmd.Stdout = stderr // provider prints; kept only as a tail for crash reports
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		replyR.Close()
		replyW.Close()
		return nil, err
	}
	if err := StartContained(cmd); err != nil {
		replyR.Close()
		replyW.Close()
		return nil, envErrorf("pass --python with the path of a Python 3 interpreter",
			"cannot start Python %q: %v", t.Python, unwrapExec(err))
	}
	replyW.Close()
	w := &worker{
		loop: loop, cmd: cmd, stdin: stdin, replies: replyR, dumpPath: dumpPath, stderr: stderr,
		waiting: make(map[int64]chan event), exited: make(chan struct{}),
	}
	readyCh := make(chan startReply, 1)
	go w.read(replyR, readyCh)

	timer := time.NewTimer(t.startTimeout())
	defer timer.Stop()
	select {
	case r, ok := <-readyCh:
		switch {
		case !ok:
			w.waitExited()
			return nil, w.startError(t)
		case r.err != nil:
			w.stop()
			return nil, envErrorf("check what `import g4f` writes to file descriptor 3 with that interpreter",
				"the %s worker (%s) wrote no ready line: %v before it", loop, t.Python, r.err)
		case r.ev.Event == "fatal":
			w.stop()
			return nil, importError(t, r.ev.Error)
		}
		w.ready = r.ev
		return w, nil
	case <-timer.C:
		w.stop()
		return nil, envErrorf("check that `import g4f` works with that interpreter",
			"the %s worker (%s) did not start within %s", loop, t.Python, t.startTimeout())
	case <-ctx.Done():
		w.stop()
		return nil, ctx.Err()
	}
}

// startReply is a worker's first line: its ready (or fatal) event, or the
// protocol problem that came instead.
type startReply struct {
	ev  event
	err *ProtocolError
}

// maxStartLine bounds a worker's first line, its ready or fatal event: a
// few hundred bytes, or one exception record.
const maxStartLine = 1 << 20

// exitGrace bounds each wait for a killed worker: for its process to be
// reaped and its fd 3 and output pipes to close.
const exitGrace = 2 * time.Second

// stop kills the worker's process group and waits, within bounds, until its
// reader is done.
func (w *worker) stop() {
	w.kill()
	w.waitExited()
}

// waitExited waits for the reader to see the worker end. When something
// outside the process group still holds fd 3 open, the pipe is closed under
// the reader; a worker that still does not end is left to its goroutine.
func (w *worker) waitExited() {
	select {
	case <-w.exited:
		return
	case <-time.After(exitGrace):
	}
	_ = w.replies.Close()
	select {
	case <-w.exited:
	case <-time.After(2 * exitGrace):
	}
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (w *worker) startError(t Target) error {
	tail := lastLine(w.stderr.String())
	return envErrorf("check the interpreter with `"+t.Python+" -c 'import g4f'`",
		"the %s worker exited at start (%v): %s", w.loop, w.exitErr, tail)
}

func importError(t Target, exc *scan.PyException) error {
	msg := "unknown error"
	if exc != nil {
		msg = exc.Type + ": " + exc.Message
	}
	fix := "install g4f for it, put a g4f checkout on PYTHONPATH, pass --python, or try --demo"
	return envErrorf(fix, "g4f is not importable with %s (%s)", t.Python, msg)
}

// read decodes the worker's fd 3 until EOF, hands the first line (ready or
// fatal, or the protocol problem in its place) to readyCh and every later
// event to whoever waits for its ID. It reads to the end whatever comes, so
// the worker never blocks on a full pipe; lines that are no event are noted
// in the stderr tail.
func (w *worker) read(r io.ReadCloser, readyCh chan<- startReply) {
	defer r.Close()
	er := newEventReader(r, maxStartLine)
	first := true
	for {
		if !first {
			er.max = maxEventLine
		}
		ev, err := er.next()
		var perr *ProtocolError
		if errors.As(err, &perr) {
			w.stderr.Write([]byte("g4fdiag: " + perr.Error() + "\n"))
			if first && perr.TooLong {
				first = false
				readyCh <- startReply{err: perr}
			}
			continue
		}
		if err != nil {
			break
		}
		if first {
			first = false
			readyCh <- startReply{ev: ev}
			continue
		}
		w.mu.Lock()
		ch := w.waiting[ev.ID]
		w.mu.Unlock()
		if ch != nil {
			select {
			case ch <- ev:
			default: // nobody listens any more
			}
		}
	}
	if first {
		close(readyCh)
	}
	err := w.cmd.Wait()
	w.mu.Lock()
	w.exitErr = err
	if err == nil {
		w.exitErr = errors.New("exit status 0")
	}
	w.mu.Unlock()
	close(w.exited)
}

// send writes one request and returns the channel its events arrive on.
func (w *worker) send(req request) (int64, <-chan event, error) {
	w.mu.Lock()
	w.nextID++
	req.ID = w.nextID
	ch := make(chan event, 8) // forked, blocked, done, exited: never more
	w.waiting[req.ID] = ch
	w.mu.Unlock()
	line, err := json.Marshal(req)
	if err != nil {
		return 0, nil, err
	}
	w.writeMu.Lock()
	_, err = w.stdin.Write(append(line, '\n'))
	w.writeMu.Unlock()
	if err != nil {
		w.forget(req.ID)
		return 0, nil, fmt.Errorf("%w: %v", errWorkerExited, err)
	}
	return req.ID, ch, nil
}

func (w *worker) forget(id int64) {
	w.mu.Lock()
	delete(w.waiting, id)
	w.mu.Unlock()
}

// call sends a request and waits for its single reply.
func (w *worker) call(ctx context.Context, req request, timeout time.Duration) (event, error) {
	id, ch, err := w.send(req)
	if err != nil {
		return event{}, err
	}
	defer w.forget(id)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			switch ev.Event {
			case "forked": // a fork server serves this request in a child
				continue
			case "exited":
				return event{}, fmt.Errorf("the process serving %s exited (%s)", req.Op, ev.Status)
			}
			return ev, nil
		case <-w.exited:
			return event{}, errWorkerExited
		case <-timer.C:
			return event{}, fmt.Errorf("no answer to %s within %s", req.Op, timeout)
		case <-ctx.Done():
			return event{}, ctx.Err()
		}
	}
}

// DumpStacks sends SIGUSR1 to a harness process (worker or API server) whose
// faulthandler writes every thread's stack to path, and returns what it
// wrote. It works even when no Python thread of the process can run.
func DumpStacks(pid int, path string) string { return dumpStacksWithin(pid, path, time.Second) }

// dumpStacksWithin is DumpStacks waiting at most limit for the dump.
func dumpStacksWithin(pid int, path string, limit time.Duration) string {
	before := fileSize(path)
	if err := signalDump(pid); err != nil {
		return ""
	}
	deadline := time.Now().Add(limit)
	last, stableSince := before, time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		size := fileSize(path)
		if size != last {
			last, stableSince = size, time.Now()
			continue
		}
		if size > before && time.Since(stableSince) >= 30*time.Millisecond {
			break
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(before, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// fileTail is the last n lines of the last 64 KiB of a file: what a dead
// child wrote below Python.
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 64 << 10
	if size := fileSize(path); size > most {
		if _, err := f.Seek(size-most, io.SeekStart); err != nil {
			return ""
		}
	}
	b, _ := io.ReadAll(io.LimitReader(f, most))
	t := newTailBuffer(most)
	t.Write(b)
	return t.Tail(n)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// kill ends the worker's whole process group: provider code may have started
// children of its own.
func (w *worker) kill() {
	if w.cmd.Process == nil {
		return
	}
	KillGroup(w.cmd.Process.Pid)
	_ = w.stdin.Close()
}

func (w *worker) isExited() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Tail returns the last n lines.
func (t *tailBuffer) Tail(n int) string {
	s := strings.TrimRight(t.String(), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LastLine is the last non-blank line of a process's output, for one-line
// error messages; "no output" when there is none.
func LastLine(s string) string { return lastLine(s) }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no output"
	}
	return string(bytes.TrimSpace([]byte(s)))
}
