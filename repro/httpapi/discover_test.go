package httpapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
)

// routes serves fixed answers by path; anything else is FastAPI's 404.
func routes(answers map[string]http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h, ok := answers[r.URL.Path]; ok && r.Method == http.MethodGet {
			h(w, r)
			return
		}
		answerHandler(404, "application/json", `{"detail":"Not Found"}`)(w, r)
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		routes map[string]http.HandlerFunc
		want   Catalog
	}{
		{"newer g4f: /v1/providers", map[string]http.HandlerFunc{
			// g4f/api/__init__.py: working providers as ProviderResponseModel
			"/v1/providers": answerHandler(200, "application/json",
				`[{"id": "Blackbox", "object": "provider", "created": 0, "url": "https://www.blackbox.ai", "label": "Blackbox AI"},`+
					`{"id": "Copilot", "object": "provider", "created": 0, "url": null, "label": null}]`),
		}, Catalog{Source: "/v1/providers", Providers: []providers.Provider{
			{Name: "Blackbox", Working: true, SupportsStream: true, URL: "https://www.blackbox.ai"},
			{Name: "Copilot", Working: true, SupportsStream: true},
		}}},
		{"a server that says more", map[string]http.HandlerFunc{
			"/v1/providers": answerHandler(200, "application/json",
				`{"object": "list", "data": [{"name": "Slow", "working": false, "needs_auth": true, "supports_stream": false,`+
					`"default_model": "m1", "models": ["m1", {"id": "m2"}]}, "Bare"]}`),
		}, Catalog{Source: "/v1/providers", Providers: []providers.Provider{
			{Name: "Slow", NeedsAuth: true, DefaultModel: "m1", Models: []string{"m1", "m2"}},
			{Name: "Bare", Working: true, SupportsStream: true},
		}}},
		{"older g4f: /v1/models only, a bare list", map[string]http.HandlerFunc{
			"/v1/models": answerHandler(200, "application/json",
				`[{"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "OpenAI"}, {"id": "gpt-4", "object": "model", "created": 0, "owned_by": ""}]`),
		}, Catalog{Source: "/v1/models", Models: []string{"gpt-4o-mini", "gpt-4"}}},
		{"/v1/models as a list object, /v1/providers an HTML page", map[string]http.HandlerFunc{
			"/v1/providers": answerHandler(200, "text/html", "<!doctype html><title>g4f</title>"),
			"/v1/models": answerHandler(200, "application/json",
				`{"object": "list", "data": [{"id": "default", "object": "model", "created": 0, "owned_by": "", "image": false, "provider": false}]}`),
		}, Catalog{Source: "/v1/models", Models: []string{"default"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := startServer(t, routes(tc.routes))
			got, err := Discover(context.Background(), nil, base+"/v1", "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("catalog\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDiscoverSendsTheKey(t *testing.T) {
	t.Parallel()
	var auth, g4fKey string
	base := startServer(t, routes(map[string]http.HandlerFunc{
		"/v1/providers": func(w http.ResponseWriter, r *http.Request) {
			auth, g4fKey = r.Header.Get("Authorization"), r.Header.Get("g4f-api-key")
			answerHandler(200, "application/json", `[]`)(w, r)
		},
	}))
	c, err := Discover(context.Background(), nil, base, "sk-key")
	if err != nil || c.Source != "/v1/providers" || len(c.Providers) != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	if auth != "Bearer sk-key" || g4fKey != "sk-key" {
		t.Errorf("Authorization %q, g4f-api-key %q", auth, g4fKey)
	}
}

// A server that cannot be used at start is an *repro.EnvError with one
// line saying what and one saying what to do: the command maps it to exit 3.
func TestDiscoverFailures(t *testing.T) {
	t.Parallel()
	silent := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ssh := rawServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1\r\n")
	})
	html := startServer(t, answerHandler(200, "text/html", "<html>hello</html>"))
	locked := startServer(t, answerHandler(401, "application/json", `{"error": {"message": "G4F API key required"}}`))
	refused := closedAddress(t)
	cases := []struct {
		name, base, key string
		what, fix       string
	}{
		{"connection refused", refused, "",
			"cannot reach the g4f API at " + refused + ": dial tcp " + strings.TrimPrefix(refused, "http://") + ": connect: connection refused",
			"start it with `g4f api` or check --api"},
		{"no answer", silent, "", "cannot reach the g4f API at " + silent + ": no answer before the deadline", "start it with `g4f api` or check --api"},
		{"not HTTP", ssh, "", "cannot reach the g4f API at " + ssh + `: not HTTP: malformed HTTP response "SSH-2.0-OpenSSH_9.2p1"`, "start it with `g4f api` or check --api"},
		{"no such host", "http://g4fdiag-test.invalid:1337", "", "cannot reach the g4f API at http://g4fdiag-test.invalid:1337: ", "start it with `g4f api` or check --api"},
		{"not a g4f API", html, "", html + " does not answer like a g4f API: GET /v1/models gave HTTP 200 text/html", checkAPI},
		{"wants a key", locked, "", "the g4f API at " + locked + " wants an API key (HTTP 401: G4F API key required)", "give g4fdiag the key the server was started with (g4f api --g4f-api-key)"},
		{"refuses the key", locked, "wrong", "the g4f API at " + locked + " refused the API key (HTTP 401: G4F API key required)", "give g4fdiag the key the server was started with (g4f api --g4f-api-key)"},
		{"not a URL", "http://[::1", "", `the g4f API URL "http://[::1" is not a URL`, checkAPI},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Discover(ctx, nil, tc.base, tc.key)
			var env *repro.EnvError
			if !errors.As(err, &env) {
				t.Fatalf("error %T %v, want *repro.EnvError", err, err)
			}
			if !strings.HasPrefix(env.What, tc.what) || env.Fix != tc.fix || strings.Contains(env.What, "\n") {
				t.Errorf("What %q\nwant %q…\nFix  %q\nwant %q", env.What, tc.what, env.Fix, tc.fix)
			}
			if errors.Is(err, context.Canceled) {
				t.Error("an unreachable server reads as an interruption")
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
}

func TestDiscoverInterrupted(t *testing.T) {
	t.Parallel()
	silent := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := Discover(ctx, nil, silent, ""); err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
