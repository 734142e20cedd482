package diag

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Verdict is what diag concludes about one cell: its class, the signature
// that matched and the line of evidence that shows it.
type Verdict struct {
	Class     Class  `json:"verdict"`
	Signature string `json:"signature"`
	Evidence  string `json:"evidence"`
	Frame     string `json:"frame,omitempty"` // innermost g4f frame, "g4f/providers/asyncio.py:57 in to_sync_generator"
	// User is the first frame of the user's own code (UserCode), where a
	// text names one: explain's tracebacks. A scan's calls run from
	// g4fdiag's harness and have none.
	User        *CodeFrame `json:"user_frame,omitempty"`
	Explanation string     `json:"explanation,omitempty"`
	Remedy      string     `json:"remedy,omitempty"`
	// Split counts calls per class when the calls of a flaky cell disagreed.
	Split map[Class]int `json:"split,omitempty"`
}

// Failing reports whether the cell ran and did not answer: every class but
// ok, skipped, not-working and unavailable.
func (v Verdict) Failing() bool { return v.Class.failing() }

// LoopFailure reports whether the cell counts as a loop failure for the exit
// code: its class is a loop class, or it is flaky and some of its calls failed
// with a loop class.
func (v Verdict) LoopFailure() bool { return v.LoopClass() != "" }

// LoopClass is the loop class that makes the cell a loop failure (the worst
// one of a flaky cell's split), or "" when it is none.
func (v Verdict) LoopClass() Class {
	if v.Class.IsLoop() {
		return v.Class
	}
	if v.Class != ClassFlaky {
		return ""
	}
	var worst Class
	for c, n := range v.Split {
		if n > 0 && c.IsLoop() && (worst == "" || Worse(c, worst)) {
			worst = c
		}
	}
	return worst
}

// maxEvidence bounds the evidence line, in runes.
const maxEvidence = 200

// Classify assigns a verdict to one observation. It reads only the
// observation, so a saved scan classifies the same way a live one does.
func Classify(o scan.Observation) Verdict {
	switch o.End {
	case scan.EndSkipped:
		return stateVerdict(SigSkipped, OrDefault(o.SkipReason, "skipped"))
	case scan.EndInterrupted:
		return stateVerdict(SigInterrupted, OrDefault(o.SkipReason, "the scan was interrupted before the cell finished"))
	case scan.EndNotWorking:
		return stateVerdict(SigProviderNotWorking, OrDefault(o.SkipReason, "provider class is marked working = False"))
	case scan.EndUnavailable:
		return stateVerdict(SigLoopUnavailable, OrDefault(o.SkipReason, "loop variant "+string(o.Loop)+" is not available"))
	case scan.EndCrashed:
		return crashedVerdict(o)
	case scan.EndBlocked:
		return blockedVerdict(o)
	case scan.EndDeadline:
		if v, ok := deadlockAtDeadline(o); ok {
			return v
		}
		return aggregate(o, true)
	}
	return aggregate(o, false)
}

// stateVerdict is a verdict from StateSignatures.
func stateVerdict(id SignatureID, evidence string) Verdict {
	s, ok := Lookup(id)
	if !ok {
		s = FallbackSignature
	}
	return Verdict{Class: s.Class, Signature: string(s.ID), Evidence: OneLine(evidence),
		Explanation: s.Explanation, Remedy: s.Remedy}
}

func crashedVerdict(o scan.Observation) Verdict {
	ev := "worker died mid-cell"
	if w := o.Worker; w != nil {
		if w.ExitStatus != "" {
			ev = "worker exited: " + w.ExitStatus
		}
		if last := lastLine(w.StderrTail); last != "" {
			ev += "; last stderr: " + last
		}
	}
	return stateVerdict(SigWorkerCrashed, ev)
}

func blockedVerdict(o scan.Observation) Verdict {
	var st scan.Stacks
	if o.Stacks != nil {
		st = *o.Stacks
	}
	frames := pytext.ParseStack(st.LoopThread)
	id := SigLoopThreadBlocked
	if WaitsForever(frames) {
		id = SigDeadlockLoopThread
	}
	ev := "loop thread blocked"
	if st.BlockedMS > 0 {
		ev += " " + FormatDuration(st.BlockedMS)
	}
	if f, ok := BlameFrame(frames); ok {
		ev += " in " + FormatFrame(f)
		if code := strings.TrimSpace(f.Code); code != "" {
			ev += ": " + code
		}
	} else {
		ev += " (no stack recorded)"
	}
	v := stateVerdict(id, ev)
	if f, ok := InnermostG4F(frames); ok {
		v.Frame = OneLine(FormatFrame(f))
	}
	return v
}

