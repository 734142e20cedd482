package scan

import "time"

// Mode is how a provider is called (DESIGN.md §3).
type Mode string

// The in-process call modes.
const (
	ModeBaseline    Mode = "baseline"     // sync client, no stream, from a plain thread with no loop
	ModeSync        Mode = "sync"         // sync client, no stream, inside a coroutine on a running loop
	ModeSyncStream  Mode = "sync-stream"  // sync client, stream=True, iterated inside the loop
	ModeAsync       Mode = "async"        // await AsyncClient().chat.completions.create(...)
	ModeAsyncStream Mode = "async-stream" // AsyncClient with stream=True, async for over chunks
)

// The modes over HTTP, against g4f's API server.
const (
	ModeAPIJSON Mode = "api-json" // POST /v1/chat/completions with stream false
	ModeAPISSE  Mode = "api-sse"  // the same with stream true: server-sent events
)

// CallStyle is how the harness calls g4f for a mode; the run request carries
// it (harness.py reads nothing else to decide the call).
type CallStyle struct {
	// Client is the g4f entry point: "sync" (g4f.client.Client) or "async"
	// (AsyncClient).
	Client string `json:"client"`
	// Stream passes stream=True and iterates the chunks.
	Stream bool `json:"stream"`
	// OnLoop runs each call inside a coroutine on the cell's event loop;
	// false runs it on a plain thread with no loop (the control).
	OnLoop bool `json:"on_loop"`
}

// modeInfo is one row of modeTable: a mode and what it is.
type modeInfo struct {
	mode Mode
	// call is how the harness calls g4f; nil for the modes over HTTP.
	call *CallStyle
	// stream: the mode iterates chunks (time to first chunk, stalls).
	stream bool
}

// modeTable lists every mode in report order: the in-process modes, then
// those over HTTP. A new mode is a new row, plus its call in harness.py
// when the harness has no call of that shape yet.
var modeTable = []modeInfo{
	{mode: ModeBaseline, call: &CallStyle{Client: "sync"}},
	{mode: ModeSync, call: &CallStyle{Client: "sync", OnLoop: true}},
	{mode: ModeSyncStream, call: &CallStyle{Client: "sync", Stream: true, OnLoop: true}, stream: true},
	{mode: ModeAsync, call: &CallStyle{Client: "async", OnLoop: true}},
	{mode: ModeAsyncStream, call: &CallStyle{Client: "async", Stream: true, OnLoop: true}, stream: true},
	{mode: ModeAPIJSON},
	{mode: ModeAPISSE, stream: true},
}

// AllModes lists the in-process modes in report order; APIModes lists the
// HTTP modes in report order, and they follow AllModes.
var AllModes, APIModes = splitModes(modeTable)

func splitModes(table []modeInfo) (inProcess, overHTTP []Mode) {
	for _, r := range table {
		if r.call != nil {
			inProcess = append(inProcess, r.mode)
		} else {
			overHTTP = append(overHTTP, r.mode)
		}
	}
	return inProcess, overHTTP
}

func (m Mode) info() (modeInfo, bool) {
	for _, r := range modeTable {
		if r.mode == m {
			return r, true
		}
	}
	return modeInfo{}, false
}

// Streaming reports whether the mode iterates chunks.
func (m Mode) Streaming() bool {
	r, _ := m.info()
	return r.stream
}

// OverHTTP reports whether the mode calls an API server.
func (m Mode) OverHTTP() bool {
	r, ok := m.info()
	return ok && r.call == nil
}

// CallStyle is how the harness calls g4f in the mode, or nil when the mode
// does not run in the harness (over HTTP, or unknown).
func (m Mode) CallStyle() *CallStyle {
	r, _ := m.info()
	return r.call
}

// SyncClient reports whether the mode calls g4f through its sync client,
// the wrapper that runs the event loop itself.
func (m Mode) SyncClient() bool {
	c := m.CallStyle()
	return c != nil && c.Client == "sync"
}

