package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/secret"
	"github.com/g4fdiag/g4fdiag/repro/sse"
)

// chunkFrame is one OpenAI chat.completion.chunk frame carrying content.
func chunkFrame(content string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini", "provider": "P",
		"choices": []map[string]any{{"index": 0, "delta": map[string]any{"role": "assistant", "content": content}, "finish_reason": nil}},
	})
	return "data: " + string(b) + "\n\n"
}

const completionBody = `{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"gpt-4o-mini","provider":"P",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{}}`

func sseHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		io.WriteString(w, body)
	}
}

func answerHandler(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// startServer serves h and returns its base URL. Closing release, before
// the server closes, ends handlers that wait for the test to finish.
func startServer(t *testing.T, h http.Handler, release ...chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, ch := range release {
		t.Cleanup(func() { close(ch) }) // runs first: handlers return, then Close can end
	}
	return srv.URL
}

// rawServer accepts TCP connections and hands each to serve: a server that
// is not (or not quite) HTTP.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// closedAddress is the base URL of a listener that was closed: connection refused.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func cell(mode scan.Mode) scan.Cell {
	return scan.Cell{Provider: "Blackbox", Mode: mode, Loop: scan.LoopServer, Model: "gpt-4o-mini", Concurrency: 1, Repeat: 1}
}

// testLease lends one fixed server and records how the cell used it.
type testLease struct {
	base string
	log  func(id string, from, to time.Time) string

	mu       sync.Mutex
	returned []bool // the hung argument of each Return
	logged   []string
	early    bool // RequestLog before Return: the log could be incomplete
}

func (l *testLease) Base() string { return l.base }

func (l *testLease) Return(hung bool) *scan.Stacks {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.returned = append(l.returned, hung)
	if hung {
		return &scan.Stacks{Threads: "Thread 0x1 (most recent call first):\n  File \"server.py\", line 1 in serve\n"}
	}
	return nil
}

func (l *testLease) RequestLog(id string, from, to time.Time) string {
	l.mu.Lock()
	l.logged = append(l.logged, id)
	l.early = l.early || len(l.returned) == 0
	l.mu.Unlock()
	if l.log == nil {
		return ""
	}
	return l.log(id, from, to)
}

// lend makes Options that lend l for every loop.
func lend(l *testLease) Options {
	return Options{Use: func(context.Context, scan.Loop) (Lease, error) { return l, nil }}
}

func run(t *testing.T, o Options, c scan.Cell, timeout time.Duration) scan.Observation {
	t.Helper()
	obs, err := New(o).RunCell(context.Background(), c, timeout)
	if err != nil {
		t.Fatalf("RunCell: %v", err)
	}
	return obs
}

