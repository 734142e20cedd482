package diag

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// HangSummary is the hang evidence of a cell reduced to what decides it:
// which thread runs the loop, what it waits on, which frame re-entered the
// loop, and one sentence telling a deadlock from a network hang from a
// blocked loop. Every field is cleaned (no control sequences, no secrets,
// one line).
type HangSummary struct {
	// Kind is the mechanism: "deadlock", "blocked", "network", "stall",
	// "reentry", "waiting" (the loop runs, a task waits forever on something
	// else) or "unknown".
	Kind string `json:"kind"`
	// LoopThread names the thread that runs the cell's loop:
	// "g4fdiag-cell-7 (0x7f3a1c7fe640)", "main thread (0x00007f0d2c9e9b80)",
	// "thread 0x00007f3a1c7fe640", or "" when no stack shows it.
	LoopThread string `json:"loop_thread,omitempty"`
	// WaitsOn is the innermost blocking call and what it is, e.g.
	// "concurrent.futures Future.result() (threading.Condition.wait)".
	WaitsOn string `json:"waits_on,omitempty"`
	// WaitFrame is the frame that made that call, formatted like
	// Verdict.Frame: the innermost g4f frame, else the innermost one that is
	// neither the standard library nor the machinery around the call (the
	// harness, the loop, the web server); "" when there is none.
	WaitFrame string `json:"wait_frame,omitempty"`
	// Reentered is the innermost frame on the loop thread that calls
	// run_until_complete, asyncio.run or to_sync_generator inside the running
	// loop, formatted like Verdict.Frame; "" when the loop was not re-entered.
	Reentered string `json:"reentered,omitempty"`
	// Sentence says in one sentence what kind of hang this is.
	Sentence string `json:"sentence"`
}

// The kinds of hang SummarizeHang tells apart.
const (
	hangDeadlock = "deadlock"
	hangBlocked  = "blocked"
	hangNetwork  = "network"
	hangStall    = "stall"
	hangReentry  = "reentry"
	hangWaiting  = "waiting"
	hangUnknown  = "unknown"
)

// SummarizeHang reduces the stacks of a cell that hung (it ended blocked or
// at its deadline, or its class is deadlock, loop-blocked, timeout, stall, or
// a loop-reentry only seen in a log while the call hung) to a HangSummary.
// It reports false for any other cell and for a hung cell without stacks.
func SummarizeHang(c CellReport) (HangSummary, bool) {
	if !hung(c) || c.Stacks == nil {
		return HangSummary{}, false
	}
	st := *c.Stacks
	if Blank(st.LoopThread) && Blank(st.Threads) && Blank(st.Tasks) {
		return HangSummary{}, false
	}
	var h HangSummary
	lt, found := findLoopThread(c, st)
	if found {
		h.LoopThread = lt.name
		if f, ok := Reentry(lt.frames, ReentryOnStack); ok {
			h.Reentered = FormatFrame(f)
		}
	}
	stuck := found && !lt.idle
	switch {
	case stuck && WaitsForever(lt.frames):
		h.Kind = hangDeadlock
		what, obj := DeadlockWait(lt.frames)
		h.WaitsOn, h.WaitFrame = what, HangBlame(lt.frames)
		whose := "the loop thread"
		if c.Mode.OverHTTP() {
			whose = "the API server's loop thread"
		}
		h.Sentence = fmt.Sprintf("Deadlock: %s waits on %s that only this loop can %s.", whose, obj.noun, obj.verb)
	case c.LoopClass() == ClassLoopReentry:
		// the re-entry failed where nobody caught it (a log line) and left
		// the call waiting
		h.Kind = hangReentry
		if w, ok := taskWait(pytext.TaskStacks(st.Tasks), c.Provider); ok {
			h.WaitsOn, h.WaitFrame = w.what+" in a task", w.frame
		}
		if c.Signature == string(SigReentryNestTask) {
			h.Sentence = "Re-entry hang: nest_asyncio re-entered the running loop and asyncio refused the task switch, so the call waits for a task that never runs."
		} else {
			h.Sentence = "Re-entry hang: a sync call re-entered the running loop and failed there, so the call waits for an answer that never comes."
		}
	case stuck && (c.End == scan.EndBlocked || KnownBlocking(lt.frames)):
		// One snapshot of a loop thread outside select may just catch the
		// loop running a callback: blocked takes the heartbeat's word, or a
		// call known to block made outside the loop's own machinery.
		h.Kind = hangBlocked
		what, short := BlockingCall(lt.frames)
		h.WaitsOn, h.WaitFrame = what, HangBlame(lt.frames)
		h.Sentence = fmt.Sprintf("Blocked loop: a sync call holds the loop thread (%s), so nothing else on the loop runs.", short)
	default:
		summarizeIdle(&h, c, st, lt, found)
	}
	h.LoopThread = SingleLine(h.LoopThread)
	h.WaitsOn = SingleLine(h.WaitsOn)
	h.WaitFrame = SingleLine(h.WaitFrame)
	h.Reentered = SingleLine(h.Reentered)
	return h, true
}