// Loop is the event loop the outer code runs on, fixed per worker process.
type Loop string

// The loop variants.
const (
	LoopAsyncio Loop = "asyncio" // stdlib loop, nest_asyncio made unimportable
	LoopNest    Loop = "nest"    // stdlib loop, nest_asyncio importable as g4f expects
	LoopUvloop  Loop = "uvloop"  // uvloop
)

// LoopServer is the loop of an API server g4fdiag did not start (--api
// URL): whatever that server runs on.
const LoopServer Loop = "server"

// loopInfo is one row of loopTable: a loop and what it is.
type loopInfo struct {
	loop Loop
	// variant: a worker runs it (harness.py --loop); false for the loop of
	// a server g4fdiag did not start.
	variant bool
	short   string // at most four characters, for table headers
	meaning string // for legends
}

// loopTable lists every loop in report order. A new loop variant is a new
// row, plus its set-up in harness.py (make_variant).
var loopTable = []loopInfo{
	{LoopAsyncio, true, "aio", "asyncio (stdlib loop, no nest_asyncio)"},
	{LoopNest, true, "nest", "asyncio + nest_asyncio"},
	{LoopUvloop, true, "uv", "uvloop"},
	{LoopServer, false, "srv", "the API server's own loop (--api)"},
}

// AllLoops lists the loop variants in report order.
var AllLoops = loopVariants(loopTable)

func loopVariants(table []loopInfo) []Loop {
	var out []Loop
	for _, r := range table {
		if r.variant {
			out = append(out, r.loop)
		}
	}
	return out
}

func (l Loop) info() (loopInfo, bool) {
	for _, r := range loopTable {
		if r.loop == l {
			return r, true
		}
	}
	return loopInfo{}, false
}

// Short is the loop's name in table headers, or "" for an unknown loop.
func (l Loop) Short() string {
	r, _ := l.info()
	return r.short
}

// Meaning is what the loop is, for legends; an unknown loop is its name.
func (l Loop) Meaning() string {
	if r, ok := l.info(); ok {
		return r.meaning
	}
	return string(l)
}

// Cell is one provider × mode × loop, run Concurrency calls at once, Repeat times.
type Cell struct {
	Provider    string `json:"provider"`
	Mode        Mode   `json:"mode"`
	Loop        Loop   `json:"loop"`
	Model       string `json:"model,omitempty"`
	Concurrency int    `json:"concurrency"`
	Repeat      int    `json:"repeat"`
	// Remedy, when set, says this cell tries a known fix for the cell whose
	// Key is Of (--verify-fixes); Mode and Loop are then the remedy's.
	Remedy Remedy `json:"remedy_tried,omitempty"`
	Of     string `json:"remedy_for,omitempty"`
}

// Key identifies a cell within a plan.
func (c Cell) Key() string {
	k := c.Provider + "|" + string(c.Mode) + "|" + string(c.Loop)
	if c.Remedy != "" {
		k += "|" + string(c.Remedy) + "|" + c.Of
	}
	return k
}

// End says how a cell's run ended; diag reads it to tell a timeout, a blocked
// loop, a crashed worker and an interruption apart.
type End string

// The ways a cell ends.
const (
	EndCompleted   End = "completed"      // every call returned or raised
	EndDeadline    End = "deadline"       // the cell deadline passed with calls still running
	EndBlocked     End = "blocked"        // the heartbeat saw the loop thread stuck
	EndCrashed     End = "worker-crashed" // the worker process died mid-cell
	EndSkipped     End = "skipped"        // not run: see SkipReason
	EndNotWorking  End = "not-working"    // not run: the provider class is marked working = False
	EndUnavailable End = "unavailable"    // not run: the loop variant cannot be set up here
	// EndInterrupted: the scan was cut short (Ctrl-C, SIGTERM, SIGHUP)
	// while the cell ran; the observation holds what it had by then.
	EndInterrupted End = "interrupted"
)

// Outcome is how one call ended.
type Outcome string

