package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// behaviour is one known-bad way an API server answers. Each is one method
// of hostileServer, served from one place (serve); "" is a healthy server.
type behaviour string

const (
	healthy          behaviour = ""
	slowloris        behaviour = "slowloris"      // a status line, then header bytes trickled forever
	steadyStream     behaviour = "steady stream"  // one chunk every 100 ms, never [DONE]
	endlessStream    behaviour = "endless stream" // chunks and padding as fast as the socket takes them
	hugeLine         behaviour = "huge line"      // one line of 100 MB
	gzipBomb         behaviour = "gzip bomb"      // 100 MB of zeros gzipped, to a client that asked for identity
	gzipBombCatalog  behaviour = "gzip bomb catalog"
	redirectOffHost  behaviour = "redirect off-host" // 307 to the same route of another host
	redirectCatalog  behaviour = "redirect off-host catalog"
	redirectLoop     behaviour = "redirect loop"
	echoKey          behaviour = "401 echoing the key"
	echoKeyCatalog   behaviour = "401 echoing the key catalog"
	malformedStatus  behaviour = "malformed status line" // the status code is the key
	malformedCatalog behaviour = "malformed status line catalog"
	htmlOK           behaviour = "HTML 200"
	cutChunk         behaviour = "cut chunk" // the connection drops inside a chunk
	invalidUTF8      behaviour = "invalid UTF-8"
	controlSequences behaviour = "control sequences" // ESC and OSC in every field
	loopError        behaviour = "loop error"        // g4f's own loop error, the key echoed in it
)

// control is what a terminal would act on: a window title, a screen clear,
// a colour, a hyperlink, and their 8-bit forms.
const control = "\x1b]0;owned\x07\x1b[2J\x1b[31m\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\\u009b2J\u009d0;x\u0007"

const loopMessage = "RuntimeError: this event loop is already running."

// hostileServer is a loopback g4f API that misbehaves as told. It reads
// requests with net/http's parser and writes its answers byte by byte, so
// it can break HTTP itself.
type hostileServer struct {
	b     behaviour
	key   string // what it echoes
	other string // base URL an off-host redirect goes to
	URL   string

	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	conns    []net.Conn
	requests int
	auth     []string // the Authorization and g4f-api-key values it was sent
}

// startHostile serves b on 127.0.0.1, or on addr (e.g. "[::1]:0") where
// the machine has it.
func startHostile(t *testing.T, b behaviour, key, addr string) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if addr == "" || err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &hostileServer{b: b, key: key, ln: ln, done: make(chan struct{}), URL: "http://" + ln.Addr().String()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *hostileServer) close() {
	close(s.done)
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// seen is how many requests the server got and the credentials they carried.
func (s *hostileServer) seen() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, append([]string(nil), s.auth...)
}

