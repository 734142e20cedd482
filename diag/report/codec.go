package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/secret"
)

// Record kinds of a JSON-lines stream: every line says which it is. An
// observation line is a scan.Observation with its verdict and signature
// beside it (the verdict a reader gets is reclassified with its own
// tables); streams of schema 0 wrote observations with no record field, and
// are read as they were.
const (
	RecordHeader      = "header"
	RecordObservation = "observation"
	RecordEnd         = "end"
)

type headerRecord struct {
	Record        string `json:"record"`
	SchemaVersion int    `json:"schema_version"`
	Header
}

type observationRecord struct {
	Record string `json:"record"`
	scan.Observation
	Verdict   diag.Class `json:"verdict"`
	Signature string     `json:"signature"`
}

// endRecord closes a JSON-lines stream whose scan ended in order, finished
// or interrupted: a stream without one was cut short (the process killed,
// the file truncated). Observations counts the lines before it; nil in
// streams written before the count existed.
type endRecord struct {
	Record       string `json:"record"`
	Observations *int   `json:"observations,omitempty"`
	Interrupted  bool   `json:"interrupted,omitempty"`
}

// JSONLWriter streams a scan as JSON lines: one header record, one line per
// observation as cells finish, and an end record. It is safe for concurrent
// use; every line reaches the underlying writer (and its Flush, when it has
// one) before the call returns, so a killed scan leaves whole lines behind.
// Secrets are redacted on the way out.
type JSONLWriter struct {
	mu     sync.Mutex
	w      io.Writer
	header bool
	ended  bool
	count  int // observations written
}

// NewJSONLWriter returns a JSONLWriter writing to w.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{w: w} }

// WriteHeader writes the header record; it must come first, once.
func (j *JSONLWriter) WriteHeader(h Header) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.header {
		return errors.New("diag: jsonl header written twice")
	}
	j.header = true
	h = redactHeader(h)
	return j.line(headerRecord{Record: RecordHeader, SchemaVersion: SchemaVersion, Header: h})
}

// WriteObservation writes one observation line.
func (j *JSONLWriter) WriteObservation(o scan.Observation) error {
	return j.WriteClassified(o, diag.Classify(o))
}

// WriteClassified is WriteObservation for an observation already
// classified (v is diag.Classify(o)), so a scan classifies each cell once
// for its progress line and every jsonl output.
func (j *JSONLWriter) WriteClassified(o scan.Observation, v diag.Verdict) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case !j.header:
		return errors.New("diag: jsonl observation before the header")
	case j.ended:
		return errors.New("diag: jsonl observation after the end record")
	}
	if err := j.line(observationRecord{Record: RecordObservation, Observation: redactObservation(o),
		Verdict: v.Class, Signature: diag.Redact(v.Signature)}); err != nil {
		return err
	}
	j.count++
	return nil
}

// WriteEnd writes the end record: how many observations came before it, and
// whether the scan was interrupted. A scan that stops in order, finished or
// interrupted, writes it; one that is killed leaves none, and ReadReport
// says so.
func (j *JSONLWriter) WriteEnd(interrupted bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ended {
		return errors.New("diag: jsonl end record written twice")
	}
	j.ended = true
	n := j.count
	return j.line(endRecord{Record: RecordEnd, Observations: &n, Interrupted: interrupted})
}

func (j *JSONLWriter) line(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends the line
		return fmt.Errorf("diag: encoding jsonl: %w", err)
	}
	if _, err := j.w.Write(escapeControls(buf.Bytes())); err != nil {
		return err
	}
	if f, ok := j.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Bounds of what ReadReport reads: a report far over them is not one
// g4fdiag wrote, and reading it whole would only exhaust memory.
const (
	// MaxReportBytes bounds a whole report, json or jsonl.
	MaxReportBytes = 256 << 20
	// MaxRecordBytes bounds one jsonl line (an observation carries at most
	// the bounded logs and stacks of one cell).
	MaxRecordBytes = 64 << 20
	// maxLeadingSpace bounds the white space before the first record.
	maxLeadingSpace = 1 << 20
)

// ReadInfo says how a saved scan was read.
type ReadInfo struct {
	// JSONL is true for a JSON-lines stream.
	JSONL bool
	// CutShort is true for a JSON-lines stream without its end record (or
	// with fewer observations than its end record counts): the scan was
	// killed or the file truncated, and the report is partial. The report
	// is then marked Interrupted.
	CutShort bool
	// Warnings are what was read past: a torn last line, records of a kind
	// this version does not know, a report of a newer schema.
	Warnings []string
}