// deadlockAtDeadline reads the stacks taken at a cell's deadline: a thread
// running an event loop that waits for something only that loop could
// deliver is a deadlock — over HTTP, a whole API server stopped by one call.
//
// Only over HTTP: a server serves one cell at a time, while a worker's dump
// also holds the threads of other cells (their blocked loops are reported by
// the heartbeat, with the loop thread's own stack).
func deadlockAtDeadline(o scan.Observation) (Verdict, bool) {
	if !o.Mode.OverHTTP() || o.Stacks == nil || o.Stacks.Threads == "" {
		return Verdict{}, false
	}
	frames, ok := stuckLoopThread(o.Stacks.Threads)
	if !ok {
		return Verdict{}, false
	}
	ev := "at the deadline the API server's loop thread waits forever"
	if f, ok := BlameFrame(frames); ok {
		ev += " in " + FormatFrame(f)
	}
	v := stateVerdict(SigDeadlockLoopThread, ev)
	if f, ok := InnermostG4F(frames); ok {
		v.Frame = OneLine(FormatFrame(f))
	}
	return v, true
}

// aggregate classifies every call and folds them into one verdict; with
// deadline set, calls still pending count as timeout or stall.
func aggregate(o scan.Observation, deadline bool) Verdict {
	if len(o.Calls) == 0 {
		if deadline {
			return stateVerdict(SigNoAnswer, "no answer within "+FormatDuration(o.DurationMS))
		}
		return stateVerdict(SigNoCalls, "cell "+OrDefault(string(o.End), "ended")+" without recording a call")
	}
	verdicts := make([]Verdict, len(o.Calls))
	// Calls that raised the same chain get the same verdict: classify it
	// once (a cell of 400 calls often raises one error 400 times).
	seen := map[string]Verdict{}
	for i, c := range o.Calls {
		key := ""
		if c.Outcome == scan.OutcomeError && len(c.Chain) > 0 {
			if b, err := json.Marshal(c.Chain); err == nil {
				key = string(b)
			}
		}
		if v, ok := seen[key]; ok && key != "" {
			verdicts[i] = v
			continue
		}
		verdicts[i] = ClassifyCall(o, c)
		if key != "" {
			seen[key] = verdicts[i]
		}
	}
	first := verdicts[0]
	split := map[Class]int{}
	for _, v := range verdicts {
		split[v.Class]++
	}
	if len(split) == 1 {
		return first
	}
	worst := -1
	for i, v := range verdicts {
		if v.Class != ClassOK && (worst < 0 || Worse(v.Class, verdicts[worst].Class)) {
			worst = i
		}
	}
	w := verdicts[worst]
	parts := make([]string, 0, len(split))
	for _, c := range OrderedClasses(split) {
		parts = append(parts, fmt.Sprintf("%d %s", split[c], c))
	}
	ev := fmt.Sprintf("%s of %d calls: %s", strings.Join(parts, ", "), len(verdicts), w.Evidence)
	return Verdict{Class: ClassFlaky, Signature: w.Signature, Evidence: OneLine(ev), Frame: w.Frame, User: w.User,
		Explanation: w.Explanation, Remedy: w.Remedy, Split: split}
}

// orderedClasses lists the classes of a count map in Classes order, unknown
// ones last by name.
func OrderedClasses(m map[Class]int) []Class {
	out := make([]Class, 0, len(m))
	known := map[Class]bool{}
	for _, c := range Classes {
		known[c] = true
		if m[c] > 0 {
			out = append(out, c)
		}
	}
	var unknown []Class
	for c, n := range m {
		if !known[c] && n > 0 {
			unknown = append(unknown, c)
		}
	}
	sortClasses(unknown)
	return append(out, unknown...)
}

