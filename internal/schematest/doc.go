// Package schematest validates g4fdiag's saved reports against the JSON
// Schemas in docs/ (report.schema.json for --format json,
// report-jsonl.schema.json for each line of --format jsonl), for the tests
// of every package that writes one. It is imported by tests only: the
// schemas are documentation users validate against, and the tests keep
// them true. It must not know how a report is made: it reads bytes and
// the schema files, nothing of diag or repro.
package schematest