// The table: what each server answers, what the call records, and what
// diag makes of it.
func TestDriverAgainstServers(t *testing.T) {
	t.Parallel()
	type want struct {
		end      scan.End
		outcome  scan.Outcome
		status   int
		typ      string
		message  string // the exception's message starts with this
		class    diag.Class
		sig      string
		evidence string // the verdict's evidence starts with this
	}
	hijack := func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		part := chunkFrame("Hi") + `data: {"choi`
		fmt.Fprintf(buf, "%x\r\n%s\r\n", len(part), part)
		buf.Flush()
	}
	cases := []struct {
		name    string
		mode    scan.Mode
		handler http.HandlerFunc
		raw     func(net.Conn) // instead of handler: a TCP server
		base    func(t *testing.T) string
		opts    func(*Options)
		want    want
	}{
		{name: "good stream", mode: scan.ModeAPISSE,
			handler: sseHandler(chunkFrame("Hel") + chunkFrame("lo") + chunkFrame("!") + "data: [DONE]\n\n"),
			want:    want{end: scan.EndCompleted, outcome: scan.OutcomeOK, status: 200, class: diag.ClassOK, sig: "ok"}},
		{name: "good JSON", mode: scan.ModeAPIJSON,
			handler: answerHandler(200, "application/json", completionBody),
			want:    want{end: scan.EndCompleted, outcome: scan.OutcomeOK, status: 200, class: diag.ClassOK, sig: "ok"}},

		// g4f's own error answers, verbatim
		{name: "in-band loop error under 200", mode: scan.ModeAPISSE, handler: sseHandler(sampleSSELoop),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeStreamError, "RuntimeError: this event loop is already running.",
				diag.ClassLoopReentry, "reentry-uvloop", "StreamError: RuntimeError: this event loop is already running."}},
		{name: "in-band network error under 200", mode: scan.ModeAPISSE, handler: sseHandler(sampleSSENetwork),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeStreamError, "ClientConnectorError: Cannot connect to host www.blackbox.ai:443",
				diag.ClassNetwork, "network-aiohttp", "StreamError: ClientConnectorError: Cannot connect"}},
		{name: "500 JSON loop error", mode: scan.ModeAPIJSON, handler: answerHandler(500, "application/json", sampleJSONLoop),
			want: want{scan.EndCompleted, scan.OutcomeError, 500, TypeErrorResponse, "RuntimeError: this event loop is already running.",
				diag.ClassLoopReentry, "reentry-uvloop", "ErrorResponse: RuntimeError: this event loop is already running."}},
		{name: "500 missing requirements", mode: scan.ModeAPIJSON, handler: answerHandler(500, "application/json", sampleJSONRequirements),
			want: want{scan.EndCompleted, scan.OutcomeError, 500, TypeErrorResponse, `MissingRequirementsError: Install or update "curl_cffi" package`,
				diag.ClassMissingRequirements, "missing-requirements", "ErrorResponse: MissingRequirementsError"}},
		{name: "500 stream not supported", mode: scan.ModeAPISSE, handler: answerHandler(500, "application/json", sampleJSONNoStream),
			want: want{scan.EndCompleted, scan.OutcomeError, 500, TypeErrorResponse, "StreamNotSupportedError: GizAI",
				diag.ClassProviderError, "stream-not-supported", "ErrorResponse: StreamNotSupportedError"}},
		{name: "404 provider not found", mode: scan.ModeAPISSE,
			handler: answerHandler(404, "application/json", `{"error": {"message": "ProviderNotFoundError: Provider not found: Nope"}, "model": "gpt-4o-mini", "provider": "Nope"}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 404, TypeErrorResponse, "ProviderNotFoundError: Provider not found: Nope",
				diag.ClassProviderNotFound, "provider-not-found", "ErrorResponse: ProviderNotFoundError"}},
		{name: "in-band provider not found", mode: scan.ModeAPISSE,
			handler: sseHandler(`data: {"error": {"message": "ProviderNotFoundError: Provider not found: Nope"}, "model": "", "provider": "Nope"}` + "\n\ndata: [DONE]\n\n"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeStreamError, "ProviderNotFoundError",
				diag.ClassProviderNotFound, "provider-not-found", "StreamError: ProviderNotFoundError"}},
		{name: "older g4f: error frame without line end or [DONE]", mode: scan.ModeAPISSE,
			handler: sseHandler(chunkFrame("Hi") + `data: {"error": {"message": "RuntimeError: this event loop is already running."}, "model": "gpt-4o-mini", "provider": "Blackbox"}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeStreamError, "RuntimeError: this event loop is already running.",
				diag.ClassLoopReentry, "reentry-uvloop", "StreamError: RuntimeError"}},
		{name: "an error frame wins over a cut stream", mode: scan.ModeAPISSE,
			handler: sseHandler(`data: {"error": {"message": "RuntimeError: Event loop is closed"}}` + "\n\ndata: {\"cho"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeStreamError, "RuntimeError: Event loop is closed",
				diag.ClassLoopClosed, "closed-loop", "StreamError: RuntimeError: Event loop is closed"}},
		{name: "401 server key", mode: scan.ModeAPIJSON,
			handler: answerHandler(401, "application/json", `{"error": {"message": "G4F API key required"}}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 401, TypeErrorResponse, "G4F API key required",
				diag.ClassAuth, "auth-api-server-key", "ErrorResponse: G4F API key required"}},
		{name: "older g4f: 403 detail", mode: scan.ModeAPISSE,
			handler: answerHandler(403, "application/json", `{"detail":"Invalid G4F API key"}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 403, TypeErrorResponse, "Invalid G4F API key",
				diag.ClassAuth, "auth-api-server-key", "ErrorResponse: Invalid G4F API key"}},
		{name: "422 validation details", mode: scan.ModeAPIJSON,
			handler: answerHandler(422, "application/json", `{"detail": [{"loc": ["body", "messages"], "message": "Field required", "type": "missing"}]}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 422, TypeErrorResponse, `{"detail": [{"loc"`,
				diag.ClassProviderError, "provider-error", "ErrorResponse: {"}},

		// transport
		{name: "connection refused", mode: scan.ModeAPISSE, base: closedAddress,
			want: want{scan.EndCompleted, scan.OutcomeError, 0, "ConnectionRefusedError", "[Errno 111] Connect call failed: dial tcp 127.0.0.1:",
				diag.ClassNetwork, "network-connection", "ConnectionRefusedError: [Errno 111]"}},
		{name: "not HTTP", mode: scan.ModeAPIJSON,
			raw: func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1\r\n")
			},
			want: want{scan.EndCompleted, scan.OutcomeError, 0, TypeProtocolError, `not HTTP: malformed HTTP response "SSH-2.0-OpenSSH_9.2p1"`,
				diag.ClassProtocol, "protocol-not-http", "ProtocolError: not HTTP"}},
		{name: "not HTTP, speaking first", mode: scan.ModeAPIJSON,
			raw: func(c net.Conn) {
				io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1\r\n")
				bufio.NewReader(c).ReadString('\n')
			},
			want: want{scan.EndCompleted, scan.OutcomeError, 0, TypeProtocolError, "not HTTP: ",
				diag.ClassProtocol, "protocol-not-http", "ProtocolError: not HTTP"}},
		{name: "closed without an answer", mode: scan.ModeAPISSE,
			raw: func(c net.Conn) { bufio.NewReader(c).ReadString('\n') },
			want: want{scan.EndCompleted, scan.OutcomeError, 0, TypeProtocolError, "truncated answer: the server closed the connection without an answer",
				diag.ClassProtocol, "protocol-truncated", "ProtocolError: truncated answer"}},

		// protocol breaks
		{name: "wrong content type", mode: scan.ModeAPISSE, handler: answerHandler(200, "text/plain", "Hello!"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "wrong content type: HTTP 200 sent text/plain, not text/event-stream: Hello!",
				diag.ClassProtocol, "protocol-content-type", "ProtocolError: wrong content type"}},
		{name: "JSON answer to stream=true", mode: scan.ModeAPISSE, handler: answerHandler(200, "application/json", completionBody),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "wrong content type: HTTP 200 sent application/json, not text/event-stream",
				diag.ClassProtocol, "protocol-content-type", "ProtocolError: wrong content type"}},
		{name: "HTML error page 502", mode: scan.ModeAPISSE,
			handler: answerHandler(502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"),
			want: want{scan.EndCompleted, scan.OutcomeError, 502, TypeProtocolError, "wrong content type: HTTP 502 sent text/html, not application/json: <html><head><title>502 Bad Gateway",
				diag.ClassProtocol, "protocol-content-type", "ProtocolError: wrong content type: HTTP 502"}},
		{name: "HTML page 200 to api-json", mode: scan.ModeAPIJSON,
			handler: answerHandler(200, "text/html; charset=utf-8", "<!doctype html><title>g4f GUI</title>"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "wrong content type: HTTP 200 sent text/html, not application/json",
				diag.ClassProtocol, "protocol-content-type", "ProtocolError: wrong content type"}},
		{name: "starlette's plain-text 500", mode: scan.ModeAPIJSON, handler: answerHandler(500, "text/plain; charset=utf-8", "Internal Server Error"),
			want: want{scan.EndCompleted, scan.OutcomeError, 500, TypeProtocolError, "wrong content type: HTTP 500 sent text/plain, not application/json: Internal Server Error",
				diag.ClassProtocol, "protocol-content-type", "ProtocolError: wrong content type"}},
		{name: "truncated: no [DONE]", mode: scan.ModeAPISSE, handler: sseHandler(chunkFrame("Hel") + chunkFrame("lo")),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "truncated stream: the body ended after 2 frames without data: [DONE]",
				diag.ClassProtocol, "protocol-truncated", "ProtocolError: truncated stream"}},
		{name: "truncated: EOF mid-frame", mode: scan.ModeAPISSE, handler: sseHandler(chunkFrame("Hel") + `data: {"choices": [{"delta": {"content": "l`),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "truncated stream: the body ended inside frame 2",
				diag.ClassProtocol, "protocol-truncated", "ProtocolError: truncated stream"}},
		{name: "server closes mid-frame", mode: scan.ModeAPISSE, handler: hijack,
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "truncated stream: the connection closed inside frame 2",
				diag.ClassProtocol, "protocol-truncated", "ProtocolError: truncated stream"}},
		{name: "10 MB frame", mode: scan.ModeAPISSE,
			handler: sseHandler("data: " + strings.Repeat("x", 10<<20) + "\n\n"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "frame over limit: frame 1 passed 1048576 bytes",
				diag.ClassProtocol, "protocol-frame-limit", "ProtocolError: frame over limit"}},
		{name: "body over limit", mode: scan.ModeAPISSE,
			handler: sseHandler(strings.Repeat(chunkFrame("x"), 2000)),
			opts:    func(o *Options) { o.Limits = sse.Limits{MaxBody: 64 << 10} },
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "body over limit: the stream passed 65536 bytes",
				diag.ClassProtocol, "protocol-body-limit", "ProtocolError: body over limit"}},
		{name: "JSON body over limit", mode: scan.ModeAPIJSON,
			handler: answerHandler(200, "application/json", `{"choices": [{"message": {"content": "`+strings.Repeat("x", 100<<10)+`"}}]}`),
			opts:    func(o *Options) { o.Limits = sse.Limits{MaxBody: 64 << 10} },
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "body over limit: the answer passed 65536 bytes",
				diag.ClassProtocol, "protocol-body-limit", "ProtocolError: body over limit"}},
		{name: "invalid JSON in a frame", mode: scan.ModeAPISSE, handler: sseHandler(chunkFrame("Hi") + "data: not json\n\ndata: [DONE]\n\n"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "invalid JSON in frame 2: invalid character",
				diag.ClassProtocol, "protocol-frame-json", "ProtocolError: invalid JSON in frame 2"}},
		{name: "a frame that is not an object", mode: scan.ModeAPISSE, handler: sseHandler("data: [1, 2]\n\ndata: [DONE]\n\n"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "invalid JSON in frame 1: not a JSON object",
				diag.ClassProtocol, "protocol-frame-json", "ProtocolError: invalid JSON in frame 1"}},
		{name: "non-JSON body for api-json", mode: scan.ModeAPIJSON, handler: answerHandler(200, "application/json", "Hello!"),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "invalid JSON body: HTTP 200 application/json: invalid character",
				diag.ClassProtocol, "protocol-body-json", "ProtocolError: invalid JSON body"}},
		{name: "JSON without choices for api-json", mode: scan.ModeAPIJSON, handler: answerHandler(200, "application/json", `{"info": "Not working yet."}`),
			want: want{scan.EndCompleted, scan.OutcomeError, 200, TypeProtocolError, "invalid JSON body: HTTP 200 application/json without choices",
				diag.ClassProtocol, "protocol-body-json", "ProtocolError: invalid JSON body"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var base string
			switch {
			case tc.base != nil:
				base = tc.base(t)
			case tc.raw != nil:
				base = rawServer(t, tc.raw)
			default:
				base = startServer(t, tc.handler)
			}
			o := Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}
			if tc.opts != nil {
				tc.opts(&o)
			}
			start := time.Now()
			obs := run(t, o, cell(tc.mode), 10*time.Second)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the cell took %s", took)
			}
			if obs.End != tc.want.end || len(obs.Calls) != 1 {
				t.Fatalf("end %s with %d calls, want %s with 1: %+v", obs.End, len(obs.Calls), tc.want.end, obs)
			}
			call := obs.Calls[0]
			if call.Outcome != tc.want.outcome || call.HTTPStatus != tc.want.status {
				t.Errorf("outcome %s, status %d; want %s, %d (%+v)", call.Outcome, call.HTTPStatus, tc.want.outcome, tc.want.status, call)
			}
			if tc.want.typ == "" {
				if len(call.Chain) != 0 {
					t.Errorf("chain %+v, want none", call.Chain)
				}
			} else if len(call.Chain) != 1 || call.Chain[0].Type != tc.want.typ || !strings.HasPrefix(call.Chain[0].Message, tc.want.message) {
				t.Errorf("chain %+v, want one %s starting %q", call.Chain, tc.want.typ, tc.want.message)
			}
			v := diag.Classify(obs)
			if v.Class != tc.want.class || v.Signature != tc.want.sig || !strings.HasPrefix(v.Evidence, tc.want.evidence) {
				t.Errorf("verdict %s [%s] %q, want %s [%s] %q…", v.Class, v.Signature, v.Evidence, tc.want.class, tc.want.sig, tc.want.evidence)
			}
			if v.Class.IsLoop() != (tc.want.class == diag.ClassLoopReentry || tc.want.class == diag.ClassLoopClosed) {
				t.Errorf("%s is a loop class: %v", v.Class, v.Class.IsLoop())
			}
			// A saved scan classifies the same: the protocol kind the driver
			// set comes back from the JSON.
			saved, err := json.Marshal(obs)
			if err != nil {
				t.Fatal(err)
			}
			var back scan.Observation
			if err := json.Unmarshal(saved, &back); err != nil {
				t.Fatal(err)
			}
			if sv := diag.Classify(back); sv.Class != v.Class || sv.Signature != v.Signature || sv.Evidence != v.Evidence {
				t.Errorf("saved, the cell is %s [%s] %q; live %s [%s] %q", sv.Class, sv.Signature, sv.Evidence, v.Class, v.Signature, v.Evidence)
			}
		})
	}
}