func sortClasses(cs []Class) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j] < cs[j-1]; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// classifyCall is the verdict of one call.
func ClassifyCall(o scan.Observation, c scan.Call) Verdict {
	switch {
	case c.Outcome == scan.OutcomeOK:
		ev := "answered in " + FormatDuration(c.DurationMS)
		if c.Chunks > 0 {
			ev += fmt.Sprintf(" (%d chunks)", c.Chunks)
		}
		return stateVerdict(SigOK, ev)
	case c.Outcome == scan.OutcomePending:
		return pendingVerdict(o, c)
	case len(c.Chain) == 0:
		v := fallbackVerdict()
		v.Evidence = "call " + OrDefault(string(c.Outcome), "failed") + " without an exception recorded"
		return v
	}
	m, idx, ok := MatchChain(c.Chain)
	if !ok {
		v := fallbackVerdict()
		v.Evidence = OneLine(pytext.FormatExceptionLine(c.Chain[0].Type, c.Chain[0].Message, pytext.LineEvidence))
		v.Frame = ChainFrame(c.Chain, 0)
		return v
	}
	return Verdict{Class: m.Sig.Class, Signature: string(m.Sig.ID), Evidence: chainEvidence(m, c.Chain[idx]),
		Frame: ChainFrame(c.Chain, idx), Explanation: m.Sig.Explanation, Remedy: m.Sig.Remedy}
}

// chainEvidence is the matched line; for a combined message that quotes
// several providers' errors, each provider with its own class after it,
// the line shortened to leave them room.
func chainEvidence(m Match, e scan.PyException) string {
	ps := ProviderErrors(e.Message)
	if len(ps) < 2 {
		return OneLine(m.Line)
	}
	list := " [" + PerProvider(ps) + "]"
	line := []rune(OneLine(m.Line))
	if room := maxEvidence - len([]rune(list)) - 1; room < 40 {
		return OneLine(m.Line + list)
	} else if len(line) > room {
		line = append(line[:room-1], '…')
	}
	return OneLine(string(line) + list)
}

func fallbackVerdict() Verdict {
	s := FallbackSignature
	return Verdict{Class: s.Class, Signature: string(s.ID), Explanation: s.Explanation, Remedy: s.Remedy}
}

// pendingVerdict is a call still running at the deadline: a stall when a
// stream had started and then went silent (see streamStalled), a timeout
// otherwise — also for a stream still sending at its own pace.
func pendingVerdict(o scan.Observation, c scan.Call) Verdict {
	if v, ok := loggedLoopError("worker", o.Log); ok {
		return v
	}
	if v, ok := loggedLoopError("server", c.ServerLog); ok {
		return v
	}
	ran := o.DurationMS
	if c.DurationMS > ran {
		ran = c.DurationMS
	}
	if o.Mode.Streaming() && c.Chunks > 0 {
		last := math.Max(c.LastChunkMS, c.FirstChunkMS)
		if now := callClock(o, c); !streamStalled(c, now) {
			when := "at the deadline"
			if o.End != scan.EndDeadline {
				when = "when it was cut"
			}
			return stateVerdict(SigStreamStillRunning, fmt.Sprintf("still streaming %s: %d chunk%s, last one %s ago",
				when, c.Chunks, Plural(c.Chunks), FormatDuration(now-last)))
		}
		ev := fmt.Sprintf("stream stopped after %d chunk%s; last chunk at %s", c.Chunks, Plural(c.Chunks), FormatDuration(last))
		if gap := ran - last; gap > 0 {
			ev += ", no chunk for " + FormatDuration(gap)
		}
		return stateVerdict(SigStreamStalled, ev)
	}
	return stateVerdict(SigNoAnswer, "no answer within "+FormatDuration(ran))
}

// stallFloorMS is the shortest silence that can make a stall, for a call
// that ran three times as long or more; a shorter call needs a third of its
// time.
const stallFloorMS = 1000

