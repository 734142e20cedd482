// Package report gathers the verdicts of a scan into a Report and keeps it:
// Build classifies every observation with diag.Classify, attaches the
// remedies tried to the cells they were tried for, and sums the verdicts up
// with the likely cause (causeTable, report.go). Merge joins the reports of
// the shards of one scan; Compare sets a report against a baseline, and
// Failing lists what fails under a diag.ClassSet. The encodings are JSON and
// JSON lines (JSONLWriter, WriteJSON, WriteJSONL), and ReadReport reads
// either back, reclassifying with the current signature table.
//
// report holds no presentation: diag/render writes a Report for people and
// tools.
package report