// summarizeIdle explains a hang whose loop thread is idle, running, or not
// in the stacks: the waiting happens in a task or on another thread.
func summarizeIdle(h *HangSummary, c CellReport, st scan.Stacks, lt loopThread, found bool) {
	// In a worker, a cell that reached its deadline without a blocked report
	// had a loop that kept answering the heartbeat; over HTTP nobody's
	// heartbeat watches the server's loop.
	where := ""
	switch {
	case found && lt.idle && lt.inSelect:
		where = "the loop is idle in select"
	case found && lt.idle:
		where = "the loop is idle"
	case found, c.End == scan.EndDeadline && !c.Mode.OverHTTP():
		where = "the loop runs"
	}
	clause := func(s string) string {
		if where == "" {
			return ""
		}
		return where + s
	}
	tasks := pytext.TaskStacks(st.Tasks)
	side := sideThreads(st.Threads, c.Provider, lt)
	switch {
	case networkWaitFound(h, tasks, side, c.Provider):
		h.Kind = hangNetwork
		h.Sentence = "Network hang: " + clause(" while ") + "a call waits for a socket."
	case stalled(c):
		h.Kind = hangStall
		if w, ok := taskWait(tasks, c.Provider); ok {
			h.WaitsOn, h.WaitFrame = w.what+" in a task", w.frame
		}
		n := stalledChunks(c)
		h.Sentence = fmt.Sprintf("Stalled stream: the loop runs; the provider's generator waits forever after %d chunk%s.", n, Plural(n))
	default:
		if w, ok := taskWait(tasks, c.Provider); ok {
			h.Kind = hangWaiting
			h.WaitsOn, h.WaitFrame = w.what+" in a task", w.frame
			h.Sentence = fmt.Sprintf("Stuck call: %sthe call waits forever on %s.", clause(", but "), w.what)
			return
		}
		h.Kind = hangUnknown
		h.Sentence = "No answer: " + clause(", and ") + "no stack shows what the call waits on."
	}
}

// hung reports whether a cell hung rather than failed.
func hung(c CellReport) bool {
	switch c.End {
	case scan.EndBlocked, scan.EndDeadline:
		return true
	}
	switch c.Class.info().hang {
	case hangAlways:
		return true
	case hangLogged:
		return strings.HasPrefix(c.Evidence, "hung after")
	}
	return false
}

func Blank(s string) bool { return strings.TrimSpace(s) == "" }

// loopThread is the stack of the thread that runs a cell's loop.
type loopThread struct {
	name     string
	header   string
	frames   []scan.Frame
	idle     bool // waiting for I/O in the loop itself: nothing holds the thread
	inSelect bool // idle in selectors.select (a stdlib loop); uvloop polls in C
}

// newLoopThread reads a thread's stack. Its first line is the header:
// faulthandler's "Thread 0x... (most recent call first):" (with "[name]"
// since Python 3.14), or the harness's heartbeat 'Thread 0x... "name" (most
// recent call last):'.
func newLoopThread(text string) loopThread {
	first := strings.TrimSpace(strings.SplitN(strings.TrimLeft(text, "\n"), "\n", 2)[0])
	lt := loopThread{header: first, frames: pytext.ParseStack(text)}
	if h, ok := pytext.ParseThreadHeader(first, pytext.HeaderSplit); ok {
		lt.name = h.HangLabel(lt.frames)
	}
	lt.idle, lt.inSelect = LoopIdle(lt.frames)
	return lt
}

