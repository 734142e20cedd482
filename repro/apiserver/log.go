package apiserver

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// logPrefix is what the harness's serve mode puts before every log line:
// the server's clock, the request id from the X-G4fdiag-Request header (or
// "-"; several joined by "," when one record concerns several requests, "-"
// among them for a party in no request yet), then the logger and level.
var logPrefix = regexp.MustCompile(`^g4fdiag-log t=[0-9.]+ req=(\S+) `)

// logLine is one line of a server's output, with the time Go read it.
type logLine struct {
	text string   // without the g4fdiag-log prefix
	reqs []string // request ids, none when untagged
	open bool     // every request's of its time: untagged, or about a party in no request
	at   time.Time
}

// Log keeps the newest lines of a server's output within a byte budget, so
// a long scan's log cannot grow without bound.
type Log struct {
	mu    sync.Mutex
	max   int
	size  int
	lines []logLine
}

// NewLog returns a Log that keeps about max bytes.
func NewLog(max int) *Log { return &Log{max: max} }

// Add records one line read at time at.
func (l *Log) Add(line string, at time.Time) {
	ll := logLine{text: line, at: at, open: true}
	if m := logPrefix.FindStringSubmatch(line); m != nil {
		ll.text = line[len(m[0]):]
		if m[1] != "-" {
			ll.reqs = strings.Split(m[1], ",")
			ll.open = slices.Contains(ll.reqs, "-")
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, ll)
	l.size += len(ll.text) + 1
	drop := 0
	for l.size > l.max && drop < len(l.lines)-1 {
		l.size -= len(l.lines[drop].text) + 1
		drop++
	}
	if drop > 0 {
		l.lines = append(l.lines[:0], l.lines[drop:]...)
	}
}

// slack widens a request's window: a traceback can be logged a moment after
// the client gave up on the request.
const slack = 250 * time.Millisecond

// maxEvidence bounds what one request carries from the log.
const maxEvidence = 16 << 10

// For returns the lines logged for one request: those tagged with its id,
// and untagged ones (or ones about a party in no request yet) read between
// from and to (plus a little slack), which is where asyncio's own reports
// land when no request context carries them.
func (l *Log) For(requestID string, from, to time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ll := range l.lines {
		mine := requestID != "" && requestID != "-" && slices.Contains(ll.reqs, requestID)
		during := ll.open && !ll.at.Before(from) && !ll.at.After(to.Add(slack))
		if mine || during {
			b.WriteString(ll.text)
			b.WriteByte('\n')
		}
	}
	s := b.String()
	if len(s) > maxEvidence {
		s = "…\n" + s[len(s)-maxEvidence:]
	}
	return s
}

// Tail returns the last n lines.
func (l *Log) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := max(0, len(l.lines)-n)
	var b strings.Builder
	for _, ll := range l.lines[start:] {
		b.WriteString(ll.text)
		b.WriteByte('\n')
	}
	return b.String()
}

func stripPrefix(line string) string {
	if m := logPrefix.FindStringSubmatch(line); m != nil {
		return line[len(m[0]):]
	}
	return line
}
