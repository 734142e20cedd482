package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/sse"
)

// answer reads one response into an ending, recording progress in st.
type answer struct {
	d      *Driver
	ctx    context.Context
	cancel context.CancelCauseFunc
	st     *callState
	resp   *http.Response
	body   io.Reader
}

// firstByte notes when the first byte of a body arrived.
type firstByte struct {
	r    io.Reader
	st   *callState
	seen bool
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.seen {
		f.seen = true
		f.st.firstByte(time.Now())
	}
	return n, err
}

func (a *answer) read(mode scan.Mode) ending {
	ct := mediaType(a.resp.Header.Get("Content-Type"))
	if mode == scan.ModeAPISSE && success(a.resp.StatusCode) && ct == "text/event-stream" {
		return a.stream()
	}
	body, e, ok := a.readBody()
	if !ok {
		return e
	}
	return a.judge(mode, ct, body)
}

func success(status int) bool { return status >= 200 && status < 300 }

// stream reads an event stream to its [DONE], an error frame or its break.
func (a *answer) stream() ending {
	r := sse.NewReader(a.body, a.d.o.Limits)
	stall := time.AfterFunc(time.Hour, func() { a.cancel(errStalled) })
	stall.Stop() // armed by the first frame: before it, only the cell deadline counts
	defer stall.Stop()
	var errFrame *scan.PyException
	frames := 0
	for {
		ev, err := r.Next()
		if a.ctx.Err() != nil && errFrame == nil {
			return endPending // what comes after the cut is not the call's
		}
		if err != nil {
			if errFrame != nil { // the error is what the server meant to say
				return failed(*errFrame)
			}
			return a.streamEnd(r, ev, err, frames)
		}
		if ev.Comment { // keep-alives are no progress
			continue
		}
		frames++
		a.st.frame()
		stall.Reset(a.d.o.StallTimeout)
		if ev.Data == "[DONE]" {
			e := endOK
			if errFrame != nil {
				e = failed(*errFrame)
			}
			e.at = time.Now()
			a.drain()
			return e
		}
		if errFrame != nil {
			continue // after an error frame only [DONE] is expected
		}
		f, perr := parseFrame(ev.Data)
		switch {
		case perr != nil:
			return failed(protocolf(scan.ProtocolFrameJSON, "%d: %v: %s", frames, perr, excerpt([]byte(ev.Data), 120)))
		case f.isError:
			errFrame = &scan.PyException{Type: TypeStreamError, Message: f.message}
		default:
			a.st.chunk(time.Now(), f.content)
		}
	}
}

// streamEnd is how a stream that ended without [DONE] ends its call.
func (a *answer) streamEnd(r *sse.Reader, last sse.Event, err error, frames int) ending {
	switch {
	case errors.Is(err, sse.ErrTruncated):
		// older g4f servers end an error frame with no line end and no [DONE]
		if f, perr := parseFrame(last.Data); perr == nil && f.isError {
			a.st.frame()
			return failed(scan.PyException{Type: TypeStreamError, Message: f.message})
		}
		return failed(protocolf(scan.ProtocolTruncatedStream, "the body ended inside frame %d, after %d bytes", frames+1, r.BytesRead()))
	case err == io.EOF:
		return failed(protocolf(scan.ProtocolTruncatedStream, "the body ended after %d frame%s without data: [DONE]", frames, plural(frames)))
	case errors.Is(err, sse.ErrFrameTooLarge):
		return failed(protocolf(scan.ProtocolFrameLimit, "frame %d passed %d bytes", frames+1, a.d.o.Limits.MaxFrame))
	case errors.Is(err, sse.ErrBodyTooLarge):
		return failed(protocolf(scan.ProtocolBodyLimit, "the stream passed %d bytes", a.d.o.Limits.MaxBody))
	case a.ctx.Err() != nil:
		return endPending // the deadline, or no frame for StallTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		where := "between frames"
		if r.InFrame() {
			where = fmt.Sprintf("inside frame %d", frames+1)
		}
		return failed(protocolf(scan.ProtocolTruncatedStream, "the connection closed %s, after %d bytes (%v)", where, r.BytesRead(), err))
	}
	return a.d.broken(a.ctx, err)
}

// drain reads what little may follow [DONE], briefly, so the connection
// can be reused.
func (a *answer) drain() {
	t := time.AfterFunc(drainGrace, func() { a.resp.Body.Close() })
	_, _ = io.Copy(io.Discard, io.LimitReader(a.resp.Body, 64<<10))
	t.Stop()
}

