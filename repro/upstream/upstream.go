package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvVar is the environment variable that gives the workers, and the API
// servers g4fdiag spawns, the upstream's base URL (".../v1").
const EnvVar = "G4FDIAG_UPSTREAM"

// Behaviour is what the upstream does with one chat completion request.
type Behaviour string

// The behaviours, by the model that asks for them.
const (
	Answer    Behaviour = "probe"           // a short answer, in a few chunks when streamed
	Slow      Behaviour = "probe-slow"      // the same answer after Options.Delay
	Stall     Behaviour = "probe-stall"     // a few chunks, then nothing until the client leaves or MaxStall
	Status401 Behaviour = "probe-401"       // 401 with OpenAI's invalid_api_key body
	Status429 Behaviour = "probe-429"       // 429 with OpenAI's rate_limit_exceeded body
	Status500 Behaviour = "probe-500"       // 500 with OpenAI's server_error body
	Malformed Behaviour = "probe-malformed" // a good chunk, then a frame (or a body) that is not JSON
	Hangup    Behaviour = "probe-close"     // the connection closed before any answer
)

// behaviour is one row of Behaviours.
type behaviour struct {
	name    Behaviour
	meaning string
	status  int    // an error status, with errBody; 0 answers
	errBody string // OpenAI's error object for status
}

// Behaviours is every behaviour, one row each; the model (or marker) that
// names none of them gets Answer.
var Behaviours = []behaviour{
	{name: Answer, meaning: "answers in a few chunks"},
	{name: Slow, meaning: "answers after a delay"},
	{name: Stall, meaning: "sends a few chunks, then holds the stream open"},
	{name: Status401, meaning: "refuses with 401 Unauthorized", status: http.StatusUnauthorized,
		errBody: `{"message": "Incorrect API key provided: sk-g4fd****robe. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}`},
	{name: Status429, meaning: "refuses with 429 Too Many Requests", status: http.StatusTooManyRequests,
		errBody: `{"message": "Rate limit reached for probe in organization org-g4fdiag on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}`},
	{name: Status500, meaning: "fails with 500 Internal Server Error", status: http.StatusInternalServerError,
		errBody: `{"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}`},
	{name: Malformed, meaning: "sends a frame, or a body, that is not JSON"},
	{name: Hangup, meaning: "closes the connection without answering"},
}

// Models are the model ids GET /v1/models lists: one per behaviour.
func Models() []string {
	out := make([]string, len(Behaviours))
	for i, b := range Behaviours {
		out[i] = string(b.name)
	}
	return out
}

func lookup(name string) (behaviour, bool) {
	for _, b := range Behaviours {
		if string(b.name) == name {
			return b, true
		}
	}
	return behaviour{}, false
}

// answerChunks is the answer, as the stream sends it.
var answerChunks = []string{"Hello", " from", " the", " loopback", " upstream."}

// Options bound the upstream; zero values take the defaults.
type Options struct {
	MaxBody  int64         // bytes of a request body read; 1 MiB
	Delay    time.Duration // before Slow answers; 2 s
	MaxStall time.Duration // how long Stall holds a stream at most; 2 min
	ChunkGap time.Duration // between streamed chunks; 5 ms
}

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Delay <= 0 {
		o.Delay = 2 * time.Second
	}
	if o.MaxStall <= 0 {
		o.MaxStall = 2 * time.Minute
	}
	if o.ChunkGap <= 0 {
		o.ChunkGap = 5 * time.Millisecond
	}
	return o
}

// Server is a running upstream.
type Server struct {
	// URL is the base URL clients take ("http://127.0.0.1:PORT/v1"), the
	// value of EnvVar.
	URL string

	opts Options
	srv  *http.Server
	ln   net.Listener
	life context.Context // ends at Close: held streams let go
	end  context.CancelFunc
	done chan struct{} // closed when Serve returned

	mu       sync.Mutex
	closeErr error
	closed   bool
}

// Start listens on a random loopback port and serves until Close.
func Start(o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loopback upstream: %w", err)
	}
	life, end := context.WithCancel(context.Background())
	s := &Server{
		URL:  "http://" + ln.Addr().String() + "/v1",
		opts: o.withDefaults(), ln: ln, life: life, end: end, done: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.models)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return life },
		// A client that leaves mid-answer is the point of some behaviours,
		// not news for g4fdiag's stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ErrServerClosed after Close
	}()
	return s, nil
}

// Env returns environ with EnvVar set to the upstream's URL.
func (s *Server) Env(environ []string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k != EnvVar {
			out = append(out, kv)
		}
	}
	return append(out, EnvVar+"="+s.URL)
}