// streamStalled says whether a pending stream went silent rather than slow:
// the time since its last chunk is long next to its own pace — at least
// twice the mean interval between its chunks, and longer than any gap it
// already had and recovered from — and not short in itself (stallFloorMS,
// or a third of the call). One chunk shows no pace: the floor decides.
// now is the call's time when it was seen pending, from its own start.
func streamStalled(c scan.Call, now float64) bool {
	last := math.Max(c.LastChunkMS, c.FirstChunkMS)
	need := math.Min(stallFloorMS, now/3)
	if c.Chunks > 1 {
		pace := (last - c.FirstChunkMS) / float64(c.Chunks-1)
		need = math.Max(need, math.Max(2*pace, c.MaxGapMS))
	}
	return now-last >= need
}

// callClock is how long a pending call had run when it was seen: its own
// duration when the driver recorded one, else the cell's.
func callClock(o scan.Observation, c scan.Call) float64 {
	if c.DurationMS > 0 {
		return c.DurationMS
	}
	return o.DurationMS
}

// logLevel is the "logger LEVEL: " head of a log line, as the API servers
// g4fdiag starts write them.
var logLevel = regexp.MustCompile(`(?m)^[ \t]*[A-Za-z0-9_.\-]+ (?:DEBUG|INFO|WARNING|ERROR|CRITICAL): `)

// loggedLoopError finds a loop-class error that was printed during the cell
// (by the worker, or by the API server for one request) but raised to no
// caller: asyncio's exception handler logs nest_asyncio's "Cannot enter into
// task" while the call it broke waits forever.
func loggedLoopError(who, log string) (Verdict, bool) {
	if log == "" {
		return Verdict{}, false
	}
	m, ok := MatchQuoted("", logLevel.ReplaceAllString(CapMessage(log), ""), 0)
	if !ok || !m.Sig.Class.IsLoop() {
		return Verdict{}, false
	}
	return Verdict{Class: m.Sig.Class, Signature: string(m.Sig.ID),
		Evidence:    OneLine("hung after the " + who + " logged " + m.Line),
		Explanation: m.Sig.Explanation, Remedy: m.Sig.Remedy}, true
}

// matchChain walks an exception chain (raised first, root cause last) and
// returns the first signature match and the index of the exception it
// matched.
//
// The walk starts at the root cause and goes outward, because the root cause
// is what failed, with two exceptions. An exception that was only the context
// of the next one ("during handling of the above exception") had been caught
// and handled, so the exceptions raised after it are tried first and it only
// counts when none of them matches. And a combined message that lists the
// exceptions it stands for (g4f's RetryProviderError, raised from the first
// provider's exception only) is read first, its worst listed exception
// deciding: a loop error of the second provider must not hide behind the
// first provider's network error.
func MatchChain(chain []scan.PyException) (Match, int, bool) {
	for i, e := range chain {
		msg := CapMessage(e.Message)
		if _, claimed := MatchType(e.Type, msg); claimed || e.Protocol != "" {
			continue
		}
		if m, ok := MatchQuoted(e.Type, msg, 0); ok {
			return m, i, true
		}
	}
	start := 0
	for start < len(chain) {
		end := start + 1
		for end < len(chain) && chain[end].Relation != "context" {
			end++
		}
		for i := end - 1; i >= start; i-- {
			if m, ok := matchPyException(chain[i]); ok {
				return m, i, true
			}
		}
		start = end
	}
	return Match{}, -1, false
}

// ChainFrame is the innermost g4f frame of the matched exception, else of
// the exceptions raised after it, else of the ones before it.
func ChainFrame(chain []scan.PyException, idx int) string {
	for i := range pytext.WalkOrder(len(chain), idx, pytext.WalkNearest) {
		if f, ok := InnermostG4F(pytext.ExceptionFrames(chain[i])); ok {
			return OneLine(FormatFrame(f))
		}
	}
	return ""
}

// fmtDuration prints milliseconds the way evidence lines read: "12 ms",
// "2.1 s", "5 s".
func FormatDuration(ms float64) string {
	if math.IsNaN(ms) || ms < 0 {
		ms = 0
	}
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	s := math.Round(ms/100) / 10
	if s == math.Trunc(s) || s >= 100 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func OrDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// lastLine is the last non-blank line of s.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// oneLine makes untrusted text fit an evidence line: no control sequences,
// no secrets, one line, at most maxEvidence runes.
func OneLine(s string) string {
	s = Redact(Sanitize(s))
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > maxEvidence {
		s = string(r[:maxEvidence-1]) + "…"
	}
	return s
}
