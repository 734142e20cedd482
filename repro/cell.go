package repro

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

// AllModes lists the in-process modes in report order.
var AllModes = []Mode{ModeBaseline, ModeSync, ModeSyncStream, ModeAsync, ModeAsyncStream}

// APIModes lists the HTTP modes in report order; they follow AllModes.
var APIModes = []Mode{ModeAPIJSON, ModeAPISSE}

// Streaming reports whether the mode iterates chunks.
func (m Mode) Streaming() bool {
	return m == ModeSyncStream || m == ModeAsyncStream || m == ModeAPISSE
}

// OverHTTP reports whether the mode calls an API server.
func (m Mode) OverHTTP() bool { return m == ModeAPIJSON || m == ModeAPISSE }

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

// AllLoops lists the loop variants in report order.
var AllLoops = []Loop{LoopAsyncio, LoopNest, LoopUvloop}

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
