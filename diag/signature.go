package diag

import (
	"regexp"
	"slices"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// SignatureID names a signature. Code names one through the constants below,
// never a string literal, so a misspelt ID fails to compile instead of
// falling back to provider-error.
type SignatureID string

// The IDs of Signatures, matched from exceptions and log lines.
const (
	SigNetworkAiohttp             SignatureID = "network-aiohttp"
	SigNetworkConnection          SignatureID = "network-connection"
	SigNetworkURL                 SignatureID = "network-url"
	SigNetworkDNS                 SignatureID = "network-dns"
	SigNetworkTimeout             SignatureID = "network-timeout"
	SigNetworkCurl                SignatureID = "network-curl"
	SigNetworkMessage             SignatureID = "network-message"
	SigProtocolContentType        SignatureID = "protocol-content-type"
	SigProtocolTruncated          SignatureID = "protocol-truncated"
	SigProtocolFrameLimit         SignatureID = "protocol-frame-limit"
	SigProtocolBodyLimit          SignatureID = "protocol-body-limit"
	SigProtocolFrameJSON          SignatureID = "protocol-frame-json"
	SigProtocolBodyJSON           SignatureID = "protocol-body-json"
	SigProtocolRedirect           SignatureID = "protocol-redirect"
	SigProtocolNotHTTP            SignatureID = "protocol-not-http"
	SigProtocolViolation          SignatureID = "protocol-violation"
	SigUpstreamFrameJSON          SignatureID = "upstream-frame-json"
	SigPythonFatalError           SignatureID = "python-fatal-error"
	SigProcessKilled              SignatureID = "process-killed"
	SigWorkerTimeout              SignatureID = "worker-timeout"
	SigClientTimeout              SignatureID = "client-timeout"
	SigClientStall                SignatureID = "client-stall"
	SigClientProtocol             SignatureID = "client-protocol"
	SigGatewayBad                 SignatureID = "gateway-bad"
	SigGatewayTimeout             SignatureID = "gateway-timeout"
	SigAuthMissing                SignatureID = "auth-missing"
	SigAuthHTTP401                SignatureID = "auth-http-401"
	SigAuthAPIServerKey           SignatureID = "auth-api-server-key"
	SigAuthAPIKey                 SignatureID = "auth-api-key"
	SigAuthHTTPBody               SignatureID = "auth-http-body"
	SigAuthToken                  SignatureID = "auth-token"
	SigRateLimited                SignatureID = "rate-limited"
	SigRateLimitedHTTP            SignatureID = "rate-limited-http"
	SigCloudflare                 SignatureID = "cloudflare"
	SigHTTPStatus                 SignatureID = "http-status"
	SigHTTPStatusMessage          SignatureID = "http-status-message"
	SigModelNotFound              SignatureID = "model-not-found"
	SigStreamNotSupported         SignatureID = "stream-not-supported"
	SigMissingRequirements        SignatureID = "missing-requirements"
	SigMissingRequirementsInstall SignatureID = "missing-requirements-install"
	SigLoopPackageMissing         SignatureID = "loop-package-missing"
	SigLoopPackageOutdated        SignatureID = "loop-package-outdated"
	SigMissingModule              SignatureID = "missing-module"
	SigNotWorking                 SignatureID = "not-working"
	SigProviderNotFound           SignatureID = "provider-not-found"
	SigNoProviderFound            SignatureID = "no-provider-found"
	SigProviderNotFoundMessage    SignatureID = "provider-not-found-message"
	SigCoroutineNeverAwaited      SignatureID = "coroutine-never-awaited"
	SigReentryUvloop              SignatureID = "reentry-uvloop"
	SigReentryStdlib              SignatureID = "reentry-stdlib"
	SigReentryAsyncioRun          SignatureID = "reentry-asyncio-run"
	SigReentryOtherLoop           SignatureID = "reentry-other-loop"
	SigReentryNestAsyncioError    SignatureID = "reentry-nest-asyncio-error"
	SigReentryNestAsyncioInstall  SignatureID = "reentry-nest-asyncio-install"
	SigReentryNestTask            SignatureID = "reentry-nest-task"
	SigReentryNestUvloop          SignatureID = "reentry-nest-uvloop"
	SigReentryLoopStopped         SignatureID = "reentry-loop-stopped"
	SigReentryCloseRunning        SignatureID = "reentry-close-running"
	SigReentryCreateAsync         SignatureID = "reentry-create-async"
	SigReentryNestMispatched      SignatureID = "reentry-nest-mispatched"
	SigReentryNestMispatchWarning SignatureID = "reentry-nest-mispatch-warning"
	SigReentryNeverAwaited        SignatureID = "reentry-never-awaited"
	SigMissingThreadLoop          SignatureID = "missing-thread-loop"
	SigMissingRunningLoop         SignatureID = "missing-running-loop"
	SigMissingAsyncLibrary        SignatureID = "missing-async-library"
	SigMissingTimeoutTask         SignatureID = "missing-timeout-task"
	SigClosedLoop                 SignatureID = "closed-loop"
	SigTaskDestroyedPending       SignatureID = "task-destroyed-pending"
	SigMismatchDifferentLoop      SignatureID = "mismatch-different-loop"
	SigMismatchTimeoutOutsideTask SignatureID = "mismatch-timeout-outside-task"
	SigMismatchWrongThread        SignatureID = "mismatch-wrong-thread"
	SigLoopSlowCallback           SignatureID = "loop-slow-callback"
	SigWorkerTimeoutUvicorn       SignatureID = "worker-timeout-uvicorn"
	SigDeadlockTaskCycle          SignatureID = "deadlock-task-cycle"
)

// The IDs of StateSignatures, assigned from how a cell ended.
const (
	SigOK                 SignatureID = "ok"
	SigSkipped            SignatureID = "skipped"
	SigInterrupted        SignatureID = "interrupted"
	SigProviderNotWorking SignatureID = "provider-not-working"
	SigLoopUnavailable    SignatureID = "loop-unavailable"
	SigWorkerCrashed      SignatureID = "worker-crashed"
	SigDeadlockLoopThread SignatureID = "deadlock-loop-thread"
	SigLoopThreadBlocked  SignatureID = "loop-thread-blocked"
	SigStreamStalled      SignatureID = "stream-stalled"
	SigStreamStillRunning SignatureID = "stream-still-running"
	SigNoAnswer           SignatureID = "no-answer"
	SigHangDump           SignatureID = "hang-dump"
	SigHangDescribed      SignatureID = "hang-described"
	SigKeyboardInterrupt  SignatureID = "keyboard-interrupt"
	SigRetryAnswered      SignatureID = "retry-answered"
	SigNoCalls            SignatureID = "no-calls"
	SigProviderError      SignatureID = "provider-error"
	SigUnclassified       SignatureID = "unclassified"
)

// Signature is one recognisable failure: the exception types and message that
// identify it, the class it puts a call in, and what to tell the user.
//
// An exception is matched in three passes over the table, each in table
// order (see matchException): by type, when its type is one of Types and
// Message is nil or matches its message; else by the exceptions its message
// quotes at line starts ("Provider: RuntimeError: ..."), the worst of them;
// else by message alone, when Message matches whatever the type. Unless, when
// set, vetoes every pass: a message it matches is never this signature's.
type Signature struct {
	ID    SignatureID
	Class Class
	// Types are exception type names, bare ("ClientConnectorError") or
	// qualified ("urllib.error.URLError"). A bare name matches the last
	// component of the exception's type, a qualified one its full name or
	// trailing components.
	Types   []string
	Message *regexp.Regexp
	Unless  *regexp.Regexp
	// Protocol are the kinds of an API server's protocol break
	// (scan.PyException.Protocol) the signature stands for; such an
	// exception matches by its kind alone, before the passes above.
	Protocol []scan.ProtocolKind
	// Line matches a log line rather than an exception: how a process or
	// a request ended ("WORKER TIMEOUT", "Fatal Python error", curl's
	// exit messages), read by explain. LineHints are substrings one of
	// which a line must hold before Line is tried, so most lines of a long
	// log cost a few substring searches. LineAfter, when set, must have
	// matched an earlier line of the same text: such signatures are tried
	// before those without, as they are narrower.
	Line      *regexp.Regexp
	LineHints []string
	LineAfter *regexp.Regexp
	// Symptom marks what a failure leaves behind rather than a failure:
	// a task destroyed while pending, a coroutine never awaited, a
	// warning. Explain lets a symptom decide only when the text holds
	// nothing else; beside a real error it is that error's noise.
	Symptom     bool
	Explanation string
	Remedy      string
	// RemedyAt is the remedy phrased for the user's own line, a format
	// with one %s for it ("bot.py:42"), for the signatures whose fix has a
	// natural place; RemedyAt (the function) puts it before Remedy.
	RemedyAt string
}

// Lookup returns the signature with the given ID from Signatures or the
// signatures diag assigns from how a cell ended.
func Lookup(id SignatureID) (Signature, bool) {
	for _, list := range [][]Signature{Signatures, StateSignatures} {
		for _, s := range list {
			if s.ID == id {
				return s, true
			}
		}
	}
	return Signature{}, false
}

var (
	// httpErrorTypes raise on an HTTP status; the status in the message
	// decides between auth, rate limit and a plain provider error.
	httpErrorTypes = []string{"ResponseStatusError", "ResponseError", "ClientResponseError", "HTTPStatusError", "HTTPError"}
	nestAsyncio    = regexp.MustCompile(`(?i)nest[_-]?asyncio`)
	// g4fWrapperCoroutine are the coroutines g4f's sync wrappers make
	// and hand to run_until_complete or asyncio.run (g4f/providers/
	// asyncio.py); left unawaited, the loop refused to run them.
	g4fWrapperCoroutine = regexp.MustCompile(`coroutine '(?:await_callback|async_generator_to_list)' was never awaited`)
	// quotaWords is a spent quota as providers word it.
	quotaWords = `\bquota\b[^\n]{0,40}?\b(?:exceeded|exhausted|reached|used up)\b|\bexceeded (?:your|the) (?:current |daily |monthly )?quota\b|` +
		`\binsufficient_quota\b|\bRESOURCE_EXHAUSTED\b`
)

// Signatures is the table Classify matches exceptions against, in order. The
// provider failures (network, auth, HTTP status, missing requirements, not
// working, not found) come first: a provider that cannot reach its host is
// never a loop fault, whatever loop code its traceback passes through, so
// nothing here looks at frames. The loop signatures follow.
var Signatures = []Signature{
	// --- network ---
	{
		ID:    SigNetworkAiohttp,
		Class: ClassNetwork,
		Types: []string{"ClientConnectorError", "ClientConnectorDNSError", "ClientConnectorSSLError",
			"ClientConnectorCertificateError", "ClientConnectionError", "ClientConnectionResetError",
			"ClientOSError", "ClientSSLError", "ClientProxyConnectionError", "ServerDisconnectedError",
			"ServerConnectionError", "ServerFingerprintMismatch"},
		Explanation: "aiohttp could not open or keep a connection to the provider's host. The provider fails this way under every loop; " +
			"it is not a loop fault even when the traceback passes through g4f's run_until_complete.",
		Remedy: "Check network access to the provider (DNS, proxy, firewall); the baseline cell failing the same way confirms it.",
	},
	{
		ID:    SigNetworkConnection,
		Class: ClassNetwork,
		Types: []string{"ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "ConnectionAbortedError",
			"BrokenPipeError", "ConnectError", "ProxyError", "SSLError", "SSLCertVerificationError",
			"RemoteProtocolError", "ChunkedEncodingError", "IncompleteRead", "RemoteDisconnected"},
		Explanation: "The connection to the provider failed or dropped (builtin ConnectionError, requests, httpx or curl_cffi). " +
			"A network condition, not a loop fault.",
		Remedy: "Check network access to the provider (DNS, proxy, firewall, TLS interception).",
	},
	{
		ID:          SigNetworkURL,
		Class:       ClassNetwork,
		Types:       []string{"urllib.error.URLError", "URLError", "MaxRetryError", "NewConnectionError", "NameResolutionError"},
		Explanation: "urllib or urllib3 could not reach the provider's URL. A network condition, not a loop fault.",
		Remedy:      "Check network access to the provider (DNS, proxy, firewall).",
	},
	{
		ID:          SigNetworkDNS,
		Class:       ClassNetwork,
		Types:       []string{"socket.gaierror", "gaierror", "socket.herror", "herror"},
		Explanation: "The provider's host name did not resolve. Offline machines fail every provider this way.",
		Remedy:      "Check DNS and network access; run the scan where the provider's host resolves.",
	},
	{
		ID:    SigNetworkTimeout,
		Class: ClassNetwork,
		Types: []string{"TimeoutError", "asyncio.TimeoutError", "concurrent.futures.TimeoutError", "socket.timeout",
			"ServerTimeoutError", "ConnectionTimeoutError", "SocketTimeoutError", "ReadTimeout", "ConnectTimeout",
			"ReadTimeoutError", "ConnectTimeoutError", "TimeoutException", "PoolTimeout", "WriteTimeout"},
		Explanation: "A request to the provider timed out inside the provider's own code. The call came back with an error, " +
			"so the loop kept running: a network or server condition, not a loop fault.",
		Remedy: "Check network access and the provider's status; pass a larger timeout if the provider is just slow.",
	},
	{
		ID:          SigNetworkCurl,
		Class:       ClassNetwork,
		Message:     regexp.MustCompile(`curl: \((?:5|6|7|28|35|52|55|56)\)`),
		Explanation: "curl_cffi could not resolve, connect to or read from the provider's host (curl error 5/6/7/28/35/52/55/56).",
		Remedy:      "Check network access to the provider (DNS, proxy, firewall).",
	},
	{
		ID:    SigNetworkMessage,
		Class: ClassNetwork,
		Message: regexp.MustCompile(`Name or service not known|nodename nor servname provided|Temporary failure in name resolution|` +
			`getaddrinfo failed|Could not resolve host|Connection refused|Cannot connect to host|Connection reset by peer|` +
			`Network is unreachable|No route to host|Failed to establish a new connection|Server disconnected|` +
			`Remote end closed connection`),
		Explanation: "The message names a connection failure (DNS, refused, reset, unreachable). A network condition, not a loop fault.",
		Remedy:      "Check network access to the provider (DNS, proxy, firewall).",
	},

	// --- the API server's answers (api-json, api-sse) ---
	//
	// repro/httpapi reports an answer that breaks HTTP, the OpenAI JSON or
	// server-sent events as a g4fdiag.ProtocolError of a scan.ProtocolKind,
	// matched by that kind; the server's own error bodies are not here:
	// they quote g4f's exception ("RuntimeError: ...") and match like any
	// quoted exception.
	{
		ID:       SigProtocolContentType,
		Class:    ClassProtocol,
		Protocol: []scan.ProtocolKind{scan.ProtocolContentType},
		Explanation: "The API server answered with a content type the OpenAI-compatible API does not use there: an HTML or plain-text " +
			"error page (a proxy, a crashed or different server) or a non-streaming answer to stream=true. " +
			"A smoke test that only checks the status code misreads this.",
		Remedy: "Check that the --api URL is g4f's API server itself (curl -i the same request); read the server's log for the request.",
	},
	{
		ID:       SigProtocolTruncated,
		Class:    ClassProtocol,
		Protocol: []scan.ProtocolKind{scan.ProtocolTruncatedStream, scan.ProtocolTruncatedAnswer},
		Explanation: "The answer ended before it was complete: the connection closed before the answer, inside the body or " +
			"inside a frame, or the event stream ended without the closing data: [DONE]. The server or a proxy cut it " +
			"(a crash, a restart, a proxy timeout); very old g4f servers never send [DONE].",
		Remedy: "Read the server's log around the request (g4fdiag repro shows it when g4fdiag started the server); check proxy timeouts.",
	},
	{
		ID:       SigProtocolFrameLimit,
		Class:    ClassProtocol,
		Protocol: []scan.ProtocolKind{scan.ProtocolFrameLimit},
		Explanation: "One server-sent event was larger than g4fdiag reads (1 MiB unless set otherwise): a runaway frame, or a " +
			"server that never sends the blank line that ends a frame.",
		Remedy: "Capture the stream with curl -N to see the frame; raise the frame limit only if the answer is meant to be that large.",
	},
	{
		ID:       SigProtocolBodyLimit,
		Class:    ClassProtocol,
		Protocol: []scan.ProtocolKind{scan.ProtocolBodyLimit},
		Explanation: "The answer was larger than g4fdiag reads (4 MiB for a JSON answer, 64 MiB for a stream, unless set otherwise): " +
			"a stream or body that does not end.",
		Remedy: "Capture the answer with curl -N to see what repeats; raise the body limit only if the answer is meant to be that large.",
	},
	{
		ID:          SigProtocolFrameJSON,
		Class:       ClassProtocol,
		Protocol:    []scan.ProtocolKind{scan.ProtocolFrameJSON},
		Explanation: "A data: frame of the event stream was not a JSON object; OpenAI-compatible clients fail on it.",
		Remedy:      "Capture the stream with curl -N and read the frame; check for a proxy rewriting the stream or a server printing into it.",
	},
	{
		ID:          SigProtocolBodyJSON,
		Class:       ClassProtocol,
		Protocol:    []scan.ProtocolKind{scan.ProtocolBodyJSON},
		Explanation: "The non-streaming answer was not a JSON chat completion (no JSON, or JSON without choices); OpenAI-compatible clients fail on it.",
		Remedy:      "Check that the --api URL is g4f's API server itself (curl -i the same request); read the server's log for the request.",
	},
	{
		ID:       SigProtocolRedirect,
		Class:    ClassProtocol,
		Protocol: []scan.ProtocolKind{scan.ProtocolRedirectOffHost, scan.ProtocolRedirectLoop},
		Explanation: "The API server redirected the request to another host, which g4fdiag does not follow because the API key " +
			"(g4f-api-key, a header HTTP clients do not drop on a redirect) would go with it, or redirected it round a loop.",
		Remedy: "If the host the redirect names is the g4f API server, pass it as --api; otherwise fix the proxy or server that redirects (curl -i shows the Location).",
	},
	{
		ID:          SigProtocolNotHTTP,
		Class:       ClassProtocol,
		Protocol:    []scan.ProtocolKind{scan.ProtocolNotHTTP},
		Explanation: "Whatever listens at the --api address accepted the connection but did not answer in HTTP.",
		Remedy:      "Check the --api URL: scheme, host and port of g4f's API server (g4f api listens on port 1337 by default).",
	},
	{
		ID:          SigProtocolViolation,
		Class:       ClassProtocol,
		Protocol:    []scan.ProtocolKind{scan.ProtocolViolation},
		Explanation: "The API server's answer broke the HTTP, JSON or server-sent events protocol in a way no narrower signature names.",
		Remedy:      "Capture the same request with curl -i -N and read the server's log for it.",
	},

	// --- a provider's upstream answer that breaks server-sent events ---
	{
		ID:      SigUpstreamFrameJSON,
		Class:   ClassProtocol,
		Types:   []string{"ValueError"},
		Message: regexp.MustCompile(`^Invalid JSON data: `),
		Explanation: "g4f's server-sent events reader (sse_stream, under its OpenAI-compatible providers) met a data: frame " +
			"from the provider's server that is not JSON: that server, or a proxy before it, broke the event stream. Not a loop fault.",
		Remedy: "Capture the stream with curl -N against the provider's base URL and read the frame; check for a proxy rewriting the stream.",
	},

	// --- how a process or a request ended, read from log lines (explain) ---
	{
		ID:        SigPythonFatalError,
		Class:     ClassCrashed,
		Line:      regexp.MustCompile(`Fatal Python error: (?:Segmentation fault|Aborted|Bus error|Floating point exception|Illegal instruction)`),
		LineHints: []string{"Fatal Python error"},
		Explanation: "The Python process died of a fatal signal (a crash in C code: a compiled extension such as curl_cffi, " +
			"uvloop or a browser driver). faulthandler printed the stacks of the moment it died.",
		Remedy: "Read the current thread's innermost frames for the extension that crashed; update or reinstall it, and " +
			"report the crash with those stacks.",
	},
	{
		ID:    SigProcessKilled,
		Class: ClassCrashed,
		Line: regexp.MustCompile(`Worker \(pid:(?P<pid>\d+)\) was sent (?:SIG[A-Z]+|code \d+)|` +
			`Worker with pid (?P<pid>\d+) was terminated due to signal \d+|Child process \[(?P<pid>\d+)\] died|` +
			`\bexited with code (?:134|137|139)\b|Out of memory: Killed process \d+ \(python|` +
			`Main process exited, code=(?:killed|dumped), status=\d+/(?:KILL|SEGV|ABRT|BUS)|` +
			`has been killed by the OOM killer|\bReason:\s+OOMKilled\b|` +
			`^(?:\S+: (?:line \d+: +)?\d+ +)?(?:Killed|Segmentation fault|Aborted|Bus error)(?: \(core dumped\))?(?: +\S*python\S*.*)?$|` +
			`^zsh: (?:killed|segmentation fault|abort)\b`),
		LineHints: []string{"was sent", "terminated due to signal", "Child process", "exited with code", "Out of memory",
			"Killed", "Segmentation fault", "Aborted", "Bus error", "zsh: ", "Main process exited", "OOM"},
		Explanation: "A server worker or the Python process was killed or died (the kernel's OOM killer, a supervisor's kill " +
			"after a timeout, or a crash); whatever it was serving ended without an answer.",
		Remedy: "Read the lines before the kill for its cause (memory growth, a WORKER TIMEOUT, a fatal error); " +
			"g4fdiag check runs each call in a worker and reports a crash with the worker's last output.",
	},
	{
		ID:        SigWorkerTimeout,
		Class:     ClassTimeout,
		Line:      regexp.MustCompile(`\bWORKER TIMEOUT \(pid:(?P<pid>\d+)\)`),
		LineHints: []string{"WORKER TIMEOUT"},
		Explanation: "gunicorn killed a worker that had not reported alive within its --timeout: a request held the worker " +
			"that long (a slow or hung provider call).",
		Remedy: "Find the request that hung (faulthandler or py-spy dump the worker before the timeout); raise --timeout only " +
			"when the provider is merely slow.",
	},
	{
		ID:        SigClientTimeout,
		Class:     ClassTimeout,
		Line:      regexp.MustCompile(`^curl: \(28\) .*\bwith 0 bytes received`),
		LineHints: []string{"curl: (28)"},
		Explanation: "The client gave up before the API server sent a single byte: the server took the request and never " +
			"answered (a blocked or hung event loop, or a provider call that never returns).",
		Remedy: "Dump the server's stacks while it hangs (py-spy dump, or faulthandler) and explain them; g4fdiag check --api " +
			"URL tells which provider, mode and loop hang.",
	},
	{
		ID:        SigClientStall,
		Class:     ClassStall,
		Line:      regexp.MustCompile(`^curl: \(28\) .*\bwith [1-9]\d* (?:out of -?\d+ )?bytes received`),
		LineHints: []string{"curl: (28)"},
		Explanation: "The API server started the answer, then stopped sending before the client's time ran out: a stream " +
			"that stalled mid-way, with the request still open.",
		Remedy: "Compare loops with g4fdiag check --api URL: a stall only under nest_asyncio points at loop re-entry; " +
			"on every loop, at the provider.",
	},
	{
		ID:        SigClientProtocol,
		Class:     ClassProtocol,
		Line:      regexp.MustCompile(`^curl: \((?:18|52)\) `),
		LineHints: []string{"curl: (18)", "curl: (52)"},
		Explanation: "The connection to the API server closed before the answer was complete (curl 18: mid-body; " +
			"curl 52: before any answer): the server or a proxy in front of it dropped the request (a crash, a restart, " +
			"a proxy timeout).",
		Remedy: "Read the server's log at that moment for a crash or a killed worker; check the proxy's timeouts.",
	},
	{
		ID:        SigGatewayBad,
		Class:     ClassProtocol,
		Line:      regexp.MustCompile(`<title>50[23] [^<]*</title>`),
		LineHints: []string{"<title>50"},
		Explanation: "A reverse proxy in front of the API server answered with its own HTML error page: it could not get an " +
			"answer from g4f's server (down, crashed, or closing connections). Not a g4f answer at all.",
		Remedy: "Check that g4f's server runs and listens where the proxy points; read its log at that moment.",
	},
	{
		ID:        SigGatewayTimeout,
		Class:     ClassTimeout,
		Line:      regexp.MustCompile(`<title>504 Gateway Time-?out</title>`),
		LineHints: []string{"<title>504"},
		Explanation: "A reverse proxy in front of the API server gave up waiting for g4f's answer: the request hung in the " +
			"server past the proxy's read timeout.",
		Remedy: "Dump the server's stacks while a request hangs (py-spy dump) and explain them; raise the proxy's timeout " +
			"only when the provider is merely slow.",
	},

	// --- auth ---
	{
		ID:          SigAuthMissing,
		Class:       ClassAuth,
		Types:       []string{"MissingAuthError", "MissingAccessTokenError", "NoValidHarFileError", "AuthenticationError"},
		Explanation: "The provider needs credentials (an api_key, cookies or a .har file) and none were given.",
		Remedy:      "Pass api_key= or set up the provider's cookies/.har file; scans leave needs_auth providers out unless asked.",
	},
	{
		ID:    SigAuthHTTP401,
		Class: ClassAuth,
		Types: httpErrorTypes,
		// invalid_api_key is the code OpenAI-compatible servers send with
		// a 401; g4f's OpenaiTemplate reads the JSON error body before the
		// status and raises ResponseError("Error invalid_api_key: ..."),
		// in which the status never appears.
		Message:     regexp.MustCompile(`(?i)\bunauthori[sz]ed\b|(?:response|status(?: code)?|http(?:/[\d.]+)?(?: error)?)\W{0,3}401\b|^401\b|\binvalid_api_key\b`),
		Explanation: "The provider's server answered 401 Unauthorized: the request lacked valid credentials.",
		Remedy:      "Pass a valid api_key or cookies for this provider.",
	},
	{
		ID:          SigAuthAPIServerKey,
		Class:       ClassAuth,
		Message:     regexp.MustCompile(`(?i)\bG4F API key\b`),
		Explanation: "The g4f API server was started with --g4f-api-key and refused the request: no key, or not its key.",
		Remedy:      "Give g4fdiag the key the server was started with; it sends it as Authorization: Bearer and g4f-api-key.",
	},
	{
		ID:    SigAuthAPIKey,
		Class: ClassAuth,
		Message: regexp.MustCompile(`(?i)\bapi[ _-]?key\b[^\n]{0,60}?\b(?:required|missing|needed|invalid|incorrect|not (?:set|provided|found|given))\b|` +
			`\b(?:missing|invalid|incorrect|no|requires? an?|provide an?|add an?)\s+"?api[ _-]?key\b`),
		Explanation: "The provider asks for an API key.",
		Remedy:      "Pass api_key= for this provider, or leave it out of the scan.",
	},
	{
		// A 403 is mostly a block (Cloudflare, a region) and stays
		// http-status; a 401 or 403 whose body names the credentials is
		// auth. Bodies as OpenAI-compatible servers send them:
		// {"error": {"message": "Invalid API key", ...}}, "Not
		// authenticated", "Invalid authentication credentials".
		ID:    SigAuthHTTPBody,
		Class: ClassAuth,
		Types: httpErrorTypes,
		Message: regexp.MustCompile(`(?i)\b(?:invalid|incorrect|missing|expired|revoked)[ _-]?(?:api[ _-]?key|(?:auth(?:entication|orization)?|access|bearer)[ _-]?token|credentials)\b|` +
			`\bnot authenticated\b|\bauthentication (?:failed|required)\b|\binvalid authentication\b`),
		Explanation: "The provider's server refused the request (401 or 403) and its answer says why: the credentials " +
			"(an API key or token) are missing, wrong or expired. Not a block and not a loop fault.",
		Remedy: "Pass a valid api_key (or the provider's token or cookies); check that it is not expired or revoked.",
	},
	{
		// Unverified wording, as providers phrase it: a ValueError
		// "<Provider> needs an auth token", "Missing access token",
		// "auth token is required".
		ID:    SigAuthToken,
		Class: ClassAuth,
		Message: regexp.MustCompile(`(?i)\b(?:needs?|requires?|missing|invalid|expired|no|provide)\s+(?:an?\s+)?(?:valid\s+)?(?:auth(?:entication|orization)?|access|bearer|session)[ _-]?token\b|` +
			`\b(?:auth|access)[ _-]?token\b[^\n]{0,60}?\b(?:required|missing|invalid|expired|not (?:set|provided|found|given))\b`),
		Explanation: "The provider needs a token (an auth, access or session token, often read from a browser's cookies " +
			"or a .har file) and had none, or a stale one.",
		Remedy: "Give the provider its token (api_key=, cookies or a .har file), or leave it out of the scan.",
	},

	// --- provider errors with a known reason ---
	{
		ID:          SigRateLimited,
		Class:       ClassRateLimit,
		Types:       []string{"RateLimitError"},
		Explanation: "The provider refused the request because of a rate limit.",
		Remedy:      "Wait and retry, or scan with less --concurrency and --repeat.",
	},
	{
		// By type first; its message also matches under any type in the
		// message pass (an Exception(f"Error {status}: ...") of a
		// provider, a 429 re-raised through asyncio.run), before
		// http-status-message would call it a plain provider error. Quota
		// wording: OpenAI-compatible bodies ("You exceeded your current
		// quota", insufficient_quota) and Google's RESOURCE_EXHAUSTED.
		ID:    SigRateLimitedHTTP,
		Class: ClassRateLimit,
		Types: httpErrorTypes,
		Message: regexp.MustCompile(`(?i)(?:response|status(?: code)?|http(?:/[\d.]+)?(?: error)?|error)\W{0,3}429\b|^429\b|too many requests|` +
			`rate[ _-]?limit(?:ed|_exceeded| exceeded| reached)|` + quotaWords),
		Explanation: "The provider refused the request: 429 Too Many Requests, or the account's quota is spent.",
		Remedy:      "Wait and retry, or scan with less --concurrency and --repeat; a spent quota needs another key or plan.",
	},
	{
		ID:          SigCloudflare,
		Class:       ClassProviderError,
		Types:       []string{"CloudflareError"},
		Explanation: "The provider's site is behind a Cloudflare challenge that blocked the request.",
		Remedy:      "Nothing in the event loop to fix; the provider needs a browser session or cookies from one.",
	},
	{
		ID:          SigHTTPStatus,
		Class:       ClassProviderError,
		Types:       httpErrorTypes,
		Explanation: "The provider's server answered with an HTTP error status (blocked, outage or changed API).",
		Remedy:      "Nothing in the event loop to fix; check the provider's status or choose another provider.",
	},
	{
		ID:          SigHTTPStatusMessage,
		Class:       ClassProviderError,
		Message:     regexp.MustCompile(`(?i)(?:response|status(?: code)?|http(?:/[\d.]+)?(?: error)?)\W{0,3}[45]\d\d\b|^[45]\d\d, message=`),
		Explanation: "The provider's server answered with an HTTP error status (blocked, outage or changed API).",
		Remedy:      "Nothing in the event loop to fix; check the provider's status or choose another provider.",
	},
	{
		ID:          SigModelNotFound,
		Class:       ClassProviderError,
		Types:       []string{"ModelNotFoundError", "ModelNotSupportedError", "ModelNotAllowedError"},
		Explanation: "The provider does not offer the requested model.",
		Remedy:      "Pass a model the provider lists (g4fdiag providers), or let the scan use its default model.",
	},
	{
		ID:          SigStreamNotSupported,
		Class:       ClassProviderError,
		Types:       []string{"StreamNotSupportedError"},
		Explanation: "The provider does not support streaming, so streaming modes cannot work with it.",
		Remedy:      "Use the non-streaming modes for this provider.",
	},

	// --- missing requirements ---
	{
		ID:          SigMissingRequirements,
		Class:       ClassMissingRequirements,
		Types:       []string{"MissingRequirementsError"},
		Unless:      nestAsyncio,
		Explanation: "g4f says a package this provider needs is not installed.",
		Remedy:      "Install the package the message names (pip install -U ...) in the scanned environment.",
	},
	{
		ID:          SigMissingRequirementsInstall,
		Class:       ClassMissingRequirements,
		Message:     regexp.MustCompile(`Install (?:or update )?"[^"\n]+"(?: and "[^"\n]+")* packages?\b`),
		Unless:      nestAsyncio,
		Explanation: "g4f says a package this provider needs is not installed.",
		Remedy:      "Install the package the message names (pip install -U ...) in the scanned environment.",
	},
	{
		// uvloop 0.21 and older on Python 3.14: uvloop/__init__.py imports
		// a policy class 3.14 renamed, "ImportError: cannot import name
		// 'BaseDefaultEventLoopPolicy' from 'asyncio.events'"; on the 3.14
		// alphas its compiled loop failed first on "AttributeError: module
		// 'asyncio' has no attribute 'AbstractChildWatcher'" (both quoted
		// in MagicStack/uvloop issue 637). An environment problem, not a
		// loop fault: nothing ran on uvloop.
		ID:    SigLoopPackageOutdated,
		Class: ClassUnavailable,
		Types: []string{"ImportError", "AttributeError"},
		Message: regexp.MustCompile(`cannot import name '(?:_?BaseDefaultEventLoopPolicy|AbstractChildWatcher)' from 'asyncio(?:\.events)?'|` +
			`module 'asyncio' has no attribute '(?:AbstractChildWatcher|BaseDefaultEventLoopPolicy)'`),
		Explanation: "The installed uvloop is older than this Python: uvloop 0.21 and older import asyncio names Python 3.14 " +
			"removed or renamed, so uvloop cannot even be imported. Nothing ran on uvloop; this is an environment problem, " +
			"not a loop fault. (g4f itself imports uvloop only if it can, so it carries on without it.)",
		Remedy: "Upgrade uvloop (pip install -U uvloop; 0.22 supports Python 3.14), or run on the stdlib loop " +
			"(uvicorn --loop asyncio) until you can.",
	},
	{
		ID:      SigLoopPackageMissing,
		Class:   ClassUnavailable,
		Types:   []string{"ModuleNotFoundError", "ImportError"},
		Message: regexp.MustCompile(`No module named '?(?:uvloop|nest_asyncio2?)\b`),
		Explanation: "The event-loop package the app was set to run on (uvloop, or nest_asyncio) is not installed, so the app " +
			"could not start on that loop; nothing ran, so nothing here says whether g4f conflicts with it.",
		Remedy: "Install the package (Debian: python3-uvloop, python3-nest-asyncio), or start on the stdlib loop " +
			"(uvicorn --loop asyncio); g4fdiag check shows how g4f behaves on each loop.",
	},
	{
		ID:          SigMissingModule,
		Class:       ClassMissingRequirements,
		Types:       []string{"ModuleNotFoundError", "ImportError"},
		Explanation: "A module the provider imports is not installed (or not importable in this version).",
		Remedy:      "Install the missing module in the scanned environment.",
	},

	// --- provider state ---
	{
		ID:          SigNotWorking,
		Class:       ClassNotWorking,
		Types:       []string{"ProviderNotWorkingError"},
		Explanation: "g4f refused to run the provider because its class is marked working = False.",
		Remedy:      "Nothing to fix in the loop; scan with --include-not-working to try it anyway.",
	},
	{
		ID:          SigProviderNotFound,
		Class:       ClassProviderNotFound,
		Types:       []string{"ProviderNotFoundError"},
		Explanation: "This g4f does not know a provider of that name.",
		Remedy:      "Check the name against g4fdiag providers; names are case-sensitive and change between g4f releases.",
	},
	{
		ID:    SigNoProviderFound,
		Class: ClassProviderNotFound,
		Types: []string{"RetryNoProviderError"},
		Explanation: "g4f's RetryProvider had no provider to try: none of its providers serves the model (or streaming, " +
			"when stream=True was asked), so it raised before any request.",
		Remedy: "Pass a provider explicitly, or a model that a working provider serves (g4fdiag providers lists them).",
	},
	{
		ID:          SigProviderNotFoundMessage,
		Class:       ClassProviderNotFound,
		Message:     regexp.MustCompile(`(?i)\bprovider not found\b|\bprovider\b[^\n]{0,60}?\bnot found\b|\bunknown provider\b`),
		Explanation: "This g4f does not know a provider of that name.",
		Remedy:      "Check the name against g4fdiag providers; names are case-sensitive and change between g4f releases.",
	},

	// --- what a failure leaves behind, read from log lines (explain) ---
	{
		// Python's own warning (Lib/warnings.py): "RuntimeWarning:
		// coroutine 'f' was never awaited". g4f's wrapper coroutines are
		// reentry-never-awaited's; this row is every other one.
		ID:        SigCoroutineNeverAwaited,
		Class:     ClassProviderError,
		Line:      regexp.MustCompile(`\bcoroutine '[^']*' was never awaited`),
		LineHints: []string{"was never awaited"},
		Unless:    g4fWrapperCoroutine,
		Symptom:   true,
		Explanation: "A coroutine was created and then dropped without running: most often an async function called " +
			"without await (AsyncClient's create, create_async), or one handed to a loop that refused it. Alone it shows " +
			"no loop fault; the error that left it behind, if any, is not in the text.",
		Remedy: "Find the call that makes this coroutine and await it (or hand it to asyncio.run / create_task); if an " +
			"error came before the warning, explain that error.",
	},

	// --- loop: re-entry ---
	{
		ID:      SigReentryUvloop,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`(?:^|[^A-Za-z])this event loop is already running`),
		Explanation: "g4f's sync wrapper called run_until_complete on the uvloop loop already running on this thread. " +
			"uvloop cannot be re-entered and nest_asyncio cannot patch it, so g4f does not even try: this is the documented conflict.",
		Remedy: "Inside async code use g4f.client.AsyncClient (await it); or run the sync call off the loop thread with " +
			"await asyncio.to_thread(...); or run the app on the stdlib loop (uvicorn --loop asyncio, uvloop uninstalled).",
		RemedyAt: "this call in %s runs the sync client inside the running loop: await AsyncClient there",
	},
	{
		ID:      SigReentryStdlib,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`This event loop is already running`),
		Explanation: "g4f's sync wrapper called run_until_complete on the stdlib loop already running on this thread, " +
			"and nest_asyncio was not there (or not the one this g4f imports) to make that loop re-entrant.",
		Remedy: "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...); " +
			"installing the nest_asyncio package g4f imports is a last resort.",
		RemedyAt: "this call in %s runs the sync client inside the running loop: await AsyncClient there",
	},
	{
		ID:      SigReentryAsyncioRun,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`asyncio\.run\(\) cannot be called from a running event loop`),
		Explanation: "A sync entry point (g4f's non-streaming wrapper or the provider itself) called asyncio.run while a loop " +
			"was already running on this thread.",
		Remedy:   "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...).",
		RemedyAt: "this call in %s runs the sync client inside the running loop: await AsyncClient there",
	},
	{
		ID:          SigReentryOtherLoop,
		Class:       ClassLoopReentry,
		Types:       []string{"RuntimeError"},
		Message:     regexp.MustCompile(`Cannot run the event loop while another loop is running`),
		Explanation: "Code under g4f created its own event loop and ran it on a thread where another loop is already running.",
		Remedy:      "Inside async code use g4f.client.AsyncClient; or run the sync call on its own thread with await asyncio.to_thread(...).",
		RemedyAt:    "this call in %s runs the sync client inside the running loop: await AsyncClient there",
	},
	{
		ID:    SigReentryNestAsyncioError,
		Class: ClassLoopReentry,
		Types: []string{"NestAsyncioError"},
		Explanation: "g4f's sync wrapper found a running loop on this thread and needs nest_asyncio to re-enter it, " +
			"but the nest_asyncio module this g4f imports (nest_asyncio, or nest_asyncio2 from 2026 releases) is not importable.",
		Remedy: "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...); " +
			"installing the nest_asyncio package this g4f imports is a last resort.",
		RemedyAt: "this call in %s runs the sync client inside the running loop, which g4f re-enters only with nest_asyncio: await AsyncClient there",
	},
	{
		ID:      SigReentryNestAsyncioInstall,
		Class:   ClassLoopReentry,
		Message: regexp.MustCompile(`(?i)install (?:the )?"?nest[_-]?asyncio2?"? package`),
		Explanation: "g4f's sync wrapper found a running loop on this thread and asks for nest_asyncio to re-enter it; " +
			"the nest_asyncio module this g4f imports is not importable.",
		Remedy: "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...); " +
			"installing the nest_asyncio package this g4f imports is a last resort.",
		RemedyAt: "this call in %s runs the sync client inside the running loop, which g4f re-enters only with nest_asyncio: await AsyncClient there",
	},
	{
		ID:      SigReentryNestTask,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`(?s)Cannot enter into task .* while another task .* is being executed`),
		Explanation: "nest_asyncio let g4f's sync wrapper re-enter the running loop, but asyncio then refused to switch to a task " +
			"while the re-entered one was still executing; streams started this way can hang for good.",
		Remedy: "Inside async code use g4f.client.AsyncClient instead of relying on nest_asyncio; or run the sync call with " +
			"await asyncio.to_thread(...).",
		RemedyAt: "this call in %s re-enters the running loop through nest_asyncio: await AsyncClient there",
	},
	{
		// nest_asyncio.py and nest_asyncio2.py (_patch_loop) both raise
		// ValueError("Can't patch loop of type %s" % type(loop)) for a
		// loop that is not an asyncio.BaseEventLoop.
		ID:          SigReentryNestUvloop,
		Class:       ClassLoopReentry,
		Types:       []string{"ValueError"},
		Message:     regexp.MustCompile(`Can't patch loop of type`),
		Explanation: "nest_asyncio.apply() was called on a uvloop loop, which it cannot patch, so the running loop cannot be re-entered.",
		Remedy: "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...); " +
			"or run the app on the stdlib loop (uvicorn --loop asyncio).",
		RemedyAt: "this call in %s needs nest_asyncio on a uvloop loop, which it cannot patch: await AsyncClient there",
	},

	{
		// CPython's Lib/asyncio/base_events.py run_until_complete, and
		// nest_asyncio's and nest_asyncio2's patched run_until_complete:
		// RuntimeError('Event loop stopped before Future completed.').
		// Re-entry rather than a stopped loop of its own: the call waited
		// on a loop something else drives and stops (a nested run, a
		// Jupyter kernel, a server), which is the shared-loop fault
		// loop-reentry names; its remedy is the same, a loop of its own.
		ID:      SigReentryLoopStopped,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Event loop stopped before Future completed`),
		Explanation: "run_until_complete was driving a loop that something else stopped before the call's answer came: the " +
			"sync call shares its loop with other code (re-entered through nest_asyncio, or a loop another part of the app " +
			"stops).",
		Remedy: "Inside async code use g4f.client.AsyncClient; or run the sync call on its own thread with " +
			"await asyncio.to_thread(...), so it drives a loop nothing else touches.",
		RemedyAt: "this call in %s runs the sync client on a loop other code also drives: await AsyncClient there",
	},
	{
		// CPython's Lib/asyncio/base_events.py, selector_events.py and
		// proactor_events.py close(): RuntimeError("Cannot close a running
		// event loop"). Re-entry rather than loop-closed: nothing used a
		// closed loop; a sync wrapper treated the running loop as its own
		// and tried to close it, which only happens when it ran on a loop
		// already running on the thread.
		ID:      SigReentryCloseRunning,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Cannot close a running event loop`),
		Explanation: "A sync wrapper took the loop already running on this thread for its own and tried to close it when " +
			"the call ended.",
		Remedy:   "Inside async code use g4f.client.AsyncClient; or run the sync call with await asyncio.to_thread(...).",
		RemedyAt: "this call in %s runs the sync client inside the running loop, then closes that loop: await AsyncClient there",
	},
	{
		// g4f before 0.1.8 (g4f/Provider/helper.py, create_event_loop):
		// RuntimeError('Use "create_async" instead of "create" function in
		// a async loop.'). The later wording that adds 'Or install
		// (the) "nest_asyncio" package.' is reentry-nest-asyncio-install's.
		ID:      SigReentryCreateAsync,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Use "create_async" instead of "create"`),
		Unless:  nestAsyncio,
		Explanation: "An old g4f (2023) refused a sync create() called while an event loop was running on this thread: " +
			"its sync path would have had to re-enter that loop.",
		Remedy: "Await the async call there (g4f.ChatCompletion.create_async, or g4f.client.AsyncClient in current g4f); " +
			"or run the sync call with await asyncio.to_thread(...); and upgrade g4f.",
	},
	{
		// nest_asyncio2 (Chaoses-Ib/nest-asyncio2, _patch_asyncio) with
		// error_on_mispatched=True: RuntimeError("asyncio is already
		// patched by nest_asyncio"); the warning it gives otherwise is
		// reentry-nest-mispatch-warning.
		ID:      SigReentryNestMispatched,
		Class:   ClassLoopReentry,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`asyncio is already patched by nest_asyncio`),
		Explanation: "Two re-entry patches met: the original nest_asyncio patched asyncio first, then nest_asyncio2 (which " +
			"2026 g4f releases use) refused to patch over it. On Python 3.12 and later the old patch breaks asyncio's " +
			"tasks; the app depends on re-entering its running loop.",
		Remedy: "Remove the old nest_asyncio (pip uninstall nest_asyncio) and the nest_asyncio.apply() calls of other " +
			"libraries; better, stop re-entering: g4f.client.AsyncClient in async code, await asyncio.to_thread(...) for sync calls.",
	},

	// --- loop: missing, closed, mismatch ---
	{
		ID:      SigMissingThreadLoop,
		Class:   ClassLoopMissing,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`There is no current event loop in thread`),
		Explanation: "Code under g4f called asyncio.get_event_loop() on a thread that has no event loop " +
			"(a worker thread of Flask, a thread pool, or g4fdiag's baseline thread).",
		Remedy: "Use g4f.client.AsyncClient from async code, or give the thread a loop (asyncio.run(...) around the call, or " +
			"asyncio.set_event_loop(asyncio.new_event_loop()) first).",
		RemedyAt: "this call in %s runs the sync client on a thread with no event loop: wrap it in asyncio.run(...) there, or await AsyncClient from async code",
	},
	{
		ID:      SigMissingRunningLoop,
		Class:   ClassLoopMissing,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`no running event loop`),
		Explanation: "Code under g4f needs a running loop (asyncio.get_running_loop, create_task) and was called from sync code " +
			"with none running.",
		Remedy:   "Call this provider through g4f.client.AsyncClient from async code, or wrap the call in asyncio.run(...).",
		RemedyAt: "this call in %s needs a running event loop and has none: await AsyncClient from async code there, or wrap it in asyncio.run(...)",
	},
	{
		// anyio (agronholm/anyio, _core/_eventloop.py get_async_backend):
		// NoEventLoopError("Not currently running on any asynchronous
		// event loop. Available async backends: asyncio, trio"); older
		// anyio lets sniffio's AsyncLibraryNotFoundError("unknown async
		// library, or not in async context") through (python-trio/
		// sniffio, _impl.py). Both mean sniffio saw no running task.
		ID:    SigMissingAsyncLibrary,
		Class: ClassLoopMissing,
		Types: []string{"NoEventLoopError", "AsyncLibraryNotFoundError"},
		Message: regexp.MustCompile(`Not currently running on any asynchronous event loop|` +
			`unknown async library, or not in async context`),
		Explanation: "anyio (under httpx, starlette, FastAPI) asked sniffio which event loop runs the current task and got " +
			"none: the call ran in sync code or a thread with no loop, or, on Python 3.14, under nest_asyncio, whose patch " +
			"hides the current task from asyncio.current_task(), so code inside the loop looks loop-less.",
		Remedy: "On Python 3.14 drop nest_asyncio.apply() (from your code or a library such as chainlit's CLI) and use " +
			"g4f.client.AsyncClient from async code; from a thread, run the async call with asyncio.run(...) or an anyio portal.",
	},
	{
		// CPython's Lib/asyncio/timeouts.py (3.11+), Timeout.__aenter__:
		// RuntimeError("Timeout should be used inside a task"). loop-missing
		// rather than loop-mismatch: there is no task at all, so nothing
		// of another loop was awaited; the code ran where asyncio sees no
		// running task (a callback, a nest_asyncio re-entry on 3.14, a
		// loop run by hand). aiohttp's own "Timeout context manager ..."
		// is mismatch-timeout-outside-task.
		ID:      SigMissingTimeoutTask,
		Class:   ClassLoopMissing,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`^Timeout should be used inside a task`),
		Explanation: "asyncio.timeout() (used by aiohttp, httpx's anyio backend and asyncio.wait_for since Python 3.12) " +
			"found no current task: the code ran on a loop thread outside any task, most often under nest_asyncio on " +
			"Python 3.14, whose re-entered runs hide the current task, or from a plain callback.",
		Remedy: "Run the call inside a task (await it from async code, or asyncio.run(...) around it); on Python 3.14 " +
			"drop nest_asyncio and use g4f.client.AsyncClient instead of re-entering the loop.",
	},
	{
		ID:      SigClosedLoop,
		Class:   ClassLoopClosed,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Event loop is closed`),
		Explanation: "Something scheduled work on an event loop that had been closed, typically a loop g4f's sync wrapper " +
			"created for one call and closed, still held by a session or a generator.",
		Remedy:   "Use one loop for the client's lifetime: g4f.client.AsyncClient inside async code; close sessions before their loop.",
		RemedyAt: "this call in %s uses an event loop that was already closed: keep one loop and one AsyncClient for the client's lifetime there",
	},
	{
		ID:      SigMismatchDifferentLoop,
		Class:   ClassLoopMismatch,
		Types:   []string{"RuntimeError", "ValueError"},
		Message: regexp.MustCompile(`attached to a different loop|is bound to a different event loop|belongs to a different loop`),
		Explanation: "A future, lock or session created on one event loop was awaited on another, typically a shared client " +
			"created under one loop and reused after g4f's sync wrapper started a new one.",
		Remedy:   "Create async clients and sessions inside the loop that uses them; do not share them between sync and async calls.",
		RemedyAt: "this call in %s uses a client or session made on another event loop: create it inside the loop that runs this code",
	},
	{
		ID:      SigMismatchTimeoutOutsideTask,
		Class:   ClassLoopMismatch,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Timeout context manager should be used inside a task`),
		Explanation: "aiohttp found no current task on the loop its session or timeout was created for: the session was made " +
			"under one event loop (often one g4f's sync wrapper started for an earlier call) and used from another.",
		Remedy: "Create aiohttp sessions (and async clients) inside the loop that uses them; in async code use " +
			"g4f.client.AsyncClient rather than the sync client.",
		RemedyAt: "this call in %s uses an aiohttp session made on another event loop: create it inside the loop that runs this code",
	},
	{
		// CPython's Lib/asyncio/base_events.py _check_thread (debug
		// mode): RuntimeError("Non-thread-safe operation invoked on an
		// event loop other than the current one").
		ID:      SigMismatchWrongThread,
		Class:   ClassLoopMismatch,
		Types:   []string{"RuntimeError"},
		Message: regexp.MustCompile(`Non-thread-safe operation invoked on an event loop other than the current one`),
		Explanation: "Code on one thread scheduled work on the event loop of another thread (call_soon, create_task) instead " +
			"of handing it over thread-safely; asyncio's debug mode caught it. Without debug mode the same bug loses " +
			"callbacks or hangs.",
		Remedy: "From another thread use asyncio.run_coroutine_threadsafe(coro, loop) or loop.call_soon_threadsafe(...); " +
			"better, keep g4f calls on the loop that owns them (g4f.client.AsyncClient).",
		RemedyAt: "this call in %s touches another thread's event loop: hand the work over with asyncio.run_coroutine_threadsafe(...) there",
	},

	// --- loop, read from log lines (explain) ---
	{
		ID:        SigLoopSlowCallback,
		Class:     ClassLoopBlocked,
		Line:      regexp.MustCompile(`Executing <.*> took \d+(?:\.\d+)? seconds`),
		LineHints: []string{"Executing <"},
		Explanation: "asyncio's debug mode saw one step of a task (or a callback) hold the loop thread for that long: sync " +
			"code ran on the loop thread, and every other task of the loop waited meanwhile. A g4f sync call made from " +
			"async code does exactly this.",
		Remedy: "Run the sync call off the loop thread with await asyncio.to_thread(...), or use g4f.client.AsyncClient.",
	},
	{
		ID:        SigWorkerTimeoutUvicorn,
		Class:     ClassLoopBlocked,
		Line:      regexp.MustCompile(`\bWORKER TIMEOUT \(pid:(?P<pid>\d+)\)`),
		LineHints: []string{"WORKER TIMEOUT"},
		LineAfter: regexp.MustCompile(`UvicornWorker`),
		Explanation: "gunicorn killed a uvicorn worker that stopped reporting alive. A uvicorn worker reports from a task of " +
			"its event loop, so the loop itself stopped running for the whole --timeout: its thread was blocked (or " +
			"deadlocked) by sync code such as a g4f sync call, not merely by a slow request.",
		Remedy: "Keep sync g4f calls off the loop thread (await asyncio.to_thread(...) or g4f.client.AsyncClient); to see " +
			"the blocking call, py-spy dump the worker before the timeout and run g4fdiag explain on the dump.",
	},
	{
		// nest_asyncio2's warning when the original nest_asyncio patched
		// asyncio first (Python 3.12+): "UserWarning: asyncio is already
		// patched by nest_asyncio. You may encounter bugs related to
		// asyncio".
		ID:        SigReentryNestMispatchWarning,
		Class:     ClassLoopReentry,
		Line:      regexp.MustCompile(`Warning: asyncio is already patched by nest_asyncio\b`),
		LineHints: []string{"already patched by nest_asyncio"},
		Symptom:   true,
		Explanation: "nest_asyncio2 found asyncio already patched by the original nest_asyncio and warned: the app " +
			"re-enters its running loop through a patch that breaks asyncio's tasks on Python 3.12 and later. Re-entry " +
			"is set up; a hang or task error later is its likely effect.",
		Remedy: "Remove the old nest_asyncio and the libraries' nest_asyncio.apply() calls; better, stop re-entering: " +
			"g4f.client.AsyncClient in async code, await asyncio.to_thread(...) for sync calls.",
	},
	{
		// "RuntimeWarning: coroutine 'await_callback' was never awaited",
		// for g4f's wrapper coroutines (g4fWrapperCoroutine): run_until_
		// complete and asyncio.run check for a running loop before they
		// take the coroutine, so one left unawaited was refused, and
		// these wrappers never meet a closed loop of their own.
		ID:        SigReentryNeverAwaited,
		Class:     ClassLoopReentry,
		Line:      g4fWrapperCoroutine,
		LineHints: []string{"was never awaited"},
		Symptom:   true,
		Explanation: "g4f's sync wrapper made its coroutine and handed it to run_until_complete or asyncio.run, which " +
			"refused it without running it: an event loop was already running on this thread. The error itself was " +
			"not pasted (or was caught); the warning is what it left behind.",
		Remedy: "Inside async code use g4f.client.AsyncClient (await it); or run the sync call off the loop thread with " +
			"await asyncio.to_thread(...).",
	},
	{
		// CPython's Lib/asyncio/tasks.py Task.__del__ logs "Task was
		// destroyed but it is pending!" for a task collected before it
		// ended. loop-closed: the loop the task belonged to was closed or
		// dropped under it (a sync wrapper's own loop closed at the end
		// of a call, asyncio.run ending with the task still waiting).
		ID:        SigTaskDestroyedPending,
		Class:     ClassLoopClosed,
		Line:      regexp.MustCompile(`Task was destroyed but it is pending!`),
		LineHints: []string{"Task was destroyed"},
		Symptom:   true,
		Explanation: "asyncio collected a task that had not finished: the loop it ran on was stopped or closed with the " +
			"task still waiting (a sync wrapper's private loop closed at the end of a call, a stream abandoned mid-way, " +
			"asyncio.run returning while the task waited), or nothing kept a reference to it. Usually a symptom; an error " +
			"before it, if any, is the cause.",
		Remedy: "Keep one loop for the client's lifetime (g4f.client.AsyncClient in async code), await or cancel the tasks " +
			"you start before their loop ends, and keep a reference to every task you create.",
	},
	{
		ID:        SigDeadlockTaskCycle,
		Class:     ClassDeadlock,
		Line:      regexp.MustCompile(`^\s*cycle: \S.* → `),
		LineHints: []string{"cycle: "},
		LineAfter: regexp.MustCompile(`await-graph contains cycles`),
		Explanation: "Python 3.14's asyncio pstree found tasks that await each other in a circle: each waits for the next " +
			"to finish, so none ever does, and the loop runs on with nothing to do for them.",
		Remedy: "Break the circle: a task must not await a task that (through others) awaits it; the cycle line names " +
			"the tasks, python -m asyncio ps PID shows where each one awaits.",
	},
}

// StateSignatures are the signatures Classify assigns from how a cell ended
// rather than from an exception.
var StateSignatures = []Signature{
	{ID: SigOK, Class: ClassOK},
	{ID: SigSkipped, Class: ClassSkipped},
	{ID: SigInterrupted, Class: ClassSkipped},
	{ID: SigProviderNotWorking, Class: ClassNotWorking,
		Explanation: "The provider class is marked working = False; the scan did not run it.",
		Remedy:      "Scan with --include-not-working to run it anyway."},
	{ID: SigLoopUnavailable, Class: ClassUnavailable,
		Explanation: "This loop variant could not be set up in the scanned interpreter (uvloop or nest_asyncio not installed); or, for one of g4fdiag's probes, this g4f lacks the base class the probe is built on (the evidence says which).",
		Remedy:      "Install the package to scan that variant; the other variants still tell the story. A probe on a base class this g4f does not have has nothing to test here."},
	{ID: SigWorkerCrashed, Class: ClassCrashed,
		Explanation: "The Python worker died while running the cell (a segfault, an os._exit, or the OOM killer).",
		Remedy:      "Read the worker's stderr tail below; rerun the cell alone with g4fdiag repro."},
	{ID: SigDeadlockLoopThread, Class: ClassDeadlock,
		Explanation: "The loop thread is blocked waiting (future.result(), a lock, an event, a queue) for work that can only run " +
			"on that same loop, so the wait can never end.",
		Remedy: "Never block the loop thread on the loop's own work: await the coroutine instead, or run the sync call with " +
			"await asyncio.to_thread(...).",
		RemedyAt: "this call in %s waits on the loop thread for something only that loop can deliver: await it there instead of blocking"},
	{ID: SigLoopThreadBlocked, Class: ClassLoopBlocked,
		Explanation: "A sync call ran on the loop thread and blocked it (sleep, sync I/O, a long computation): every other task " +
			"of that loop stalls meanwhile.",
		Remedy:   "Run the sync call off the loop thread with await asyncio.to_thread(...), or use g4f.client.AsyncClient.",
		RemedyAt: "this call in %s blocks the loop thread: move it off the loop with await asyncio.to_thread(...) there"},
	{ID: SigStreamStalled, Class: ClassStall,
		Explanation: "The stream started and then stopped sending chunks before the deadline, with the call still running.",
		Remedy:      "Compare with the other loops: a stall only under nest_asyncio points at loop re-entry; everywhere, at the provider."},
	{ID: SigStreamStillRunning, Class: ClassTimeout,
		Explanation: "The stream was still sending chunks at its own pace when the call was cut: a long or slow answer, not " +
			"a stall (the silence since its last chunk was short next to the intervals between its chunks).",
		Remedy: "Raise --timeout to let the stream finish; a stall would show a silence long next to the stream's own pace."},
	{ID: SigNoAnswer, Class: ClassTimeout,
		Explanation: "No answer before the cell deadline and no sign of a blocked loop: a hang in the provider or the network.",
		Remedy:      "Raise --timeout to tell slow from hung; g4fdiag repro shows the stacks of the hung call."},
	{ID: SigHangDump, Class: ClassTimeout,
		Explanation: "The stacks were dumped while the process hung (faulthandler, py-spy, gdb py-bt, a server's thread " +
			"dump, asyncio ps or pstree): no event-loop thread in them is blocked or waits on itself (an idle loop waits " +
			"in select() with no callback ready, which is no loop fault), so the loop kept running and the hang is in what " +
			"it waits for: a provider's network call, a thread, a lock, another loop.",
		Remedy: "Read the thread named in the evidence; g4fdiag repro --provider X reruns the call with a deadline and " +
			"shows the stacks of the hung call."},
	{ID: SigHangDescribed, Class: ClassTimeout,
		Explanation: "The text describes a hang but holds no stack dump and no error. A guess from the words alone (low " +
			"confidence): nothing in it tells a loop thread blocked by a sync call or waiting on its own loop from a " +
			"provider or network that never answers.",
		Remedy: "Dump the stacks of the hung process and explain the dump: py-spy dump --pid PID; or start Python with " +
			"faulthandler.register(signal.SIGUSR1, all_threads=True) and kill -USR1 PID; or gdb -p PID -batch -ex " +
			"'thread apply all py-bt'; on Python 3.14 also python -m asyncio pstree PID. Then: g4fdiag explain dump.txt."},
	{ID: SigKeyboardInterrupt, Class: ClassSkipped,
		Explanation: "The program was stopped (Ctrl-C) while it waited; its stack shows an event loop idle, waiting for I/O, " +
			"so nothing blocked the loop: the call was slow or hung on the network.",
		Remedy: "Not a loop fault as far as the stack shows; rerun with a timeout, or g4fdiag repro --provider X to get a verdict."},
	{ID: SigRetryAnswered, Class: ClassFlaky,
		Explanation: "The same provider failed some attempts and answered others (g4f's RetryProvider retries it): the failure " +
			"is intermittent, so a single run may pass or fail.",
		Remedy: "Read the failing attempts' error in the findings; g4fdiag check --repeat N measures how often each call fails."},
	{ID: SigNoCalls, Class: ClassProviderError,
		Explanation: "The cell ended without recording a single call.",
		Remedy:      "Rerun the cell with g4fdiag repro and read the worker's output."},
	FallbackSignature,
	{ID: SigUnclassified, Class: ClassUnclassified,
		Explanation: "The text shows an error (an exception, a traceback or its frames, an error log line) that explain " +
			"cannot place: no signature knows the exception and nothing ties it to a g4f provider, or the traceback was " +
			"cut before the line that names it. It is an error, not a clean run; as far as explain can tell it is not a " +
			"loop fault.",
		Remedy: "Read the exception and the innermost frames in the evidence. If the error comes from g4f, g4fdiag repro " +
			"--provider X gets a verdict from a real call; paste the whole traceback (its last line names the exception) " +
			"when part of it was cut."},
}

// fallbackSignature is the verdict for an error no signature knows.
var FallbackSignature = Signature{
	ID:          SigProviderError,
	Class:       ClassProviderError,
	Explanation: "The provider raised an error that no signature knows; as far as diag can tell it is not a loop fault.",
	Remedy:      "Read the exception chain (g4fdiag repro); compare with the baseline cell of the same provider.",
}

// typeIn reports whether the exception type typ is one of names.
func typeIn(names []string, typ string) bool {
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return false
	}
	for _, n := range names {
		if typ == n || strings.HasSuffix(typ, "."+n) {
			return true
		}
	}
	return false
}

func (s *Signature) vetoed(msg string) bool { return s.Unless != nil && s.Unless.MatchString(msg) }

// byType is the first pass: the exception's type is one of s.Types.
func (s *Signature) byType(typ, msg string) bool {
	if len(s.Types) == 0 || !typeIn(s.Types, typ) || s.vetoed(msg) {
		return false
	}
	return s.Message == nil || s.Message.MatchString(msg)
}

// byMessage is the last pass: the message alone.
func (s *Signature) ByMessage(msg string) bool {
	return s.Message != nil && !s.vetoed(msg) && s.Message.MatchString(msg)
}

// Bounds on the work one exception costs, whatever its message holds: the
// recursion into quoted messages, the quotes read at each level, and the
// bytes of a message the signatures read (the tell is always near the start).
const (
	maxQuoteDepth = 2
	MaxQuotes     = 16
	MaxMatchBytes = 64 << 10
)

// match is the signature an exception matched and the message line that
// showed it.
type Match struct {
	Sig  *Signature
	Line string // "Type: message" of the matching (possibly quoted) exception
}

// matchException finds the signature of one exception in three passes, each
// in table order: by its type (Types, narrowed by Message); else by the
// exceptions its message quotes, the worst of them; else by its message
// alone (Message).
func MatchException(typ, msg string) (Match, bool) {
	msg = CapMessage(msg)
	if m, ok := MatchType(typ, msg); ok {
		return m, true
	}
	if m, ok := MatchQuoted(typ, msg, 0); ok {
		return m, true
	}
	return matchMessage(typ, msg)
}

// matchPyException finds the signature of one recorded exception: a
// protocol break by its kind (Protocol), any other by matchException.
func matchPyException(e scan.PyException) (Match, bool) {
	if e.Protocol == "" {
		return MatchException(e.Type, e.Message)
	}
	var violation *Signature
	for i := range Signatures {
		s := &Signatures[i]
		if slices.Contains(s.Protocol, e.Protocol) {
			return Match{s, pytext.FormatExceptionLine(e.Type, CapMessage(e.Message), pytext.LineEvidence)}, true
		}
		if slices.Contains(s.Protocol, scan.ProtocolViolation) {
			violation = s
		}
	}
	if violation == nil {
		return Match{}, false
	}
	return Match{violation, pytext.FormatExceptionLine(e.Type, CapMessage(e.Message), pytext.LineEvidence)}, true
}

func CapMessage(msg string) string {
	if len(msg) > MaxMatchBytes {
		return msg[:MaxMatchBytes]
	}
	return msg
}

func MatchType(typ, msg string) (Match, bool) {
	for i := range Signatures {
		if Signatures[i].byType(typ, msg) {
			return Match{&Signatures[i], pytext.FormatExceptionLine(typ, msg, pytext.LineEvidence)}, true
		}
	}
	return Match{}, false
}

func matchMessage(typ, msg string) (Match, bool) {
	for i := range Signatures {
		if Signatures[i].ByMessage(msg) {
			return Match{&Signatures[i], pytext.FormatExceptionLine(typ, msg, pytext.LineEvidence)}, true
		}
	}
	return Match{}, false
}

// matchQuoted matches the exceptions msg quotes and returns the worst match.
func MatchQuoted(typ, msg string, depth int) (Match, bool) {
	if depth >= maxQuoteDepth {
		return Match{}, false
	}
	var best Match
	found := false
	for qtyp, qmsg := range pytext.QuotedExceptions(msg, MaxQuotes>>(2*depth)) {
		m, ok := MatchType(qtyp, qmsg)
		if !ok {
			m, ok = MatchQuoted(qtyp, qmsg, depth+1)
		}
		if !ok {
			m, ok = matchMessage(qtyp, qmsg)
		}
		if ok && (!found || Worse(m.Sig.Class, best.Sig.Class)) {
			best, found = m, true
		}
	}
	if found {
		if t := pytext.ShortType(typ); t != "" && depth == 0 {
			best.Line = t + ": " + best.Line
		}
	}
	return best, found
}

// ProviderError is one provider's exception in a combined message and the
// signature it matched. g4f's RetryProviderError (g4f/providers/
// retry_provider.py, raise_exceptions) reads "RetryProvider failed:\n" and
// then one "{provider}: {type}: {exception}" line per provider it tried, in
// every release read; later releases raise a lone provider's error, and
// MissingAuthError or NoValidHarFileError, unwrapped, and chain the first
// provider's error as the cause (raise ... from it). RetryNoProviderError
// reads "No provider found".
type ProviderError struct {
	Provider string
	Match    Match // Line is the quoted exception's "Type: message"
}

// ProviderErrors classifies each provider's exception that msg quotes, the
// worst class first (the loop classes), else in the order quoted. An
// exception no signature knows is the fallback's. Lines without a provider
// name, or whose "name" is an error type or a log level ("Error:
// RuntimeError: ..."), are left out.
func ProviderErrors(msg string) []ProviderError {
	if !strings.Contains(msg, "\n") {
		return nil // one line quotes one exception at most
	}
	msg = CapMessage(msg)
	var out []ProviderError
	for q := range pytext.NamedQuotes(msg, MaxQuotes) {
		if !providerLike(q.Name) {
			continue
		}
		m, ok := MatchType(q.Type, q.Message)
		if !ok {
			m, ok = MatchQuoted(q.Type, q.Message, 1)
		}
		if !ok {
			m, ok = matchMessage(q.Type, q.Message)
		}
		if !ok {
			m = Match{&FallbackSignature, pytext.FormatExceptionLine(q.Type, q.Message, pytext.LineEvidence)}
		}
		out = append(out, ProviderError{Provider: q.Name, Match: m})
	}
	slices.SortStableFunc(out, func(a, b ProviderError) int { return a.Match.Sig.Class.rank() - b.Match.Sig.Class.rank() })
	return out
}

// providerLike reports whether a name before a quoted exception can be a
// provider's: not empty, not an exception type, not a log level.
func providerLike(name string) bool {
	if name == "" {
		return false
	}
	for _, suffix := range []string{"Error", "Exception", "Warning"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	switch strings.ToUpper(name) {
	case "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "TRACE", "EXCEPTION", "TRACEBACK":
		return false
	}
	return true
}

// PerProvider is "Blackbox loop-reentry, DDG network": each provider of a
// combined message with its own class, worst first.
func PerProvider(ps []ProviderError) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Provider + " " + string(p.Match.Sig.Class)
	}
	return strings.Join(parts, ", ")
}
