package diag

import "github.com/fatih/color"

// Class is the kind of outcome diag assigns a cell (DESIGN.md §3).
type Class string

// Loop classes: the cell failed like the documented loop conflict.
const (
	ClassLoopReentry  Class = "loop-reentry"  // a sync call re-entered the running loop
	ClassLoopMissing  Class = "loop-missing"  // no event loop on the calling thread
	ClassLoopClosed   Class = "loop-closed"   // a closed loop was used
	ClassLoopMismatch Class = "loop-mismatch" // a future or lock of another loop was awaited
	ClassLoopBlocked  Class = "loop-blocked"  // the loop thread was stuck in a blocking call
	ClassDeadlock     Class = "deadlock"      // the loop thread waits for something that needs the loop
)

// The other classes.
const (
	ClassOK                  Class = "ok"
	ClassNetwork             Class = "network"
	ClassAuth                Class = "auth"
	ClassRateLimit           Class = "rate-limit" // refused: too many requests, or a quota spent
	ClassProviderError       Class = "provider-error"
	ClassNotWorking          Class = "not-working"
	ClassTimeout             Class = "timeout"
	ClassStall               Class = "stall"
	ClassFlaky               Class = "flaky"
	ClassSkipped             Class = "skipped"
	ClassUnavailable         Class = "unavailable"          // the loop variant is not installed
	ClassCrashed             Class = "crashed"              // the worker died mid-cell
	ClassProviderNotFound    Class = "provider-not-found"   // g4f does not know the provider
	ClassMissingRequirements Class = "missing-requirements" // a provider dependency is not installed
	// ClassProtocol is an API server answer that breaks HTTP, the
	// OpenAI-compatible JSON or server-sent events: an HTML error page, a
	// stream cut short, a frame past the limits. Not a loop fault, and not
	// the provider's: the server or something between it and g4fdiag.
	ClassProtocol Class = "protocol"
	// ClassUnclassified is explain's verdict for a text that shows an
	// error no signature knows and nothing ties to a g4f provider. A scan
	// never gives it: there the call is a provider's, and an unknown error
	// stays provider-error.
	ClassUnclassified Class = "unclassified"
)

// Classes lists every class in the order legends and summaries use: ok first,
// then the loop classes, then hangs, then provider failures, then cells that
// did not run.
var Classes = []Class{
	ClassOK,
	ClassLoopReentry, ClassLoopMissing, ClassLoopClosed, ClassLoopMismatch, ClassLoopBlocked, ClassDeadlock,
	ClassTimeout, ClassStall, ClassFlaky, ClassCrashed, ClassProtocol,
	ClassNetwork, ClassAuth, ClassRateLimit, ClassProviderError, ClassMissingRequirements, ClassProviderNotFound,
	ClassUnclassified, ClassNotWorking, ClassSkipped, ClassUnavailable,
}

// hangRule says when a cell of a class counts as hung rather than failed,
// which makes hang analysis read its stacks.
type hangRule uint8

const (
	hangNever  hangRule = iota
	hangAlways          // the class is a hang: the call never came back
	hangLogged          // only when the error was logged and left the call waiting ("hung after ...")
)

// classInfo is one row of classTable: a class and every property the code
// decides by class. A new class is a new row (and its tests).
type classInfo struct {
	class   Class
	code    string // at most four characters, for table cells
	meaning string // the legend's line
	color   []color.Attribute
	// loop: fails like the documented conflict; a loop failure sets exit
	// code 1 (IsLoop).
	loop bool
	// failing: the cell ran and did not answer (Verdict.Failing).
	failing bool
	// hang: when hang analysis treats the cell as hung.
	hang hangRule
	// warn: a failing cell of the class that is not a loop failure gets a
	// GitHub warning annotation.
	warn bool
	// cause is the mechanism likelyCause files a loop failure of the class
	// under (a key of causeTable); loop classes only.
	cause string
	// reentry: an explain finding of the class keeps the frame that
	// re-entered the loop.
	reentry bool
	// then is how a call that failed this way reads after a remedy took
	// its loop error away ("the call then fails on the network"); failing
	// classes that are not loop classes only.
	then string
}

var (
	loopColor  = []color.Attribute{color.FgRed, color.Bold}
	hangColor  = []color.Attribute{color.FgYellow}
	oddColor   = []color.Attribute{color.FgMagenta}
	quietColor = []color.Attribute{color.Faint}
)

