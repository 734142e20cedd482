package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// keyWatch is a server that records every request's key headers.
type keyWatch struct {
	mu       sync.Mutex
	requests int
	keys     []string
}

func (k *keyWatch) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.requests++
		for _, h := range []string{"Authorization", "G4f-Api-Key"} {
			if v := r.Header.Get(h); v != "" {
				k.keys = append(k.keys, h+": "+v)
			}
		}
		k.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// otherHost serves h on another host than 127.0.0.1 where it can (::1),
// else on another port.
func otherHost(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// An off-host redirect is not followed: the key never reaches the other
// host, and the call and the discovery say which two hosts and what to pass.
func TestRedirectOffHostKeepsTheKey(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	var second keyWatch
	target := otherHost(t, second.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/providers" {
			answerHandler(200, "application/json", `["P"]`)(w, r)
			return
		}
		sseHandler(chunkFrame("Hi")+"data: [DONE]\n\n")(w, r)
	})))
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		first := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target+r.URL.Path, code)
		}))
		obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: first}, APIKey: key}, cell(scan.ModeAPISSE), 5*time.Second)
		c := obs.Calls[0]
		if c.Outcome != scan.OutcomeError || len(c.Chain) != 1 || c.Chain[0].Type != TypeProtocolError {
			t.Fatalf("%d: call %+v", code, c)
		}
		msg := c.Chain[0].Message
		for _, want := range []string{"redirected off-host", first + chatPath, target + chatPath, "pass --api " + target} {
			if !strings.Contains(msg, want) {
				t.Errorf("%d: message %q lacks %q", code, msg, want)
			}
		}
		if v := diag.Classify(obs); v.Class != diag.ClassProtocol || v.Signature != "protocol-redirect" {
			t.Errorf("%d: verdict %+v", code, v)
		}
		_, err := Discover(context.Background(), nil, first, key)
		var env *repro.EnvError
		if !errors.As(err, &env) || !strings.Contains(env.What, first) || !strings.Contains(env.What, target) ||
			!strings.Contains(env.Fix, "pass --api "+target) {
			t.Errorf("%d: discovery error %v", code, err)
		}
	}
	second.mu.Lock()
	defer second.mu.Unlock()
	if second.requests != 0 || len(second.keys) != 0 {
		t.Errorf("the other host got %d requests, keys %q", second.requests, second.keys)
	}
}

// A redirect on the same server is followed, key and all; a loop ends with
// an error that says so.
func TestRedirectOnTheServer(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	var seen keyWatch
	base := startServer(t, seen.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case chatPath:
			http.Redirect(w, r, "/api"+chatPath, http.StatusTemporaryRedirect)
		case "/api" + chatPath:
			sseHandler(chunkFrame("Hi")+"data: [DONE]\n\n")(w, r)
		case "/loop/a":
			http.Redirect(w, r, "/loop/b", http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, "/loop/a", http.StatusTemporaryRedirect)
		}
	})))
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}, APIKey: key}, cell(scan.ModeAPISSE), 5*time.Second)
	if c := obs.Calls[0]; c.Outcome != scan.OutcomeOK || c.Text != "Hi" {
		t.Errorf("same-server redirect: %+v", c)
	}
	seen.mu.Lock()
	if seen.requests != 2 || len(seen.keys) != 4 {
		t.Errorf("%d requests, keys %q", seen.requests, seen.keys)
	}
	seen.mu.Unlock()

	start := time.Now()
	obs = run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base + "/loop"}, APIKey: key}, cell(scan.ModeAPIJSON), 5*time.Second)
	c := obs.Calls[0]
	if c.Outcome != scan.OutcomeError || len(c.Chain) != 1 || !strings.HasPrefix(c.Chain[0].Message, "redirect loop: ") ||
		!strings.Contains(c.Chain[0].Message, "/loop/a") || time.Since(start) > 3*time.Second {
		t.Errorf("loop after %s: %+v", time.Since(start), c)
	}
	_, err := Discover(context.Background(), nil, base+"/loop", "")
	var env *repro.EnvError
	if !errors.As(err, &env) || !strings.Contains(env.What, "redirect loop") {
		t.Errorf("discovery: %v", err)
	}
}

// Discovery errors never hold the key or a terminal control sequence,
// whatever the server echoes, nor the password of the URL.
func TestDiscoverErrorsAreScrubbed(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"sk-test-0123456789abcdef", "loop"} {
		echo := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			answerHandler(401, "application/json", `{"detail": "Invalid API key: `+r.Header.Get("g4f-api-key")+
				` (Authorization: `+r.Header.Get("Authorization")+`) \u001b]0;owned\u0007\u001b[2J"}`)(w, r)
		}))
		withPassword := strings.Replace(echo, "http://", "http://me:hunter2-pass@", 1)
		_, err := Discover(context.Background(), nil, withPassword, key)
		var env *repro.EnvError
		if !errors.As(err, &env) {
			t.Fatalf("%v", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "Invalid API key: "+key) || strings.Contains(msg, "Bearer "+key) || strings.Contains(msg, "\x1b") ||
			strings.Contains(msg, "hunter2") || !strings.Contains(msg, "refused the API key") {
			t.Errorf("key %q: error %q", key, msg)
		}
	}
	// a status line that is not HTTP, with the key in it
	const key = "sk-test-0123456789abcdef"
	bad := rawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		_, v, _ := strings.Cut(string(buf[:n]), "G4f-Api-Key: ")
		v, _, _ = strings.Cut(v, "\r\n")
		io.WriteString(c, "HTTP/1.1 2OO \x1b[31m"+v+"\r\n\r\n")
	})
	_, err := Discover(context.Background(), nil, bad, key)
	if err == nil || strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("malformed status: %v", err)
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"http://127.0.0.1:1337":           "",
		"https://g4f.example/api/v1/":     "",
		"http://user:pw@127.0.0.1:1337":   "",
		"127.0.0.1:1337":                  "it has no scheme",
		"localhost":                       "it has no scheme",
		"ftp://127.0.0.1":                 `scheme "ftp" is not http or https`,
		"http://":                         "it names no host",
		"http:///v1":                      "it names no host",
		"http://:1337":                    "it names no host",
		"http://host name:1337":           "it holds spaces",
		" http://127.0.0.1":               "it holds spaces",
		"http://127.0.0.1:99999":          `port "99999" is not a port number`,
		"http://127.0.0.1:abc":            `invalid port`,
		"http://[::1":                     "missing ']' in host",
		"http://127.0.0.1/?x=1":           "takes no query",
		"http://127.0.0.1/#top":           "takes no fragment",
		"http://u:secretpw@[::1":          "missing ']' in host",
		"http://127.0.0.1\x1b]0;x\x07":    "control character",
		"http:/127.0.0.1":                 "it names no host",
		"mailto:someone@example.com":      "it has no scheme",
		"ftp://u:secretpw@[::1/":          "missing ']' in host",
		"http://u:secretpw@host:1/?q=1 x": "it holds spaces",
	} {
		err := CheckBaseURL(raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want %q", raw, err, want)
		case err != nil && (strings.Contains(err.Error(), "secretpw") || !strings.Contains(err.Error(), "e.g. --api http://127.0.0.1:1337")):
			t.Errorf("%q: error %v", raw, err)
		}
	}
}