// readBody reads a whole body within MaxAnswer. A body that says it is
// longer is not read at all, and one that turns out longer is read no
// further: every call of a cell holds its body at once.
func (a *answer) readBody() ([]byte, ending, bool) {
	limit := a.d.o.MaxAnswer
	over := func() ([]byte, ending, bool) {
		return nil, failed(protocolf(scan.ProtocolBodyLimit, "the answer passed %d bytes", limit)), false
	}
	if a.resp.ContentLength > limit {
		return over()
	}
	var buf bytes.Buffer
	if n := a.resp.ContentLength; n > 0 {
		buf.Grow(int(n) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(a.body, limit+1))
	b := buf.Bytes()
	switch {
	case int64(len(b)) > limit:
		return over()
	case err == nil:
		return b, ending{}, true
	case a.ctx.Err() != nil:
		return nil, endPending, false
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, failed(protocolf(scan.ProtocolTruncatedAnswer, "the connection closed after %d bytes of the body (%v)", len(b), err)), false
	}
	return nil, a.d.broken(a.ctx, err), false
}

// judge reads a whole answer: an error body, a chat completion, or a
// protocol break.
func (a *answer) judge(mode scan.Mode, ct string, body []byte) ending {
	status := a.resp.StatusCode
	if msg, ok := errorMessage(body); ok {
		return failed(scan.PyException{Type: TypeErrorResponse, Message: msg})
	}
	want := "application/json"
	if mode == scan.ModeAPISSE {
		want = "text/event-stream"
	}
	switch {
	case !success(status) && isJSON(ct) && json.Valid(body):
		// an error without g4f's shape, such as FastAPI's 422 details
		return failed(scan.PyException{Type: TypeErrorResponse, Message: excerpt(body, 1000)})
	case !success(status):
		return failed(protocolf(scan.ProtocolContentType, "HTTP %d sent %s, not application/json: %s", status, ctName(ct), excerpt(body, 120)))
	case ct != want && !(mode == scan.ModeAPIJSON && isJSON(ct)):
		return failed(protocolf(scan.ProtocolContentType, "HTTP %d sent %s, not %s: %s", status, ctName(ct), want, excerpt(body, 120)))
	}
	var comp struct {
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := decodeObject(body, &comp); err != nil {
		return failed(protocolf(scan.ProtocolBodyJSON, "HTTP %d %s: %v: %s", status, ct, err, excerpt(body, 120)))
	}
	if comp.Choices == nil {
		return failed(protocolf(scan.ProtocolBodyJSON, "HTTP %d %s without choices: %s", status, ct, excerpt(body, 120)))
	}
	if len(comp.Choices) > 0 {
		a.st.mu.Lock()
		a.st.addText(stringOf(comp.Choices[0].Message.Content))
		a.st.mu.Unlock()
	}
	return endOK
}

// frame is what a data frame of the stream says.
type frame struct {
	isError bool
	message string // of an error frame
	content string // of a chunk
}

func parseFrame(data string) (frame, error) {
	var f struct {
		Error   json.RawMessage `json:"error"`
		Choices json.RawMessage `json:"choices"`
	}
	if err := decodeObject([]byte(data), &f); err != nil {
		return frame{}, err
	}
	if msg, ok := messageOf(f.Error); ok {
		return frame{isError: true, message: msg}, nil
	}
	var choices []struct {
		Delta struct {
			Content json.RawMessage `json:"content"`
		} `json:"delta"`
	}
	if json.Unmarshal(f.Choices, &choices) == nil && len(choices) > 0 {
		return frame{content: stringOf(choices[0].Delta.Content)}, nil
	}
	return frame{}, nil
}

// decodeObject decodes a JSON object, saying so when the JSON is valid but
// not an object.
func decodeObject(b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if !json.Valid(t) {
		var x any
		err := json.Unmarshal(t, &x)
		if err == nil {
			err = errors.New("not JSON")
		}
		return err
	}
	if len(t) == 0 || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(t, v)
}

// errorMessage finds the message of an error body: g4f's
// {"error": {"message": ...}}, {"error": "..."}, or FastAPI's
// {"detail": "..."}.
func errorMessage(body []byte) (string, bool) {
	var e struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if decodeObject(body, &e) != nil {
		return "", false
	}
	if msg, ok := messageOf(e.Error); ok {
		return msg, true
	}
	var detail string
	if json.Unmarshal(e.Detail, &detail) == nil && detail != "" {
		return detail, true
	}
	return "", false
}

// messageOf reads an "error" value: a string, an object with a string
// message, or anything else as compact JSON. Absent or null is no error.
func messageOf(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var obj struct {
		Message *string `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != nil {
		return *obj.Message, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return excerpt(buf.Bytes(), 1000), true
	}
	return excerpt(raw, 1000), true
}

func stringOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func ctName(mt string) string {
	if mt == "" {
		return "no content type"
	}
	return excerpt([]byte(mt), 60)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
