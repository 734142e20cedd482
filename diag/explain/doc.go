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
//
// # What counts as an error
//
// The verdict is ok only for a text with no error in it at all. A text has
// an error when it holds any of:
//
//   - a traceback: Python's "Traceback (most recent call last):" or
//     IPython's "<Type>   Traceback (most recent call last)" head, with or
//     without frames and its exception line;
//   - traceback frames (`File "...", line N, in f`) without their head;
//   - an exception line as free text reads one ("SomethingError: ...",
//     "SomethingException: ...", pytext.FindInlineException), at any log
//     level, or an exception's repr a signature knows;
//   - a log record at an error level: ERROR, CRITICAL or FATAL as a word
//     ("ERROR:root:", "[ERROR]", " - ERROR - ", "ERROR:    ..."), or
//     level=error|critical|fatal;
//   - "Exception ignored in: ..." or "Task was destroyed but it is pending!";
//   - an access line of a request the server failed (HTTP status 5xx);
//   - a stack dump, an API error body, or a line any signature of diag
//     matches (how a process or a request ended).
//
// The word "error" in prose, a type named without ": message", an access
// line with a 4xx status, and WARNING records are no error by themselves.
//
// # Placing an error
//
// An exception no signature knows is a provider's error (provider-error)
// when something ties it to one: the log line or a recent one names the
// provider, the traceback runs through g4f's code, or the text is g4f's
// API error body. Otherwise it is unclassified, with the exception and the
// innermost frame that is not the standard library's. A scan's verdicts do
// not change: there every call is a provider's, so an unknown error stays
// provider-error. The weaker signs (frames alone, an exception line no
// signature knows on a record at no error level, an error record with no
// exception, a traceback head alone, a 5xx access line) give one
// unclassified finding, the exception first, only when the text gives no
// other finding but exit-time noise; a lone "Exception ignored in" line
// gives one only when the text shows nothing else at all.
//
// A traceback cut before its exception line (a paste that lost its last
// line) is judged by its head and frames: when its innermost frame is an
// event loop refusing to be entered (diag.RefusedEntry) under a head that
// names RuntimeError or no type, and diag.Reentry finds the frame that
// entered it, it is a likely loop-reentry and the evidence says the line is
// missing; otherwise it is unclassified, with the head and the frames.
//
// # Noise at exit
//
// A traceback Python printed under "Exception ignored in: ..." or raised
// in a __del__ method (a finalizer, which runs as objects are collected
// and at exit: Windows' _ProactorBasePipeTransport.__del__ raising "Event
// loop is closed"), and asyncio's "Task was destroyed but it is pending!",
// are taken for the noise a process makes as it ends (Finding.Noise). They
// rank below every real error (a failing class) of the text, whatever
// their class, and are then reported as Explanation.Secondary, not counted
// as failures nor for the exit code. When they are all the text holds,
// they decide as any finding does. Python's and asyncio's lines that start
// them end the message of an exception printed right before.
package explain
