package scan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// TypeProtocolError is the exception type of an API server's answer that
// breaks HTTP, the OpenAI-compatible JSON or server-sent events: g4fdiag's
// own, never Python's. Its Protocol field says how the answer broke.
const TypeProtocolError = "g4fdiag.ProtocolError"

// ProtocolKind is how an API server's answer broke the protocol. The driver
// that sees the break sets it (PyException.Protocol); diag classifies by
// it.
type ProtocolKind string

// The kinds of protocol break, each with the words its message starts
// with (protocolKinds).
const (
	ProtocolNotHTTP         ProtocolKind = "not-http"          // what answered is no HTTP server
	ProtocolContentType     ProtocolKind = "content-type"      // an HTML page, plain text, JSON for a stream...
	ProtocolTruncatedAnswer ProtocolKind = "truncated-answer"  // the connection closed before or inside the answer
	ProtocolTruncatedStream ProtocolKind = "truncated-stream"  // the stream ended inside a frame or without [DONE]
	ProtocolFrameLimit      ProtocolKind = "frame-limit"       // one event-stream frame past the limit
	ProtocolBodyLimit       ProtocolKind = "body-limit"        // the answer past the limit
	ProtocolFrameJSON       ProtocolKind = "frame-json"        // a data: frame that is no JSON object
	ProtocolBodyJSON        ProtocolKind = "body-json"         // a body that is no JSON chat completion
	ProtocolRedirectOffHost ProtocolKind = "redirect-off-host" // a redirect g4fdiag does not follow: another host
	ProtocolRedirectLoop    ProtocolKind = "redirect-loop"     // redirects round a loop, or too many
	// ProtocolViolation is any other break, and the kind of a saved
	// protocol error whose message names none of the others.
	ProtocolViolation ProtocolKind = "violation"
)

// protocolKinds is the message prefix of each kind: NewProtocolError writes
// it, and a decoded exception (a saved scan keeps only the type and the
// message) gets its kind back from it.
var protocolKinds = []struct {
	kind   ProtocolKind
	prefix string
}{
	{ProtocolNotHTTP, "not HTTP: "},
	{ProtocolContentType, "wrong content type: "},
	{ProtocolTruncatedAnswer, "truncated answer: "},
	{ProtocolTruncatedStream, "truncated stream: "},
	{ProtocolFrameLimit, "frame over limit: "},
	{ProtocolBodyLimit, "body over limit: "},
	{ProtocolFrameJSON, "invalid JSON in frame "},
	{ProtocolBodyJSON, "invalid JSON body: "},
	{ProtocolRedirectOffHost, "redirected off-host: "},
	{ProtocolRedirectLoop, "redirect loop: "},
	{ProtocolViolation, ""},
}

// ProtocolKinds lists every kind, ProtocolViolation last.
func ProtocolKinds() []ProtocolKind {
	kinds := make([]ProtocolKind, len(protocolKinds))
	for i, k := range protocolKinds {
		kinds[i] = k.kind
	}
	return kinds
}

// NewProtocolError is the exception a driver records for an answer that
// broke the protocol: kind, and a message of the kind's prefix and the
// detail (format and args, as fmt.Sprintf).
func NewProtocolError(kind ProtocolKind, format string, args ...any) PyException {
	prefix := ""
	for _, k := range protocolKinds {
		if k.kind == kind {
			prefix = k.prefix
		}
	}
	return PyException{Type: TypeProtocolError, Message: prefix + fmt.Sprintf(format, args...), Protocol: kind}
}

// protocolKindOf is the kind a protocol error's message names.
func protocolKindOf(msg string) ProtocolKind {
	for _, k := range protocolKinds {
		if k.prefix != "" && strings.HasPrefix(msg, k.prefix) {
			return k.kind
		}
	}
	return ProtocolViolation
}

// UnmarshalJSON decodes an exception record and, for a protocol error,
// gives back its kind, which the record keeps in its message.
func (e *PyException) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	type record PyException // without this method
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*e = PyException(r)
	e.Protocol = ""
	if e.Type == TypeProtocolError {
		e.Protocol = protocolKindOf(e.Message)
	}
	return nil
}
