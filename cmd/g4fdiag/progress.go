package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// progressThrottle is the least time between two redraws prompted by
// finished cells: a fast scan would otherwise redraw for every cell.
const progressThrottle = 100 * time.Millisecond

// progressTick is how often the line is redrawn with no cell finishing, so
// that elapsed keeps moving while cells hang.
const progressTick = time.Second

// eraseLine returns the cursor to the start of the line and erases it.
const eraseLine = "\r\x1b[2K"

// Progress is the one-line progress of a scan on a terminal's stderr:
// cells done out of the total, loop failures so far, elapsed and an
// estimate of the time left. A disabled Progress writes nothing at all, so
// callers need not ask whether stderr is a terminal.
type Progress struct {
	w       io.Writer
	enabled bool
	now     func() time.Time
	// width is the terminal's width in columns, asked at every draw (the
	// terminal may be resized during a scan); 0 means unknown: the line is
	// not clipped.
	width func() int

	mu    sync.Mutex
	start time.Time
	total int
	done  int
	// notRun counts the done cells that were decided without running
	// (skipped, not-working, unavailable): they take no time, so the
	// estimate of the time left leaves them out.
	notRun   int
	failures int
	lastDraw time.Time
	drawn    bool // a line is on the screen and Done must erase it
	finished bool

	stop    chan struct{} // closed by Done to end the ticker goroutine
	stopped chan struct{} // closed by the ticker goroutine as it ends
	once    sync.Once
}

// newProgress starts the progress of a scan of total cells. When enabled it
// draws the line at once and redraws it every second until Done; now is the
// clock (time.Now when nil), width the terminal's width in columns, asked
// at every draw (nil or 0: unknown, the line is not clipped).
func newProgress(w io.Writer, enabled bool, total int, now func() time.Time, width func() int) *Progress {
	if !enabled {
		return &Progress{}
	}
	t := time.NewTicker(progressTick)
	return startProgress(w, total, now, width, t.C, t.Stop)
}

