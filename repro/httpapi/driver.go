package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/sse"
)

// DefaultStallTimeout is how long a started stream may send no frame before
// its call is cut as stalled, when Options.StallTimeout is zero.
const DefaultStallTimeout = 10 * time.Second

// chatPath is the route of a call.
const chatPath = "/v1/chat/completions"

// RequestHeader carries a request's id; a server g4fdiag started tags its
// log lines with it.
const RequestHeader = "X-G4fdiag-Request"

// The exception types the driver records (see the package doc).
const (
	TypeStreamError   = "g4f.api.StreamError"
	TypeErrorResponse = "g4f.api.ErrorResponse"
	TypeProtocolError = scan.TypeProtocolError
)

// DefaultMaxAnswer bounds a body read whole when Options.MaxAnswer is zero:
// a chat completion for g4fdiag's short messages is a few kilobytes, and
// every call of a cell holds its body at once.
const DefaultMaxAnswer = 4 << 20

// maxText bounds Call.Text, in runes.
const maxText = 200

// drainGrace bounds how long a call reads on after [DONE] so its connection
// can be reused, and how long RunCell waits at the deadline for calls to
// record how far they got.
const (
	drainGrace    = 50 * time.Millisecond
	deadlineGrace = time.Second
)

// Options are what the driver needs; zero fields get defaults.
type Options struct {
	// Servers is the base URL of the API server per loop: {LoopServer: URL}
	// for --api URL, one per loop variant for servers g4fdiag started. A
	// trailing "/" or "/v1" is dropped: OpenAI clients are often given
	// "http://host:1337/v1".
	Servers map[scan.Loop]string
	// APIKey is sent as Authorization: Bearer and g4f-api-key when set.
	APIKey string
	// Client makes the requests; nil means a client with no timeout of its
	// own (the cell deadline is the driver's) and 64 idle connections per host.
	// A client without a CheckRedirect of its own gets the driver's: same
	// scheme, host and port only, no loops.
	Client *http.Client
	// StallTimeout cuts a stream that began and then sent no frame for this
	// long; zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// Limits bound one SSE frame and a stream's body; zero fields mean
	// sse's defaults (1 MiB, 64 MiB).
	Limits sse.Limits
	// MaxAnswer bounds a body read whole (a JSON answer, an error body);
	// zero means DefaultMaxAnswer, and it is never more than Limits.MaxBody.
	MaxAnswer int64
	// Messages is what every call asks; nil means repro.DefaultMessages.
	Messages []repro.Message
	// Use, when set, replaces Servers: it lends a server of the loop to one
	// cell, which returns it when its calls end. It is how servers g4fdiag
	// started reach the driver: a fresh one per cell, so what one cell does
	// to a server (nest_asyncio's process-wide patch, a hung loop) never
	// reaches another cell's verdict.
	Use func(ctx context.Context, loop scan.Loop) (Lease, error)
}

// Lease is a server lent to one cell.
type Lease interface {
	// Base is the server's base URL.
	Base() string
	// Return ends the cell's use of the server; hung says calls were left
	// hanging on it. It returns the server's stacks as evidence when hung
	// (nil when it has none), and only once the server's log is complete.
	Return(hung bool) *scan.Stacks
	// RequestLog is what the server logged for one request: the lines
	// tagged with its id, and untagged ones logged between from and to.
	RequestLog(requestID string, from, to time.Time) string
}

// Driver runs HTTP cells; it implements repro.Driver.
type Driver struct {
	o       Options
	servers map[scan.Loop]string
	prefix  string // random per driver: request ids stay unique across runs
	seq     atomic.Uint64
}

var _ repro.Driver = (*Driver)(nil)

