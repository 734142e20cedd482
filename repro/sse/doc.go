// Package sse reads server-sent events (the text/event-stream format of the
// WHATWG HTML standard) from an io.Reader as they arrive: one Event per
// frame, comments as events of their own, frames split across reads, and
// LF, CRLF and CR line ends.
//
// It owns two things a diagnostic reader needs and a browser's EventSource
// hides: a frame the stream ended inside (the server or a proxy cut it) is
// reported as truncated rather than dropped, and hard limits — the bytes of
// one frame and of the whole body — end the read with an error that says
// which limit was passed, before anything past the limit is buffered.
//
// sse knows nothing of HTTP, of g4f's JSON frames or of verdicts: the
// caller decides what a frame means.
package sse
