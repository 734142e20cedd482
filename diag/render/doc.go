// Package render writes a report.Report for people and tools: the table, json
// and jsonl (the report's own encodings), markdown, junit, github
// annotations and step summary, the evidence of each failing cell with its
// hang block, the remedies tried, and the comparison with a baseline.
//
// Renderers are pure functions of a Report and Options: they read no
// environment, no terminal and no time. Everything a provider or an
// exception printed is untrusted: renderers strip terminal control
// sequences from it, and every format redacts API keys and Authorization
// values. A new format is one file and one row of renderers (render.go).
package render
