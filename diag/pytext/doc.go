// Package pytext is the one reader of Python text: traceback frames and
// tracebacks, exception lines, chain markers and the order a chain is
// walked in, faulthandler, py-spy and heartbeat thread dumps with their
// thread headers, asyncio task stacks and task reprs, IPython (Jupyter)
// tracebacks. diag, diag/explain and diag/render read Python's text only
// through it, in the way go/scanner serves both the parser and gofmt.
//
// Where the readers of the same text differ on purpose (a strict exception
// line for free text, a loose one inside a traceback; a thread header that
// splits a dump, one that starts a dump in a log, one that only marks a
// block for display), each rule is a named dialect, style or option of one
// function here, never a second copy: merging two rules changes verdicts,
// and is a change of its own.
//
// pytext reads text into frames and exceptions (repro/scan's Frame and
// PyException) and writes them back as Python would; it judges nothing.
// Which frame runs a loop, re-enters it or waits forever, and which
// exception of a chain a signature matches, are diag's. It imports only
// the standard library and repro/scan.
package pytext
