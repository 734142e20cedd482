// Package repro is the engine of a scan: the Plan and its Cells, the Runner
// that keeps a bounded number of cells at work, and the in-process Driver —
// a fork server per loop variant running the embedded harness.
//
// Isolation is the rule: a cell's verdict may depend only on the cell. No
// two cells run in one process, at the same time or one after the other,
// and what a cell leaves behind — a nest_asyncio patch, a provider's class
// attributes, a loop policy, threads, child processes — never reaches
// another cell. Providers keep class-level state and nest_asyncio patches
// asyncio process-wide, so sharing would make verdicts depend on --jobs,
// on the order of the cells and on the machine. The only sharing is what a
// cell asks for itself: its --concurrency calls at once, its --repeat
// rounds.
//
// How: a worker is one interpreter set up for one loop variant (asyncio,
// nest, uvloop) before it imports g4f, through an import blocker and a loop
// factory, never by changing the user's environment. It imports g4f once
// and stays as it is — one thread, no event loop, no provider code — and
// forks a child for every cell, in a process group of its own, which ends
// with the cell. Where a worker cannot fork (no os.fork, threads alive
// after the import, or G4FDIAG_FORK=0), every cell gets a worker started
// for it alone; the environment's LoopInfo.Isolation says which.
//
// Go writes requests to a worker's stdin and reads JSON lines from its file
// descriptor 3 (a fork server relays its children's), so whatever g4f
// prints stays out of the protocol; harness/harness.py documents the
// protocol. Beside it, harness/probe_openai.py defines ProbeOpenAI (a
// subclass of the installed g4f's OpenAI-compatible base) and the real
// providers that take a base URL, pointed at the loopback upstream
// (repro/upstream) when G4FDIAG_UPSTREAM is set; the harness registers
// them into g4f by name, never into __providers__. The harness's heartbeat
// reports a loop thread that stops
// answering. The deadline of a cell belongs to Go: at the deadline it asks
// faulthandler (SIGUSR1) for every thread's stack and the harness for the
// loop's pending tasks, at once and within a short budget, then kills the
// cell's process group.
//
// --jobs bounds the cells that use the CPU, not the ones that wait: a cell
// whose process has stopped using the CPU (a hang, a stalled stream) gives
// its job slot to the next cell (see Yielder), so hung cells wait side by
// side rather than one after another.
//
// The data it runs and records — Plan, Cell, Mode, Loop, Observation,
// Call, Environment, the remedy table — is package scan's (repro/scan), so
// that diag can read a scan without importing the engine.
//
// What differs by system is behind build tags: proc_*.go and group_unix.go
// (process groups, Pdeathsig on Linux, signals) and contain_*.go
// (subreapers, Linux only). Scans run on Linux and macOS; elsewhere
// ScansSupported is false and the commands that scan say so.
//
// repro records what happened — exception chains, tracebacks, chunk timings,
// stacks, how a cell ended — and knows nothing of verdicts: that is diag's.
// doctor is the same: RunDoctor probes an interpreter (scan.Doctor holds
// the facts); the rules that judge them are diag's (diag.Exposures).
package repro
