package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/secret"
)

// DiscoverTimeout bounds Discover when ctx allows longer: an API server
// that accepts connections and never answers is unreachable too.
const DiscoverTimeout = 10 * time.Second

// maxCatalogBody bounds a discovery answer.
const maxCatalogBody = 16 << 20

// Catalog is what an API server says it serves.
type Catalog struct {
	// Providers is the server's GET /v1/providers list; nil when the server
	// has no such route (older releases), and the caller falls back on the
	// --provider names.
	Providers []providers.Provider
	// Models is the server's GET /v1/models list, read only when it has no
	// provider list.
	Models []string
	// Source is the route the catalog came from.
	Source string
}

// Discover asks the API server at baseURL what it serves: GET /v1/providers
// when the server has it, else GET /v1/models. A server that cannot be
// reached (refused, no such host, no answer within DiscoverTimeout, not
// HTTP), asks for a key it was not given, or is no g4f API is a
// *repro.EnvError with a one-line What and Fix. When ctx is cancelled first,
// ctx's error comes back as is.
//
// The /v1/providers of g4f lists working providers only, as
// {"id","object":"provider","created","url","label"}: Working and
// SupportsStream default to true and NeedsAuth to false unless an entry
// says otherwise (working, needs_auth, supports_stream, models,
// default_model, as other servers send them).
//
// No error says the key, however the server echoes it, or the password of
// baseURL; none holds a terminal control character.
func Discover(ctx context.Context, client *http.Client, baseURL, apiKey string) (Catalog, error) {
	cat, err := discover(ctx, withRedirectCheck(client), baseURL, apiKey)
	var env *repro.EnvError
	if errors.As(err, &env) {
		env.What = secret.CutOne(env.What, apiKey)
		if env.Err != nil {
			if msg := secret.CutOne(printable(env.Err.Error()), apiKey); msg != env.Err.Error() {
				env.Err = errors.New(msg)
			}
		}
	}
	return cat, err
}

func discover(ctx context.Context, client *http.Client, baseURL, apiKey string) (Catalog, error) {
	base := normalizeBase(baseURL)
	shown := shownURL(base)
	dctx, cancel := context.WithTimeout(ctx, DiscoverTimeout)
	defer cancel()
	get := func(path string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(dctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, nil, &repro.EnvError{What: fmt.Sprintf("the g4f API URL %q is not a URL: %v", shownURL(baseURL), printable(innerError(err))),
				Fix: "check --api: it takes the base URL of `g4f api`, e.g. http://127.0.0.1:1337"}
		}
		req.Header.Set("Accept", "application/json")
		if apiKey != "" {
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("g4f-api-key", apiKey)
		}
		resp, err := client.Do(req)
		if err != nil {
			var re *redirectError
			if errors.As(err, &re) {
				return nil, nil, redirected(re)
			}
			return nil, nil, unreachable(ctx, dctx, shown, err)
		}
		defer resp.Body.Close()
		if resp.ContentLength > maxCatalogBody {
			return nil, nil, notAPI(shown, path, fmt.Sprintf("an answer of %d bytes, over the limit of %d", resp.ContentLength, maxCatalogBody))
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCatalogBody+1))
		if err != nil {
			return nil, nil, unreachable(ctx, dctx, shown, err)
		}
		if len(body) > maxCatalogBody {
			return nil, nil, notAPI(shown, path, fmt.Sprintf("an answer over %d bytes", maxCatalogBody))
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return nil, nil, wantsKey(shown, resp.StatusCode, body, apiKey != "")
		}
		return resp, body, nil
	}

	resp, body, err := get("/v1/providers")
	if err != nil {
		return Catalog{}, err
	}
	if resp.StatusCode == http.StatusOK {
		if list, ok := parseProviders(body); ok {
			return Catalog{Providers: list, Source: "/v1/providers"}, nil
		}
	}
	resp, body, err = get("/v1/models")
	if err != nil {
		return Catalog{}, err
	}
	if resp.StatusCode == http.StatusOK {
		if models, ok := parseModels(body); ok {
			return Catalog{Models: models, Source: "/v1/models"}, nil
		}
	}
	return Catalog{}, notAPI(shown, "/v1/models", fmt.Sprintf("HTTP %d %s", resp.StatusCode,
		ctName(mediaType(resp.Header.Get("Content-Type")))))
}

const checkAPI = "check --api: it takes the base URL of `g4f api`, e.g. http://127.0.0.1:1337"

func unreachable(parent, dctx context.Context, base string, err error) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return parent.Err()
	}
	reason := innerError(err)
	if dctx.Err() != nil {
		reason = fmt.Sprintf("no answer within %s", DiscoverTimeout)
		if dl, ok := parent.Deadline(); ok && time.Until(dl) < DiscoverTimeout {
			reason = "no answer before the deadline"
		}
	} else if e := transportException(err); e.Protocol != "" {
		reason = e.Message
	}
	return &repro.EnvError{What: fmt.Sprintf("cannot reach the g4f API at %s: %s", base, oneLine(reason)),
		Fix: "start it with `g4f api` or check --api", Err: err}
}

