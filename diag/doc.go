// Package diag turns observations into verdicts and verdicts into reports.
//
// It owns the signature table (what makes a loop-reentry, a network failure,
// a missing requirement), Classify (one repro.Observation → one Verdict),
// the hang analysis, the aggregation of verdicts into a Report with a
// summary and a likely cause, the report encodings (JSON, JSON lines) and
// their reader, and the comparison with a baseline report. The renderers
// live in diag/render and the reader of texts a user already has in
// diag/explain; both import diag, never the other way.
//
// diag knows nothing of processes, workers, HTTP or clocks: it reads the
// structured record the drivers left (exception chains, tracebacks, stack
// dumps, chunk timings, how the cell ended) and nothing else, so a scan saved
// as JSON lines can be re-reported later with the current signature table and
// give the same verdicts a live run gives.
//
// Each concept is one table, read by lookups rather than switches:
// classTable (class.go) holds every verdict class with its code, meaning,
// colour and what the code decides by class (loop, failing, hang, GitHub
// warning, likely-cause mechanism), its row order being the severity rank;
// causeTable (report.go) the mechanisms of the likely cause; Signatures
// and StateSignatures (signature.go) the signatures, named in code only
// through their SignatureID constants. A new class is a row of classTable
// (and of Classes, the legend's order) plus the signatures that assign it.
//
// Everything a provider or an exception printed is untrusted: Sanitize strips
// terminal control sequences and Redact API keys and Authorization values
// (sanitize.go); every package under diag uses them on its way out.
package diag