// Call outcomes.
const (
	OutcomeOK      Outcome = "ok"      // returned an answer
	OutcomeError   Outcome = "error"   // raised
	OutcomePending Outcome = "pending" // still running when the cell ended
)

// Frame is one traceback frame.
type Frame struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Func string `json:"func"`
	Code string `json:"code,omitempty"`
}

// PyException is one exception of a chain, with its traceback.
type PyException struct {
	Type      string  `json:"type"`             // qualified when not a builtin, e.g. aiohttp.client_exceptions.ClientConnectorError
	Message   string  `json:"message"`          // str(exc)
	Frames    []Frame `json:"frames,omitempty"` // outermost first, as Python prints them
	Traceback string  `json:"traceback,omitempty"`
	// Relation says how this exception links to the previous one in the
	// chain: "" for the raised one, "cause" (raise ... from) or "context"
	// (during handling of).
	Relation string `json:"relation,omitempty"`
	// Protocol is how an API server's answer broke the protocol, for an
	// exception of TypeProtocolError (NewProtocolError); "" for any
	// other. Encoded in the message's first words, not as a field of its
	// own: a saved scan decodes to the same kind.
	Protocol ProtocolKind `json:"-"`
}

// Call is the record of one call of a cell.
type Call struct {
	Index   int     `json:"index"` // 0..Concurrency-1
	Round   int     `json:"round"` // 0..Repeat-1
	Outcome Outcome `json:"outcome"`
	// Chain holds the raised exception first, then its __cause__ or
	// __context__, down to the root cause.
	Chain        []PyException `json:"chain,omitempty"`
	Chunks       int           `json:"chunks"`
	FirstChunkMS float64       `json:"first_chunk_ms,omitempty"`
	MaxGapMS     float64       `json:"max_gap_ms,omitempty"`
	LastChunkMS  float64       `json:"last_chunk_ms,omitempty"`
	DurationMS   float64       `json:"duration_ms"`
	Text         string        `json:"text,omitempty"` // the answer, cut short

	// Over HTTP only.
	HTTPStatus  int     `json:"http_status,omitempty"`
	FirstByteMS float64 `json:"first_byte_ms,omitempty"` // time to the first body byte
	Frames      int     `json:"frames,omitempty"`        // SSE frames read, [DONE] and errors included
	// ServerLog is what the API server logged while serving this call —
	// its traceback when the client only saw a stream that never came —
	// when g4fdiag started that server.
	ServerLog string `json:"server_log,omitempty"`
}

// Stacks is hang evidence.
type Stacks struct {
	// Threads is faulthandler's dump of every thread of the worker.
	Threads string `json:"threads,omitempty"`
	// Tasks lists the pending asyncio tasks of the cell's loop with their stacks.
	Tasks string `json:"tasks,omitempty"`
	// LoopThread is the stack of the thread running the cell's loop when the
	// heartbeat found it blocked.
	LoopThread string `json:"loop_thread,omitempty"`
	// BlockedMS is how long the loop had missed its heartbeat.
	BlockedMS float64 `json:"blocked_ms,omitempty"`
}

// WorkerInfo describes the worker process that ran a cell.
type WorkerInfo struct {
	PID        int    `json:"pid"`
	ExitStatus string `json:"exit_status,omitempty"` // set when the worker died mid-cell
	StderrTail string `json:"stderr_tail,omitempty"`
}

// Observation is everything seen while running one cell. It is the one type
// that flows from the runner to diag and is encoded one per line in jsonl.
type Observation struct {
	Cell
	End        End         `json:"end"`
	SkipReason string      `json:"skip_reason,omitempty"`
	Calls      []Call      `json:"calls,omitempty"`
	Started    time.Time   `json:"started"`
	DurationMS float64     `json:"duration_ms"`
	Stacks     *Stacks     `json:"stacks,omitempty"`
	Worker     *WorkerInfo `json:"worker,omitempty"`
	// Log is what the provider printed to stdout/stderr during the cell.
	Log string `json:"log,omitempty"`
}
