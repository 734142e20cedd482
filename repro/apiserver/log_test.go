package apiserver

import (
	"strings"
	"testing"
	"time"
)

func TestLogFor(t *testing.T) {
	l := NewLog(1 << 20)
	t0 := time.Now()
	l.Add("g4fdiag-log t=1.000 req=a uvicorn.error INFO: started", t0)
	l.Add("g4fdiag-log t=2.000 req=b root ERROR: Traceback for b", t0.Add(2*time.Second))
	l.Add("g4fdiag-log t=2.100 req=- asyncio ERROR: Exception in callback", t0.Add(2100*time.Millisecond))
	l.Add("g4fdiag-log t=2.100 req=- asyncio ERROR: RuntimeError: Cannot enter into task", t0.Add(2100*time.Millisecond))
	l.Add("plain line without a prefix", t0.Add(9*time.Second))
	got := l.For("b", t0.Add(1900*time.Millisecond), t0.Add(2050*time.Millisecond))
	want := "root ERROR: Traceback for b\nasyncio ERROR: Exception in callback\nasyncio ERROR: RuntimeError: Cannot enter into task\n"
	if got != want {
		t.Errorf("For(b):\n%q\nwant\n%q", got, want)
	}
	if got := l.For("a", t0.Add(5*time.Second), t0.Add(6*time.Second)); got != "uvicorn.error INFO: started\n" {
		t.Errorf("For(a) = %q", got)
	}
	if tail := l.Tail(1); tail != "plain line without a prefix\n" {
		t.Errorf("Tail = %q", tail)
	}
	l.Add("g4fdiag-log t=3.000 req=b,c asyncio ERROR: RuntimeError: Cannot enter into task A while another task B is being executed.", t0.Add(3*time.Second))
	for _, id := range []string{"b", "c"} {
		if got := l.For(id, t0.Add(time.Hour), t0.Add(time.Hour)); !strings.Contains(got, "Cannot enter into task A") {
			t.Errorf("For(%s) misses the record about both b and c: %q", id, got)
		}
	}
	if got := l.For("b,c", t0.Add(time.Hour), t0.Add(time.Hour)); got != "" {
		t.Errorf(`For("b,c") = %q: ids are matched one by one`, got)
	}
	// a task of no request yet: the running request's, and every request's of its time
	l.Add("g4fdiag-log t=4.000 req=b,- asyncio ERROR: RuntimeError: Cannot enter into task <Task pending coro=<RequestResponseCycle.run_asgi()>>", t0.Add(4*time.Second))
	if got := l.For("b", t0.Add(time.Hour), t0.Add(time.Hour)); !strings.Contains(got, "run_asgi") {
		t.Errorf("For(b) misses the record tagged with it: %q", got)
	}
	if got := l.For("d", t0.Add(3900*time.Millisecond), t0.Add(4100*time.Millisecond)); !strings.Contains(got, "run_asgi") {
		t.Errorf("For(d) misses the record about a task of no request, logged while d ran: %q", got)
	}
	if got := l.For("d", t0.Add(5*time.Second), t0.Add(6*time.Second)); strings.Contains(got, "run_asgi") {
		t.Errorf("For(d) has a record of another time: %q", got)
	}
}

func TestLogIsBounded(t *testing.T) {
	l := NewLog(1000)
	now := time.Now()
	for i := 0; i < 1000; i++ {
		l.Add(strings.Repeat("x", 99), now)
	}
	if l.size > 1000 || len(l.lines) > 10 {
		t.Errorf("log kept %d bytes in %d lines", l.size, len(l.lines))
	}
}