func TestGoodStreamRecordsTiming(t *testing.T) {
	t.Parallel()
	var seen http.Header
	var req chatRequest
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "wrong route", http.StatusNotFound)
			return
		}
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, part := range []string{"Hel", "", "lo!"} {
			io.WriteString(w, chunkFrame(part))
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
		io.WriteString(w, ": keep-alive\n\ndata: [DONE]\n\n")
	}))
	// an OpenAI-style base URL ending in /v1 works too
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base + "/v1/"}}, cell(scan.ModeAPISSE), 10*time.Second)
	c := obs.Calls[0]
	if c.Outcome != scan.OutcomeOK || c.Text != "Hello!" || c.Chunks != 3 || c.Frames != 4 || c.HTTPStatus != 200 {
		t.Fatalf("call %+v", c)
	}
	if !(c.FirstByteMS > 0 && c.FirstByteMS <= c.FirstChunkMS && c.FirstChunkMS < c.LastChunkMS && c.LastChunkMS <= c.DurationMS) {
		t.Errorf("timing out of order: first byte %v, first chunk %v, last chunk %v, duration %v", c.FirstByteMS, c.FirstChunkMS, c.LastChunkMS, c.DurationMS)
	}
	if c.MaxGapMS < 15 || c.LastChunkMS-c.FirstChunkMS < 30 {
		t.Errorf("gaps: max %v, first %v, last %v", c.MaxGapMS, c.FirstChunkMS, c.LastChunkMS)
	}
	if req.Provider != "Blackbox" || req.Model != "gpt-4o-mini" || !req.Stream || len(req.Messages) != 1 || req.Messages[0] != repro.DefaultMessages[0] {
		t.Errorf("request %+v", req)
	}
	if seen.Get(RequestHeader) == "" || seen.Get("Authorization") != "" || seen.Get("Accept") != "text/event-stream" {
		t.Errorf("headers %v", seen)
	}
	if obs.End != scan.EndCompleted || obs.Provider != "Blackbox" || obs.DurationMS < c.DurationMS {
		t.Errorf("observation %+v", obs)
	}
}

