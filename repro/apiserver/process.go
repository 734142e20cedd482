package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
)

// outputGrace bounds how long a process's output is read after it ended: a
// process it started and that left its group could hold the pipe open.
const outputGrace = time.Second

// logBudget is the bytes of output kept per process.
const logBudget = 4 << 20

// process is a harness process as Go sees it — a fork server, or one API
// server — its output read line by line into a Log, and its end. Its
// process group has its pid as id.
type process struct {
	pid int
	log *Log
	out *os.File // the read end of its stdout and stderr

	read   chan struct{} // its output is read to the end
	exited chan struct{} // it was reaped; status and code are set
	gone   chan struct{} // both: nothing more will come of it

	status string // how it ended, as Python or Go says it: "exit status 3", "signal: killed"
	code   int    // its exit status, -1 after a signal
}

// newProcess starts reading the output of the process pid from out,
// calling line (when not nil) with each line before it is logged.
func newProcess(pid int, out *os.File, line func(string)) *process {
	p := &process{pid: pid, log: NewLog(logBudget), out: out,
		read: make(chan struct{}), exited: make(chan struct{}), gone: make(chan struct{})}
	go p.readOutput(line)
	go func() {
		<-p.exited
		select {
		case <-p.read:
		case <-time.After(outputGrace):
			p.out.Close() // ends the read
			<-p.read
		}
		close(p.gone)
	}()
	return p
}

func (p *process) readOutput(line func(string)) {
	defer close(p.read)
	defer p.out.Close()
	sc := bufio.NewScanner(p.out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if line != nil {
			line(sc.Text())
		}
		p.log.Add(sc.Text(), time.Now())
	}
	io.Copy(io.Discard, p.out) // a line over the limit: drain so the process never blocks
}

// ended records how the process ended; whoever reaps it calls it once.
func (p *process) ended(status string, code int) {
	p.status, p.code = status, code
	close(p.exited)
}

// isGone reports whether the process has ended and its output is read.
func (p *process) isGone() bool {
	select {
	case <-p.gone:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after grace if it is
// still there (or at once when grace is 0). It returns once the process is
// reaped and its output read. A process that is gone is not signalled: its
// id may belong to another by now. One that has exited is: the processes it
// left in its group keep the id theirs.
func (p *process) stop(grace time.Duration) {
	if p.isGone() {
		return
	}
	if grace > 0 {
		repro.TermGroup(p.pid)
		select {
		case <-p.gone:
			return
		case <-time.After(grace):
		}
	}
	repro.KillGroup(p.pid)
	<-p.gone
}

// startHarness starts the harness with args as startCommand does, extra as
// fds 3 and up.
func startHarness(t repro.Target, harness string, args []string, line func(string), extra ...*os.File) (*process, error) {
	cmd := exec.Command(t.Python, append([]string{"-u", harness}, args...)...)
	cmd.Env = t.Env
	cmd.ExtraFiles = extra
	p, err := startCommand(cmd, line)
	if err != nil {
		return nil, &repro.EnvError{What: fmt.Sprintf("cannot start Python %q: %v", t.Python, err),
			Fix: "pass --python with the path of a Python 3 interpreter"}
	}
	return p, nil
}

// startCommand starts cmd in a process group of its own (repro.ProcAttr:
// on Linux killed with Go too), stdout and stderr on one pipe read into the process's Log,
// and reaps it in a goroutine of its own.
func startCommand(cmd *exec.Cmd, line func(string)) (*process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w // one stream, in order
	cmd.SysProcAttr = repro.ProcAttr()
	err = repro.StartContained(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	p := newProcess(cmd.Process.Pid, r, line)
	go func() {
		err := cmd.Wait()
		code, status := 0, "exit status 0"
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code, status = ee.ExitCode(), ee.Error()
		} else if err != nil {
			code, status = -1, err.Error()
		}
		p.ended(status, code)
	}()
	return p, nil
}
