// Package secret cuts the secrets g4fdiag was given — the API key, the
// password of an --api URL — out of text bound for an output.
//
// A secret that looks random (long, not only letters) is cut wherever it
// stands, and a start of it that ends a text cut short is cut too. A weak
// one (short, or a word: "loop", "running", "e") is cut only where it
// stands as a credential's value — a whole token after a label such as
// "key:", "Bearer" or "password=" — or is the whole text: cutting every
// "loop" would turn "this event loop is already running." into a message
// no reader, and no signature, recognises. Weak says which a secret is, so
// the caller can warn.
//
// Keep registers a secret for the process; Cut removes every kept one. The
// text classified is never cut: callers cut at output.
//
// secret knows nothing of HTTP, of reports or of verdicts.
package secret
