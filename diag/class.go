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
)

// Classes lists every class in the order legends and summaries use: ok first,
// then the loop classes, then hangs, then provider failures, then cells that
// did not run.
var Classes = []Class{
	ClassOK,
	ClassLoopReentry, ClassLoopMissing, ClassLoopClosed, ClassLoopMismatch, ClassLoopBlocked, ClassDeadlock,
	ClassTimeout, ClassStall, ClassFlaky, ClassCrashed, ClassProtocol,
	ClassNetwork, ClassAuth, ClassProviderError, ClassMissingRequirements, ClassProviderNotFound,
	ClassNotWorking, ClassSkipped, ClassUnavailable,
}

type classInfo struct {
	code    string
	meaning string
	color   []color.Attribute
	// rank orders classes by how much they matter when one has to stand for
	// several (a flaky cell's signature, a combined error message): loop
	// classes first, "ok" last.
	rank int
}

var (
	loopColor  = []color.Attribute{color.FgRed, color.Bold}
	hangColor  = []color.Attribute{color.FgYellow}
	quietColor = []color.Attribute{color.Faint}
)

var classInfos = map[Class]classInfo{
	ClassLoopReentry:         {"RE", "a sync call re-entered the running event loop (the documented conflict)", loopColor, 0},
	ClassLoopMissing:         {"MISS", "no event loop on the calling thread", loopColor, 1},
	ClassLoopClosed:          {"CLSD", "an event loop was used after it was closed", loopColor, 2},
	ClassLoopMismatch:        {"MISM", "a future or lock bound to another event loop was awaited", loopColor, 3},
	ClassDeadlock:            {"DEAD", "the loop thread waits for work that needs that same loop", loopColor, 4},
	ClassLoopBlocked:         {"BLK", "the loop thread was stuck in a blocking call", loopColor, 5},
	ClassCrashed:             {"crsh", "the worker process died mid-cell", []color.Attribute{color.FgMagenta}, 6},
	ClassStall:               {"stal", "the stream started, then stopped sending chunks", hangColor, 7},
	ClassTimeout:             {"TO", "no answer before the cell deadline", hangColor, 8},
	ClassFlaky:               {"flky", "calls of the same cell ended differently", []color.Attribute{color.FgMagenta}, 9},
	ClassProtocol:            {"prot", "the API server's answer broke HTTP, JSON or SSE (not a loop fault)", []color.Attribute{color.FgMagenta}, 10},
	ClassProviderError:       {"err", "the provider raised an error that is not a loop fault", quietColor, 11},
	ClassMissingRequirements: {"req", "a package the provider needs is not installed", quietColor, 12},
	ClassAuth:                {"auth", "the provider needs credentials", quietColor, 13},
	ClassNetwork:             {"net", "the provider could not be reached (network)", quietColor, 14},
	ClassProviderNotFound:    {"nf", "g4f does not know this provider", quietColor, 15},
	ClassNotWorking:          {"nw", "the provider is marked working = False; not run", quietColor, 16},
	ClassUnavailable:         {"n/a", "the loop variant is not installed here; not run", quietColor, 17},
	ClassSkipped:             {"skip", "not run", quietColor, 18},
	ClassOK:                  {"ok", "answered", []color.Attribute{color.FgGreen}, 19},
}

// IsLoop reports whether the class is one of the loop classes, the failures
// that "fail like the documented conflict" and set exit code 1.
func (c Class) IsLoop() bool {
	switch c {
	case ClassLoopReentry, ClassLoopMissing, ClassLoopClosed, ClassLoopMismatch, ClassLoopBlocked, ClassDeadlock:
		return true
	}
	return false
}

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
func (c Class) Color() []color.Attribute {
	if ci, ok := classInfos[c]; ok {
		return ci.color
	}
	return nil
}

// rank orders classes by severity; unknown classes sort just before ok.
func (c Class) rank() int {
	if ci, ok := classInfos[c]; ok {
		return ci.rank
	}
	return classInfos[ClassOK].rank - 1
}

// worse reports whether a matters more than b.
func worse(a, b Class) bool { return a.rank() < b.rank() }