// ReadReport reads a saved scan, either a JSON report or a JSON-lines stream
// (told apart by the first record), reclassifies its observations with the
// current signature table and rebuilds the report.
func ReadReport(r io.Reader) (Report, error) {
	rep, _, err := ReadReportInfo(r)
	return rep, err
}

// ReadReportInfo is ReadReport, and says how the scan was read. It reads
// the first bytes before anything else, so a file that is no report fails
// at once; a jsonl stream is read a line at a time, and no more than
// MaxReportBytes are read in all.
func ReadReportInfo(r io.Reader) (Report, ReadInfo, error) {
	lr := &countingReader{r: r, limit: MaxReportBytes}
	br := bufio.NewReaderSize(lr, 64<<10)
	// The white space before the first record, kept for line numbers.
	var lead []byte
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return Report{}, ReadInfo{}, errors.New("diag: reading report: empty input")
		}
		if err != nil {
			return Report{}, ReadInfo{}, readError(err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			if lead = append(lead, c); len(lead) > maxLeadingSpace {
				return Report{}, ReadInfo{}, fmt.Errorf("diag: reading report: line %d: not a g4fdiag report (over %d bytes of white space)", lineAt(lead, len(lead)), maxLeadingSpace)
			}
			continue
		}
		if c != '{' {
			return Report{}, ReadInfo{}, fmt.Errorf("diag: reading report: line %d: not a g4fdiag report (want a JSON object or JSON lines)", lineAt(lead, len(lead)))
		}
		_ = br.UnreadByte()
		break
	}
	first, err := readLine(br, MaxReportBytes)
	if err != nil && err != io.EOF {
		return Report{}, ReadInfo{}, readError(err)
	}
	atEOF := err == io.EOF
	if line := bytes.TrimRight(first, "\r\n"); json.Valid(line) {
		var probe struct {
			Record *string          `json:"record"`
			Cells  *json.RawMessage `json:"cells"`
		}
		_ = json.Unmarshal(line, &probe)
		if probe.Record != nil || probe.Cells == nil {
			if len(first) > MaxRecordBytes {
				return Report{}, ReadInfo{JSONL: true}, fmt.Errorf("diag: reading jsonl: line %d: a record over %d MiB; not a g4fdiag report", lineAt(lead, len(lead)), MaxRecordBytes>>20)
			}
			return readJSONL(br, first, atEOF, lineAt(lead, len(lead)))
		}
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		return Report{}, ReadInfo{}, readError(err)
	}
	data := append(append(lead, first...), rest...)
	return readJSONReport(data)
}

// countingReader fails once more than limit bytes were read.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

var errTooLarge = fmt.Errorf("over %d MiB; a g4fdiag report is far smaller, so this is not one", MaxReportBytes>>20)

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.limit-c.n+1 {
		p = p[:c.limit-c.n+1]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n, errTooLarge
	}
	return n, err
}

func readError(err error) error {
	return fmt.Errorf("diag: reading report: %w", err)
}

// readLine reads up to and including the next newline, failing without
// reading further once the line is over limit bytes. At the end of the
// input it returns what there was and io.EOF.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

var errLineTooLong = fmt.Errorf("a record over %d MiB; not a g4fdiag report", MaxRecordBytes>>20)

func readJSONReport(data []byte) (Report, ReadInfo, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var probe map[string]json.RawMessage
	if err := dec.Decode(&probe); err != nil {
		return Report{}, ReadInfo{}, jsonError("reading report", data, err)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		off := int(dec.InputOffset()) + bytes.Index(data[dec.InputOffset():], rest[:1])
		return Report{}, ReadInfo{}, fmt.Errorf("diag: reading report: line %d: unexpected data after the report", lineAt(data, off))
	}
	if _, ok := probe["cells"]; !ok {
		return Report{}, ReadInfo{}, errors.New("diag: reading report: line 1: not a g4fdiag report (no \"cells\")")
	}
	probe = nil
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return Report{}, ReadInfo{}, jsonError("reading report", data, err)
	}
	var info ReadInfo
	if w := newerSchema(rep.SchemaVersion); w != "" {
		info.Warnings = append(info.Warnings, w)
	}
	return Build(rep.Header(), rep.Observations(), rep.Interrupted), info, nil
}

// newerSchema is the warning for a report of a schema newer than this
// g4fdiag's, "" for any other.
func newerSchema(v int) string {
	if v <= SchemaVersion {
		return ""
	}
	return fmt.Sprintf("written with report schema %d, newer than this g4fdiag's %d: fields it does not know are left out", v, SchemaVersion)
}

