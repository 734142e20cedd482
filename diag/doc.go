// Package diag classifies: it turns one observation of a cell into a
// verdict, and is the base every other package under diag builds on.
//
// It owns the verdict classes (class.go), the signature table (what makes a
// loop-reentry, a network failure, a missing requirement; signature.go),
// Classify (one scan.Observation → one Verdict; classify.go), the hang
// analysis of stack dumps and the judgments on frames it shares with explain
// (which frame runs or re-enters a loop, under a ReentryRule for a stack or
// a traceback chain; what a thread waits on; hang.go, stack.go), the class sets of --fail-on
// (classset.go), the outcome of a remedy's re-run (remedy.go), CellReport,
// a classified cell (cell.go), and doctor's exposure rules, which judge an
// interpreter by the same known errors (exposure.go). The other jobs live in packages of their own,
// each importing diag and never the other way:
//
//	diag/report   Build, the summary and likely cause, merge, the baseline
//	              comparison, and the report encodings with their reader
//	diag/render   the renderers: table, json, jsonl, markdown, junit,
//	              github, evidence
//	diag/explain  reads a text a user already has and says which verdict
//	              it shows
//
// One package sits below diag instead: diag/pytext, the one reader of Python
// text (traceback frames and blocks, exception lines, chain markers and
// walks, thread headers, faulthandler, py-spy and heartbeat dumps, task
// stacks). It imports nothing of diag; diag and every package under it read
// Python's text only through it, and judge here what it read.
//
// diag knows nothing of processes, workers, HTTP or clocks, and imports
// the data of a scan (repro/scan), never the engine (repro): it reads the
// structured record the drivers left (exception chains, tracebacks, stack
// dumps, chunk timings, how the cell ended) and nothing else, so a scan saved
// as JSON lines can be re-reported later with the current signature table and
// give the same verdicts a live run gives.
//
// Each concept is one table, read by lookups rather than switches:
// classTable (class.go) holds every verdict class with its code, meaning,
// colour and what the code decides by class (loop, failing, hang, GitHub
// warning, likely-cause mechanism), its row order being the severity rank;
// Signatures and StateSignatures (signature.go) the signatures, named in
// code only through their SignatureID constants. A new class is a row of
// classTable (and of Classes, the legend's order) plus the signatures that
// assign it; the mechanisms of the likely cause are report's causeTable.
//
// Everything a provider or an exception printed is untrusted: Sanitize strips
// terminal control sequences and Redact API keys and Authorization values
// (sanitize.go); every package under diag uses them on its way out.
package diag