// findLoopThread is the stack of the thread running the cell's loop: the
// heartbeat's, else the best candidate of the all-thread dump. A worker's dump
// also holds the threads of other cells, so there a loop thread must show
// the provider, or be the only one; and a worker cell that reached its
// deadline had a loop answering the heartbeat, so a stuck loop thread in
// its dump belongs to another cell.
func findLoopThread(c CellReport, st scan.Stacks) (loopThread, bool) {
	if !Blank(st.LoopThread) {
		lt := newLoopThread(st.LoopThread)
		if lt.name == "" {
			lt.name = "the cell's loop thread"
		}
		return lt, len(lt.frames) > 0
	}
	worker := !c.Mode.OverHTTP()
	var best loopThread
	bestScore, loops := -1, 0
	for _, th := range pytext.SplitThreads(st.Threads, pytext.HeaderSplit) {
		lt := newLoopThread(th)
		if !RunsLoopHere(lt.frames) {
			continue
		}
		loops++
		if worker && c.End == scan.EndDeadline && !lt.idle {
			continue
		}
		score := 0
		if c.Provider != "" && strings.Contains(th, c.Provider) {
			score += 4
		}
		if strings.Contains(pytext.SlashPath(th), "/g4f/") {
			score += 2
		}
		if !lt.idle && WaitsForever(lt.frames) {
			score++
		}
		if score > bestScore {
			best, bestScore = lt, score
		}
	}
	switch {
	case bestScore < 0:
		return loopThread{}, false
	case !worker, loops == 1, bestScore >= 4:
		return best, true
	}
	return loopThread{}, false
}

// runsLoopHere reports whether a stack runs an event loop: runsLoop's frames,
// plus nest_asyncio's and those that start a loop whose own frames are C
// (uvloop under the harness, or under g4f's sync wrapper).
func RunsLoopHere(frames []scan.Frame) bool {
	if runsLoop(frames) {
		return true
	}
	if n := len(frames); n > 0 && EntersLoop(frames[n-1]) {
		return true
	}
	for _, f := range frames {
		if LoopFrame(f) {
			return true
		}
	}
	return false
}

// loopFrame reports whether a frame is event-loop machinery: it starts a
// loop, runs one, or runs a callback or task step of one.
func LoopFrame(f scan.Frame) bool {
	p := pytext.SlashPath(f.File)
	switch {
	case strings.HasSuffix(p, "asyncio/runners.py"),
		strings.HasSuffix(p, "asyncio/base_events.py") && (f.Func == "run_forever" || f.Func == "run_until_complete" || f.Func == "_run_once"),
		strings.HasSuffix(p, "asyncio/events.py") && f.Func == "_run",
		strings.Contains(p, "uvloop"), strings.Contains(p, "nest_asyncio"),
		strings.Contains(p, "/uvicorn/"),
		isHarness(f) && (f.Func == "run_on_loop" || f.Func == "serve_api"):
		return true
	}
	return false
}

// loopIdle reports whether a loop thread's innermost frame is the loop
// waiting for I/O: selectors.select under a stdlib loop, the loop's own
// bookkeeping between callbacks, or the frame that started a uvloop loop
// (uvloop polls in C, so faulthandler shows nothing below it). A callback
// or task step the loop is running is not idle.
func LoopIdle(frames []scan.Frame) (idle, inSelect bool) {
	if len(frames) == 0 {
		return false, false
	}
	in := frames[len(frames)-1]
	p := pytext.SlashPath(in.File)
	switch {
	case pytext.FileBase(p) == "selectors.py" && in.Func == "select":
		return true, true
	case strings.HasSuffix(p, "asyncio/windows_events.py"),
		strings.HasSuffix(p, "asyncio/base_events.py") && (in.Func == "_run_once" || in.Func == "run_forever" || in.Func == "run_until_complete"),
		strings.HasSuffix(p, "asyncio/runners.py"),
		strings.Contains(p, "nest_asyncio") && in.Func != "step",
		strings.Contains(p, "/uvicorn/") && (pytext.FileBase(p) == "server.py" || pytext.FileBase(p) == "main.py"),
		isHarness(in) && (in.Func == "run_on_loop" || in.Func == "serve_api"),
		EntersLoop(in), StartsLoop.MatchString(in.Code):
		return true, false
	}
	return false, false
}

// startsLoop is code that enters an event loop.
var StartsLoop = regexp.MustCompile(`\brun_until_complete\(|\basyncio\.run\(|\brun_forever\(|\bto_sync_generator\(`)