// startProgress is newProgress enabled, redrawing on every tick; stopTicks
// runs when the ticker goroutine ends. Tests drive tick by hand.
func startProgress(w io.Writer, total int, now func() time.Time, width func() int, tick <-chan time.Time, stopTicks func()) *Progress {
	if now == nil {
		now = time.Now
	}
	if width == nil {
		width = func() int { return 0 }
	}
	p := &Progress{w: w, enabled: true, now: now, width: width, total: total,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	p.start = now()
	p.mu.Lock()
	p.draw()
	p.mu.Unlock()
	go func() {
		defer close(p.stopped)
		defer stopTicks()
		for {
			select {
			case <-tick:
				p.mu.Lock()
				if !p.finished {
					p.draw()
				}
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Observe counts one finished cell; failing says whether it failed with a
// loop-class verdict. The line is redrawn at most every 100 ms, and always
// for the last cell.
func (p *Progress) Observe(failing bool) { p.observe(true, failing) }

// ObserveNotRun counts one cell decided without running (skipped,
// not-working, unavailable): done, but it took no time, so it does not
// shorten the estimate of the time left.
func (p *Progress) ObserveNotRun() { p.observe(false, false) }

func (p *Progress) observe(ran, failing bool) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.done++
	if !ran {
		p.notRun++
	}
	if failing {
		p.failures++
	}
	if p.done >= p.total || p.now().Sub(p.lastDraw) >= progressThrottle {
		p.draw()
	}
}

// AddTotal adds n cells to the total, for cells planned while the scan runs
// (the remedies of --verify-fixes).
func (p *Progress) AddTotal(n int) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += n
}

// Done stops the redraws and erases the line, leaving the cursor where the
// line began. It may be called more than once.
func (p *Progress) Done() {
	if !p.enabled {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.stopped
		p.mu.Lock()
		defer p.mu.Unlock()
		p.finished = true
		if p.drawn {
			io.WriteString(p.w, eraseLine)
			p.drawn = false
		}
	})
}

// draw writes the line, clipped to the terminal's width; p.mu is held.
func (p *Progress) draw() {
	now := p.now()
	p.lastDraw = now
	p.drawn = true
	io.WriteString(p.w, eraseLine+p.fit(now.Sub(p.start), p.width()))
}

// line is the progress line after elapsed, without the erase sequence:
//
//	g4fdiag: 37/150 cells · 5 loop failures · 0:12 elapsed · ETA 0:34
func (p *Progress) line(elapsed time.Duration) string {
	return p.fit(elapsed, 0)
}

// fit is the line after elapsed in fewer than width columns (0: any
// width), so that it never wraps: a wrapped line is one the erase sequence
// cannot take back, and every redraw would leave one on the screen. Parts
// go or shorten, least useful first (the tool's name, the elapsed time, the
// words), before the line is cut.
func (p *Progress) fit(elapsed time.Duration, width int) string {
	counts := fmt.Sprintf("%d/%d", p.done, p.total)
	failures := fmt.Sprintf("%d loop failure", p.failures)
	if p.failures != 1 {
		failures += "s"
	}
	eta := ""
	if d, ok := p.eta(elapsed); ok {
		eta = "ETA " + clock(d)
	}
	join := func(parts ...string) string {
		parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
		return strings.Join(parts, " · ")
	}
	full := join("g4fdiag: "+counts+" cells", failures, clock(elapsed)+" elapsed", eta)
	if width <= 0 {
		return full
	}
	// The last column stays free: a character written there leaves some
	// terminals waiting to wrap.
	room := width - 1
	forms := []string{
		full,
		join(counts+" cells", failures, clock(elapsed)+" elapsed", eta),
		join(counts+" cells", failures, eta),
		join(counts, failures, eta),
		join(counts, fmt.Sprintf("%d fail", p.failures), eta),
		join(counts, eta),
	}
	for _, f := range forms {
		if utf8.RuneCountInString(f) <= room {
			return f
		}
	}
	if room <= 0 {
		return ""
	}
	return string([]rune(forms[len(forms)-1])[:room])
}

// eta estimates the time left: the mean time of the cells that ran, times
// the cells left. Cells decided without running are done in no time, and
// come first: counted as done, they would promise the rest in no time too.
func (p *Progress) eta(elapsed time.Duration) (time.Duration, bool) {
	ran := p.done - p.notRun
	if ran <= 0 || p.done >= p.total {
		return 0, false
	}
	return elapsed * time.Duration(p.total-p.done) / time.Duration(ran), true
}

// clock formats d as m:ss, or h:mm:ss from an hour on, rounded to the
// second.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// cellRan says whether a cell that ended with e ran, or began to: a cell
// decided without running (skipped, not-working, unavailable) took no time.
func cellRan(e scan.End) bool {
	switch e {
	case scan.EndSkipped, scan.EndNotWorking, scan.EndUnavailable:
		return false
	}
	return true
}

// stderrWidth is the width of the terminal stderr is, in columns: COLUMNS
// when it holds a width (as a user sets it, or a terminal that does not
// answer the ioctl), else the terminal's own; 0 when neither is known.
func (o IO) stderrWidth() int { return o.widthOf(o.Err) }

// tableWidth is the width the table on stdout must fit: the terminal's
// (COLUMNS first), else 120 for a pipe or a file, which keeps reports
// comparable wherever they are written.
func (o IO) tableWidth() int {
	if w := o.widthOf(o.Out); w > 0 && (o.OutTerminal || o.getenv("COLUMNS") != "") {
		return w
	}
	return 120
}

// widthOf is the width of the terminal w writes to: COLUMNS when it holds
// a width, else the terminal's own; 0 when neither is known.
func (o IO) widthOf(w io.Writer) int {
	if n, err := strconv.Atoi(strings.TrimSpace(o.getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if rw, ok := w.(*recordingWriter); ok {
		w = rw.w
	}
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 0
}

// showProgress says whether a scan draws its progress line: only when
// stderr is a terminal that can erase a line, and not with --quiet.
func (o IO) showProgress(quiet bool) bool {
	return o.ErrTerminal && !quiet && o.getenv("TERM") != "dumb"
}

// info writes one informational line to stderr, unless quiet: --quiet
// leaves only the report and the errors.
func (o IO) info(quiet bool, format string, args ...any) {
	if quiet {
		return
	}
	fmt.Fprintln(o.Err, diag.Sanitize(fmt.Sprintf(format, args...)))
}
