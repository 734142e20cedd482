package diag

import "testing"

func TestSanitize(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"plain\ttext\nline":                             "plain\ttext\nline",
		"\x1b[31mred\x1b[0m":                            "red",
		"\x1b[2J\x1b[H clear":                           " clear",
		"title\x1b]0;pwned\x07 after":                   "title after",
		"link \x1b]8;;http://x\x1b\\text\x1b]8;;\x1b\\": "link text",
		"unterminated \x1b]0;title":                     "unterminated ",
		"c1 csi \u009b31mred":                           "c1 csi red",
		"bell\a backspace\b cr\r del\x7f":               "bell backspace cr del",
		"bidi \u202egnp.exe":                            "bidi gnp.exe",
		"keypad \x1b=\x1b> charset \x1b(B":              "keypad  charset ",
		"lone esc \x1b":                                 "lone esc ",
		"bad utf8 \xff\xfe":                             "bad utf8 \uFFFD",
		"unicode ✓ ünïcödé":                             "unicode ✓ ünïcödé",
	}
	for in, want := range cases {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Authorization: Bearer abc.def-ghi":                "Authorization: Bearer [REDACTED]",
		`{"authorization": "Basic dXNlcjpwYXNz"}`:          `{"authorization": "Basic [REDACTED]"}`,
		"headers={'Authorization': 'Bearer sk-abc'}":       "headers={'Authorization': 'Bearer [REDACTED]'}",
		"curl -H 'authorization: token123456'":             "curl -H 'authorization: [REDACTED]'",
		"bearer eyJhbGciOiJIUzI1NiJ9.payload":              "bearer [REDACTED]",
		"https://api.x/v1?api_key=abc123&model=m":          "https://api.x/v1?api_key=[REDACTED]&model=m",
		`{"apiKey": "k-123456"}`:                           `{"apiKey": "[REDACTED]"}`,
		"access_token=xyz password: hunter2":               "access_token=[REDACTED] password: [REDACTED]",
		"key sk-proj-abcdefghijklmnopqrstuvwx end":         "key sk-[REDACTED] end",
		"groq gsk_abcdefghijklmnopqrstuvwxyz":              "groq gsk_[REDACTED]",
		"max_tokens=100 tokens: 5":                         "max_tokens=100 tokens: 5",
		`Add a "api_key" or cookies`:                       `Add a "api_key" or cookies`,
		"asyncio task-1234567890123456789 and desk-lamp":   "asyncio task-1234567890123456789 and desk-lamp",
		"nothing secret here: this event loop is running.": "nothing secret here: this event loop is running.",
	}
	for in, want := range cases {
		got := Redact(in)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if again := Redact(got); again != got {
			t.Errorf("Redact is not idempotent on %q: %q", got, again)
		}
	}
}
