package diag

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

type exceptionCase struct {
	name    string
	typ     string
	msg     string
	wantSig SignatureID
	want    Class
}

// signatureCases holds at least one case per entry of Signatures (checked by
// TestEverySignatureHasACase), then the cases the design insists on.
var signatureCases = []exceptionCase{
	// network
	{"aiohttp connector", "aiohttp.client_exceptions.ClientConnectorError", "Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]", "network-aiohttp", ClassNetwork},
	{"aiohttp connection error", "aiohttp.ClientConnectionError", "Connection closed", "network-aiohttp", ClassNetwork},
	{"aiohttp os error", "aiohttp.client_exceptions.ClientOSError", "[Errno 104] Connection reset by peer", "network-aiohttp", ClassNetwork},
	{"aiohttp server disconnected", "aiohttp.client_exceptions.ServerDisconnectedError", "Server disconnected", "network-aiohttp", ClassNetwork},
	{"builtin connection error", "ConnectionError", "connection lost", "network-connection", ClassNetwork},
	{"connection refused", "ConnectionRefusedError", "[Errno 111] Connect call failed ('127.0.0.1', 1337)", "network-connection", ClassNetwork},
	{"requests connection error", "requests.exceptions.ConnectionError", "HTTPSConnectionPool(host='x', port=443): Max retries exceeded", "network-connection", ClassNetwork},
	{"curl_cffi connection error", "curl_cffi.requests.exceptions.ConnectionError", "Failed to perform, curl: (7) Failed to connect", "network-connection", ClassNetwork},
	{"urllib URLError", "urllib.error.URLError", "<urlopen error [Errno -3] Temporary failure in name resolution>", "network-url", ClassNetwork},
	{"socket gaierror", "socket.gaierror", "[Errno -2] Name or service not known", "network-dns", ClassNetwork},
	{"TimeoutError", "TimeoutError", "", "network-timeout", ClassNetwork},
	{"asyncio TimeoutError", "asyncio.exceptions.TimeoutError", "", "network-timeout", ClassNetwork},
	{"curl_cffi RequestsError", "curl_cffi.requests.errors.RequestsError", "Failed to perform, curl: (6) Could not resolve host: chatgpt.com", "network-curl", ClassNetwork},
	{"name or service not known", "OSError", "[Errno -2] Name or service not known", "network-message", ClassNetwork},
	{"connection refused message", "OSError", "[Errno 111] Connection refused", "network-message", ClassNetwork},
	{"cannot connect message", "Exception", "Cannot connect to host api.example:443 ssl:default", "network-message", ClassNetwork},

	// auth
	{"MissingAuthError", "g4f.errors.MissingAuthError", `Add a "api_key"`, "auth-missing", ClassAuth},
	{"HTTP 401", "g4f.errors.ResponseStatusError", "Response 401: Unauthorized", "auth-http-401", ClassAuth},
	{"401 in message", "Exception", "Error: status code 401", "auth-http-401", ClassAuth},
	{"OpenAI 401 body through OpenaiTemplate", "g4f.errors.ResponseError", "Error invalid_api_key: Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.", "auth-http-401", ClassAuth},
	{"api key required", "ValueError", "An API key is required for this provider", "auth-api-key", ClassAuth},
	{"api_key missing", "Exception", "api_key is missing", "auth-api-key", ClassAuth},
	{"invalid api key message", "Exception", "Invalid API key provided", "auth-api-key", ClassAuth},
	{"403 body naming the key", "g4f.errors.ResponseStatusError", `Response 403: {"error": {"message": "Invalid API key", "type": "invalid_request_error"}}`, "auth-http-body", ClassAuth},
	{"401 body not authenticated", "aiohttp.client_exceptions.ClientResponseError", "403, message='Not authenticated', url='https://api.example/v1/chat/completions'", "auth-http-body", ClassAuth},
	{"403 block stays a status", "g4f.errors.ResponseStatusError", "Response 403: Forbidden", "http-status", ClassProviderError},
	{"needs an auth token", "ValueError", `Provider "MetaAI" needs an auth token`, "auth-token", ClassAuth},
	{"access token missing", "RuntimeError", "Access token is missing, log in first", "auth-token", ClassAuth},

	// provider errors
	{"RateLimitError", "g4f.errors.RateLimitError", "slow down", "rate-limited", ClassRateLimit},
	{"HTTP 429", "g4f.errors.ResponseStatusError", "Response 429: Too Many Requests", "rate-limited-http", ClassRateLimit},
	{"HTTP quota body", "g4f.errors.ResponseStatusError", `Response 403: {"error": {"code": "insufficient_quota"}}`, "rate-limited-http", ClassRateLimit},
	{"429 through asyncio.run", "Exception", `Error 429: {"error": {"message": "Rate limit reached for requests"}}`, "rate-limited-http", ClassRateLimit},
	{"status 429 under any type", "RuntimeError", "Request failed with status code 429", "rate-limited-http", ClassRateLimit},
	{"quota exceeded", "Exception", "You exceeded your current quota, please check your plan and billing details.", "rate-limited-http", ClassRateLimit},
	{"google resource exhausted", "Exception", "429 RESOURCE_EXHAUSTED. Quota exceeded for metric", "rate-limited-http", ClassRateLimit},
	{"too many requests", "ValueError", "Too many requests, slow down", "rate-limited-http", ClassRateLimit},
	{"Cloudflare", "g4f.errors.CloudflareError", "Response 403: Cloudflare detected", "cloudflare", ClassProviderError},
	{"HTTP 403", "g4f.errors.ResponseStatusError", "Response 403: Forbidden", "http-status", ClassProviderError},
	{"HTTP 500 message", "Exception", "Response 500: Internal Server Error", "http-status-message", ClassProviderError},
	{"model not found", "g4f.errors.ModelNotFoundError", "Model is not supported: gpt-9", "model-not-found", ClassProviderError},
	{"stream not supported", "g4f.errors.StreamNotSupportedError", `GizAI does not support "stream" argument`, "stream-not-supported", ClassProviderError},

	// missing requirements
	{"MissingRequirementsError", "g4f.errors.MissingRequirementsError", `Install or update "curl_cffi" package | pip install -U curl_cffi`, "missing-requirements", ClassMissingRequirements},
	{"install package message", "Exception", `Install "nodriver" package | pip install -U nodriver`, "missing-requirements-install", ClassMissingRequirements},
	{"ModuleNotFoundError", "ModuleNotFoundError", "No module named 'curl_cffi'", "missing-module", ClassMissingRequirements},
	{"uvloop not installed", "ModuleNotFoundError", "No module named 'uvloop'", "loop-package-missing", ClassUnavailable},
	{"nest_asyncio not installed", "ImportError", "No module named nest_asyncio", "loop-package-missing", ClassUnavailable},
	{"uvloop 0.21 on Python 3.14", "ImportError", "cannot import name 'BaseDefaultEventLoopPolicy' from 'asyncio.events' (/usr/lib/python3.14/asyncio/events.py)", "loop-package-outdated", ClassUnavailable},
	{"uvloop 0.21 on a 3.14 alpha", "AttributeError", "module 'asyncio' has no attribute 'AbstractChildWatcher'", "loop-package-outdated", ClassUnavailable},
	{"uvloop's submodule is not the loop missing", "ModuleNotFoundError", "No module named 'uvloopx'", "missing-module", ClassMissingRequirements},

	// provider state
	{"ProviderNotWorkingError", "g4f.errors.ProviderNotWorkingError", "Bing is not working", "not-working", ClassNotWorking},
	{"ProviderNotFoundError", "g4f.errors.ProviderNotFoundError", "Provider not found: Nope", "provider-not-found", ClassProviderNotFound},
	{"RetryNoProviderError", "g4f.errors.RetryNoProviderError", "No provider found", "no-provider-found", ClassProviderNotFound},
	{"provider not found message", "ValueError", "Provider Nope not found", "provider-not-found-message", ClassProviderNotFound},

	// loop re-entry
	{"uvloop already running", "RuntimeError", "this event loop is already running.", "reentry-uvloop", ClassLoopReentry},
	{"stdlib already running", "RuntimeError", "This event loop is already running", "reentry-stdlib", ClassLoopReentry},
	{"asyncio.run in loop", "RuntimeError", "asyncio.run() cannot be called from a running event loop", "reentry-asyncio-run", ClassLoopReentry},
	{"another loop running", "RuntimeError", "Cannot run the event loop while another loop is running", "reentry-other-loop", ClassLoopReentry},
	{"NestAsyncioError", "g4f.errors.NestAsyncioError", `Install "nest_asyncio" package | pip install -U nest_asyncio`, "reentry-nest-asyncio-error", ClassLoopReentry},
	{"NestAsyncioError 2026", "g4f.errors.NestAsyncioError", `Install "nest-asyncio2" package | pip install -U nest-asyncio2`, "reentry-nest-asyncio-error", ClassLoopReentry},
	{"nest_asyncio install message", "g4f.errors.MissingRequirementsError", `Install "nest_asyncio" package`, "reentry-nest-asyncio-install", ClassLoopReentry},
	{"old g4f: install the nest_asyncio package", "RuntimeError", `Use "create_async" instead of "create" function in a running event loop. Or install the "nest_asyncio" package.`, "reentry-nest-asyncio-install", ClassLoopReentry},
	{"nest task switch", "RuntimeError", "Cannot enter into task <Task pending name='Task-1' coro=<Server.serve() running at .../uvicorn/server.py:80> wait_for=<Future finished result=None> cb=[_run_until_complete_cb() at .../asyncio/base_events.py:180]> while another task <Task pending name='starlette.responses.StreamingResponse.__call__.<locals>.wrap' coro=<StreamingResponse.__call__.<locals>.wrap() running at .../starlette/responses.py:273> cb=[TaskGroup._spawn.<locals>.task_done() at .../anyio/_backends/_asyncio.py:726]> is being executed.", "reentry-nest-task", ClassLoopReentry},
	{"nest_asyncio on uvloop", "ValueError", "Can't patch loop of type <class 'uvloop.Loop'>", "reentry-nest-uvloop", ClassLoopReentry},

	{"loop stopped under a sync call", "RuntimeError", "Event loop stopped before Future completed.", "reentry-loop-stopped", ClassLoopReentry},
	{"closing the running loop", "RuntimeError", "Cannot close a running event loop", "reentry-close-running", ClassLoopReentry},
	{"old g4f: create_async in an async loop", "RuntimeError", `Use "create_async" instead of "create" function in a async loop.`, "reentry-create-async", ClassLoopReentry},
	{"nest_asyncio2 refuses the old patch", "RuntimeError", "asyncio is already patched by nest_asyncio", "reentry-nest-mispatched", ClassLoopReentry},

	// loop missing, closed, mismatch
	{"no loop in thread", "RuntimeError", "There is no current event loop in thread 'ThreadPoolExecutor-0_0'.", "missing-thread-loop", ClassLoopMissing},
	{"no running loop", "RuntimeError", "no running event loop", "missing-running-loop", ClassLoopMissing},
	{"anyio no loop", "anyio.NoEventLoopError", "Not currently running on any asynchronous event loop. Available async backends: asyncio, trio", "missing-async-library", ClassLoopMissing},
	{"anyio no loop, internal module", "anyio._core._exceptions.NoEventLoopError", "Not currently running on any asynchronous event loop. Available async backends: asyncio, trio", "missing-async-library", ClassLoopMissing},
	{"sniffio no library", "sniffio._impl.AsyncLibraryNotFoundError", "unknown async library, or not in async context", "missing-async-library", ClassLoopMissing},
	{"stdlib timeout outside a task", "RuntimeError", "Timeout should be used inside a task", "missing-timeout-task", ClassLoopMissing},
	{"loop closed", "RuntimeError", "Event loop is closed", "closed-loop", ClassLoopClosed},
	{"future other loop", "RuntimeError", "Task <Task pending name='Task-2' coro=<f() running at x.py:3>> got Future <Future pending> attached to a different loop", "mismatch-different-loop", ClassLoopMismatch},
	{"aiohttp timeout outside task", "RuntimeError", "Timeout context manager should be used inside a task", "mismatch-timeout-outside-task", ClassLoopMismatch},
	{"scheduled from another thread", "RuntimeError", "Non-thread-safe operation invoked on an event loop other than the current one", "mismatch-wrong-thread", ClassLoopMismatch},
	{"lock bound other loop", "RuntimeError", "<asyncio.locks.Lock object at 0x7f [unlocked]> is bound to a different event loop", "mismatch-different-loop", ClassLoopMismatch},

	// quoted inside combined messages (RetryProviderError, the API server's error bodies)
	{"retry provider quotes uvloop", "g4f.errors.RetryProviderError", "RetryProvider failed:\nBlackbox: ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]\nDDG: RuntimeError: this event loop is already running.", "reentry-uvloop", ClassLoopReentry},
	{"retry provider quotes network only", "g4f.errors.RetryProviderError", "RetryProvider failed:\nBlackbox: ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]", "network-aiohttp", ClassNetwork},
	{"api body loop", "APIError", "RuntimeError: this event loop is already running.", "reentry-uvloop", ClassLoopReentry},
	{"api body network", "APIError", "ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]", "network-aiohttp", ClassNetwork},
	{"api body requirements", "APIError", `MissingRequirementsError: Install or update "curl_cffi" package | pip install -U curl_cffi`, "missing-requirements", ClassMissingRequirements},
	{"remote server's error inside a JSON body", "Exception", `Response 500: {"error": "InternalServerError: RuntimeError: Event loop is closed"}`, "http-status-message", ClassProviderError},
	{"error prefix quoting a loop error", "Exception", "Error: RuntimeError: Event loop is closed", "closed-loop", ClassLoopClosed},
	{"api body stream unsupported", "APIError", `StreamNotSupportedError: GizAI does not support "stream" argument`, "stream-not-supported", ClassProviderError},

	// what repro/httpapi records from g4f's API server: in-band SSE error frames, error bodies, protocol breaks
	{"api stream loop", "g4f.api.StreamError", "RuntimeError: this event loop is already running.", "reentry-uvloop", ClassLoopReentry},
	{"api stream network", "g4f.api.StreamError", "ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]", "network-aiohttp", ClassNetwork},
	{"api 500 requirements", "g4f.api.ErrorResponse", `MissingRequirementsError: Install or update "curl_cffi" package | pip install -U curl_cffi`, "missing-requirements", ClassMissingRequirements},
	{"api 404 provider not found", "g4f.api.ErrorResponse", "ProviderNotFoundError: Provider not found: Nope", "provider-not-found", ClassProviderNotFound},
	{"api key required", "g4f.api.ErrorResponse", "G4F API key required", "auth-api-server-key", ClassAuth},
	{"api key invalid", "g4f.api.ErrorResponse", "Invalid G4F API key", "auth-api-server-key", ClassAuth},
	{"protocol: HTML error page", "g4fdiag.ProtocolError", "wrong content type: HTTP 502 sent text/html, not text/event-stream: <html><head><title>502 Bad Gateway</title>", "protocol-content-type", ClassProtocol},
	{"protocol: cut mid-frame", "g4fdiag.ProtocolError", "truncated stream: the connection closed inside frame 3 (unexpected EOF)", "protocol-truncated", ClassProtocol},
	{"protocol: closed without an answer", "g4fdiag.ProtocolError", "truncated answer: the server closed the connection without an answer (EOF)", "protocol-truncated", ClassProtocol},
	{"protocol: no [DONE]", "g4fdiag.ProtocolError", "truncated stream: the body ended after 4 frames without data: [DONE]", "protocol-truncated", ClassProtocol},
	{"protocol: frame limit", "g4fdiag.ProtocolError", "frame over limit: frame 1 passed 1048576 bytes", "protocol-frame-limit", ClassProtocol},
	{"protocol: body limit", "g4fdiag.ProtocolError", "body over limit: the answer passed 67108864 bytes", "protocol-body-limit", ClassProtocol},
	{"protocol: invalid JSON frame", "g4fdiag.ProtocolError", "invalid JSON in frame 2: invalid character 'o' in literal null (expecting 'u'): not json", "protocol-frame-json", ClassProtocol},
	{"protocol: non-JSON body", "g4fdiag.ProtocolError", "invalid JSON body: HTTP 200 text/plain: hello", "protocol-body-json", ClassProtocol},
	{"protocol: off-host redirect", "g4fdiag.ProtocolError", "redirected off-host: http://127.0.0.1:1337/v1/chat/completions sent the request on to http://[::1]:8080/v1/chat/completions, another host, and g4fdiag does not follow it (the API key would go with it); if that is the g4f API, pass --api http://[::1]:8080", "protocol-redirect", ClassProtocol},
	{"protocol: redirect loop", "g4fdiag.ProtocolError", "redirect loop: after 2 redirects http://h/v1/chat/completions sends the request back to http://h/a", "protocol-redirect", ClassProtocol},
	{"protocol: not HTTP", "g4fdiag.ProtocolError", `not HTTP: malformed HTTP response "SSH-2.0-OpenSSH_9.2"`, "protocol-not-http", ClassProtocol},
	{"protocol: other", "g4fdiag.ProtocolError", "something new", "protocol-violation", ClassProtocol},
	{"protocol: a page quoting a loop error stays protocol", "g4fdiag.ProtocolError", "wrong content type: HTTP 500 sent text/plain, not application/json:\nRuntimeError: this event loop is already running.", "protocol-content-type", ClassProtocol},
	{"upstream frame not JSON", "ValueError", `Invalid JSON data: b'{"id": "chatcmpl-1", "choices": [{"delta": {"content": "lo'`, "upstream-frame-json", ClassProtocol},
	{"urllib3's ProtocolError is not the API server's", "urllib3.exceptions.ProtocolError", "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", "network-message", ClassNetwork},

	// never a loop class
	{"network error mentioning a closed loop", "aiohttp.client_exceptions.ClientOSError", "Cannot write to closing transport; Event loop is closed", "network-aiohttp", ClassNetwork},
	{"missing requirements is not nest", "g4f.errors.MissingRequirementsError", `Install "curl_cffi" package`, "missing-requirements", ClassMissingRequirements},
	{"auth line number not http", "RuntimeError", "Cannot enter into task <Task pending coro=<f() running at server.py:401>> while another task <Task pending> is being executed.", "reentry-nest-task", ClassLoopReentry},
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	for _, tc := range signatureCases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := matchPyException(decodedException(t, tc.typ, tc.msg))
			if !ok {
				t.Fatalf("%s: %q matched no signature, want %s", tc.typ, tc.msg, tc.wantSig)
			}
			if m.Sig.ID != tc.wantSig || m.Sig.Class != tc.want {
				t.Errorf("%s: %q matched %s (%s), want %s (%s)", tc.typ, tc.msg, m.Sig.ID, m.Sig.Class, tc.wantSig, tc.want)
			}
		})
	}
}