// entersLoop reports whether a frame is a function that enters an event loop.
func EntersLoop(f scan.Frame) bool {
	p := pytext.SlashPath(f.File)
	switch {
	case f.Func == "to_sync_generator":
		return true
	case strings.HasSuffix(p, "asyncio/runners.py") && f.Func == "run",
		strings.HasSuffix(p, "asyncio/base_events.py") && (f.Func == "run_until_complete" || f.Func == "run_forever"),
		strings.Contains(p, "nest_asyncio") && (f.Func == "run_until_complete" || f.Func == "run_forever" || f.Func == "run"),
		strings.Contains(p, "uvloop") && strings.Contains(f.Func, "run"):
		return true
	}
	return false
}

// refusals are where an event loop refuses to be entered while it (or
// another) runs, each with the signature of what it raises there:
// asyncio.run's check, the stdlib loop's _check_running (run_forever and
// run_until_complete call it), uvloop's run_forever (its check is C code,
// so its own frame is the innermost).
var refusals = []struct {
	at  func(p string, f scan.Frame) bool
	sig SignatureID
}{
	{func(p string, f scan.Frame) bool {
		return strings.HasSuffix(p, "asyncio/runners.py") && f.Func == "run" && (f.Code == "" || strings.HasPrefix(f.Code, "raise RuntimeError"))
	}, SigReentryAsyncioRun},
	{func(p string, f scan.Frame) bool {
		return strings.HasSuffix(p, "asyncio/base_events.py") && (f.Func == "_check_running" ||
			(f.Func == "run_forever" || f.Func == "run_until_complete") && strings.Contains(f.Code, "_check_running"))
	}, SigReentryStdlib},
	{func(p string, f scan.Frame) bool {
		return strings.Contains(p, "uvloop") && (strings.HasSuffix(f.Func, "run_forever") || strings.HasSuffix(f.Func, "_check_running"))
	}, SigReentryUvloop},
}

// RefusedEntry reports whether a traceback's innermost frame is an event
// loop refusing to be entered again, and the signature of the error it
// raises there: what a traceback cut before its exception line still
// shows of a re-entry.
func RefusedEntry(frames []scan.Frame) (sig SignatureID, ok bool) {
	if len(frames) == 0 {
		return sig, false
	}
	in := frames[len(frames)-1]
	p := pytext.SlashPath(in.File)
	for _, r := range refusals {
		if r.at(p, in) {
			return r.sig, true
		}
	}
	return sig, false
}

// ReentryRule says how Reentry looks for the frame that re-entered a loop.
// A stack and a traceback need different rules: a logged traceback usually
// starts inside the handler, with no loop frame further out, while a
// thread's whole stack shows whether a loop runs outside the frame.
type ReentryRule struct {
	// SkipHarness: the harness's own frames are never the culprit (its
	// baseline call starts a fresh loop on a thread that ran none).
	SkipHarness bool
	// RequireOuterLoop: a loop must run further out on the same stack.
	RequireOuterLoop bool
	// StopAtModule: a script's outermost <module> frame starting its loop
	// re-enters nothing.
	StopAtModule bool
}

// The two rules Reentry is used with.
var (
	// ReentryOnStack reads a thread's whole stack (a heartbeat, a dump, a
	// Ctrl-C traceback).
	ReentryOnStack = ReentryRule{SkipHarness: true, RequireOuterLoop: true}
	// ReentryInTraceback reads the tracebacks of an exception chain.
	ReentryInTraceback = ReentryRule{StopAtModule: true}
)

// Reentry is the innermost frame that calls run_until_complete,
// asyncio.run or to_sync_generator (in its code, or by the frame it called)
// and is no loop machinery itself (asyncio, nest_asyncio, uvloop, uvicorn,
// the harness that starts the cell's loop), under the rule.
func Reentry(frames []scan.Frame, r ReentryRule) (scan.Frame, bool) {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if r.StopAtModule && i == 0 && f.Func == "<module>" {
			break
		}
		calls := StartsLoop.MatchString(f.Code) || (i+1 < len(frames) && EntersLoop(frames[i+1]))
		if !calls || LoopFrame(f) || (r.SkipHarness && isHarness(f)) {
			continue
		}
		if !r.RequireOuterLoop || outerLoop(frames[:i]) {
			return f, true
		}
	}
	return scan.Frame{}, false
}

