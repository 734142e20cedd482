package explain

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// This file reads the texts that tell how a process or a request ended
// rather than which exception it raised: log lines (a killed worker, a
// gunicorn WORKER TIMEOUT, curl's exit messages), stack dumps of a hung or
// crashed process (faulthandler, py-spy dump, gdb py-bt, a server's thread
// dump, Python 3.14's asyncio ps and pstree task lists), a hang told in
// words with nothing else, a Ctrl-C traceback, and
// g4f's retry log, where one provider failing some attempts and answering
// others is flaky.

// lineSigs are the signatures read from log lines, those that need an
// earlier line (LineAfter) first: they are the narrower ones.
var lineSigs = func() []*diag.Signature {
	var after, plain []*diag.Signature
	for i := range diag.Signatures {
		s := &diag.Signatures[i]
		switch {
		case s.Line == nil:
		case s.LineAfter != nil:
			after = append(after, s)
		default:
			plain = append(plain, s)
		}
	}
	return append(after, plain...)
}()

// hinted reports whether the line holds one of the signature's hints (or
// the signature has none).
func hinted(s *diag.Signature, line string) bool {
	if len(s.LineHints) == 0 {
		return true
	}
	for _, h := range s.LineHints {
		if strings.Contains(line, h) {
			return true
		}
	}
	return false
}

// noteAfter records the LineAfter patterns this line matches.
func (x *explainer) noteAfter(line string) {
	for _, s := range lineSigs {
		if s.LineAfter == nil {
			break
		}
		if !x.after[s] && s.LineAfter.MatchString(line) {
			x.after[s] = true
		}
	}
}

// lineSignature matches a log line against the line signatures; pid is the
// process the line names, when it names one.
func (x *explainer) lineSignature(line string) (r record, pid string, ok bool) {
	for _, s := range lineSigs {
		if (s.LineAfter != nil && !x.after[s]) || !hinted(s, line) || (s.Unless != nil && s.Unless.MatchString(line)) {
			continue
		}
		m := s.Line.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for i, name := range s.Line.SubexpNames() {
			if name == "pid" && m[i] != "" {
				pid = m[i]
			}
		}
		ev := gunicornStamp.ReplaceAllString(line, "")
		if loc := stampPrefix.FindStringIndex(ev); loc != nil && loc[1] < len(ev) {
			ev = ev[loc[1]:] // journald's, Heroku's time and source
		}
		r := record{sig: s, evidence: strings.TrimSpace(ev)}
		if s.ID == diag.SigLoopSlowCallback {
			r.evidence, r.frame = slowCallback(line, r.evidence)
		}
		return r, pid, true
	}
	return record{}, "", false
}