func TestLongTextIsCut(t *testing.T) {
	t.Parallel()
	base := startServer(t, sseHandler(strings.Repeat(chunkFrame("é"), 300)+"data: [DONE]\n\n"))
	c := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, cell(scan.ModeAPISSE), 10*time.Second).Calls[0]
	if c.Chunks != 300 || c.Text != strings.Repeat("é", 200) {
		t.Errorf("%d chunks, text of %d runes", c.Chunks, len([]rune(c.Text)))
	}
}

// A server that accepts the connection and never sends headers is cut at
// the deadline: the call is pending, the cell ends "deadline", diag says
// timeout — and the test is quick.
func TestNoHeadersEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	for _, mode := range scan.APIModes {
		t.Run(string(mode), func(t *testing.T) {
			start := time.Now()
			obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, cell(mode), 300*time.Millisecond)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s past a 300ms deadline", took)
			}
			if obs.End != scan.EndDeadline || len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomePending || obs.Calls[0].HTTPStatus != 0 {
				t.Fatalf("%+v", obs)
			}
			if c := obs.Calls[0]; c.DurationMS < 250 || len(c.Chain) != 0 {
				t.Errorf("call %+v", c)
			}
			if v := diag.Classify(obs); v.Class != diag.ClassTimeout || v.Signature != "no-answer" {
				t.Errorf("verdict %+v", v)
			}
		})
	}
}

