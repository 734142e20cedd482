// Package explain reads a text a user already has — Python tracebacks
// (chained or not), faulthandler and py-spy dumps, API error bodies and SSE
// data: lines, server logs, Markdown bug reports — and says which verdict it
// shows, with the signature table and hang analysis of package diag.
//
// The Python text in it is read by package diag/pytext: explain finds where
// a traceback or a dump starts, tells pytext's BlockReader and DumpReader
// what the log around it looks like (a container's prefix, a collector's
// stamp, a Markdown fence, the next record's time), and judges what they
// read with diag. The log formats, the providers a line names and the
// one-line errors of a log are explain's own.
//
// Explain streams the text line by line with bounded memory and returns an
// Explanation: the decisive verdict, then every failure found, aggregated
// by class, signature and provider. Render writes it as a table, text, JSON
// or Markdown. explain starts no process and reads no environment.
package explain