// decodedException is the exception of a type and message as a saved scan
// gives it back: a protocol error with its kind.
func decodedException(t *testing.T, typ, msg string) scan.PyException {
	t.Helper()
	b, err := json.Marshal(scan.PyException{Type: typ, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	var e scan.PyException
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// Every kind of protocol break has its signature, and the kind a driver
// sets survives a saved scan.
func TestProtocolKinds(t *testing.T) {
	t.Parallel()
	for _, kind := range scan.ProtocolKinds() {
		e := scan.NewProtocolError(kind, "detail")
		m, ok := matchPyException(e)
		if !ok || m.Sig.Class != ClassProtocol || (kind != scan.ProtocolViolation && m.Sig.ID == "protocol-violation") {
			t.Errorf("%s: matched %v %v, want a protocol signature of its own", kind, m.Sig, ok)
		}
		if back := decodedException(t, e.Type, e.Message); back.Protocol != kind {
			t.Errorf("%s: decoded as %q from %q", kind, back.Protocol, e.Message)
		}
	}
	// Only g4fdiag's own type is a protocol break, whatever its message.
	if e := decodedException(t, "urllib3.exceptions.ProtocolError", "wrong content type: x"); e.Protocol != "" {
		t.Errorf("urllib3's ProtocolError decoded as kind %q", e.Protocol)
	}
}

func TestEverySignatureHasACase(t *testing.T) {
	t.Parallel()
	covered := map[SignatureID]bool{}
	for _, tc := range signatureCases {
		covered[tc.wantSig] = true
	}
	for _, s := range Signatures {
		// a signature with a Line has its case in explain's lineCases
		if !covered[s.ID] && s.Line == nil {
			t.Errorf("signature %s has no test case in signatureCases", s.ID)
		}
	}
}

func TestSignatureTableIsWellFormed(t *testing.T) {
	t.Parallel()
	seen := map[SignatureID]bool{}
	loopSeen := false
	for _, list := range [][]Signature{Signatures, StateSignatures} {
		for _, s := range list {
			if seen[s.ID] {
				t.Errorf("duplicate signature ID %s", s.ID)
			}
			seen[s.ID] = true
			if _, ok := classInfos[s.Class]; !ok {
				t.Errorf("%s: unknown class %q", s.ID, s.Class)
			}
			if s.Class != ClassOK && s.Class != ClassSkipped && (s.Explanation == "" || s.Remedy == "") {
				t.Errorf("%s: needs an explanation and a remedy", s.ID)
			}
		}
	}
	for _, s := range Signatures {
		if len(s.Types) == 0 && s.Message == nil && s.Line == nil && len(s.Protocol) == 0 {
			t.Errorf("%s matches nothing: no Types, Message, Line or Protocol", s.ID)
		}
		if s.Line != nil && len(s.LineHints) == 0 {
			t.Errorf("%s: a Line needs LineHints, or every line of a log pays for its regexp", s.ID)
		}
		// provider failures come before loop signatures, so a provider
		// failure is never called a loop fault
		if s.Class.IsLoop() {
			loopSeen = true
		} else if loopSeen {
			t.Errorf("%s (%s) comes after a loop signature", s.ID, s.Class)
		}
	}
}

func TestUnmatchedIsProviderError(t *testing.T) {
	t.Parallel()
	o := scan.Observation{Cell: scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopUvloop}, End: scan.EndCompleted,
		Calls: []scan.Call{sample.ErrorCall(0, 1, scan.PyException{Type: "KeyError", Message: "'choices'\nmore"})}}
	v := Classify(o)
	if v.Class != ClassProviderError || v.Signature != "provider-error" || v.Evidence != "KeyError: 'choices'" {
		t.Errorf("got %+v", v)
	}
}

func TestMatchType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		names []string
		typ   string
		want  bool
	}{
		{[]string{"ClientConnectorError"}, "aiohttp.client_exceptions.ClientConnectorError", true},
		{[]string{"ClientConnectorError"}, "ClientConnectorError", true},
		{[]string{"urllib.error.URLError"}, "urllib.error.URLError", true},
		{[]string{"error.URLError"}, "urllib.error.URLError", true},
		{[]string{"urllib.error.URLError"}, "URLError", false},
		{[]string{"ConnectionError"}, "MyConnectionError", false},
		{[]string{"ConnectionError"}, "", false},
	}
	for _, c := range cases {
		if got := typeIn(c.names, c.typ); got != c.want {
			t.Errorf("typeIn(%v, %q) = %v, want %v", c.names, c.typ, got, c.want)
		}
	}
}

