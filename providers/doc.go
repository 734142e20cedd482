// Package providers owns the catalog: the provider entries discovered from a
// g4f installation, selection of providers by name or glob pattern with
// suggestions for unknown names, and the embedded miniature g4f that
// `g4fdiag check --demo` scans.
//
// It knows nothing of how providers are run (repro) or judged (diag).
package providers