// ChainReentry is the frame that re-entered a loop in an exception chain
// (raised first): in the tracebacks of the matched exception at idx, else
// of the others from the raised end, under ReentryInTraceback.
func ChainReentry(chain []scan.PyException, idx int) (scan.Frame, bool) {
	for i := range pytext.WalkOrder(len(chain), idx, pytext.WalkMatchedThenRaised) {
		if f, ok := Reentry(chain[i].Frames, ReentryInTraceback); ok {
			return f, true
		}
	}
	return scan.Frame{}, false
}

// outerLoop reports whether one of the frames runs an event loop.
func outerLoop(frames []scan.Frame) bool {
	for _, f := range frames {
		if LoopFrame(f) || StartsLoop.MatchString(f.Code) {
			return true
		}
	}
	return false
}

func isHarness(f scan.Frame) bool {
	p := pytext.SlashPath(f.File)
	return pytext.FileBase(p) == "harness.py"
}

// hangBlame is the frame a wait is blamed on, formatted: the innermost g4f
// frame, else the innermost one that is neither the standard library nor
// the machinery around the call (the harness, the loop, the web server).
func HangBlame(frames []scan.Frame) string {
	if f, ok := InnermostG4F(frames); ok {
		return FormatFrame(f)
	}
	for i := len(frames) - 1; i >= 0; i-- {
		if !isStdlib(frames[i].File) && !machinery(frames[i]) {
			return FormatFrame(frames[i])
		}
	}
	return ""
}

// machineryFile is code around a call that is not the call's own: the loop,
// nest_asyncio, the web server and framework g4f's API runs in.
var machineryFile = regexp.MustCompile(`/(?:uvicorn|h11|httptools|starlette|fastapi|anyio|uvloop)/|nest_asyncio|uvloop`)

func machinery(f scan.Frame) bool {
	return isHarness(f) || machineryFile.MatchString(pytext.SlashPath(f.File))
}

// knownBlocking reports whether a snapshot of a loop thread shows it held
// by a sync call: the innermost frame outside the standard library is the
// call's own code (not the loop's machinery: asyncio's transports touch
// sockets too, without blocking), and it is in C below it (time.sleep
// shows no frame) or in a standard-library call known to block.
func KnownBlocking(frames []scan.Frame) bool {
	for i := len(frames) - 1; i >= 0; i-- {
		if isStdlib(frames[i].File) {
			continue
		}
		if machinery(frames[i]) {
			return false
		}
		if i == len(frames)-1 {
			return true
		}
		break
	}
	switch _, short := BlockingCall(frames); short {
	case "time.sleep", "socket recv", "select", "subprocess":
		return true
	}
	return false
}

// waitObject is what a deadlocked thread waits on, for the sentence.
type waitObject struct{ noun, verb string }

// deadlockWait names the wait of a thread waitsForever found stuck: the
// innermost standard-library wait, else what the innermost frame outside it
// calls.
func DeadlockWait(frames []scan.Frame) (string, waitObject) {
	var waits []scan.Frame
	for i := len(frames) - 1; i >= 0 && isStdlib(frames[i].File); i-- {
		waits = append(waits, frames[i]) // innermost first
	}
	for _, f := range waits {
		p := pytext.SlashPath(f.File)
		switch {
		case strings.HasSuffix(p, "concurrent/futures/_base.py"):
			return "concurrent.futures Future.result() (threading.Condition.wait)", waitObject{"a future", "complete"}
		case strings.HasSuffix(p, "/queue.py") || p == "queue.py":
			return "queue.Queue." + f.Func + "() (threading.Condition.wait)", waitObject{"a queue", "fill"}
		}
	}
	threadingWaits := 0
	for _, f := range waits {
		p := pytext.SlashPath(f.File)
		if strings.HasSuffix(p, "threading.py") {
			switch f.Func {
			case "acquire":
				return "threading.Lock.acquire()", waitObject{"a lock", "release"}
			case "wait", "wait_for":
				threadingWaits++
			}
		}
	}
	switch {
	case threadingWaits >= 2:
		return "threading.Event.wait() (threading.Condition.wait)", waitObject{"an event", "set"}
	case threadingWaits == 1:
		return "threading.Condition.wait()", waitObject{"a condition", "notify"}
	}
	if f, ok := BlameFrame(frames); ok {
		code := strings.TrimSpace(f.Code)
		switch {
		case strings.Contains(code, ".result("):
			return "Future.result(): " + code, waitObject{"a future", "complete"}
		case strings.Contains(code, ".acquire("):
			return "Lock.acquire(): " + code, waitObject{"a lock", "release"}
		case strings.Contains(code, ".get("):
			return "Queue.get(): " + code, waitObject{"a queue", "fill"}
		case strings.Contains(code, ".wait("):
			return "Event.wait(): " + code, waitObject{"an event", "set"}
		}
	}
	return "a wait on another thread", waitObject{"work", "do"}
}

