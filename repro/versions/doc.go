// Package versions runs scans across revisions of a g4f git checkout: it
// exports each revision's g4f/ into a cache keyed by commit (git archive
// piped to tar, never touching the checkout), starts a repro.Pool on each
// export with the probes registered, and bisects a cell's verdict between
// two revisions, skipping commits that cannot be tested.
//
// It owns git and the cache; it knows nothing of outputs, flags or exit
// codes (cmd/g4fdiag renders its Results and Bisections). A revision whose
// g4f does not import is a Result with Unavailable set, never an error.
package versions
