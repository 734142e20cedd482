package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
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

	mu       sync.Mutex
	start    time.Time
	total    int
	done     int
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
// clock (time.Now when nil).
func newProgress(w io.Writer, enabled bool, total int, now func() time.Time) *Progress {
	if !enabled {
		return &Progress{}
	}
	t := time.NewTicker(progressTick)
	return startProgress(w, total, now, t.C, t.Stop)
}

// startProgress is newProgress enabled, redrawing on every tick; stopTicks
// runs when the ticker goroutine ends. Tests drive tick by hand.
func startProgress(w io.Writer, total int, now func() time.Time, tick <-chan time.Time, stopTicks func()) *Progress {
	if now == nil {
		now = time.Now
	}
	p := &Progress{w: w, enabled: true, now: now, total: total,
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
func (p *Progress) Observe(failing bool) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.done++
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

// draw writes the line; p.mu is held.
func (p *Progress) draw() {
	now := p.now()
	p.lastDraw = now
	p.drawn = true
	io.WriteString(p.w, eraseLine+p.line(now.Sub(p.start)))
}

// line is the progress line after elapsed, without the erase sequence:
//
//	g4fdiag: 37/150 cells · 5 loop failures · 0:12 elapsed · ETA 0:34
func (p *Progress) line(elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "g4fdiag: %d/%d cells · %d loop failure", p.done, p.total, p.failures)
	if p.failures != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, " · %s elapsed", clock(elapsed))
	if p.done > 0 && p.done < p.total {
		// The mean time per cell so far, times the cells left.
		eta := elapsed * time.Duration(p.total-p.done) / time.Duration(p.done)
		fmt.Fprintf(&b, " · ETA %s", clock(eta))
	}
	return b.String()
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