// readJSONL reads a JSON-lines stream a line at a time: first is its first
// line (at line number n), already read.
func readJSONL(br *bufio.Reader, first []byte, atEOF bool, n int) (Report, ReadInfo, error) {
	var (
		h           Header
		obs         []scan.Observation
		interrupted bool
		sawHeader   bool
		sawEnd      bool
		endCount    *int
	)
	info := ReadInfo{JSONL: true}
	unknown := map[string]bool{}
	line, err := first, error(nil)
	if atEOF {
		err = io.EOF
	}
	for ; ; n++ {
		if len(bytes.TrimSpace(line)) > 0 {
			last := err == io.EOF
			if perr := func() error {
				var probe struct {
					Record        *string `json:"record"`
					SchemaVersion int     `json:"schema_version"`
				}
				if err := json.Unmarshal(line, &probe); err != nil {
					if last && !bytes.HasSuffix(line, []byte("\n")) {
						// A line the writer did not finish: the scan was
						// killed mid-write. What came before stands.
						info.Warnings = append(info.Warnings, fmt.Sprintf("line %d: a torn last line (the scan was cut mid-write), left out", n))
						info.CutShort = true
						return nil
					}
					return jsonLineError(err)
				}
				if sawEnd {
					return errors.New("record after the end record")
				}
				switch {
				case probe.Record == nil || *probe.Record == RecordObservation:
					var o scan.Observation
					if err := json.Unmarshal(line, &o); err != nil {
						return jsonLineError(err)
					}
					if o.Provider == "" || o.End == "" {
						return errors.New("observation without provider or end")
					}
					obs = append(obs, o)
				case *probe.Record == RecordHeader:
					if sawHeader || len(obs) > 0 {
						return errors.New("header record must come first, once")
					}
					var hr headerRecord
					if err := json.Unmarshal(line, &hr); err != nil {
						return jsonLineError(err)
					}
					h, sawHeader = hr.Header, true
					if w := newerSchema(probe.SchemaVersion); w != "" {
						info.Warnings = append(info.Warnings, w)
					}
				case *probe.Record == RecordEnd:
					var er endRecord
					if err := json.Unmarshal(line, &er); err != nil {
						return jsonLineError(err)
					}
					interrupted, sawEnd, endCount = er.Interrupted, true, er.Observations
				default:
					// A kind a newer g4fdiag writes: left out, said once.
					w := fmt.Sprintf("records of kind %q, which this g4fdiag does not know, left out (first at line %d)", *probe.Record, n)
					if !unknown[*probe.Record] {
						unknown[*probe.Record] = true
						info.Warnings = append(info.Warnings, w)
					}
				}
				return nil
			}(); perr != nil {
				return Report{}, info, fmt.Errorf("diag: reading jsonl: line %d: %w", n, perr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return Report{}, info, fmt.Errorf("diag: reading jsonl: line %d: %w", n, err)
		}
		line, err = readLine(br, MaxRecordBytes)
		if err != nil && err != io.EOF {
			return Report{}, info, fmt.Errorf("diag: reading jsonl: line %d: %w", n+1, err)
		}
	}
	if !sawHeader && len(obs) == 0 {
		return Report{}, info, errors.New("diag: reading jsonl: no header and no observations")
	}
	// A headerless stream is a bare list of observations (a filter's
	// output), not a scan that could have been cut short.
	if sawHeader && (!sawEnd || (endCount != nil && *endCount != len(obs))) {
		info.CutShort = true
	}
	if info.CutShort {
		interrupted = true
	}
	return Build(h, obs, interrupted), info, nil
}

// jsonLineError shortens encoding/json's errors for a one-line record.
func jsonLineError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at column %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: %v", te.Field, te)
	}
	return err
}