// New returns a driver with o's zero fields set to their defaults.
func New(o Options) *Driver {
	if o.Client == nil {
		o.Client = newClient()
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	o.Limits = o.Limits.WithDefaults()
	if o.MaxAnswer <= 0 {
		o.MaxAnswer = DefaultMaxAnswer
	}
	o.MaxAnswer = min(o.MaxAnswer, o.Limits.MaxBody)
	o.Client = withRedirectCheck(o.Client)
	if o.Messages == nil {
		o.Messages = repro.DefaultMessages
	}
	servers := make(map[scan.Loop]string, len(o.Servers))
	for l, u := range o.Servers {
		servers[l] = normalizeBase(u)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Driver{o: o, servers: servers, prefix: "g4fdiag-" + hex.EncodeToString(b[:])}
}

func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// normalizeBase drops a trailing "/" and "/v1" from a base URL.
func normalizeBase(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	return strings.TrimRight(strings.TrimSuffix(u, "/v1"), "/")
}

// The causes that end a call's context early.
var (
	errCellDeadline = errors.New("cell deadline")
	errStalled      = errors.New("stream stalled")
)

type chatRequest struct {
	Model    string          `json:"model"`
	Messages []repro.Message `json:"messages"`
	Provider string          `json:"provider"`
	Stream   bool            `json:"stream"`
}

// RunCell runs c.Concurrency calls at once, c.Repeat rounds, against the
// server of c.Loop, within timeout. The error is non-nil only when ctx ended
// first; the observation then ends EndInterrupted with the calls as far as
// they got.
func (d *Driver) RunCell(ctx context.Context, c scan.Cell, timeout time.Duration) (scan.Observation, error) {
	return d.RunCellYielding(ctx, c, timeout, nil)
}

// serverProcess is a Lease on a server started for the cell alone: while
// that process uses no CPU, the cell only waits.
type serverProcess interface{ PID() int }

// RunCellYielding is RunCell that calls yield (when not nil) once the
// cell's own server has stopped using the CPU — its calls hang or wait —
// so the cell's job slot can go to another cell (see repro.Yielder).
func (d *Driver) RunCellYielding(ctx context.Context, c scan.Cell, timeout time.Duration, yield func()) (scan.Observation, error) {
	obs := scan.Observation{Cell: c, Started: time.Now()}
	finish := func() (scan.Observation, error) {
		obs.DurationMS = msSince(obs.Started)
		return obs, nil
	}
	if !c.Mode.OverHTTP() {
		obs.End, obs.SkipReason = scan.EndSkipped, fmt.Sprintf("mode %s does not run over HTTP", c.Mode)
		return finish()
	}
	body, err := json.Marshal(chatRequest{Model: c.Model, Messages: d.o.Messages, Provider: c.Provider, Stream: c.Mode == scan.ModeAPISSE})
	if err != nil { // messages are plain strings: cannot happen
		return obs, err
	}
	base := d.servers[c.Loop]
	var lease Lease
	if d.o.Use != nil {
		if lease, err = d.o.Use(ctx, c.Loop); err != nil {
			if ctx.Err() != nil {
				obs.End = scan.EndInterrupted
				obs.DurationMS = msSince(obs.Started)
				return obs, ctx.Err()
			}
			base, lease = "", nil
			obs.SkipReason = err.Error()
		} else {
			base = normalizeBase(lease.Base())
			if sp, ok := lease.(serverProcess); ok && yield != nil {
				defer repro.WatchIdle(sp.PID(), yield)()
			}
		}
	}
	if base == "" {
		if lease != nil {
			lease.Return(false)
		}
		obs.End = scan.EndUnavailable
		if obs.SkipReason == "" {
			obs.SkipReason = fmt.Sprintf("no g4f API server for loop %s", c.Loop)
		}
		return finish()
	}
	cellCtx, cancel := context.WithTimeoutCause(ctx, timeout, errCellDeadline)
	defer cancel()

	var calls []*callState
	complete := true
	for round := range max(c.Repeat, 1) {
		if cellCtx.Err() != nil {
			complete = false
			break
		}
		batch := make([]*callState, max(c.Concurrency, 1))
		var wg sync.WaitGroup
		for i := range batch {
			st := &callState{id: fmt.Sprintf("%s-%d", d.prefix, d.seq.Add(1))}
			st.call.Index, st.call.Round = i, round
			batch[i] = st
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.call(cellCtx, base, c.Mode, body, st)
			}()
		}
		calls = append(calls, batch...)
		if !wait(cellCtx, &wg) {
			// a call stuck past the grace (a transport that ignores its
			// context) is left to end by itself, recorded as pending
			complete = false
			break
		}
	}
	now := time.Now()
	deadline := context.Cause(cellCtx) == errCellDeadline
	cut := now
	if dl, ok := cellCtx.Deadline(); ok && deadline && dl.Before(now) {
		// a call still running past the grace was cut at the deadline:
		// its silence since the last chunk ends there
		cut = dl
	}
	obs.Calls = make([]scan.Call, len(calls))
	for i, st := range calls {
		call, done := st.snapshot(cut)
		// a call the deadline cut is unfinished; one cut as stalled before it is not
		complete = complete && done && !(deadline && call.Outcome == scan.OutcomePending)
		obs.Calls[i] = call
	}
	if ctx.Err() != nil {
		if lease != nil {
			lease.Return(false)
		}
		obs.End = scan.EndInterrupted
		obs.DurationMS = msSince(obs.Started)
		return obs, ctx.Err()
	}
	obs.End = scan.EndCompleted
	if !complete {
		obs.End = scan.EndDeadline
	}
	if lease != nil {
		obs.Stacks = lease.Return(!complete)
		for i, st := range calls {
			from, to := st.window(now)
			obs.Calls[i].ServerLog = lease.RequestLog(st.id, from, to)
		}
	}
	return finish()
}

// wait waits for a round's calls; past the deadline it gives them a moment
// to record how far they got, and reports false if some did not.
func wait(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	t := time.NewTimer(deadlineGrace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// call makes one request and records what it saw in st.
func (d *Driver) call(cellCtx context.Context, base string, mode scan.Mode, body []byte, st *callState) {
	ctx, cancel := context.WithCancelCause(cellCtx)
	defer cancel(nil)
	st.begin()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+chatPath, bytes.NewReader(body))
	if err != nil {
		st.end(failed(protocolf(scan.ProtocolNotHTTP, "cannot make a request of %q: %v", shownURL(base), err)))
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "identity") // the bytes as sent: timing and limits on the wire
	if mode == scan.ModeAPISSE {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set(RequestHeader, st.id)
	if d.o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+d.o.APIKey)
		req.Header.Set("g4f-api-key", d.o.APIKey)
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		var re *redirectError
		if errors.As(err, &re) {
			st.end(failed(re.exception()))
			return
		}
		st.end(d.broken(ctx, err))
		return
	}
	// a transport that ignores the context must still not outlive the call
	stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
	defer stop()
	defer resp.Body.Close()
	st.status(resp.StatusCode)
	a := answer{d: d, ctx: ctx, cancel: cancel, st: st, resp: resp,
		body: &firstByte{r: resp.Body, st: st}}
	st.end(a.read(mode))
}

// ending is how a call ended: an outcome and, for an error, its exception.
type ending struct {
	outcome scan.Outcome
	exc     *scan.PyException
	at      time.Time // when the answer was complete, if not when the call returned
}

var (
	endOK      = ending{outcome: scan.OutcomeOK}
	endPending = ending{outcome: scan.OutcomePending}
)

func failed(e scan.PyException) ending { return ending{outcome: scan.OutcomeError, exc: &e} }

// protocolf is the exception of an answer that broke the protocol: kind,
// and its message's detail.
func protocolf(kind scan.ProtocolKind, format string, args ...any) scan.PyException {
	return scan.NewProtocolError(kind, format, args...)
}

// callState is one call as it goes: the call goroutine writes it, RunCell
// reads it, at the deadline perhaps while the call still runs.
type callState struct {
	id string

	mu         sync.Mutex
	call       scan.Call
	start, fin time.Time
	lastChunk  time.Time
	textRunes  int
	text       strings.Builder
	done       bool
}

func (s *callState) begin() {
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
}

func (s *callState) status(code int) {
	s.mu.Lock()
	s.call.HTTPStatus = code
	s.mu.Unlock()
}

func (s *callState) firstByte(t time.Time) {
	s.mu.Lock()
	s.call.FirstByteMS = ms(t.Sub(s.start))
	s.mu.Unlock()
}

func (s *callState) frame() {
	s.mu.Lock()
	s.call.Frames++
	s.mu.Unlock()
}

// chunk records one chunk of the answer and the content it carried.
func (s *callState) chunk(t time.Time, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.call
	c.Chunks++
	at := ms(t.Sub(s.start))
	if c.Chunks == 1 {
		c.FirstChunkMS = at
	} else if gap := ms(t.Sub(s.lastChunk)); gap > c.MaxGapMS {
		c.MaxGapMS = gap
	}
	c.LastChunkMS = at
	s.lastChunk = t
	s.addText(content)
}

// addText keeps the first maxText runes of the answer.
func (s *callState) addText(content string) {
	for _, r := range content {
		if s.textRunes >= maxText {
			return
		}
		s.text.WriteRune(r)
		s.textRunes++
	}
}

func (s *callState) end(e ending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fin = e.at
	if s.fin.IsZero() {
		s.fin = time.Now()
	}
	s.done = true
	s.call.Outcome = e.outcome
	if e.exc != nil {
		e.exc.Message = strings.ToValidUTF8(e.exc.Message, "\uFFFD")
		s.call.Chain = []scan.PyException{*e.exc}
	}
}

// snapshot is the call as recorded so far, pending when it has not ended,
// and whether it had.
func (s *callState) snapshot(now time.Time) (scan.Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.call
	c.Text = s.text.String()
	if !s.done {
		c.Outcome = scan.OutcomePending
		c.Chain = nil
	}
	end := s.fin
	if !s.done {
		end = now
	}
	if !s.start.IsZero() {
		c.DurationMS = ms(end.Sub(s.start))
	}
	return c, s.done
}

func (s *callState) window(now time.Time) (time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return s.start, s.fin
	}
	return s.start, now
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msSince(t time.Time) float64 { return ms(time.Since(t)) }

// excerpt is untrusted text cut to n bytes on one line, for a message.
func excerpt(b []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b[:min(len(b), 4*n)]), "\uFFFD")), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
