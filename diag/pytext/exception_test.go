package pytext

import (
	"reflect"
	"testing"
)

func TestParseExceptionLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body, typ, msg string
		ok             bool
	}{
		{"RuntimeError: This event loop is already running", "RuntimeError", "This event loop is already running", true},
		{"aiohttp.client_exceptions.ClientConnectorError:Cannot connect", "aiohttp.client_exceptions.ClientConnectorError", "Cannot connect", true},
		{"KeyboardInterrupt", "KeyboardInterrupt", "", true}, // bare types count inside a traceback
		{"KeyError: 'choices'  ", "KeyError", "'choices'", true},
		{"asyncio.exceptions.CancelledError", "asyncio.exceptions.CancelledError", "", true},
		{"    raise RuntimeError(", "", "", false},
		{"During handling of the above exception, another exception occurred:", "", "", false},
	} {
		typ, msg, ok := ParseExceptionLine(tt.body)
		if ok != tt.ok || typ != tt.typ || msg != tt.msg {
			t.Errorf("ParseExceptionLine(%q) = %q, %q, %v", tt.body, typ, msg, ok)
		}
	}
}

func TestFindInlineException(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		at   int
		typ  string
		msg  string
		ok   bool
	}{
		{"ERROR:g4f:Blackbox: RuntimeError: This event loop is already running", 20, "RuntimeError", "This event loop is already running", true},
		{"failed: socket.gaierror: [Errno -2] Name or service not known", 8, "socket.gaierror", "[Errno -2] Name or service not known", true},
		{"KeyboardInterrupt: bye", 0, "", "", false},          // not an error type
		{"MyRuntimeError:x", 0, "", "", false},                // needs a blank after the colon
		{"UserWarning: deprecated", 0, "", "", false},         // warnings are not errors
		{"x.RuntimeError: y", 0, "x.RuntimeError", "y", true}, // a dotted type, at the start
	} {
		at, typ, msg, ok := FindInlineException(tt.line)
		if ok != tt.ok || (ok && (at != tt.at || typ != tt.typ || msg != tt.msg)) {
			t.Errorf("FindInlineException(%q) = %d, %q, %q, %v", tt.line, at, typ, msg, ok)
		}
	}
}

func TestFindReprException(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line, typ, msg string
		ok             bool
	}{
		{`Task exception was never retrieved future: <Task finished exception=RuntimeError('Cannot run the event loop while another loop is running')>`, "RuntimeError", "Cannot run the event loop while another loop is running", true},
		{`exception=ValueError('say "hi"\nline two')`, "ValueError", "say \"hi\"\nline two", true},
		{`exception=ValueError("it's")`, "ValueError", "it's", true},
		{`exception=KeyboardInterrupt()`, "", "", false},
	} {
		typ, msg, ok := FindReprException(tt.line)
		if ok != tt.ok || typ != tt.typ || msg != tt.msg {
			t.Errorf("FindReprException(%q) = %q, %q, %v", tt.line, typ, msg, ok)
		}
	}
}

func TestQuotedExceptions(t *testing.T) {
	t.Parallel()
	msg := "RetryProviderError: Providers failed:\n" +
		"Blackbox: RuntimeError: This event loop is already running\n" +
		"  socket.timeout: timed out\n" +
		"PollinationsAI: UserWarning: careful\n" +
		`HTTP 500 body {"detail": "ValueError: inside a line"}` + "\n" +
		"KeyboardInterrupt: not quoted"
	want := [][2]string{
		{"RetryProviderError", "Providers failed:"},
		{"RuntimeError", "This event loop is already running"},
		{"socket.timeout", "timed out"},
		{"UserWarning", "careful"},
	}
	read := func(n int) [][2]string {
		var got [][2]string
		for typ, msg := range QuotedExceptions(msg, n) {
			got = append(got, [2]string{typ, msg})
		}
		return got
	}
	if got := read(-1); !reflect.DeepEqual(got, want) {
		t.Errorf("QuotedExceptions = %q", got)
	}
	if got := read(2); len(got) != 2 {
		t.Errorf("QuotedExceptions(2) read %d", len(got))
	}
	for range QuotedExceptions(msg, -1) {
		break // a stop is heard
	}
}

func TestFormatExceptionLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ, msg               string
		evidence, full, script string
	}{
		{"aiohttp.client_exceptions.ClientConnectorError", "Cannot connect\nsecond line", "ClientConnectorError: Cannot connect",
			"aiohttp.client_exceptions.ClientConnectorError: Cannot connect\nsecond line", "aiohttp.client_exceptions.ClientConnectorError: Cannot connect"},
		{"KeyboardInterrupt", "", "KeyboardInterrupt", "KeyboardInterrupt: ", "KeyboardInterrupt: "},
		{"", "  a message  ", "a message", ":   a message  ", ":   a message  "},
		{"RuntimeError", "  padded  ", "RuntimeError: padded", "RuntimeError:   padded  ", "RuntimeError:   padded  "},
	} {
		for _, c := range []struct {
			s    LineStyle
			want string
		}{{LineEvidence, tt.evidence}, {LineFull, tt.full}, {LineScript, tt.script}} {
			if got := FormatExceptionLine(tt.typ, tt.msg, c.s); got != c.want {
				t.Errorf("FormatExceptionLine(%q, %q, %d) = %q, want %q", tt.typ, tt.msg, c.s, got, c.want)
			}
		}
	}
	if ShortType(" a.b.C ") != "C" || ShortType("a.") != "a." || FirstLine("\n  x  \ny") != "x" {
		t.Error("ShortType, FirstLine")
	}
}

func TestNamedQuotes(t *testing.T) {
	t.Parallel()
	msg := "RetryProvider failed:\n" +
		"Blackbox: RuntimeError: this event loop is already running.\n" +
		"DDG: ClientConnectorError: Cannot connect to host duckduckgo.com:443\n" +
		"  socket.timeout: timed out\n" +
		`HTTP 500 body {"detail": "ValueError: inside a line"}`
	want := []Quoted{
		{"Blackbox", "RuntimeError", "this event loop is already running."},
		{"DDG", "ClientConnectorError", "Cannot connect to host duckduckgo.com:443"},
		{"", "socket.timeout", "timed out"},
	}
	var got []Quoted
	for q := range NamedQuotes(msg, -1) {
		got = append(got, q)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NamedQuotes = %+v, want %+v", got, want)
	}
	// the same quotes as QuotedExceptions, in the same order
	i := 0
	for typ, m := range QuotedExceptions(msg, -1) {
		if i >= len(got) || got[i].Type != typ || got[i].Message != m {
			t.Errorf("QuotedExceptions %d = %q %q, NamedQuotes %+v", i, typ, m, got)
		}
		i++
	}
}