// g4f's RetryProviderError ("RetryProvider failed:\n" + one
// "Provider: Type: message" line per provider, g4f/providers/
// retry_provider.py raise_exceptions): each provider is classified on its
// own, the loop classes first.
const retryFourProviders = "RetryProvider failed:\n" +
	"HuggingChat: MissingAuthError: Missing \"hf-chat\" cookie\n" +
	"PollinationsAI: RateLimitError: Response 429: Too Many Requests\n" +
	"Copilot: RuntimeError: There is no current event loop in thread 'ThreadPoolExecutor-0_0'.\n" +
	"DeepInfra: ResponseStatusError: Response 500: upstream timed out"

func TestProviderErrors(t *testing.T) {
	t.Parallel()
	got := ProviderErrors(retryFourProviders)
	want := []struct {
		provider string
		sig      SignatureID
	}{
		{"Copilot", SigMissingThreadLoop},
		{"DeepInfra", SigHTTPStatus},
		{"PollinationsAI", SigRateLimited},
		{"HuggingChat", SigAuthMissing},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d provider errors, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Provider != w.provider || got[i].Match.Sig.ID != w.sig {
			t.Errorf("%d: got %s %s, want %s %s", i, got[i].Provider, got[i].Match.Sig.ID, w.provider, w.sig)
		}
	}
	if s := PerProvider(got); s != "Copilot loop-missing, DeepInfra provider-error, PollinationsAI rate-limit, HuggingChat auth" {
		t.Errorf("PerProvider = %q", s)
	}
	// an unknown error is the fallback's, not dropped
	ps := ProviderErrors("RetryProvider failed:\nA: KeyError: 'choices'\nB: RuntimeError: Event loop is closed")
	if len(ps) != 2 || ps[0].Provider != "B" || ps[1].Match.Sig.ID != SigProviderError {
		t.Errorf("with an unknown error: %+v", ps)
	}
	// no provider names: an API body, an "Error:" prefix, one line
	for _, msg := range []string{
		"RuntimeError: this event loop is already running.",
		"Error: RuntimeError: Event loop is closed\nERROR: ValueError: x",
		"Blackbox: RuntimeError: this event loop is already running.",
	} {
		if ps := ProviderErrors(msg); len(ps) > 1 {
			t.Errorf("%q: got %+v, want at most one provider", msg, ps)
		}
	}
}

