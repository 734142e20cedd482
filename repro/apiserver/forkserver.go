package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// forkServer is one loop variant's fork server: a harness process that
// imported uvicorn, g4f and g4f.api once and forks an API server per
// request (the protocol is in the harness's module doc). Requests and
// replies are records on a SOCK_SEQPACKET socket, so each request can carry
// the file descriptor of the new server's output pipe.
type forkServer struct {
	loop scan.Loop
	proc *process
	conn *net.UnixConn

	// canFork is false when the harness must not fork (reason says why):
	// it then exits, and each server is a process of its own.
	canFork bool
	reason  string

	mu      sync.Mutex
	seq     int
	replies map[int]chan forkMessage // by request id
	exits   map[int]*exitBox         // by child pid, from "forked" to "exited"
	readyc  chan forkMessage
	closed  chan struct{} // the control socket is done: no more replies or exits
}

// forkMessage is one record from the fork server.
type forkMessage struct {
	Event   string  `json:"event"` // ready, forked, error, exited
	ID      int     `json:"id"`
	PID     int     `json:"pid"`
	Fork    bool    `json:"fork"`
	Reason  string  `json:"reason"`
	Error   string  `json:"error"`
	Status  string  `json:"status"`
	Code    int     `json:"code"`
	ForkMS  float64 `json:"fork_ms"`
	SetupMS float64 `json:"setup_ms"`

	box *exitBox // forked: where the child's end will be told
}

// exitBox carries a forked child's end from the control socket's reader to
// the child's process.
type exitBox struct {
	done   chan struct{}
	status string
	code   int
}

func (b *exitBox) end(status string, code int) {
	b.status, b.code = status, code
	close(b.done)
}

// startForkServer starts the fork server of one loop and waits, at most
// timeout, until it has imported everything and said whether it can fork.
func startForkServer(ctx context.Context, t repro.Target, harness, dump string, loop scan.Loop, timeout time.Duration) (*forkServer, error) {
	theirs, mine, err := controlPair()
	if err != nil {
		return nil, fmt.Errorf("control socket for the %s fork server: %w", loop, err)
	}
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, fmt.Errorf("control socket for the %s fork server: %w", loop, err)
	}
	fs := &forkServer{loop: loop, conn: c.(*net.UnixConn), replies: make(map[int]chan forkMessage),
		exits: make(map[int]*exitBox), readyc: make(chan forkMessage, 1), closed: make(chan struct{})}
	fs.proc, err = startHarness(t, harness, []string{"--loop", string(loop), "--serve-api", "--fork-server", "--dump", dump}, nil, theirs)
	theirs.Close()
	if err != nil {
		fs.conn.Close()
		return nil, err
	}
	go fs.readControl()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case m := <-fs.readyc:
		fs.canFork, fs.reason = m.Fork, m.Reason
		if !fs.canFork && fs.reason == "" {
			fs.reason = "the harness did not say why"
		}
		return fs, nil
	case <-fs.proc.gone:
		select { // a ready record and the exit that follows it when it cannot fork
		case m := <-fs.readyc:
			fs.canFork, fs.reason = false, m.Reason
			return fs, nil
		default:
		}
		fs.stop(0)
		return nil, exitedAtStart(loop, "API fork server", fs.proc, t.Python)
	case <-ctx.Done():
		fs.stop(0)
		return nil, ctx.Err()
	case <-timer.C:
		fs.stop(0)
		return nil, &repro.EnvError{
			What: fmt.Sprintf("the %s API fork server was not ready within %s: %s", loop, timeout, lastLine(fs.proc.log.Tail(5))),
			Fix:  "check that `import g4f.api` and uvicorn work with " + t.Python + ", or raise the start timeout"}
	}
}

// readControl reads the fork server's records until the socket closes.
func (fs *forkServer) readControl() {
	buf := make([]byte, 64<<10)
	for {
		n, _, _, _, err := fs.conn.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			break
		}
		var m forkMessage
		if json.Unmarshal(buf[:n], &m) != nil {
			continue
		}
		fs.mu.Lock()
		switch m.Event {
		case "ready":
			select {
			case fs.readyc <- m:
			default:
			}
		case "forked", "error":
			if m.Event == "forked" {
				// before the next record, which may be its "exited"
				m.box = &exitBox{done: make(chan struct{})}
				fs.exits[m.PID] = m.box
			}
			if ch, ok := fs.replies[m.ID]; ok {
				delete(fs.replies, m.ID)
				ch <- m
			}
		case "exited":
			if b, ok := fs.exits[m.PID]; ok {
				delete(fs.exits, m.PID)
				b.end(m.Status, m.Code)
			}
		}
		fs.mu.Unlock()
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	close(fs.closed)
	for id, ch := range fs.replies {
		delete(fs.replies, id)
		close(ch)
	}
	// Its children die with it (PR_SET_PDEATHSIG); nobody is left to say so.
	for pid, b := range fs.exits {
		delete(fs.exits, pid)
		b.end("killed with its fork server", -1)
	}
}

// fork asks for a new server, its output on a pipe of its own and its stack
// dumps in dump, and returns it once forked (not yet listening).
func (fs *forkServer) fork(ctx context.Context, dump string) (*Server, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	reply := make(chan forkMessage, 1)
	fs.mu.Lock()
	select {
	case <-fs.closed:
		fs.mu.Unlock()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("the %s API fork server has ended: %s", fs.loop, lastLine(fs.proc.log.Tail(5)))
	default:
	}
	fs.seq++
	id := fs.seq
	fs.replies[id] = reply
	fs.mu.Unlock()

	req, _ := json.Marshal(map[string]any{"op": "fork", "id": id, "host": "127.0.0.1", "port": 0, "dump": dump})
	// Fd puts w in blocking mode, which the server's stdout and stderr must be.
	err = sendWithFile(fs.conn, req, w)
	w.Close()
	if err != nil {
		r.Close()
		fs.mu.Lock()
		delete(fs.replies, id)
		fs.mu.Unlock()
		return nil, fmt.Errorf("asking the %s API fork server for a server: %w", fs.loop, err)
	}
	select {
	case m, ok := <-reply:
		if !ok {
			r.Close()
			return nil, fmt.Errorf("the %s API fork server ended: %s", fs.loop, lastLine(fs.proc.log.Tail(5)))
		}
		if m.Event != "forked" {
			r.Close()
			return nil, fmt.Errorf("the %s API fork server could not fork: %s", fs.loop, m.Error)
		}
		srv := newServer(fs.loop, dump, true)
		srv.proc = newProcess(m.PID, r, srv.line)
		go func() {
			<-m.box.done
			srv.proc.ended(m.box.status, m.box.code)
		}()
		return srv, nil
	case <-ctx.Done():
		r.Close()
		go func() { // the child may be forked already: it must not be left running
			if m, ok := <-reply; ok && m.Event == "forked" {
				repro.KillGroup(m.PID)
			}
		}()
		return nil, ctx.Err()
	}
}

// stop closes the control socket, which ends the fork server (and, through
// PR_SET_PDEATHSIG, any child still alive), then kills its process group
// after grace if it is still there.
func (fs *forkServer) stop(grace time.Duration) {
	fs.conn.Close()
	select {
	case <-fs.proc.gone:
	case <-time.After(grace):
	}
	fs.proc.stop(0)
}
