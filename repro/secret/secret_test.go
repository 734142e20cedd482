package secret

import (
	"strings"
	"testing"
)

func TestWeak(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"e": true, "loop": true, "running": true, "password": true, "abcdefghijklmno": true,
		"sk-test-0123456789": false, "hunter22": false, "abcdefghijklmnop": false, "s3cr3t-k3y": false,
	} {
		if got := Weak(s); got != want {
			t.Errorf("Weak(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCutOne(t *testing.T) {
	t.Parallel()
	const strong = "sk-test-0123456789abcdef"
	for _, tc := range []struct{ secret, in, want string }{
		// a strong secret goes wherever it stands
		{strong, "Invalid API key: " + strong + ".", "Invalid API key: [REDACTED]."},
		{strong, "x" + strong + "y", "x[REDACTED]y"},
		{strong, "cut short: " + strong[:10], "cut short: [REDACTED]"},
		{strong, "cut short: " + strong[:10] + "…", "cut short: [REDACTED]…"},
		{strong, "too short a start: " + strong[:4], "too short a start: " + strong[:4]},
		// a weak one only as a credential's value
		{"loop", "RuntimeError: this event loop is already running.", "RuntimeError: this event loop is already running."},
		{"loop", "Invalid API key: loop", "Invalid API key: [REDACTED]"},
		{"loop", "G4F API key 'loop' is not valid", "G4F API key '[REDACTED]' is not valid"},
		{"loop", `{"api_key": "loop", "loop": "uvloop"}`, `{"api_key": "[REDACTED]", "loop": "uvloop"}`},
		{"loop", "Authorization: Bearer loop\ng4f-api-key: loop", "Authorization: Bearer [REDACTED]\ng4f-api-key: [REDACTED]"},
		{"loop", "key: loop-reentry", "key: loop-reentry"},
		{"loop", "loop", "[REDACTED]"},
		{"loop", " loop\n", " [REDACTED]\n"},
		{"running", "this event loop is already running.", "this event loop is already running."},
		{"running", "password=running", "password=[REDACTED]"},
		{"e", "key=e, the event", "key=[REDACTED], the event"},
		{"a.b", "token: a.b; axb", "token: [REDACTED]; axb"},
	} {
		if got := CutOne(tc.in, tc.secret); got != tc.want {
			t.Errorf("CutOne(%q, %q)\n got %q\nwant %q", tc.in, tc.secret, got, tc.want)
		}
		if got := CutOne(CutOne(tc.in, tc.secret), tc.secret); got != tc.want {
			t.Errorf("CutOne twice changed %q to %q", tc.want, got)
		}
	}
}

func TestKeep(t *testing.T) {
	t.Parallel()
	const a, b = "sk-test-aaaaaaaaaaaa", "sk-test-bbbbbbbbbbbb"
	forgetA := Keep(a)
	forgetB := Keep(b)
	if got := Cut(a + " " + b); got != "[REDACTED] [REDACTED]" {
		t.Errorf("Cut = %q", got)
	}
	forgetA()
	forgetA()
	if got := Cut(a + " " + b); got != a+" [REDACTED]" {
		t.Errorf("after forget: %q", got)
	}
	forgetB()
	Keep("")()
	if got := Cut(a + b); got != a+b {
		t.Errorf("nothing kept: %q", got)
	}
}

func FuzzCutOne(f *testing.F) {
	f.Add("Invalid API key: loop", "loop")
	f.Add("sk-test-0123456789abcdef", "sk-test-0123456789abcdef")
	f.Fuzz(func(t *testing.T, text, s string) {
		got := CutOne(text, s)
		if s == "" {
			if got != text {
				t.Fatalf("empty secret changed %q", text)
			}
			return
		}
		if !Weak(s) && !strings.Contains(Redacted, s) && strings.Contains(got, s) {
			t.Fatalf("strong %q left in %q", s, got)
		}
		if again := CutOne(got, s); again != got && !strings.Contains(Redacted, s) {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
	})
}