// classTable is every class, most severe first: a row's position is its
// rank, which decides the class that stands for several (a flaky cell's
// signature, a combined error message): loop classes first, "ok" last.
var classTable = []classInfo{
	{class: ClassLoopReentry, code: "RE", meaning: "a sync call re-entered the running event loop (the documented conflict)",
		color: loopColor, loop: true, failing: true, hang: hangLogged, cause: "own-loop", reentry: true},
	{class: ClassLoopMissing, code: "MISS", meaning: "no event loop on the calling thread",
		color: loopColor, loop: true, failing: true, cause: "missing"},
	{class: ClassLoopClosed, code: "CLSD", meaning: "an event loop was used after it was closed",
		color: loopColor, loop: true, failing: true, cause: "closed"},
	{class: ClassLoopMismatch, code: "MISM", meaning: "a future or lock bound to another event loop was awaited",
		color: loopColor, loop: true, failing: true, cause: "mismatch"},
	{class: ClassDeadlock, code: "DEAD", meaning: "the loop thread waits for work that needs that same loop",
		color: loopColor, loop: true, failing: true, hang: hangAlways, cause: "deadlock", reentry: true},
	{class: ClassLoopBlocked, code: "BLK", meaning: "the loop thread was stuck in a blocking call",
		color: loopColor, loop: true, failing: true, hang: hangAlways, cause: "blocked"},
	{class: ClassCrashed, code: "crsh", meaning: "the worker process died mid-cell",
		color: oddColor, failing: true, warn: true, then: "kills the worker process"},
	{class: ClassStall, code: "stal", meaning: "the stream started, then stopped sending chunks",
		color: hangColor, failing: true, hang: hangAlways, warn: true, then: "stalls mid-stream"},
	{class: ClassTimeout, code: "TO", meaning: "no answer before the cell deadline",
		color: hangColor, failing: true, hang: hangAlways, warn: true, then: "gets no answer before the deadline"},
	{class: ClassFlaky, code: "flky", meaning: "calls of the same cell ended differently",
		color: oddColor, failing: true, warn: true, then: "fails in some calls only"},
	{class: ClassProtocol, code: "prot", meaning: "the API server's answer broke HTTP, JSON or SSE (not a loop fault)",
		color: oddColor, failing: true, warn: true, then: "gets an answer that breaks the API protocol"},
	{class: ClassProviderError, code: "err", meaning: "the provider raised an error that is not a loop fault",
		color: quietColor, failing: true, then: "fails in the provider"},
	{class: ClassMissingRequirements, code: "req", meaning: "a package the provider needs is not installed",
		color: quietColor, failing: true, then: "fails on a package the provider needs"},
	{class: ClassRateLimit, code: "rate", meaning: "the provider refused: too many requests, or a quota spent (429)",
		color: quietColor, failing: true, then: "is refused for too many requests"},
	{class: ClassAuth, code: "auth", meaning: "the provider needs credentials",
		color: quietColor, failing: true, then: "fails for want of credentials"},
	{class: ClassNetwork, code: "net", meaning: "the provider could not be reached (network)",
		color: quietColor, failing: true, then: "fails on the network"},
	{class: ClassProviderNotFound, code: "nf", meaning: "g4f does not know this provider",
		color: quietColor, failing: true, then: "fails: g4f does not know the provider"},
	{class: ClassUnclassified, code: "uncl", meaning: "an error that no signature knows, not tied to a provider (explain only)",
		color: oddColor, failing: true, then: "fails with an error no signature knows"},
	{class: ClassNotWorking, code: "nw", meaning: "the provider is marked working = False; not run",
		color: quietColor},
	{class: ClassUnavailable, code: "n/a", meaning: "the loop variant is not installed here (for a probe: its g4f base class is missing); not run",
		color: quietColor},
	{class: ClassSkipped, code: "skip", meaning: "not run",
		color: quietColor},
	{class: ClassOK, code: "ok", meaning: "answered",
		color: []color.Attribute{color.FgGreen}},
}

// classInfos indexes classTable by class; classRank holds each class's
// position in it.
var classInfos, classRank = indexClasses(classTable)

func indexClasses(table []classInfo) (map[Class]*classInfo, map[Class]int) {
	infos := make(map[Class]*classInfo, len(table))
	ranks := make(map[Class]int, len(table))
	for i := range table {
		infos[table[i].class] = &table[i]
		ranks[table[i].class] = i
	}
	return infos, ranks
}

// unknownClass is what a class missing from the table (one a newer version
// wrote into a saved report) is: failing, nothing else.
var unknownClass = classInfo{failing: true}

func (c Class) info() *classInfo {
	if ci, ok := classInfos[c]; ok {
		return ci
	}
	return &unknownClass
}

// IsLoop reports whether the class is one of the loop classes, the failures
// that "fail like the documented conflict" and set exit code 1.
func (c Class) IsLoop() bool { return c.info().loop }

// failing reports whether a cell of the class ran and did not answer; an
// unknown class counts as failing.
func (c Class) failing() bool { return c.info().failing }

// GitHubWarns reports whether a failing cell of the class that is not a loop
// failure gets a GitHub warning annotation.
func (c Class) GitHubWarns() bool { return c.info().warn }

// Cause is the mechanism the report's likely cause files a loop failure of
// the class under (a key of its cause table); "" for other classes.
func (c Class) Cause() string { return c.info().cause }

// Known reports whether c is a class of the table.
func (c Class) Known() bool { _, ok := classInfos[c]; return ok }

// KeepsReentryFrame reports whether an explain finding of the class keeps
// the frame that re-entered the loop.
func (c Class) KeepsReentryFrame() bool { return c.info().reentry }

// Then is how a call that failed this way reads once a remedy took its
// loop error away, "" for a class that is ok, a loop class or not run.
func (c Class) Then() string { return c.info().then }

// Code is the class's short name for table cells, at most four characters.
// An unknown class gets "?".
func (c Class) Code() string {
	if ci, ok := classInfos[c]; ok {
		return ci.code
	}
	return "?"
}

// Meaning is the one-line explanation the legend prints.
func (c Class) Meaning() string {
	if ci, ok := classInfos[c]; ok {
		return ci.meaning
	}
	return "unknown class"
}

// Color is the colour the table paints the class in: loop classes red,
// hangs yellow, crashes, flaky cells and protocol breaks magenta, provider
// failures and unrun cells faint, ok green.
func (c Class) Color() []color.Attribute { return c.info().color }

// rank orders classes by severity, their position in classTable; unknown
// classes sort just before ok.
func (c Class) rank() int {
	if r, ok := classRank[c]; ok {
		return r
	}
	return classRank[ClassOK] - 1
}

// worse reports whether a matters more than b.
func Worse(a, b Class) bool { return a.rank() < b.rank() }