// serve answers one connection's requests: the catalog at GET
// /v1/providers, the behaviour at POST /v1/chat/completions. Every answer
// closes the connection.
func (s *hostileServer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	var chat struct {
		Stream bool `json:"stream"`
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	json.Unmarshal(body, &chat)
	s.mu.Lock()
	s.requests++
	for _, h := range []string{"Authorization", "G4f-Api-Key"} {
		if v := req.Header.Get(h); v != "" {
			s.auth = append(s.auth, h+": "+v)
		}
	}
	s.mu.Unlock()
	w := bufio.NewWriterSize(c, 64<<10)
	defer w.Flush()
	if req.URL.Path == "/v1/providers" || req.URL.Path == "/v1/models" {
		s.catalog(w, req)
		return
	}
	s.chat(w, req, chat.Stream)
}

// head writes a status line and headers.
func head(w *bufio.Writer, status string, headers ...string) {
	fmt.Fprintf(w, "HTTP/1.1 %s\r\n", status)
	for _, h := range headers {
		w.WriteString(h + "\r\n")
	}
	w.WriteString("Connection: close\r\n\r\n")
}

func (s *hostileServer) catalog(w *bufio.Writer, req *http.Request) {
	switch s.b {
	case gzipBombCatalog:
		head(w, "200 OK", "Content-Type: application/json", "Content-Encoding: gzip")
		w.Write(bomb())
	case redirectCatalog:
		head(w, "307 Temporary Redirect", "Location: "+s.other+req.URL.Path)
	case echoKeyCatalog:
		b, _ := json.Marshal(map[string]string{"detail": "Invalid G4F API key: " + req.Header.Get("g4f-api-key") +
			" (Authorization: " + req.Header.Get("Authorization") + ") " + control})
		head(w, "401 Unauthorized", "Content-Type: application/json")
		w.Write(b)
	case malformedCatalog:
		w.WriteString("HTTP/1.1 " + s.key + " " + control + "\r\n\r\n")
	case controlSequences:
		// the key too, as a name: no field of a report is trusted
		b, _ := json.Marshal([]map[string]any{{"id": providerName(s.b, s.key), "url": "http://x" + control + "/?k=" + s.key, "label": control,
			"models": []string{"m" + control, s.key}, "default_model": "m" + control + s.key, "parent": s.key}})
		head(w, "200 OK", "Content-Type: application/json")
		w.Write(b)
	default:
		head(w, "200 OK", "Content-Type: application/json")
		w.WriteString(`[{"id":"` + providerName(s.b, s.key) + `","object":"provider","url":"https://hostile.example","label":"Hostile"}]`)
	}
}

// providerName is the one provider the catalog of b lists.
func providerName(b behaviour, key string) string {
	if b == controlSequences {
		return "Evil" + control + key
	}
	return "Hostile"
}

// chunk is a chat.completion.chunk frame carrying content.
func chunk(content string) string {
	b, _ := json.Marshal(map[string]any{"object": "chat.completion.chunk", "model": "m",
		"choices": []map[string]any{{"index": 0, "delta": map[string]any{"role": "assistant", "content": content}}}})
	return "data: " + string(b) + "\n\n"
}

// errorBody is g4f's error body; json.Marshal would repair invalid UTF-8.
func errorBody(msg string) string {
	return `{"error": {"message": "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x07", `\u0007`, "\x1b", `\u001b`).Replace(msg) + `"}}`
}

const completion = `{"object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"}}]}`

// sse and json are the content types of the two answers.
var (
	sseType  = "Content-Type: text/event-stream; charset=utf-8"
	jsonType = "Content-Type: application/json"
)

func (s *hostileServer) chat(w *bufio.Writer, req *http.Request, stream bool) {
	ct := jsonType
	if stream {
		ct = sseType
	}
	switch s.b {
	case healthy:
		head(w, "200 OK", ct)
		if stream {
			w.WriteString(chunk("Hel") + chunk("lo") + "data: [DONE]\n\n")
		} else {
			w.WriteString(completion)
		}
	case slowloris:
		w.WriteString("HTTP/1.1 200 OK\r\nX-Slow: ")
		s.trickle(w, "a", 50*time.Millisecond)
	case steadyStream:
		head(w, "200 OK", ct)
		if !stream {
			w.WriteString(`{"choices":[{"message":{"content":"`)
			s.trickle(w, "x", 100*time.Millisecond)
			return
		}
		s.trickle(w, chunk("tick "), 100*time.Millisecond)
	case endlessStream:
		head(w, "200 OK", ct)
		if !stream {
			w.WriteString(`{"choices":[{"message":{"content":"`)
		}
		// chunks padded with comment lines: the client's limit on the
		// stream, not its JSON decoding, decides when it stops
		frame := chunk("x") + ": " + strings.Repeat("p", 256<<10) + "\n"
		if !stream {
			frame = strings.Repeat("x", 256<<10)
		}
		for s.write(w, frame) {
		}
	case hugeLine:
		head(w, "200 OK", ct)
		if stream {
			w.WriteString("data: ")
		} else {
			w.WriteString(`{"choices":[{"message":{"content":"`)
		}
		line := strings.Repeat("x", 1<<20)
		for i := 0; i < 100 && s.write(w, line); i++ {
		}
	case gzipBomb:
		head(w, "200 OK", ct, "Content-Encoding: gzip")
		w.Write(bomb())
	case redirectOffHost:
		head(w, "307 Temporary Redirect", "Location: "+s.other+req.URL.Path)
	case redirectLoop:
		head(w, "307 Temporary Redirect", "Location: "+req.URL.Path)
	case echoKey:
		b, _ := json.Marshal(map[string]string{"detail": "Invalid G4F API key: " + req.Header.Get("g4f-api-key") +
			" (Authorization: " + req.Header.Get("Authorization") + ")"})
		head(w, "401 Unauthorized", jsonType)
		w.Write(b)
	case malformedStatus:
		w.WriteString("HTTP/1.1 " + s.key + " OK\r\n" + ct + "\r\n\r\n")
	case htmlOK:
		head(w, "200 OK", "Content-Type: text/html")
		w.WriteString("<html><body><h1>Welcome to nginx!</h1>" + control + "</body></html>")
	case cutChunk:
		head(w, "200 OK", ct, "Transfer-Encoding: chunked")
		first := completion[:40]
		if stream {
			first = chunk("Hel")
		}
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(first), first)
		fmt.Fprintf(w, "1000\r\n%s", strings.Repeat("y", 100)) // 4096 promised, 100 sent
	case invalidUTF8:
		s.loopAnswer(w, stream, "\xff\xfe\xc3", loopMessage+" \xff\xfe\xc3(\xed\xa0\x80)")
	case controlSequences:
		s.loopAnswer(w, stream, "hi"+control, loopMessage+control+" in provider Evil"+control)
	case loopError:
		s.loopAnswer(w, stream, "hi", loopMessage+" (api key: "+s.key+")")
	}
}

// loopAnswer is g4f's answer to a call that hit the loop conflict: an error
// frame after a chunk, or HTTP 500.
func (s *hostileServer) loopAnswer(w *bufio.Writer, stream bool, text, msg string) {
	if !stream {
		head(w, "500 Internal Server Error", jsonType)
		w.WriteString(errorBody(msg))
		return
	}
	head(w, "200 OK", sseType)
	w.WriteString(chunk(text) + "data: " + errorBody(msg) + "\n\ndata: [DONE]\n\n")
}

// write writes p unless the test is over; false when it cannot.
func (s *hostileServer) write(w *bufio.Writer, p string) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	_, err := w.WriteString(p)
	return err == nil
}

// trickle writes p every d until the client or the test is gone.
func (s *hostileServer) trickle(w *bufio.Writer, p string, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for s.write(w, p) && w.Flush() == nil {
		select {
		case <-t.C:
		case <-s.done:
			return
		}
	}
}

var bombOnce = sync.OnceValue(func() []byte {
	var member bytes.Buffer
	z, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	z.Write(make([]byte, 1<<20))
	z.Close()
	return bytes.Repeat(member.Bytes(), 100) // a gzip stream may hold many members
})

// bomb is 100 MB of zeros, gzipped (about 100 KB).
func bomb() []byte { return bombOnce() }
