package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestProgressETALeavesOutCellsNotRun: cells decided without running
// (skipped, not-working, unavailable: sent first, at once) are done but
// say nothing of how long a cell takes. With 45 of them, 10 cells run in
// 10 s leave 95 cells at 1 s each: 1:35, where counting the 45 as run
// said 0:17.
func TestProgressETALeavesOutCellsNotRun(t *testing.T) {
	p := &Progress{total: 150, done: 55, notRun: 45}
	if got, want := p.line(10*time.Second), "g4fdiag: 55/150 cells · 0 loop failures · 0:10 elapsed · ETA 1:35"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}

	// Drawn as the scan goes: no ETA while no cell has run.
	p, buf, clk, _ := manualProgress(t, 150)
	for range 45 {
		p.ObserveNotRun()
	}
	clk.advance(time.Second)
	p.ObserveNotRun()
	clk.advance(9 * time.Second)
	p.Observe(true)
	got := draws(t, buf.String())
	want := []string{
		"g4fdiag: 0/150 cells · 0 loop failures · 0:00 elapsed",
		"g4fdiag: 46/150 cells · 0 loop failures · 0:01 elapsed",
		// One cell ran in 10 s; 103 are left.
		"g4fdiag: 47/150 cells · 1 loop failure · 0:10 elapsed · ETA 17:10",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
}

// TestCellRan: only the ends of cells decided without running are not run.
func TestCellRan(t *testing.T) {
	notRun := map[scan.End]bool{scan.EndSkipped: true, scan.EndNotWorking: true, scan.EndUnavailable: true}
	for _, e := range []scan.End{scan.EndCompleted, scan.EndDeadline, scan.EndBlocked, scan.EndCrashed,
		scan.EndSkipped, scan.EndNotWorking, scan.EndUnavailable, scan.EndInterrupted} {
		if got := cellRan(e); got == notRun[e] {
			t.Errorf("cellRan(%s) = %v", e, got)
		}
	}
}

// TestProgressFitsTheWidth: at every width the line leaves the last column
// free, and parts go least useful first.
func TestProgressFitsTheWidth(t *testing.T) {
	p := &Progress{total: 150, done: 37, failures: 5}
	elapsed := 12 * time.Second
	const (
		full = "g4fdiag: 37/150 cells · 5 loop failures · 0:12 elapsed · ETA 0:37"
		b    = "37/150 cells · 5 loop failures · 0:12 elapsed · ETA 0:37"
		c    = "37/150 cells · 5 loop failures · ETA 0:37"
		d    = "37/150 · 5 loop failures · ETA 0:37"
		e    = "37/150 · 5 fail · ETA 0:37"
		f    = "37/150 · ETA 0:37"
	)
	want := map[int]string{
		0: full, 120: full, 66: full,
		65: b, 57: b,
		56: c, 42: c,
		41: d, 40: d, 36: d,
		35: e, 27: e,
		26: f, 18: f,
		17: "37/150 · ETA 0:3", 10: "37/150 · ", 1: "",
	}
	for width, w := range want {
		if got := p.fit(elapsed, width); got != w {
			t.Errorf("width %d: %q, want %q", width, got, w)
		}
	}
	for width := 1; width <= 80; width++ {
		if got := p.fit(elapsed, width); utf8.RuneCountInString(got) >= width {
			t.Errorf("width %d: %q takes %d columns", width, got, utf8.RuneCountInString(got))
		}
	}
}

// TestProgressRedrawsAtTheWidthOfTheMoment: the width is asked at every
// draw, so a terminal narrowed during a scan gets lines that fit it.
func TestProgressRedrawsAtTheWidthOfTheMoment(t *testing.T) {
	var buf lockedBuffer
	clk := newFakeClock()
	tick := make(chan time.Time) // never sent: every draw is the test's
	width := 120
	p := startProgress(&buf, 10, clk.now, func() int { return width }, tick, func() {})
	t.Cleanup(p.Done)
	clk.advance(time.Second)
	p.Observe(false)
	width = 30
	clk.advance(time.Second)
	p.Observe(false)
	got := draws(t, buf.String())
	want := []string{
		"g4fdiag: 0/10 cells · 0 loop failures · 0:00 elapsed",
		"g4fdiag: 1/10 cells · 0 loop failures · 0:01 elapsed · ETA 0:09",
		"2/10 · 0 fail · ETA 0:08",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
}

// TestStderrWidth: COLUMNS when it holds a width, else the terminal's; 0
// for a stderr that is no terminal.
func TestStderrWidth(t *testing.T) {
	var buf bytes.Buffer
	for env, want := range map[string]int{"COLUMNS=57": 57, "COLUMNS= 33 ": 33, "COLUMNS=wide": 0, "COLUMNS=0": 0, "COLUMNS=-4": 0, "": 0} {
		o := IO{Err: &buf, Environ: []string{env}}
		if got := o.stderrWidth(); got != want {
			t.Errorf("%q, stderr a buffer: width %d, want %d", env, got, want)
		}
	}
}

// TestProgressInNarrowTerminal is the acceptance test at 40 columns, in a
// real terminal (a tmux pane) whose width g4fdiag asks of the terminal
// (COLUMNS unset): every line it draws fits, so none wraps, and once the
// scan ends the screen keeps no line of progress.
func TestProgressInNarrowTerminal(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	tty, stdout, screen, code := runInTerminalSized(t, 40, "env", "-u", "COLUMNS", bin, "check", "--demo", "--python", python,
		"--provider", "EchoSync,StreamAsync,StallStream,Retired", "--timeout", "3s")
	if code != exitFailures {
		t.Fatalf("exit %d; terminal: %q", code, tty)
	}
	if !strings.Contains(stdout, "StallStream") {
		t.Errorf("no report on stdout:\n%s", stdout)
	}
	lines := strings.Split(tty, eraseLine)
	if len(lines) < 3 || lines[0] != "" {
		t.Fatalf("terminal: %q, want lines drawn after the erase sequence", tty)
	}
	eta := false
	for _, l := range lines[1:] {
		if n := utf8.RuneCountInString(l); n >= 40 {
			t.Errorf("a line of %d columns in a 40-column terminal: %q", n, l)
		}
		if strings.Contains(l, "\n") {
			t.Errorf("a line with a line break: %q", l)
		}
		eta = eta || strings.Contains(l, "ETA ")
	}
	if !eta {
		t.Errorf("no ETA while cells ran: %q", tty)
	}
	if strings.Contains(screen, "cells") || strings.Contains(screen, "loop fail") || strings.Contains(screen, "ETA") {
		t.Errorf("the screen keeps progress after the scan:\n%s", screen)
	}
}
