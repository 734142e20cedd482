package upstream

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || !strings.HasSuffix(s.URL, "/v1") {
		t.Fatalf("URL = %q, want a loopback base URL", s.URL)
	}
	return s
}

func post(t *testing.T, ctx context.Context, s *Server, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func chat(model string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": "Say hello."}}})
	return string(b)
}

// frames reads the data: lines of an event stream to its end.
func frames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestAnswerJSONAndSSE(t *testing.T) {
	s := start(t, Options{})
	resp := post(t, context.Background(), s, chat("probe", false))
	var c struct {
		Object  string
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 || c.Object != "chat.completion" ||
		len(c.Choices) != 1 || c.Choices[0].Message.Content != "Hello from the loopback upstream." {
		t.Fatalf("status %d, %+v, %v", resp.StatusCode, c, err)
	}

	resp = post(t, context.Background(), s, chat("some-model", true))
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	fr := frames(t, resp.Body)
	if len(fr) != len(answerChunks)+2 || fr[len(fr)-1] != "[DONE]" {
		t.Fatalf("frames %q", fr)
	}
	var text strings.Builder
	for _, f := range fr[:len(fr)-1] {
		var chunk struct {
			Model   string
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(f), &chunk); err != nil || chunk.Model != "some-model" {
			t.Fatalf("frame %q: %v", f, err)
		}
		text.WriteString(chunk.Choices[0].Delta.Content)
	}
	if text.String() != "Hello from the loopback upstream." {
		t.Errorf("streamed %q", text.String())
	}
}

func TestModels(t *testing.T) {
	s := start(t, Options{})
	resp, err := http.Get(s.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string
		Data   []struct{ ID string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || list.Object != "list" || len(list.Data) != len(Behaviours) {
		t.Fatalf("%+v, %v", list, err)
	}
	if list.Data[0].ID != "probe" {
		t.Errorf("first model %q", list.Data[0].ID)
	}
}

// TestErrorStatuses: each refusal comes with its status and OpenAI's error
// object, whether or not the request streams, chosen by the model or by a
// marker in the last message.
func TestErrorStatuses(t *testing.T) {
	s := start(t, Options{})
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{chat("probe-401", true), 401, "invalid_api_key"},
		{chat("probe-429", false), 429, "rate_limit_exceeded"},
		{chat("probe-500", true), 500, ""},
		{`{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi [probe-429]"}]}`, 429, "rate_limit_exceeded"},
	} {
		resp := post(t, context.Background(), s, tc.body)
		var e struct {
			Error struct {
				Message string
				Type    string
				Code    *string
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		code := ""
		if e.Error.Code != nil {
			code = *e.Error.Code
		}
		if resp.StatusCode != tc.status || code != tc.code || e.Error.Message == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: status %d, error %+v (code %q)", tc.body, resp.StatusCode, e.Error, code)
		}
	}
}

func TestMalformed(t *testing.T) {
	s := start(t, Options{})
	fr := frames(t, post(t, context.Background(), s, chat("probe-malformed", true)).Body)
	if len(fr) != 3 || fr[2] != "[DONE]" || json.Valid([]byte(fr[1])) || !json.Valid([]byte(fr[0])) {
		t.Errorf("frames %q", fr)
	}
	body, _ := io.ReadAll(post(t, context.Background(), s, chat("probe-malformed", false)).Body)
	if json.Valid(body) || len(body) == 0 {
		t.Errorf("body %q is valid JSON", body)
	}
}

// TestStallHoldsUntilClientLeaves: the stream sends two chunks and then
// nothing, until the client gives up; the handler then ends.
func TestStallHoldsUntilClientLeaves(t *testing.T) {
	s := start(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	resp := post(t, ctx, s, chat("probe-stall", true))
	r := bufio.NewReader(resp.Body)
	var got []string
	for len(got) < 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			got = append(got, d)
		}
	}
	more := make(chan error, 1)
	go func() {
		_, err := r.ReadString('\n')
		for err == nil {
			_, err = r.ReadString('\n')
		}
		more <- err
	}()
	select {
	case err := <-more:
		t.Fatalf("the stalled stream went on or ended: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	cancel()
	select {
	case <-more:
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not end after the client left")
	}
}

// TestStallBounded: a stall ends by itself after MaxStall, without [DONE].
func TestStallBounded(t *testing.T) {
	s := start(t, Options{MaxStall: 200 * time.Millisecond})
	fr := frames(t, post(t, context.Background(), s, chat("probe-stall", true)).Body)
	if len(fr) != 2 {
		t.Errorf("frames %q", fr)
	}
}

func TestSlow(t *testing.T) {
	s := start(t, Options{Delay: 300 * time.Millisecond})
	began := time.Now()
	fr := frames(t, post(t, context.Background(), s, chat("probe-slow", true)).Body)
	if time.Since(began) < 300*time.Millisecond || len(fr) == 0 || fr[len(fr)-1] != "[DONE]" {
		t.Errorf("after %v: frames %q", time.Since(began), fr)
	}
}

func TestHangupAndClose(t *testing.T) {
	s := start(t, Options{})
	req, _ := http.NewRequest("POST", s.URL+"/chat/completions", strings.NewReader(chat("probe-close", false)))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("probe-close answered %d", resp.StatusCode)
	}

	// Close ends a held stream and refuses new connections.
	resp := post(t, context.Background(), s, chat("probe-stall", true))
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(done) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the stalled stream open")
	}
	if _, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(chat("probe", false))); err == nil {
		t.Fatal("a closed upstream answered")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestBodyLimit(t *testing.T) {
	s := start(t, Options{MaxBody: 1024})
	resp := post(t, context.Background(), s, chat("probe", false)[:20]+strings.Repeat("x", 4096))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", resp.StatusCode)
	}
	resp = post(t, context.Background(), s, "{not json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d", resp.StatusCode)
	}
}

func TestEnv(t *testing.T) {
	s := start(t, Options{})
	env := s.Env([]string{"A=1", EnvVar + "=old", "B=2"})
	if strings.Join(env, " ") != "A=1 B=2 "+EnvVar+"="+s.URL {
		t.Errorf("env = %q", env)
	}
}