// A stream that stops mid-body with no stall timeout in reach is cut at the
// deadline, pending with what it got: diag calls it a stall.
func TestStopMidBodyEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunkFrame("Hel"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}), release)
	start := time.Now()
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, cell(scan.ModeAPISSE), 300*time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s past a 300ms deadline", took)
	}
	c := obs.Calls[0]
	if obs.End != scan.EndDeadline || c.Outcome != scan.OutcomePending || c.Chunks != 1 || c.Frames != 1 || c.HTTPStatus != 200 || c.Text != "Hel" {
		t.Fatalf("%+v", obs)
	}
	if v := diag.Classify(obs); v.Class != diag.ClassStall || !strings.HasPrefix(v.Evidence, "stream stopped after 1 chunk; last chunk at ") {
		t.Errorf("verdict %+v", v)
	}
}

// Frames, then silence: the call is cut StallTimeout after the last frame,
// long before the deadline, and diag's stall evidence names the time of
// that last frame.
func TestStall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunkFrame("Hel"))
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, chunkFrame("")+": still here\n\n") // an empty delta is a frame; a comment is not
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-release:
				return
			case <-time.After(50 * time.Millisecond):
				io.WriteString(w, ": ping\n\n") // keep-alives do not hold off the stall
				w.(http.Flusher).Flush()
			}
		}
	}), release)
	o := Options{Servers: map[scan.Loop]string{scan.LoopServer: base}, StallTimeout: 300 * time.Millisecond}
	start := time.Now()
	obs := run(t, o, cell(scan.ModeAPISSE), 10*time.Second)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s: the stall was not cut", took)
	}
	c := obs.Calls[0]
	if c.Outcome != scan.OutcomePending || c.Chunks != 2 || c.Frames != 2 || c.Text != "Hel" {
		t.Fatalf("call %+v", c)
	}
	if c.LastChunkMS < 90 || c.DurationMS-c.LastChunkMS < 280 {
		t.Errorf("last chunk at %v ms, cut at %v ms: want the last frame ~100 ms in and the cut StallTimeout later", c.LastChunkMS, c.DurationMS)
	}
	if obs.End != scan.EndCompleted {
		t.Errorf("end %s: the stall timeout is no cell deadline", obs.End)
	}
	v := diag.Classify(obs)
	if v.Class != diag.ClassStall || v.Signature != "stream-stalled" {
		t.Fatalf("verdict %+v", v)
	}
	want := fmt.Sprintf("stream stopped after 2 chunks; last chunk at %.0f ms, no chunk for ", c.LastChunkMS)
	if !strings.HasPrefix(v.Evidence, want) {
		t.Errorf("evidence %q, want it to start %q", v.Evidence, want)
	}
}

