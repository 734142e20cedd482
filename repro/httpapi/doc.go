// Package httpapi is the driver of the HTTP modes (api-json, api-sse): it
// runs cells against g4f's OpenAI-compatible API server (`g4f api`, port
// 1337 by default) — the one behind --api URL, or one g4fdiag started for
// the cell alone and lent through Options.Use — and discovers that server's
// providers.
//
// Each call is POST {base}/v1/chat/completions with
// {"model","messages","provider","stream"}, an X-G4fdiag-Request header the
// spawned server tags its log lines with, and the API key (when set) as
// both Authorization: Bearer and g4f-api-key, the two headers g4f releases
// have read. The key never reaches an observation: it is cut from every
// message, answer and server log the driver records.
//
// What a call saw becomes a scan.Call with at most one exception in its
// chain, typed so that diag's signature table classifies it:
//
//   - g4f.api.StreamError: an in-band error frame of an HTTP 200 event
//     stream, {"error": {"message": "RuntimeError: ..."}}. The message is
//     kept verbatim: diag reads the exception it quotes.
//   - g4f.api.ErrorResponse: an error body of any other answer (HTTP 500
//     with the same JSON, 404 for an unknown provider, 401 for a missing
//     server key). The message is kept verbatim too; the status is in
//     Call.HTTPStatus, not in the message, because an "HTTP 500" in the
//     message would read as the provider's own server failing. (Not
//     "HTTPError": diag reads that name as a provider's HTTP failure before
//     it reads the quoted exception.)
//   - ConnectionRefusedError, socket.gaierror, ConnectionResetError,
//     TimeoutError, ssl.SSLError, ...: the transport failed, named as a
//     Python client would name it, so diag calls it network.
//   - g4fdiag.ProtocolError (scan.TypeProtocolError): the answer broke
//     HTTP, the OpenAI JSON or server-sent events. Its Protocol field
//     (scan.ProtocolKind) says how, and diag classifies by it; the
//     message starts with the words of that kind ("wrong content type:",
//     "truncated stream:", "not HTTP:"...), which is how a saved scan
//     gives the kind back (see scan.NewProtocolError).
//
// An error frame wins over whatever follows it (a missing [DONE], a cut
// connection): it is what the server meant to say.
//
// Chunks are the answer's chunk frames — every data frame but [DONE] and
// error frames, empty deltas included — so the last chunk of a stream that
// stalls is its last frame, the time diag's stall evidence names. A stream
// that sent a frame and then nothing for Options.StallTimeout is cut and
// its call left pending with what it got. A call still running at the cell
// deadline is cut and left pending too; the cell then ends "deadline".
//
// httpapi records what it saw and knows nothing of verdicts.
package httpapi