// A scan's evidence names each provider of a RetryProviderError with its
// own class, within the evidence bound, and keeps the worst one's line.
func TestClassifyNamesEachProvider(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	for _, tc := range []struct{ msg, line, list string }{
		{retryFourProviders, "RetryProviderError: RuntimeError: There is no current event loop",
			"[Copilot loop-missing, DeepInfra provider-error, PollinationsAI rate-limit, HuggingChat auth]"},
		{"RetryProvider failed:\nBlackbox: RuntimeError: this event loop is already running. " + long + "\nDDG: ClientConnectorError: Cannot connect to host duckduckgo.com:443",
			"RetryProviderError: RuntimeError: this event loop is already running.", "[Blackbox loop-reentry, DDG network]"},
	} {
		o := scan.Observation{Cell: scan.Cell{Provider: "RetryProvider", Mode: scan.ModeSync, Loop: scan.LoopUvloop}, End: scan.EndCompleted,
			Calls: []scan.Call{sample.ErrorCall(0, 1, scan.PyException{Type: "g4f.errors.RetryProviderError", Message: tc.msg})}}
		v := Classify(o)
		if !v.Class.IsLoop() || !strings.HasPrefix(v.Evidence, tc.line) || !strings.HasSuffix(v.Evidence, tc.list) {
			t.Errorf("got %s %q, want a loop class, %q ... %q", v.Class, v.Evidence, tc.line, tc.list)
		}
		if n := len([]rune(v.Evidence)); n > maxEvidence {
			t.Errorf("evidence of %d runes, over %d", n, maxEvidence)
		}
	}
	// one provider: the evidence as before
	o := scan.Observation{Cell: scan.Cell{Provider: "RetryProvider", Mode: scan.ModeSync, Loop: scan.LoopUvloop}, End: scan.EndCompleted,
		Calls: []scan.Call{sample.ErrorCall(0, 1, scan.PyException{Type: "g4f.errors.RetryProviderError",
			Message: "RetryProvider failed:\nBlackbox: RuntimeError: this event loop is already running."})}}
	if v := Classify(o); v.Evidence != "RetryProviderError: RuntimeError: this event loop is already running." {
		t.Errorf("one provider: evidence %q", v.Evidence)
	}
}

// Symptoms and the rows that read log lines never match an exception: a
// scan classifies what a call raised, never a warning it printed.
func TestSymptomsAreLineSignatures(t *testing.T) {
	t.Parallel()
	for _, s := range Signatures {
		if s.Symptom && (s.Line == nil || len(s.Types) > 0 || s.Message != nil) {
			t.Errorf("%s: a symptom is read from log lines only", s.ID)
		}
	}
}