func TestConcurrencyAndRepeat(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ids := map[string]bool{}
	var inFlight, most int
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids[r.Header.Get(RequestHeader)] = true
		inFlight++
		most = max(most, inFlight)
		round := (len(ids) + 3) / 4
		mu.Unlock()
		// hold each answer until the round's four requests are all here
		for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(2 * time.Millisecond) {
			mu.Lock()
			all := len(ids) >= 4*round
			mu.Unlock()
			if all {
				break
			}
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		sseHandler(chunkFrame("Hi")+"data: [DONE]\n\n")(w, r)
	}))
	lease := &testLease{base: base, log: func(id string, from, to time.Time) string {
		if !to.After(from) {
			t.Errorf("RequestLog(%s, %v, %v)", id, from, to)
		}
		return "INFO: served " + id
	}}
	o := lend(lease)
	c := cell(scan.ModeAPISSE)
	c.Concurrency, c.Repeat = 4, 2
	obs := run(t, o, c, 10*time.Second)
	if obs.End != scan.EndCompleted || len(obs.Calls) != 8 {
		t.Fatalf("end %s, %d calls", obs.End, len(obs.Calls))
	}
	for i, call := range obs.Calls {
		if call.Index != i%4 || call.Round != i/4 || call.Outcome != scan.OutcomeOK {
			t.Errorf("call %d: %+v", i, call)
		}
		if !strings.HasPrefix(call.ServerLog, "INFO: served g4fdiag-") || !ids[strings.TrimPrefix(call.ServerLog, "INFO: served ")] {
			t.Errorf("call %d server log %q", i, call.ServerLog)
		}
	}
	if len(ids) != 8 || len(lease.logged) != 8 || most != 4 {
		t.Errorf("%d request ids, %d logged, %d at once; want 8, 8, 4", len(ids), len(lease.logged), most)
	}
	if len(lease.returned) != 1 || lease.returned[0] || lease.early {
		t.Errorf("lease returned %v (logs read before: %v), want once, not hung, before the logs", lease.returned, lease.early)
	}
}