func redirected(e *redirectError) error {
	if e.offHost {
		return &repro.EnvError{
			What: fmt.Sprintf("the g4f API at %s redirects to another host, %s; g4fdiag does not follow it, so the API key stays with the host it was given for",
				shownURL(suggestedBase(e.from)), shownURL(e.to.String())),
			Fix: fmt.Sprintf("if %s is the g4f API, pass --api %s", shownURL(e.to.Host), shownURL(suggestedBase(e.to)))}
	}
	return &repro.EnvError{What: fmt.Sprintf("the g4f API at %s does not answer: %s", shownURL(suggestedBase(e.from)), e.Error()),
		Fix: "pass --api the URL of the g4f API server itself (curl -iL shows where the redirects go)"}
}

func notAPI(base, path, got string) error {
	return &repro.EnvError{What: fmt.Sprintf("%s does not answer like a g4f API: GET %s gave %s", base, path, oneLine(got)),
		Fix: checkAPI}
}

func wantsKey(base string, status int, body []byte, sent bool) error {
	what := "wants an API key"
	if sent {
		what = "refused the API key"
	}
	msg, ok := errorMessage(body)
	if !ok {
		msg = excerpt(body, 80)
	}
	return &repro.EnvError{What: fmt.Sprintf("the g4f API at %s %s (HTTP %d: %s)", base, what, status, oneLine(msg)),
		Fix: "give g4fdiag the key the server was started with (g4f api --g4f-api-key)"}
}

func oneLine(s string) string { return excerpt([]byte(printable(s)), 200) }

// printable drops the control characters of untrusted text for an error
// message: a terminal would act on ESC and OSC sequences.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// apiProvider is one entry of /v1/providers: g4f's fields, and the class
// attributes other servers add.
type apiProvider struct {
	ID                    string          `json:"id"`
	Name                  string          `json:"name"`
	URL                   *string         `json:"url"`
	Parent                string          `json:"parent"`
	Working               *bool           `json:"working"`
	NeedsAuth             *bool           `json:"needs_auth"`
	SupportsStream        *bool           `json:"supports_stream"`
	SupportsSystemMessage *bool           `json:"supports_system_message"`
	DefaultModel          string          `json:"default_model"`
	Models                json.RawMessage `json:"models"`
}

// parseProviders reads a list of providers, bare or as {"data": [...]};
// entries may be objects or plain names.
func parseProviders(body []byte) ([]providers.Provider, bool) {
	items, ok := listOf(body)
	if !ok {
		return nil, false
	}
	out := make([]providers.Provider, 0, len(items))
	for _, raw := range items {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			if name != "" {
				out = append(out, providers.Provider{Name: name, Working: true, SupportsStream: true})
			}
			continue
		}
		var ap apiProvider
		if json.Unmarshal(raw, &ap) != nil {
			return nil, false
		}
		p := providers.Provider{Name: ap.ID, Working: true, SupportsStream: true, DefaultModel: ap.DefaultModel, Parent: ap.Parent}
		if p.Name == "" {
			p.Name = ap.Name
		}
		if p.Name == "" {
			continue
		}
		if ap.URL != nil {
			p.URL = *ap.URL
		}
		if ap.Working != nil {
			p.Working = *ap.Working
		}
		if ap.NeedsAuth != nil {
			p.NeedsAuth = *ap.NeedsAuth
		}
		if ap.SupportsStream != nil {
			p.SupportsStream = *ap.SupportsStream
		}
		if ap.SupportsSystemMessage != nil {
			p.SupportsSystemMessage = *ap.SupportsSystemMessage
		}
		p.Models = names(ap.Models)
		out = append(out, p)
	}
	return out, true
}

// parseModels reads /v1/models: [{"id": ...}] (older g4f) or
// {"object": "list", "data": [{"id": ...}]} (newer, and OpenAI's).
func parseModels(body []byte) ([]string, bool) {
	items, ok := listOf(body)
	if !ok {
		return nil, false
	}
	return namesOf(items), true
}

// listOf reads a JSON array, bare or under "data".
func listOf(body []byte) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	if json.Unmarshal(body, &items) == nil {
		return items, true
	}
	var wrapped struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Data != nil {
		return *wrapped.Data, true
	}
	return nil, false
}

// names reads a list of strings or of objects with an id.
func names(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	return namesOf(items)
}

func namesOf(items []json.RawMessage) []string {
	var out []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
			continue
		}
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(it, &obj) == nil && obj.ID != "" {
			out = append(out, obj.ID)
		}
	}
	return out
}