// jsonError names the line of a JSON document where decoding failed.
func jsonError(what string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("diag: %s: line %d: %w", what, lineAt(data, int(se.Offset)), err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("diag: %s: line %d: field %q: %w", what, lineAt(data, int(te.Offset)), te.Field, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("diag: %s: line %d: report ends early: %w", what, lineAt(data, len(data)), err)
	}
	return fmt.Errorf("diag: %s: %w", what, err)
}

// lineAt is the 1-based line number of byte offset off in data.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// redactObservation returns a copy of o with secrets redacted from every
// field that carries provider output or exception text.
func redactObservation(o scan.Observation) scan.Observation {
	o.Provider, o.Model = secret.Cut(o.Provider), secret.Cut(o.Model)
	o.SkipReason = diag.Redact(o.SkipReason)
	o.Log = diag.Redact(o.Log)
	if o.Calls != nil {
		calls := make([]scan.Call, len(o.Calls))
		for i, c := range o.Calls {
			c.Text, c.ServerLog = diag.Redact(c.Text), diag.Redact(c.ServerLog)
			if c.Chain != nil {
				chain := make([]scan.PyException, len(c.Chain))
				for k, e := range c.Chain {
					e.Message = diag.Redact(e.Message)
					e.Traceback = diag.Redact(e.Traceback)
					if e.Frames != nil {
						frames := make([]scan.Frame, len(e.Frames))
						for f, fr := range e.Frames {
							fr.Code = diag.Redact(fr.Code)
							frames[f] = fr
						}
						e.Frames = frames
					}
					chain[k] = e
				}
				c.Chain = chain
			}
			calls[i] = c
		}
		o.Calls = calls
	}
	if o.Stacks != nil {
		s := *o.Stacks
		s.Threads, s.Tasks, s.LoopThread = diag.Redact(s.Threads), diag.Redact(s.Tasks), diag.Redact(s.LoopThread)
		o.Stacks = &s
	}
	if o.Worker != nil {
		w := *o.Worker
		w.StderrTail = diag.Redact(w.StderrTail)
		w.ExitStatus = diag.Redact(w.ExitStatus)
		o.Worker = &w
	}
	return o
}

// redactCells returns copies of cells, and of the remedy cells in them, safe
// to write out.
func redactCells(in []diag.CellReport) []diag.CellReport {
	cells := make([]diag.CellReport, len(in))
	for i, c := range in {
		c.Observation = redactObservation(c.Observation)
		c.Evidence = diag.Redact(c.Evidence)
		c.Frame = diag.Redact(c.Frame)
		if len(c.Remedies) > 0 {
			rems := make([]diag.RemedyResult, len(c.Remedies))
			for j, rem := range c.Remedies {
				rem.Note = diag.Redact(rem.Note)
				if rem.Cell != nil {
					rc := redactCells([]diag.CellReport{*rem.Cell})[0]
					rem.Cell = &rc
				}
				rems[j] = rem
			}
			c.Remedies = rems
		}
		cells[i] = c
	}
	return cells
}

// redactHeader returns a copy of h safe to write out: the names a server
// gave (providers, models) hold no kept secret. Its lists are never null
// (docs/report.schema.json): a report rebuilt from bare observations has
// no plan, and says so with empty lists.
func redactHeader(h Header) Header {
	h.Command = diag.Redact(h.Command)
	h.Plan.API, h.Plan.Model = diag.Redact(h.Plan.API), secret.Cut(h.Plan.Model)
	h.Plan.Providers = cutAll(h.Plan.Providers)
	if h.Plan.Providers == nil {
		h.Plan.Providers = []string{}
	}
	if h.Plan.Modes == nil {
		h.Plan.Modes = []scan.Mode{}
	}
	if h.Plan.Loops == nil {
		h.Plan.Loops = []scan.Loop{}
	}
	ps := make([]providers.Provider, len(h.Providers))
	for i, p := range h.Providers {
		p.Name, p.DefaultModel, p.URL, p.Parent = secret.Cut(p.Name), secret.Cut(p.DefaultModel), diag.Redact(p.URL), secret.Cut(p.Parent)
		p.Models = cutAll(p.Models)
		ps[i] = p
	}
	h.Providers = ps
	return h
}

func cutAll(names []string) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = secret.Cut(n)
	}
	return out
}

// redactReport returns a copy of r safe to write out.
func redactReport(r Report) Report {
	h := redactHeader(r.Header())
	r.Command, r.Plan, r.Providers = h.Command, h.Plan, h.Providers
	r.Cells = redactCells(r.Cells)
	return r
}

// escapeControls escapes, in encoded JSON, what encoding/json leaves raw
// and a terminal may act on when the file is printed: DEL, the C1 controls
// (U+0080-U+009F: 8-bit CSI and OSC) and the bidi overrides. They can only
// stand inside strings, where \uXXXX means the same.
func escapeControls(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r == 0x7f || diag.TerminalRune(r) }) {
		return b
	}
	out := make([]byte, 0, len(b)+64)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == 0x7f || diag.TerminalRune(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// WriteJSON writes the report as one indented JSON document, secrets
// redacted and terminal controls escaped.
func WriteJSON(w io.Writer, r Report) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redactReport(r)); err != nil {
		return err
	}
	_, err := w.Write(escapeControls(buf.Bytes()))
	return err
}

// WriteJSONL writes the report as a JSON-lines stream: its header, one line
// per observation, and the end record. ReadReport reads it back.
func WriteJSONL(w io.Writer, r Report) error {
	jw := NewJSONLWriter(w)
	if err := jw.WriteHeader(r.Header()); err != nil {
		return err
	}
	for _, o := range r.Observations() {
		if err := jw.WriteObservation(o); err != nil {
			return err
		}
	}
	return jw.WriteEnd(r.Interrupted)
}