// syncNetworkFile is a module doing blocking socket I/O.
var syncNetworkFile = regexp.MustCompile(`(?:^|/)(?:socket|ssl)\.py$|/http/client\.py$|/(?:urllib3|requests|httpx|httpcore|curl_cffi|websocket)/`)

// blockingCall names what holds a blocked (not deadlocked) loop thread, in
// full and in short for the sentence.
func BlockingCall(frames []scan.Frame) (what, short string) {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		p := pytext.SlashPath(f.File)
		code := strings.TrimSpace(f.Code)
		switch {
		case sleepCode.MatchString(code):
			return "time.sleep", "time.sleep"
		case syncNetworkFile.MatchString(p), syncNetworkCode.MatchString(code):
			return "socket recv (blocking network I/O on the loop thread)", "socket recv"
		case pytext.FileBase(p) == "selectors.py" && f.Func == "select":
			return "selectors.select outside the loop (blocking I/O)", "select"
		case strings.Contains(code, "subprocess.") || pytext.FileBase(p) == "subprocess.py":
			return "a subprocess wait", "subprocess"
		}
		if !isStdlib(f.File) {
			if code != "" {
				return "a blocking call: " + code, "a blocking call"
			}
			return "a call into C code (faulthandler shows only Python frames)", "a call into C code"
		}
	}
	return "a blocking call", "a blocking call"
}

// sleepCode is a call to time.sleep, imported or not.
var sleepCode = regexp.MustCompile(`(?:^|[^.\w])(?:time\.)?sleep\(`)

// syncNetworkCode is a call doing blocking network I/O.
var syncNetworkCode = regexp.MustCompile(`\brequests\.(?:get|post|request)\(|\burlopen\(|\.recv(?:_into)?\(|\.getresponse\(`)

// relevantTasks are the tasks that show the provider or g4f, else the ones
// that are not only the harness, else all.
func relevantTasks(tasks []pytext.TaskStack, provider string) []pytext.TaskStack {
	var mine, others []pytext.TaskStack
	for _, t := range tasks {
		switch {
		case provider != "" && strings.Contains(t.Text, provider), strings.Contains(pytext.SlashPath(t.Text), "/g4f/"):
			mine = append(mine, t)
		case !strings.Contains(t.Text, "harness.py"):
			others = append(others, t)
		}
	}
	switch {
	case len(mine) > 0:
		return mine
	case len(others) > 0:
		return others
	}
	return tasks
}

type wait struct{ what, frame string }