// Close stops the upstream: it ends held streams and every open
// connection, and waits for the server to stop. It may be called more
// than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	s.end()
	s.closeErr = s.srv.Close()
	<-s.done
	return s.closeErr
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`
}

// choose picks the behaviour: the model when it names one, else a
// "[probe-NAME]" marker in the last message, else Answer.
func choose(req chatRequest) behaviour {
	if b, ok := lookup(req.Model); ok {
		return b
	}
	if n := len(req.Messages); n > 0 {
		text := string(req.Messages[n-1].Content)
		var s string
		if json.Unmarshal(req.Messages[n-1].Content, &s) == nil {
			text = s
		}
		if i := strings.Index(text, "[probe-"); i >= 0 {
			if j := strings.IndexByte(text[i:], ']'); j > 0 {
				if b, ok := lookup(text[i+1 : i+j]); ok {
					return b
				}
			}
		}
	}
	b, _ := lookup(string(Answer))
	return b
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, id := range Models() {
		list.Data = append(list.Data, model{ID: id, Object: "model", Created: 1700000000, OwnedBy: "g4fdiag"})
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, errObject string) {
	body := `{"error": ` + errObject + "}\n"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func badRequest(w http.ResponseWriter, msg string) {
	obj, _ := json.Marshal(map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": nil})
	writeError(w, http.StatusBadRequest, string(obj))
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			obj, _ := json.Marshal(map[string]any{"message": fmt.Sprintf("request body over %d bytes", s.opts.MaxBody),
				"type": "invalid_request_error", "param": nil, "code": nil})
			writeError(w, http.StatusRequestEntityTooLarge, string(obj))
		}
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		badRequest(w, "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	b := choose(req)
	model := req.Model
	if model == "" {
		model = string(b.name)
	}
	ctx := r.Context()
	switch {
	case b.status != 0:
		writeError(w, b.status, b.errBody)
		return
	case b.name == Hangup:
		hangup(w)
		return
	case b.name == Slow:
		if !s.wait(ctx, s.opts.Delay) {
			return
		}
	}
	if req.Stream {
		s.stream(ctx, w, b, model)
		return
	}
	s.complete(ctx, w, b, model)
}

// hangup closes the connection without a byte of answer.
func hangup(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, as a crashed server gives
	}
	_ = conn.Close()
}

// wait sleeps d, or less when the client leaves or the upstream closes;
// it reports whether the whole d passed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.life.Done():
		return false
	}
}

const completionID = "chatcmpl-g4fdiag-upstream"

func (s *Server) complete(ctx context.Context, w http.ResponseWriter, b behaviour, model string) {
	answer := strings.Join(answerChunks, "")
	full := map[string]any{
		"id": completionID, "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": answer}}},
		"usage": map[string]any{"prompt_tokens": 5, "completion_tokens": len(answerChunks), "total_tokens": 5 + len(answerChunks)},
	}
	switch b.name {
	case Malformed:
		// A body cut inside a string, sent as complete JSON.
		body := `{"id": "` + completionID + `", "object": "chat.completion", "choices": [{"message": {"content": "Hel`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	case Stall:
		// The headers and the start of the body, then nothing.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": "`+completionID+`", `)
		flush(w)
		s.wait(ctx, s.opts.MaxStall)
	default:
		writeJSON(w, http.StatusOK, full)
	}
}

func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

func chunkFrame(model, content string, finish bool) []byte {
	delta := map[string]any{}
	var reason any
	if content != "" {
		delta["content"] = content
	}
	if finish {
		reason = "stop"
	}
	frame, _ := json.Marshal(map[string]any{
		"id": completionID, "object": "chat.completion.chunk", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": reason}},
	})
	return frame
}

func (s *Server) stream(ctx context.Context, w http.ResponseWriter, b behaviour, model string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(data []byte) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		flush(w)
		return true
	}
	chunks := answerChunks
	switch b.name {
	case Stall:
		chunks = answerChunks[:2]
	case Malformed:
		chunks = answerChunks[:1]
	}
	for i, c := range chunks {
		if i > 0 && !s.wait(ctx, s.opts.ChunkGap) {
			return
		}
		if !send(chunkFrame(model, c, false)) {
			return
		}
	}
	switch b.name {
	case Stall:
		s.wait(ctx, s.opts.MaxStall)
		return // no [DONE]: the stream just stops
	case Malformed:
		if !send([]byte(`{"id": "` + completionID + `", "choices": [{"delta": {"content": "lo`)) {
			return
		}
	default:
		if !send(chunkFrame(model, "", true)) {
			return
		}
	}
	send([]byte("[DONE]"))
}
