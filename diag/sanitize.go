package diag

import (
	"regexp"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/secret"
)

// terminalSequence matches the escape sequences a terminal acts on: CSI
// (ESC [ ... final), OSC (ESC ] ... BEL or ESC \, or to the end when
// unterminated), DCS/SOS/PM/APC strings, two-byte ESC sequences, and their
// 8-bit C1 forms.
var terminalSequence = regexp.MustCompile(
	"\x1b\\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?" + // CSI
		"|\x1b[\\]PX^_](?:[^\x07\x1b]|\x1b[^\\\\])*(?:\x07|\x1b\\\\)?" + // OSC, DCS, SOS, PM, APC
		"|\x1b[\x20-\x2f]*[\x30-\x7e]?" + // other ESC sequences, or a lone ESC
		"|\u009b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?" + // 8-bit CSI
		"|\u009d[^\x07\u009c]*(?:\x07|\u009c)?", // 8-bit OSC
)

// Sanitize strips what a terminal would interpret from untrusted text:
// escape sequences, C0 controls other than newline and tab, DEL, C1 controls
// and bidi overrides. Invalid UTF-8 becomes U+FFFD.
func Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !needsSanitize(s) {
		return s
	}
	s = terminalSequence.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
}

// terminalRune is a C1 control or a bidi override: printed raw, a terminal
// may act on it (8-bit CSI and OSC) or reorder the text around it.
func TerminalRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

func needsSanitize(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return true
		}
	}
	return false
}

const Redacted = secret.Redacted

// secretPatterns find credentials in untrusted text: group 1 is the label
// kept, group 2 the secret replaced with [REDACTED].
var secretPatterns = []*regexp.Regexp{
	// Authorization: Bearer xyz / "authorization": "Basic xyz"
	regexp.MustCompile(`(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|bot)\s+)?)([^\s"',;}\[\]]+)`),
	// a bare bearer token
	regexp.MustCompile(`(?i)(\bbearer\s+)([A-Za-z0-9._~+/=\-]{6,})`),
	// api_key=..., "apiKey": "...", access_token: ..., password=...
	regexp.MustCompile(`(?i)(\b(?:x-)?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token|` +
		`secret[_-]?key|client[_-]?secret|password|passwd|token|cookie)["']?\s*[:=]\s*["']?)([^\s"'&,;}\[\]]+)`),
	// OpenAI-style and other vendor key shapes
	regexp.MustCompile(`(\bsk-)((?:[A-Za-z0-9_]{2,20}-)?[A-Za-z0-9_-]{16,})`),
	regexp.MustCompile(`(\b(?:gsk|hf|ghp|gho|ghu|ghs|ghr|xoxb|xoxp)_)([A-Za-z0-9]{16,})`),
	regexp.MustCompile(`(\bAIza)([0-9A-Za-z_-]{30,})`),
	regexp.MustCompile(`(\bxai-)([A-Za-z0-9]{20,})`),
}

// notSecret are values the label patterns catch that are not secrets: an
// auth scheme whose token was already redacted.
var notSecret = map[string]bool{"bearer": true, "basic": true, "token": true, "bot": true}

// Redact replaces API keys, bearer tokens and Authorization values in
// untrusted text with [REDACTED], keeping the label so the reader sees what
// was there, and cuts the secrets the process was given (secret.Keep).
// Redacting twice changes nothing. Classification reads the text as it came:
// Redact is for what goes out.
func Redact(s string) string {
	s = secret.Cut(s)
	for _, re := range secretPatterns {
		idx := re.FindAllStringSubmatchIndex(s, -1)
		if idx == nil {
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range idx {
			val := s[m[4]:m[5]]
			if notSecret[strings.ToLower(val)] {
				continue
			}
			b.WriteString(s[last:m[4]])
			b.WriteString(Redacted)
			last = m[5]
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// clean is untrusted text made printable and redacted.
func Clean(s string) string { return Redact(Sanitize(s)) }

// single is untrusted text cleaned and folded onto one line.
func SingleLine(s string) string { return strings.Join(strings.Fields(Clean(s)), " ") }