// A cell the deadline cuts returns its server as hung, gets its stacks, and
// reads the log only after that: a lender may stop the server on Return and
// must have read all it wrote.
func TestLeaseOfAHungCell(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}), release)
	lease := &testLease{base: base, log: func(id string, from, to time.Time) string {
		return "asyncio ERROR: RuntimeError: Cannot enter into task <Task pending name='Task-3'> while another task <Task pending name='Task-2'> is being executed."
	}}
	c := cell(scan.ModeAPISSE)
	c.Concurrency = 2
	obs := run(t, lend(lease), c, 300*time.Millisecond)
	if obs.End != scan.EndDeadline || obs.Stacks == nil || !strings.Contains(obs.Stacks.Threads, "server.py") {
		t.Fatalf("end %s, stacks %+v", obs.End, obs.Stacks)
	}
	if len(lease.returned) != 1 || !lease.returned[0] || lease.early || len(lease.logged) != 2 {
		t.Errorf("returned %v, logs read early %v, %d logs; want one hung return before two logs", lease.returned, lease.early, len(lease.logged))
	}
	if v := diag.Classify(obs); v.Signature != "reentry-nest-task" {
		t.Errorf("verdict %+v", v)
	}
}

// A lender that cannot start a server leaves the cell unavailable, with
// its reason; one whose context ends returns the server unhung.
func TestLeaseRefusedAndInterrupted(t *testing.T) {
	t.Parallel()
	o := Options{Use: func(context.Context, scan.Loop) (Lease, error) {
		return nil, errors.New("the nest API server exited at start: boom")
	}}
	obs := run(t, o, cell(scan.ModeAPIJSON), time.Second)
	if obs.End != scan.EndUnavailable || !strings.Contains(obs.SkipReason, "boom") {
		t.Errorf("end %s, reason %q", obs.End, obs.SkipReason)
	}

	release := make(chan struct{})
	started := make(chan struct{}, 1)
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}), release)
	lease := &testLease{base: base}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if obs, err := New(lend(lease)).RunCell(ctx, cell(scan.ModeAPISSE), time.Minute); !errors.Is(err, context.Canceled) ||
		obs.End != scan.EndInterrupted {
		t.Errorf("err = %v, end %q", err, obs.End)
	}
	if len(lease.returned) != 1 || lease.returned[0] {
		t.Errorf("returned %v, want once, not hung", lease.returned)
	}
}

// The key goes to the server, and into no output: not in messages the
// server echoes, not in the server log, not in the answer. The observation
// keeps what the server said, for diag to classify.
func TestAPIKeyIsSentNotPrinted(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	var auth, g4fKey string
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, g4fKey = r.Header.Get("Authorization"), r.Header.Get("g4f-api-key")
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunkFrame("your key is "+key))
		fmt.Fprintf(w, "data: {\"error\": {\"message\": \"MissingAuthError: Invalid api_key %s (Authorization: %s)\"}}\n\ndata: [DONE]\n\n", key, auth)
	}))
	o := lend(&testLease{base: base, log: func(string, time.Time, time.Time) string { return "headers: Authorization: Bearer " + key }})
	o.APIKey = key
	obs := run(t, o, cell(scan.ModeAPISSE), 10*time.Second)
	if auth != "Bearer "+key || g4fKey != key {
		t.Errorf("server saw Authorization %q, g4f-api-key %q", auth, g4fKey)
	}
	if v := diag.Classify(obs); v.Class != diag.ClassAuth {
		t.Errorf("verdict %+v", v)
	}
	defer secret.Keep(key)()
	if out := renderAll(t, obs); strings.Contains(out, key) || strings.Contains(out, key[:12]) {
		t.Errorf("the key is in the output:\n%s", out)
	}
}

