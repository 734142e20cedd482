// Package upstream is the loopback upstream: an OpenAI-compatible HTTP
// server g4fdiag runs itself on 127.0.0.1, so that g4f's own
// OpenAI-compatible providers (the ProbeOpenAI probe, and real providers
// that take a base URL) run their real aiohttp or requests code with no
// network and no key.
//
// It serves POST /v1/chat/completions (a JSON answer, or server-sent events
// of chat.completion.chunk frames ending with data: [DONE] when the request
// says stream: true) and GET /v1/models. What it does with a request is
// chosen by the request's model, the one field every OpenAI-compatible
// client sends unchanged (see Behaviours): answer, answer late, stall
// mid-stream, refuse with 401, 429 or 500 and OpenAI's own error bodies,
// send frames that are not JSON, or close the connection unanswered. A
// marker "[probe-NAME]" in the last message's text chooses the same way, for
// clients that rewrite the model.
//
// It is bounded: it listens on loopback only, reads at most
// Options.MaxBody bytes of a request, holds a stalled answer at most
// Options.MaxStall, and Close ends every connection still open.
//
// upstream knows nothing of g4f, of workers or of verdicts: the workers
// learn its URL from the environment variable G4FDIAG_UPSTREAM (EnvVar).
package upstream