// asyncWaitCode is awaited code and what it waits on.
var asyncWaitCode = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)\bqueue\w*\.get\(`), "asyncio.Queue.get"},
	{regexp.MustCompile(`\basyncio\.sleep\(`), "asyncio.sleep"},
	{regexp.MustCompile(`(?i)\b(?:cond|condition)\w*\.wait\(`), "asyncio.Condition.wait"},
	{regexp.MustCompile(`(?i)\block\w*\.acquire\(|\basync with \w*lock`), "asyncio.Lock.acquire"},
	{regexp.MustCompile(`\.wait\(\)`), "asyncio.Event.wait"},
}

// taskWait finds what the cell's pending task waits on.
func taskWait(tasks []pytext.TaskStack, provider string) (wait, bool) {
	for _, t := range relevantTasks(tasks, provider) {
		frames := t.AllFrames()
		for i := len(frames) - 1; i >= 0; i-- {
			f := frames[i]
			p := pytext.SlashPath(f.File)
			what := ""
			switch {
			case strings.HasSuffix(p, "asyncio/locks.py") && f.Func == "wait":
				what = "asyncio.Event.wait"
				if i > 0 && strings.Contains(strings.ToLower(frames[i-1].Code), "cond") {
					what = "asyncio.Condition.wait"
				}
			case strings.HasSuffix(p, "asyncio/locks.py") && f.Func == "acquire":
				what = "asyncio.Lock.acquire"
			case strings.HasSuffix(p, "asyncio/queues.py") && f.Func == "get":
				what = "asyncio.Queue.get"
			case strings.HasSuffix(p, "asyncio/tasks.py") && f.Func == "sleep":
				what = "asyncio.sleep"
			default:
				for _, w := range asyncWaitCode {
					if w.re.MatchString(f.Code) {
						what = w.what
						break
					}
				}
			}
			if what != "" {
				return wait{what: what, frame: HangBlame(frames)}, true
			}
		}
		if strings.Contains(t.Header, "wait_for=<Future pending") {
			return wait{what: "an asyncio Future", frame: HangBlame(frames)}, true
		}
	}
	return wait{}, false
}

// asyncNetworkFile is a module doing socket I/O for a coroutine.
var asyncNetworkFile = regexp.MustCompile(`/(?:aiohttp|aiohttp_socks|httpx|httpcore|curl_cffi|websockets|anyio/streams)/|asyncio/(?:streams|sslproto)\.py$`)

// asyncNetworkText is network I/O in a task's repr or awaited code.
var asyncNetworkText = regexp.MustCompile(`\baiohttp\b|StreamReader|ClientResponse|\bsock_recv|\bsock_connect|getaddrinfo|open_connection|\biter_(?:chunked|any|chunks|lines)\(|\.readany\(|\.readchunk\(|\.readline\(|\.read\(`)

// networkWaitFound looks for a socket wait in the cell's tasks and in the
// other threads running the provider, and records it in h.
func networkWaitFound(h *HangSummary, tasks []pytext.TaskStack, side [][]scan.Frame, provider string) bool {
	const what = "socket recv / selectors.select (network I/O)"
	for _, t := range relevantTasks(tasks, provider) {
		frames := t.AllFrames()
		hit := asyncNetworkText.MatchString(t.Header)
		for _, f := range frames {
			if asyncNetworkFile.MatchString(pytext.SlashPath(f.File)) || asyncNetworkText.MatchString(f.Code) {
				hit = true
			}
		}
		if hit {
			h.WaitsOn, h.WaitFrame = what, HangBlame(frames)
			return true
		}
	}
	for _, frames := range side {
		for i := len(frames) - 1; i >= 0; i-- {
			if syncNetworkFile.MatchString(pytext.SlashPath(frames[i].File)) || syncNetworkCode.MatchString(frames[i].Code) {
				h.WaitsOn, h.WaitFrame = "socket recv on a worker thread (network I/O)", HangBlame(frames)
				return true
			}
		}
	}
	return false
}

// sideThreads are the threads of the dump other than the loop thread that run
// the provider's code: a call moved off the loop (to_thread) waits there.
func sideThreads(dump, provider string, lt loopThread) [][]scan.Frame {
	if provider == "" {
		return nil
	}
	var out [][]scan.Frame
	for _, th := range pytext.SplitThreads(dump, pytext.HeaderSplit) {
		if !strings.Contains(th, provider) {
			continue
		}
		first := strings.TrimSpace(strings.SplitN(th, "\n", 2)[0])
		if lt.header != "" && first == lt.header {
			continue
		}
		out = append(out, pytext.ParseStack(th))
	}
	return out
}

// stalled reports whether a streaming cell hung after its first chunks.
func stalled(c CellReport) bool {
	if c.Class == ClassStall || c.Split[ClassStall] > 0 {
		return true
	}
	return c.Mode.Streaming() && stalledChunks(c) > 0
}

// stalledChunks is how many chunks the stalled calls had sent: the most of
// any call still pending, else of any call.
func stalledChunks(c CellReport) int {
	pending, any := 0, 0
	for _, call := range c.Calls {
		if call.Outcome == scan.OutcomePending {
			pending = max(pending, call.Chunks)
		}
		any = max(any, call.Chunks)
	}
	if pending > 0 {
		return pending
	}
	return any
}

// CrossLoopWait names the wait of a thread blocked on work another event
// loop runs: an anyio BlockingPortal (or from_thread.run) call, or a
// future of asyncio.run_coroutine_threadsafe(...).result(). Run on a loop
// thread, such a wait blocks that loop, but what it waits for runs on the
// other loop, so it is no deadlock of its own; run_coroutine_threadsafe
// may also be handed the thread's own loop, which the caller tells from
// the loops the dump holds. portal is true for anyio's portal, which
// refuses to be called from its own loop's thread.
func CrossLoopWait(frames []scan.Frame) (what string, portal, ok bool) {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		p := pytext.SlashPath(f.File)
		if strings.HasSuffix(p, "anyio/from_thread.py") {
			switch f.Func {
			case "run", "run_sync":
				return "anyio.from_thread." + f.Func + "() (the loop that started this thread)", true, true
			case "call", "start_task_soon", "_spawn_task_from_thread", "start_task", "wrap_async_context_manager":
				return "anyio BlockingPortal." + f.Func + "() (the portal's loop, in another thread)", true, true
			}
			continue
		}
		if strings.Contains(f.Code, "run_coroutine_threadsafe(") {
			return "run_coroutine_threadsafe(...).result()", false, true
		}
		if !isStdlib(f.File) {
			return "", false, false
		}
	}
	return "", false, false
}

// TaskWaitsOn names what an asyncio task waits on, from the frames of its
// coroutine stack (outermost first) as a task list shows them: Python
// 3.14's "asyncio ps" (qualified names, no files) or "asyncio pstree" and
// print_stack (files and lines).
func TaskWaitsOn(frames []scan.Frame) (string, bool) {
	if len(frames) == 0 {
		return "", false
	}
	in := frames[len(frames)-1]
	p := pytext.SlashPath(in.File)
	method := in.Func
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		method = method[i+1:]
	}
	asyncioFile := func(base string) bool { return p == "" || strings.HasSuffix(p, "asyncio/"+base) }
	switch {
	case strings.HasSuffix(in.Func, "Queue.get") || (asyncioFile("queues.py") && p != "" && method == "get"):
		return "asyncio.Queue.get", true
	case strings.HasSuffix(in.Func, "Condition.wait"):
		return "asyncio.Condition.wait", true
	case strings.HasSuffix(in.Func, "Event.wait") || (asyncioFile("locks.py") && p != "" && method == "wait"):
		return "asyncio.Event.wait", true
	case strings.HasSuffix(in.Func, "Lock.acquire"), strings.HasSuffix(in.Func, "Semaphore.acquire"):
		return "asyncio." + in.Func[strings.LastIndexByte(in.Func[:len(in.Func)-len(".acquire")], '.')+1:], true
	case in.Func == "sleep" && asyncioFile("tasks.py"):
		return "asyncio.sleep", true
	case asyncNetworkFile.MatchString(p), strings.HasPrefix(in.Func, "StreamReader."), in.Func == "open_connection",
		strings.HasPrefix(in.Func, "sock_"):
		return "network I/O (" + in.Func + ")", true
	case strings.HasPrefix(p, "/") && !isStdlib(in.File) || p == "" && !strings.Contains(in.Func, "."):
		// the task's own coroutine awaits a future: a thread's or another
		// loop's work (run_in_executor, wrap_future), or one it never gets
		return "a future", true
	}
	return "", false
}

// dumperCode is code that takes a dump of the threads' stacks.
var dumperCode = regexp.MustCompile(`\bextract_stack\(|\b_current_frames\(|\bformat_stack\(|\bprint_stack\(|\bdump_traceback(?:_later)?\(`)

// dumperHook are the server hooks that print a thread dump (gunicorn's
// example config), and the worker methods that call them on a signal.
var dumperHook = map[string]bool{"worker_int": true, "worker_abort": true, "handle_quit": true, "handle_int": true,
	"handle_abort": true, "handle_usr1": true, "handle_usr2": true}

// TrimDumper drops the innermost frames of a thread that took a dump from
// inside the dump (a signal handler that runs sys._current_frames and
// traceback.extract_stack on the thread the signal interrupted): the code
// that dumps, the hook and handler that called it, Python's signal module.
// What is left is where the thread was when the signal came.
func TrimDumper(frames []scan.Frame) []scan.Frame {
	n := len(frames)
	for n > 0 {
		f := frames[n-1]
		if !dumperCode.MatchString(f.Code) && !dumperHook[f.Func] && pytext.FileBase(pytext.SlashPath(f.File)) != "signal.py" {
			break
		}
		n--
	}
	if n == 0 {
		return frames // nothing but the dumper: keep it as it is
	}
	return frames[:n]
}