// renderAll is obs in every output format, jsonl included.
func renderAll(t *testing.T, obs ...scan.Observation) string {
	t.Helper()
	h := report.Header{Tool: "g4fdiag", Command: "check", Plan: scan.Plan{Modes: []scan.Mode{scan.ModeAPISSE}, Loops: []scan.Loop{scan.LoopServer}}}
	r := report.Build(h, obs, false)
	var b strings.Builder
	for _, f := range render.Formats() {
		if f == "jsonl" {
			j := report.NewJSONLWriter(&b)
			if err := j.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			for _, o := range obs {
				if err := j.WriteObservation(o); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if err := render.Render(&b, f, r, render.Options{Width: 120}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if f == "table" {
			if err := render.Evidence(&b, r, render.Options{Width: 120}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

func TestCellsNotForThisDriver(t *testing.T) {
	t.Parallel()
	d := New(Options{Servers: map[scan.Loop]string{scan.LoopServer: "http://127.0.0.1:1"}})
	obs, err := d.RunCell(context.Background(), scan.Cell{Provider: "P", Mode: scan.ModeAPISSE, Loop: scan.LoopUvloop}, time.Second)
	if err != nil || obs.End != scan.EndUnavailable || !strings.Contains(obs.SkipReason, "uvloop") {
		t.Errorf("%+v %v", obs, err)
	}
	obs, err = d.RunCell(context.Background(), scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopServer}, time.Second)
	if err != nil || obs.End != scan.EndSkipped {
		t.Errorf("%+v %v", obs, err)
	}
}

// When ctx ends first RunCell says so, promptly, with the cell marked
// interrupted and its call as far as it got.
func TestContextEndsFirst(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	obs, err := New(Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}).RunCell(ctx, cell(scan.ModeAPISSE), 10*time.Second)
	if err != context.Canceled {
		t.Fatalf("error %v", err)
	}
	if time.Since(start) > 2*time.Second || obs.End != scan.EndInterrupted || len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomePending {
		t.Errorf("after %s: %+v", time.Since(start), obs)
	}
}

// The deadline passing between rounds leaves the later rounds unrun: the
// cell ends "deadline" with the calls it made.
func TestDeadlineBetweenRounds(t *testing.T) {
	t.Parallel()
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(120 * time.Millisecond)
		sseHandler(chunkFrame("Hi")+"data: [DONE]\n\n")(w, r)
	}))
	c := cell(scan.ModeAPISSE)
	c.Repeat = 10
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}}, c, 300*time.Millisecond)
	if obs.End != scan.EndDeadline || len(obs.Calls) == 0 || len(obs.Calls) > 4 {
		t.Fatalf("end %s with %d calls", obs.End, len(obs.Calls))
	}
	last := obs.Calls[len(obs.Calls)-1]
	if last.Outcome != scan.OutcomePending {
		t.Errorf("last call %+v", last)
	}
}

// A stream read to its [DONE] leaves its connection reusable.
func TestConnectionsAreReused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(sseHandler(chunkFrame("Hi") + "data: [DONE]\n\n"))
	var mu sync.Mutex
	conns := 0
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	d := New(Options{Servers: map[scan.Loop]string{scan.LoopServer: srv.URL}})
	for _, mode := range []scan.Mode{scan.ModeAPISSE, scan.ModeAPISSE, scan.ModeAPISSE, scan.ModeAPISSE} {
		if obs, err := d.RunCell(context.Background(), cell(mode), 5*time.Second); err != nil || obs.Calls[0].Outcome != scan.OutcomeOK {
			t.Fatalf("%v %+v", err, obs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections for 4 sequential calls", conns)
	}
}

func TestKeyCutByTheTextLimit(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	base := startServer(t, sseHandler(chunkFrame(strings.Repeat("x", maxText-10)+key)+"data: [DONE]\n\n"))
	obs := run(t, Options{Servers: map[scan.Loop]string{scan.LoopServer: base}, APIKey: key}, cell(scan.ModeAPISSE), 5*time.Second)
	defer secret.Keep(key)()
	if out := renderAll(t, obs); strings.Contains(out, key[:10]) || !strings.Contains(out, "x[REDACTED]") {
		t.Errorf("output:\n%s", out)
	}
}

// pidLease is a testLease whose server is a process of its own.
type pidLease struct {
	*testLease
	pid int
}

func (l pidLease) PID() int { return l.pid }

// TestHungCellYields: a cell whose own server process uses no CPU while
// its calls hang gives its job slot back before its deadline.
func TestHungCellYields(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	base := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}), release)
	idle := exec.Command("sleep", "30") // stands in for a hung server: no CPU
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { idle.Process.Kill(); idle.Wait() }()
	lease := pidLease{&testLease{base: base}, idle.Process.Pid}
	o := Options{Use: func(context.Context, scan.Loop) (Lease, error) { return lease, nil }}
	yielded := make(chan struct{}, 1)
	obs, err := New(o).RunCellYielding(context.Background(), cell(scan.ModeAPISSE), 2*time.Second, func() { yielded <- struct{}{} })
	if err != nil || obs.End != scan.EndDeadline {
		t.Fatalf("%v %s", err, obs.End)
	}
	select {
	case <-yielded:
	default:
		t.Error("a cell waiting on an idle server kept its slot")
	}
}
