// Package repro is the engine of a scan: the Plan and its Cells, the Runner
// that keeps a bounded number of cells in flight, and the in-process Driver —
// a pool of long-lived Python workers running the embedded harness.
//
// A worker is one interpreter set up for one loop variant (asyncio, nest,
// uvloop) before it imports g4f, through an import blocker and a loop
// factory, never by changing the user's environment. Go writes requests to
// its stdin and reads JSON lines from its file descriptor 3, so whatever g4f
// prints stays out of the protocol; harness/harness.py documents the
// protocol. Each cell runs on a thread of its own with a loop of its own, and
// the harness's heartbeat reports a loop thread that stops answering. The
// deadline of a cell belongs to Go: at the deadline it asks faulthandler
// (SIGUSR1) for every thread's stack and the harness for the loop's pending
// tasks, then retires the worker and kills its process group once no other
// cell runs in it.
//
// repro records what happened — exception chains, tracebacks, chunk timings,
// stacks, how a cell ended — and knows nothing of verdicts: that is diag's.
package repro