// gunicornStamp is the time and pid gunicorn writes before each line:
// "[2025-05-02 10:16:04 +0000] [1] ".
var gunicornStamp = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d [^\]]*\] \[\d+\] `)

var (
	slowTook  = regexp.MustCompile(`> took (\d+(?:\.\d+)?) seconds`)
	slowHandl = regexp.MustCompile(`Executing <(?:Timer)?Handle (?:when=\S+ )?([^\s(<>]+)\(`)
)

// slowCallback reads asyncio's debug warning "Executing <Task ...
// coro=<f() running at file:line> ...> took 12.406 seconds" into a sentence
// and the frame of the coroutine that held the loop.
func slowCallback(line, whole string) (evidence, frame string) {
	took := slowTook.FindStringSubmatch(line)
	if took == nil {
		return whole, ""
	}
	what := "a callback"
	if f, ok := pytext.ParseCoroRepr(line, pytext.CoroRunningOrDone); ok {
		frame = diag.OneLine(diag.FormatFrame(f))
		name := f.Func
		f.Func = ""
		what = "task " + name + "() at " + diag.OneLine(diag.FormatFrame(f))
	} else if m := slowHandl.FindStringSubmatch(line); m != nil {
		what = "callback " + m[1] + "()"
	}
	return what + " held the event loop for " + took[1] + " seconds (asyncio debug mode)", frame
}

// sameEnd reports whether a crash line repeats the end of a process an
// earlier record already told: gunicorn's kill of the worker it had just
// timed out, or the shell's "Segmentation fault" after Python's fatal error.
func (x *explainer) sameEnd(r record, pid string) bool {
	if r.sig.Class != diag.ClassCrashed || x.lastEnd == nil || x.lineNo-x.lastEndLine > 200 {
		return false
	}
	if pid != "" && x.lastEndPID != "" {
		return pid == x.lastEndPID
	}
	return x.lastEnd.Class == diag.ClassCrashed
}

// --- stack dumps ---

// dumpState is a stack dump being read. Threads are judged as they end, so
// only the thread being read and the best finding are held.
type dumpState struct {
	prefix  string
	stamped bool // every line starts with a log collector's time and source
	r       *pytext.DumpReader
	timeout string // faulthandler's "Timeout (0:00:30)!" header, when there was one
	when    string // the log time when the dump started: it ends at the next record
	// the worst loop thread so far, and the deadlock it is if the loop it
	// waits on is its own (stackRecord's ownLoop)
	best, bestOwn *record
	bestRank      int
	// the loop threads seen, those blocked on another loop's work, and
	// the first idle one, named
	loops, crossWaits int
	idle              string
	// the thread to name when no loop thread is at fault: one waiting on
	// another loop (rank 0), else on a queue (1), else the
	// first one running code outside the stdlib and the loop machinery (2)
	other     string
	otherRank int
	// the task to name in an asyncio task list, and how many wait
	task     string
	taskRank int
	waiting  int
	// the crashing thread's innermost g4f (else own) frame
	crashFrame string
}

// dumpStart reports whether the line starts a stack dump and, if so, starts it.
func (x *explainer) dumpStart(line string) bool {
	at, h, ok := pytext.FindThreadHeader(line)
	if !ok {
		return false
	}
	p := line[:at]
	stamped := false
	switch {
	case strings.TrimSpace(p) == "", linePrefix.MatchString(p):
	case len(stampPrefix.FindString(p)) == len(p):
		stamped, p = true, ""
	default:
		return false
	}
	x.finishBlock()
	x.dump = &dumpState{prefix: p, stamped: stamped, r: pytext.NewDumpReader(h), timeout: x.faultTimeout, when: x.lastTime}
	x.faultTimeout = ""
	return true
}

// dumpLine feeds a line to the dump; false ends the dump and hands the line
// back.
func (x *explainer) dumpLine(line string) bool {
	d := x.dump
	body := line
	if d.stamped {
		loc := stampPrefix.FindStringIndex(line)
		if loc == nil {
			x.finishDump()
			return false
		}
		body = line[loc[1]:]
	}
	if d.prefix != "" {
		body = strings.TrimPrefix(line, d.prefix)
		if len(body) == len(line) {
			body = strings.TrimPrefix(line, strings.TrimRight(d.prefix, " \t"))
		}
	}
	ended, ok := d.r.Feed(body)
	if !ok {
		x.finishDump()
		return false
	}
	d.judge(ended)
	return true
}

// judge judges a thread of the dump that ended.
func (d *dumpState) judge(t *pytext.DumpThread) {
	if t == nil || len(t.Frames) == 0 {
		return
	}
	frames := t.Frames
	if t.Header.Form.Tasks() {
		d.judgeTask(t)
		return
	}
	if t.Header.Form == pytext.FormThreadDump {
		frames = diag.TrimDumper(frames) // the signal handler that printed the dump
	}
	if t.Header.Current && d.crashFrame == "" {
		if f, ok := diag.BlameFrame(frames); ok {
			d.crashFrame = diag.OneLine(diag.FormatFrame(f))
		}
	}
	name := t.Header.DumpLabel(frames)
	loop := diag.RunsLoopHere(frames)
	if loop {
		d.loops++
		if idle, inSelect := diag.LoopIdle(frames); idle && d.idle == "" {
			d.idle = "the loop of " + name + " idles"
			if inSelect {
				d.idle += " in select()"
			}
		}
	}
	r, own, rank, ok := stackRecord(name, frames)
	if _, _, cross := diag.CrossLoopWait(frames); ok && cross {
		d.crossWaits++
	}
	if ok && (d.best == nil || rank < d.bestRank) {
		d.best, d.bestOwn, d.bestRank = &r, own, rank
	}
	if ok || loop {
		return
	}
	other, otherRank := "", 2
	if what, _, cross := diag.CrossLoopWait(frames); cross {
		other, otherRank = name+" waits on "+what, 0
	} else if what, _ := diag.DeadlockWait(frames); diag.WaitsForever(frames) && strings.HasPrefix(what, "queue.") {
		other, otherRank = name+" waits on "+what, 1
	} else if b := diag.HangBlame(frames); b != "" {
		other = name + " waits in " + b
	}
	if other != "" && otherRank < 2 {
		if b := diag.HangBlame(frames); b != "" {
			other += " in " + b
		}
	}
	if other != "" && (d.other == "" || otherRank < d.otherRank) {
		d.other, d.otherRank = other, otherRank
	}
}

// judgeTask judges a task of an asyncio task list (ps, pstree): what its
// innermost coroutine awaits. A sleep is named only when no task waits on
// anything else, a bare future only when no task sleeps either.
func (d *dumpState) judgeTask(t *pytext.DumpThread) {
	what, ok := diag.TaskWaitsOn(t.Frames)
	if !ok {
		return
	}
	// a future may be a child task's, which a task list names as a task
	rank := 0
	switch what {
	case "asyncio.sleep":
		rank = 1
	case "a future":
		rank = 2
	}
	if rank < 2 {
		d.waiting++
	}
	if d.task != "" && rank >= d.taskRank {
		return
	}
	d.task, d.taskRank = t.Header.DumpLabel(t.Frames)+" waits on "+what, rank
	if at := taskFrame(t.Frames); at != "" {
		d.task += " in " + at
	}
}

// taskFrame is where a task's own code awaits: the innermost frame outside
// asyncio, formatted, or its function when the list gives no file.
func taskFrame(frames []scan.Frame) string {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		switch {
		case f.File == "" && !strings.Contains(f.Func, "."):
			return f.Func + "()"
		case f.File != "" && !strings.Contains(pytext.SlashPath(f.File), "/asyncio/"):
			return diag.FormatFrame(f)
		}
	}
	return ""
}

// stackRecord judges one thread's stack, outermost frame first: a thread
// running an event loop that waits for something only that loop could
// deliver is a deadlock; one held by a blocking call, or waiting on work
// of another loop, is a blocked loop. The rank orders the two (deadlock
// first). ownLoop, for a wait on run_coroutine_threadsafe's future, is the
// deadlock it is when the loop it was handed is the thread's own.
func stackRecord(name string, frames []scan.Frame) (r record, ownLoop *record, rank int, ok bool) {
	if !diag.RunsLoopHere(frames) {
		return record{}, nil, 0, false
	}
	if idle, _ := diag.LoopIdle(frames); idle {
		return record{}, nil, 0, false
	}
	cross, portal, isCross := diag.CrossLoopWait(frames)
	switch {
	case isCross:
		r.sig, r.evidence, rank = sigPtr(diag.SigLoopThreadBlocked),
			name+" runs the event loop and is blocked waiting on "+cross, 1
		if !portal {
			ownLoop = &record{sig: sigPtr(diag.SigDeadlockLoopThread),
				evidence: name + " runs the event loop and waits forever on " + cross + ", and no other loop runs: it was handed its own"}
		}
	case diag.WaitsForever(frames):
		what, _ := diag.DeadlockWait(frames)
		r.sig, r.evidence = sigPtr(diag.SigDeadlockLoopThread), name+" runs the event loop and waits forever in "+what
	case diag.KnownBlocking(frames):
		what, _ := diag.BlockingCall(frames)
		r.sig, r.evidence, rank = sigPtr(diag.SigLoopThreadBlocked), name+" runs the event loop and is blocked in "+what, 1
	default:
		return record{}, nil, 0, false
	}
	if f, ok := diag.InnermostG4F(frames); ok {
		r.frame = diag.OneLine(diag.FormatFrame(f))
		if p := providerPath.FindStringSubmatch(f.File); p != nil {
			r.provider = p[1]
		}
	} else if b := diag.HangBlame(frames); b != "" {
		r.evidence += ", under " + b
		if ownLoop != nil {
			ownLoop.evidence += ", under " + b
		}
	}
	if f, ok := diag.Reentry(frames, diag.ReentryOnStack); ok {
		r.reentry = diag.FormatFrame(f)
	}
	if u, ok := diag.UserCode(frames); ok {
		r.user = &u
	}
	if o := ownLoop; o != nil {
		o.frame, o.provider, o.reentry, o.user = r.frame, r.provider, r.reentry, r.user
	}
	return r, ownLoop, rank, true
}

// sigPtr is the table entry of a state signature, so findings compare by
// pointer like those of Signatures.
func sigPtr(id diag.SignatureID) *diag.Signature {
	for i := range diag.StateSignatures {
		if diag.StateSignatures[i].ID == id {
			return &diag.StateSignatures[i]
		}
	}
	return &diag.FallbackSignature
}

// tableSig is the entry of Signatures with the ID, so findings compare by
// pointer; an ID not there is a state signature's.
func tableSig(id diag.SignatureID) *diag.Signature {
	for i := range diag.Signatures {
		if diag.Signatures[i].ID == id {
			return &diag.Signatures[i]
		}
	}
	return sigPtr(id)
}

// finishDump classifies the dump read so far: the crash a "Fatal Python
// error" line announced, else the worst loop thread, else a hang with every
// loop idle.
func (x *explainer) finishDump() {
	d := x.dump
	if d == nil {
		return
	}
	x.dump = nil
	d.judge(d.r.Close())
	p := x.pending
	crash := p != nil && p.sig.Class == diag.ClassCrashed
	if crash {
		// the stacks of the crash the pending line announced
		if p.frame == "" {
			p.frame = d.crashFrame
		}
		if p.frame != "" && !strings.Contains(p.evidence, " in ") {
			p.evidence += " in " + p.frame
		}
	}
	x.flushPending()
	if crash {
		return
	}
	r := d.hangRecord()
	switch {
	case d.best != nil && d.bestRank > 0 && d.crossWaits >= 2 && d.crossWaits == d.loops:
		// every loop waits on another loop's work: none is left to do it
		r = *d.best
		r.sig = sigPtr(diag.SigDeadlockLoopThread)
		all := fmt.Sprintf("all %d event loops", d.loops)
		if d.loops == 2 {
			all = "both event loops"
		}
		r.evidence = all + " in the dump wait on each other's work; " + r.evidence
	case d.best != nil:
		r = *d.best
		if d.bestOwn != nil && d.loops < 2 {
			r = *d.bestOwn
		}
	}
	if d.timeout != "" {
		r.evidence = strings.TrimSuffix(d.timeout, "!") + ": " + r.evidence
	}
	x.add(r, d.when)
}

// dumpKinds name the dumps of each form in a finding.
var dumpKinds = map[pytext.DumpForm]string{
	pytext.FormFaulthandler: "stack dump", pytext.FormPySpy: "stack dump", pytext.FormGdb: "gdb py-bt",
	pytext.FormThreadDump: "thread dump", pytext.FormAsyncioPs: "asyncio ps", pytext.FormAsyncioTree: "asyncio pstree",
}

// hangRecord is the finding of a dump whose loop threads are not at fault:
// an idle loop is named as such, with the thread or task that waits.
func (d *dumpState) hangRecord() record {
	n := d.r.Threads()
	kind := dumpKinds[d.r.Form()]
	if d.r.Form().Tasks() {
		ev := fmt.Sprintf("%s of %d task%s", kind, n, diag.Plural(n))
		switch {
		case d.task != "" && d.taskRank < 2 && d.waiting > 1:
			ev += fmt.Sprintf(": %s, and %d other task%s wait%s too", d.task, d.waiting-1, diag.Plural(d.waiting-1), verbS(d.waiting-1))
		case d.task != "":
			ev += ": " + d.task
		default:
			ev += ": no task waits on a lock, queue, event, sleep or socket"
		}
		ev += "; a task list shows awaits only, not a loop thread blocked in sync code (py-spy dump --pid shows that)"
		return record{sig: sigPtr(diag.SigHangDump), evidence: ev}
	}
	ev := fmt.Sprintf("%s of %d thread%s: no event-loop thread is blocked", kind, n, diag.Plural(n))
	// the idle loop comes first, unless the thread named waits in no
	// more than its own code
	idle := ""
	if d.idle != "" {
		idle = "; " + d.idle + ": no loop fault"
	}
	if d.other != "" && d.otherRank == 2 {
		ev += "; " + d.other + idle
	} else if d.other != "" {
		ev += idle + "; " + d.other
	} else {
		ev += idle
	}
	return record{sig: sigPtr(diag.SigHangDump), evidence: ev}
}

// verbS is the "s" of a verb after a count: "1 other task waits".
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// interruptRecord judges a Ctrl-C traceback no signature matched by where
// it stopped the program: a loop thread waiting on itself or blocked, else
// an interrupted wait.
func interruptRecord(chain []scan.PyException) (record, bool) {
	if len(chain) == 0 || pytext.ShortType(chain[0].Type) != "KeyboardInterrupt" {
		return record{}, false
	}
	frames := chain[0].Frames
	// the signal handler that raised it (asyncio.run's since Python 3.11)
	// is not where the program was
	for len(frames) > 0 && signalHandler(frames[len(frames)-1]) {
		frames = frames[:len(frames)-1]
	}
	if r, own, _, ok := stackRecord("the interrupted thread", frames); ok {
		if own != nil {
			r = *own // one thread's traceback shows no other loop
		}
		r.evidence = "KeyboardInterrupt: " + r.evidence
		return r, true
	}
	ev := "KeyboardInterrupt"
	if n := len(frames); n > 0 {
		ev += " while waiting in " + diag.FormatFrame(frames[n-1])
	}
	r := record{sig: sigPtr(diag.SigKeyboardInterrupt), evidence: ev}
	if f, ok := diag.InnermostG4F(frames); ok {
		r.frame = diag.OneLine(diag.FormatFrame(f))
	}
	if u, ok := diag.UserCode(frames); ok {
		r.user = &u
	}
	return r, true
}

func signalHandler(f scan.Frame) bool {
	return f.Func == "_on_sigint" || f.Func == "default_int_handler" || pytext.FileBase(pytext.SlashPath(f.File)) == "signal.py"
}

// --- g4f's retry log: flaky providers ---

// usingProvider is what g4f's RetryProvider prints (debug logging on) before
// each attempt: "Using Blackbox provider", "... (attempt 2)", and what its
// API prints: "Using Blackbox provider and gpt-4o model".
var usingProvider = regexp.MustCompile(`\bUsing ([A-Z][A-Za-z0-9_]*) provider\b`)

// attempt is the attempt a "Using X provider" line opened.
type attempt struct {
	provider string
	failed   bool
}

// tries counts a provider's attempts that ended.
type tries struct {
	failed, answered int
	firstFailure     string // evidence of the first failed attempt
	order            int
}

// attemptLine notes a "Using X provider" line: the attempt before it ended,
// answered unless an error of its provider was logged meanwhile.
func (x *explainer) attemptLine(line string) {
	if !strings.Contains(line, "provider") {
		return
	}
	m := usingProvider.FindStringSubmatch(line)
	if m == nil {
		return
	}
	x.flushPending() // the error of the attempt before, if any, is in
	x.closeAttempt()
	x.attempt = &attempt{provider: m[1]}
}

func (x *explainer) closeAttempt() {
	a := x.attempt
	x.attempt = nil
	if a == nil {
		return
	}
	t := x.triesOf(a.provider)
	if t == nil {
		return
	}
	if a.failed {
		t.failed++
	} else {
		t.answered++
	}
}

func (x *explainer) triesOf(provider string) *tries {
	if t, ok := x.tries[provider]; ok {
		return t
	}
	if len(x.tries) >= x.maxFindings {
		return nil
	}
	t := &tries{order: len(x.tries)}
	x.tries[provider] = t
	return t
}

// attemptFailed marks the open attempt failed when the record is its
// provider's error.
func (x *explainer) attemptFailed(r record) {
	a := x.attempt
	if a == nil || r.provider != a.provider || a.failed {
		return
	}
	a.failed = true
	if t := x.triesOf(a.provider); t != nil && t.firstFailure == "" {
		t.firstFailure = r.evidence
	}
}

// flakyFindings adds a flaky finding for every provider that both failed and
// answered. The attempt still open at the end of the text is not counted:
// its end is not in the text.
func (x *explainer) flakyFindings() {
	names := make([]string, 0, len(x.tries))
	for p, t := range x.tries {
		if t.failed > 0 && t.answered > 0 {
			names = append(names, p)
		}
	}
	sort.Slice(names, func(i, j int) bool { return x.tries[names[i]].order < x.tries[names[j]].order })
	for _, p := range names {
		t := x.tries[p]
		n := t.failed + t.answered
		ev := fmt.Sprintf("%s failed %d of %d attempts and answered the others", p, t.failed, n)
		if t.firstFailure != "" {
			ev += "; first failure: " + t.firstFailure
		}
		x.add(record{sig: sigPtr(diag.SigRetryAnswered), evidence: ev, provider: p}, "")
	}
}

// --- a hang told in words ---

// hangWords are the words a user describes a hang with.
var hangWords = regexp.MustCompile(`(?i)\b(?:hangs?|hung|hanging|freez(?:e|es|ing)|frozen|stuck|deadlock(?:s|ed)?|` +
	`never (?:returns?|responds?|answers?|replies|finishes|completes|ends)|` +
	`(?:doesn't|does not|don't|didn't|won't|will not|never) (?:respond|return|reply|answer|finish|complete)|` +
	`no (?:response|answer|reply) (?:ever|at all|comes))\b`)

// noteHangWords keeps the first line that tells of a hang, while the text
// has shown no failure: the finding of a text that has nothing else.
func (x *explainer) noteHangWords(trimmed string) {
	if x.hangWords != "" || len(x.findings) > 0 || x.pending != nil || len(trimmed) > 400 {
		return
	}
	if hangWords.MatchString(trimmed) {
		x.hangWords = trimmed
	}
}

// hangDescribed adds the finding of a hang told in words, when the text
// holds no other.
func (x *explainer) hangDescribed() {
	if x.hangWords == "" || len(x.findings) > 0 {
		return
	}
	words := x.hangWords
	if len(words) > 160 {
		words = strings.ToValidUTF8(words[:160], "") + "…"
	}
	x.add(record{sig: sigPtr(diag.SigHangDescribed), evidence: "a hang told in words (\"" + words +
		"\") with no stack dump and no error: a low-confidence guess; a dump of the hung process tells which hang it is"}, "")
}
