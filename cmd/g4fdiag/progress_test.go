package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the clock of a Progress under test: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer is a stderr the ticker goroutine and the test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// draws splits what a Progress wrote into the lines it drew, in order; a
// trailing "" is the erase of Done.
func draws(t *testing.T, out string) []string {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasPrefix(out, eraseLine) {
		t.Fatalf("output does not start with the erase sequence: %q", out)
	}
	return strings.Split(out, eraseLine)[1:]
}

// manualProgress is an enabled Progress whose ticks the test sends.
func manualProgress(t *testing.T, total int) (*Progress, *lockedBuffer, *fakeClock, chan time.Time) {
	t.Helper()
	var buf lockedBuffer
	clk := newFakeClock()
	tick := make(chan time.Time)
	p := startProgress(&buf, total, clk.now, nil, tick, func() {})
	t.Cleanup(p.Done)
	return p, &buf, clk, tick
}

func TestProgressLine(t *testing.T) {
	p, buf, clk, _ := manualProgress(t, 150)
	for i := range 36 {
		p.Observe(i < 5) // at the start time: throttled, not drawn
	}
	clk.advance(12 * time.Second)
	p.Observe(false)
	got := draws(t, buf.String())
	want := []string{
		"g4fdiag: 0/150 cells · 0 loop failures · 0:00 elapsed",
		// 12s for 37 cells, so 113 more take 36.6s.
		"g4fdiag: 37/150 cells · 5 loop failures · 0:12 elapsed · ETA 0:37",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
}

func TestProgressLineForms(t *testing.T) {
	tests := []struct {
		name                  string
		total, done, failures int
		elapsed               time.Duration
		want                  string
	}{
		{"nothing done: no ETA", 10, 0, 0, 5 * time.Second,
			"g4fdiag: 0/10 cells · 0 loop failures · 0:05 elapsed"},
		{"one failure", 10, 5, 1, 10 * time.Second,
			"g4fdiag: 5/10 cells · 1 loop failure · 0:10 elapsed · ETA 0:10"},
		{"all done: no ETA", 10, 10, 3, 75 * time.Second,
			"g4fdiag: 10/10 cells · 3 loop failures · 1:15 elapsed"},
		{"hours", 4, 1, 0, time.Hour + 2*time.Minute + 5*time.Second,
			"g4fdiag: 1/4 cells · 0 loop failures · 1:02:05 elapsed · ETA 3:06:15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Progress{total: tc.total, done: tc.done, failures: tc.failures}
			if got := p.line(tc.elapsed); got != tc.want {
				t.Errorf("line = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0:00",
		-time.Second:                          "0:00",
		499 * time.Millisecond:                "0:00",
		59*time.Second + 600*time.Millisecond: "1:00",
		61 * time.Second:                      "1:01",
		59*time.Minute + 59*time.Second:       "59:59",
		time.Hour:                             "1:00:00",
		25*time.Hour + 3*time.Second:          "25:00:03",
	} {
		if got := clock(d); got != want {
			t.Errorf("clock(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestProgressThrottle: finished cells redraw at most every 100 ms, and the
// last cell always.
func TestProgressThrottle(t *testing.T) {
	p, buf, clk, _ := manualProgress(t, 5)
	clk.advance(50 * time.Millisecond)
	p.Observe(false) // 50 ms after the first draw: not drawn
	clk.advance(50 * time.Millisecond)
	p.Observe(true) // 100 ms: drawn
	p.Observe(false)
	p.Observe(false) // same instant: not drawn
	p.Observe(false) // the last cell: drawn at once
	got := draws(t, buf.String())
	want := []string{
		"g4fdiag: 0/5 cells · 0 loop failures · 0:00 elapsed",
		"g4fdiag: 2/5 cells · 1 loop failure · 0:00 elapsed · ETA 0:00",
		"g4fdiag: 5/5 cells · 1 loop failure · 0:00 elapsed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
}

// TestProgressTicks: with no cell finishing, every tick redraws the line so
// elapsed moves while cells hang.
func TestProgressTicks(t *testing.T) {
	p, buf, clk, tick := manualProgress(t, 3)
	clk.advance(200 * time.Millisecond)
	p.Observe(false)
	for _, want := range []string{"0:01 elapsed · ETA 0:02", "0:02 elapsed · ETA 0:04"} {
		clk.advance(time.Second)
		tick <- time.Time{}
		waitFor(t, buf, want)
	}
}

func waitFor(t *testing.T, buf *lockedBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if lines := draws(t, buf.String()); len(lines) > 0 && strings.HasSuffix(lines[len(lines)-1], want) {
			return
		}
	}
	t.Fatalf("no line ending %q; output %q", want, buf.String())
}

func TestProgressAddTotal(t *testing.T) {
	p, buf, clk, _ := manualProgress(t, 2)
	p.Observe(true)
	p.Observe(false) // the last of the first 2: drawn
	p.AddTotal(4)    // the remedies of the failing cell
	clk.advance(time.Second)
	p.Observe(false)
	got := draws(t, buf.String())
	if last := got[len(got)-1]; last != "g4fdiag: 3/6 cells · 1 loop failure · 0:01 elapsed · ETA 0:01" {
		t.Errorf("last line = %q", last)
	}
	if got[1] != "g4fdiag: 2/2 cells · 1 loop failure · 0:00 elapsed" {
		t.Errorf("line of the last first-round cell = %q", got[1])
	}
}

// TestProgressDone: Done erases the line, stops the ticker goroutine, and
// nothing is written after it.
func TestProgressDone(t *testing.T) {
	var buf lockedBuffer
	clk := newFakeClock()
	tick := make(chan time.Time)
	tickerStopped := make(chan struct{})
	p := startProgress(&buf, 3, clk.now, nil, tick, func() { close(tickerStopped) })
	p.Observe(false)
	p.Done()
	select {
	case <-p.stopped:
	default:
		t.Fatal("the ticker goroutine outlives Done")
	}
	select {
	case <-tickerStopped:
	default:
		t.Fatal("Done did not stop the ticker")
	}
	out := buf.String()
	if !strings.HasSuffix(out, "elapsed"+eraseLine) {
		t.Errorf("output after Done does not end with the erase: %q", out)
	}
	clk.advance(time.Minute)
	p.Observe(true)
	p.AddTotal(1)
	p.Done()
	if buf.String() != out {
		t.Errorf("written after Done: %q", strings.TrimPrefix(buf.String(), out))
	}
}

// TestProgressDisabled: a disabled Progress writes nothing and starts no
// goroutine.
func TestProgressDisabled(t *testing.T) {
	var buf lockedBuffer
	p := newProgress(&buf, false, 10, nil, nil)
	if p.stop != nil {
		t.Error("a disabled Progress started its ticker")
	}
	p.Observe(true)
	p.AddTotal(3)
	p.Observe(false)
	p.Done()
	p.Done()
	if buf.String() != "" {
		t.Errorf("disabled Progress wrote %q", buf.String())
	}
}

// TestProgressConcurrent drives a real-clock Progress from several
// goroutines while its ticker runs; run with -race.
func TestProgressConcurrent(t *testing.T) {
	var buf lockedBuffer
	p := newProgress(&buf, true, 400, nil, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				p.Observe(i%10 == 0)
				time.Sleep(50 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	p.Done()
	<-p.stopped
	lines := draws(t, buf.String())
	if len(lines) < 3 || lines[len(lines)-1] != "" || !strings.HasPrefix(lines[len(lines)-2], "g4fdiag: 400/400 cells · 40 loop failures · ") {
		t.Errorf("lines = %q", lines)
	}
}

func TestShowProgress(t *testing.T) {
	tests := []struct {
		terminal, quiet bool
		term            string
		want            bool
	}{
		{true, false, "xterm-256color", true},
		{true, false, "", true},
		{true, true, "xterm", false},
		{true, false, "dumb", false},
		{false, false, "xterm", false},
	}
	for _, tc := range tests {
		o := IO{ErrTerminal: tc.terminal, Environ: []string{"TERM=" + tc.term}}
		if got := o.showProgress(tc.quiet); got != tc.want {
			t.Errorf("terminal=%v quiet=%v TERM=%q: showProgress = %v, want %v", tc.terminal, tc.quiet, tc.term, got, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	var buf bytes.Buffer
	o := IO{Err: &buf}
	o.info(false, "wrote %s", "repro.py")
	o.info(true, "not %s", "this")
	if buf.String() != "wrote repro.py\n" {
		t.Errorf("stderr = %q", buf.String())
	}
}

// TestScanProgress runs a small scan in process with stderr said to be a
// terminal: the line is drawn and erased, and --quiet, TERM=dumb or jsonl
// streamed to the same terminal leave stderr empty.
func TestScanProgress(t *testing.T) {
	python := testPython(t)
	args := []string{"g4fdiag", "check", "--demo", "--python", python, "--provider", "EchoSync", "--modes", "baseline,sync", "--loops", "asyncio"}
	tests := []struct {
		name        string
		extra       []string
		term        string
		outTerminal bool
		progress    bool
	}{
		{"terminal", nil, "xterm", false, true},
		{"quiet", []string{"--quiet"}, "xterm", false, false},
		{"TERM=dumb", nil, "dumb", false, false},
		{"jsonl to the terminal", []string{"--format", "jsonl"}, "xterm", true, false},
		{"jsonl to a pipe", []string{"--format", "jsonl"}, "xterm", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(append(append([]string{}, args...), tc.extra...), IO{
				In: strings.NewReader(""), Out: &out, Err: &errOut, ErrTerminal: true, OutTerminal: tc.outTerminal,
				Environ: append(os.Environ(), "TERM="+tc.term),
			})
			if code != exitOK {
				t.Fatalf("exit %d: %q", code, errOut.String())
			}
			if !strings.Contains(out.String(), "EchoSync") {
				t.Errorf("no report on stdout:\n%s", out.String())
			}
			stderr := errOut.String()
			if !tc.progress {
				if stderr != "" {
					t.Errorf("stderr = %q, want nothing", stderr)
				}
				return
			}
			lines := draws(t, stderr)
			if len(lines) < 3 || lines[len(lines)-1] != "" ||
				!strings.HasPrefix(lines[len(lines)-2], "g4fdiag: 2/2 cells · 0 loop failures · ") {
				t.Errorf("stderr = %q, want the line drawn, ending at 2/2 cells, then erased", stderr)
			}
		})
	}
}

// TestQuietNotes: --quiet drops the notes repro --emit-script writes to
// stderr; the report on stdout and the script itself stay.
func TestQuietNotes(t *testing.T) {
	python := testPython(t)
	path := filepath.Join(t.TempDir(), "repro.py")
	code, out, stderr := run(t, os.Environ(), "repro", "--demo", "--python", python, "--provider", "StreamAsync",
		"--loops", "uvloop", "--modes", "sync", "--emit-script", path, "--quiet")
	if code != exitFailures {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr with --quiet = %q, want nothing", stderr)
	}
	if !strings.Contains(out, "StreamAsync") {
		t.Errorf("no report with --quiet:\n%s", out)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("no script with --quiet: %v", err)
	}
}

// progressLine matches a drawn progress line.
var progressLine = regexp.MustCompile(`\r\x1b\[2Kg4fdiag: (\d+)/(\d+) cells · \d+ loop failures? · \d+:\d\d elapsed`)

// TestProgressInTerminal is the acceptance test: g4fdiag in a real terminal
// (a tmux pane) draws its progress line on stderr and erases it; with
// --quiet, or with stderr piped, stderr has no progress and no escape codes.
func TestProgressInTerminal(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	args := []string{bin, "check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync,StallStream", "--timeout", "3s"}

	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		tty, stdout, code := runInTerminal(t, args...)
		if code != exitFailures {
			t.Fatalf("exit %d; terminal: %q", code, tty)
		}
		if !strings.Contains(stdout, "StallStream") || strings.Contains(stdout, "cells ·") {
			t.Errorf("stdout is not the bare report:\n%s", stdout)
		}
		matches := progressLine.FindAllStringSubmatch(tty, -1)
		if len(matches) == 0 {
			t.Fatalf("no progress line on the terminal: %q", tty)
		}
		last := matches[len(matches)-1]
		if last[1] != last[2] || last[2] != "45" {
			t.Errorf("last progress line counts %s/%s cells, want 45/45: %q", last[1], last[2], tty)
		}
		if !strings.Contains(tty, " · ETA ") {
			t.Errorf("no ETA while cells ran: %q", tty)
		}
		if !strings.HasSuffix(tty, eraseLine) {
			t.Errorf("the line is not erased at the end: %q", tty)
		}
	})
	t.Run("terminal --quiet", func(t *testing.T) {
		t.Parallel()
		tty, stdout, code := runInTerminal(t, append(args, "--quiet")...)
		if code != exitFailures {
			t.Fatalf("exit %d; terminal: %q", code, tty)
		}
		if !strings.Contains(stdout, "StallStream") {
			t.Errorf("no report with --quiet:\n%s", stdout)
		}
		if tty != "" {
			t.Errorf("--quiet wrote to the terminal: %q", tty)
		}
	})
	t.Run("piped", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitFailures {
			t.Fatalf("exit %d (%v): %q", code, err, stderr.String())
		}
		if s := stderr.String(); strings.Contains(s, "\x1b") || strings.Contains(s, "cells ·") {
			t.Errorf("piped stderr has progress or escape codes: %q", s)
		}
		if s := stdout.String(); !strings.Contains(s, "StallStream") || strings.Contains(s, "\x1b") {
			t.Errorf("piped stdout is not the plain report:\n%s", s)
		}
	})
}

// runInTerminal runs argv in a pane of a private tmux server, stdout to a
// file and stderr to the pane's terminal. It returns every byte the program
// wrote to the terminal (as pipe-pane saw them, before tmux renders them),
// its stdout and its exit code.
func runInTerminal(t *testing.T, argv ...string) (tty, stdout string, code int) {
	t.Helper()
	tty, stdout, _, code = runInTerminalSized(t, 200, argv...)
	return tty, stdout, code
}

// runInTerminalSized is runInTerminal in a pane cols columns wide; it
// returns too the screen the pane shows once the program has ended (as
// tmux rendered it, one line per row).
func runInTerminalSized(t *testing.T, cols int, argv ...string) (tty, stdout, screen string, code int) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("no tmux for the terminal test (run scripts/setup.sh): %v", err)
	}
	dir := t.TempDir()
	sock, raw, out := filepath.Join(dir, "tmux.sock"), filepath.Join(dir, "tty"), filepath.Join(dir, "stdout")
	tmuxDo := func(args ...string) {
		t.Helper()
		cmd := exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	// The pane waits for a key before it starts the program, so that
	// pipe-pane records from its first byte; then it prints a marker with
	// the exit code and waits to be killed.
	const marker = "g4fdiag-test-exit"
	script := fmt.Sprintf("read _; %s >%s; echo %s $?; read _", shellQuote(argv...), shellQuote(out), marker)
	tmuxDo("new-session", "-d", "-s", "g4fdiag", "-x", strconv.Itoa(cols), "-y", "50", script)
	t.Cleanup(func() {
		exec.Command(tmux, "-S", sock, "kill-server").Run()
	})
	tmuxDo("pipe-pane", "-t", "g4fdiag", "cat >"+shellQuote(raw))
	tmuxDo("send-keys", "-t", "g4fdiag", "Enter")

	exit := regexp.MustCompile(marker + ` (\d+)`)
	var all string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(raw)
		all = string(b)
		if exit.MatchString(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not end in the terminal; it shows %q", argv[0], all)
		}
	}
	code, _ = strconv.Atoi(exit.FindStringSubmatch(all)[1])
	tty = all[:strings.Index(all, marker)]
	tty = strings.TrimPrefix(tty, "\r\n") // the echo of the key that started it
	capture := exec.Command(tmux, "-S", sock, "capture-pane", "-p", "-t", "g4fdiag")
	shown, err := capture.Output()
	if err != nil {
		t.Fatalf("tmux capture-pane: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return tty, string(b), string(shown), code
}

// shellQuote quotes words for sh.
func shellQuote(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
