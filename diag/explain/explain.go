package explain

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Options bound the work and memory of Explain. Zero values take the
// defaults; the bounds hold whatever the input is.
type Options struct {
	// MaxLine is the longest line read, in bytes; the rest of a longer line
	// is skipped. Default 1 MiB.
	MaxLine int
	// MaxFindings bounds the distinct (class, signature, provider) findings
	// kept; failures past it are counted in Summary.Dropped. Default 1024.
	MaxFindings int
}

const (
	defaultMaxLine     = 1 << 20
	defaultMaxFindings = 1024
	// Per traceback block: the frames kept per section (the innermost
	// ones), the sections kept per chain (the root causes and the raised
	// one), the message lines kept per exception.
	maxBlockFrames   = 64
	maxBlockSections = 16
	maxMessageLines  = 64
	// pendingLines is how many lines a one-line error waits for the
	// traceback a logger.exception prints after it.
	pendingLines = 3
	// providerContextLines is how long a provider named on a log line
	// stays the provider of the failures that follow it.
	providerContextLines = 8
)

// Explanation is what Explain concludes about a text: the decisive verdict
// first, then every failure it found, aggregated.
type Explanation struct {
	Verdict      diag.Class `json:"verdict"`
	Signature    string     `json:"signature"`
	Evidence     string     `json:"evidence"`
	Provider     string     `json:"provider,omitempty"`
	Frame        string     `json:"frame,omitempty"`         // innermost g4f frame
	ReentryFrame string     `json:"reentry_frame,omitempty"` // the frame that called run_until_complete / asyncio.run
	// UserFrame is the first frame of the user's own code (diag.UserCode):
	// the line to change; the remedy is phrased for it.
	UserFrame   *diag.CodeFrame `json:"user_frame,omitempty"`
	Note        string          `json:"note,omitempty"` // how the evidence was found: quoted, from an API body
	Explanation string          `json:"explanation,omitempty"`
	Remedy      string          `json:"remedy,omitempty"`
	// Secondary are the findings taken for exit-time noise that the
	// decisive error outranked: said beside it, not counted as failures.
	Secondary []Finding `json:"secondary,omitempty"`
	// Findings are the failures found, one per (class, signature,
	// provider), worst first: loop classes, then by count.
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// Finding is one kind of failure found in the text and how often.
type Finding struct {
	Verdict      diag.Class      `json:"verdict"`
	Signature    string          `json:"signature"`
	Evidence     string          `json:"evidence"` // of the first occurrence
	Count        int             `json:"count"`
	Provider     string          `json:"provider,omitempty"`
	First        string          `json:"first_seen,omitempty"` // log time of the first occurrence, as written
	Last         string          `json:"last_seen,omitempty"`
	Frame        string          `json:"frame,omitempty"`
	ReentryFrame string          `json:"reentry_frame,omitempty"`
	UserFrame    *diag.CodeFrame `json:"user_frame,omitempty"`
	Note         string          `json:"note,omitempty"`
	// Noise says why the failure is taken for the noise a process makes
	// as it ends (a finalizer's error, a task destroyed pending), which
	// ranks below any real error of the text.
	Noise    string `json:"noise,omitempty"`
	order    int
	lastLine int         // the line of the last occurrence
	user     *scan.Frame // UserFrame as read, its code line kept for the remedy
}

// Summary counts the failures of a text.
type Summary struct {
	Lines      int                `json:"lines"`
	Failures   int                `json:"failures"`
	Loop       int                `json:"loop_failures"`
	ByClass    map[diag.Class]int `json:"by_class,omitempty"`
	ByProvider map[string]int     `json:"by_provider,omitempty"`
	First      string             `json:"first_seen,omitempty"`
	Last       string             `json:"last_seen,omitempty"`
	// Top are the signatures found, over all providers, worst first: what an
	// operator reads at a glance ("4728 loop-reentry at
	// to_sync_generator since 09:14").
	Top []SignatureCount `json:"top_signatures,omitempty"`
	// Dropped counts failures not kept because MaxFindings distinct
	// findings were already held.
	Dropped int `json:"dropped,omitempty"`
}

// SignatureCount is one signature's failures over all providers.
type SignatureCount struct {
	Signature string     `json:"signature"`
	Verdict   diag.Class `json:"verdict"`
	Count     int        `json:"count"`
	Providers int        `json:"providers,omitempty"`
	// At is the frame of the signature's most frequent finding: the frame
	// that re-entered the loop, else the innermost g4f frame.
	At    string `json:"at,omitempty"`
	First string `json:"first_seen,omitempty"`
	Last  string `json:"last_seen,omitempty"`
}

// LoopFailure reports whether any finding that is not outranked noise is
// of a loop class.
func (e Explanation) LoopFailure() bool { return e.Summary.Loop > 0 }

// Failing counts the failures of the findings whose class fails under the
// set, as ClassSet.Fails judges a cell of that class: with the default set,
// the loop-class failures. Noise a real error outranked does not count.
func (e Explanation) Failing(set diag.ClassSet) int {
	n := 0
	for _, f := range e.Findings {
		if e.outranked(f) {
			continue
		}
		if set.Fails(diag.Verdict{Class: f.Verdict}) {
			n += f.Count
		}
	}
	return n
}

// outranked reports whether a finding is noise below the decisive error.
func (e Explanation) outranked(f Finding) bool {
	return f.Noise != "" && len(e.Findings) > 0 && e.Findings[0].Noise == ""
}

// Explain reads a text — Python tracebacks (chained or not), API error bodies
// and SSE data: lines, server logs, Markdown bug reports — line by line and
// classifies every failure in it with the signature table Classify uses.
// Memory is bounded by the options and the number of distinct findings, not
// by the length of the text. The error is the reader's.
//
// A text that is empty (or blank lines only) or not text at all (see
// NotText) is an *InputError: there is nothing to explain, which is not ok.
func Explain(r io.Reader, o Options) (Explanation, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Explanation{}, err
	}
	if why := NotText(head); why != "" {
		return Explanation{}, &InputError{NotText: why}
	}
	x := newExplainer(o)
	if err := x.read(br); err != nil {
		return Explanation{}, err
	}
	if !x.text {
		return Explanation{}, &InputError{Lines: x.sum.Lines}
	}
	return x.explanation(), nil
}

// sniffBytes is how much of the start of a text NotText reads.
const sniffBytes = 8 << 10

// InputError is a text Explain cannot read: empty or blank, or not text.
type InputError struct {
	// NotText says why the input is not text; "" for an empty one.
	NotText string
	// Lines are the blank lines of an empty input.
	Lines int
}

func (e *InputError) Error() string {
	const want = "pass the text of a traceback, a log or a stack dump"
	switch {
	case e.NotText != "":
		return "the input is not text (" + e.NotText + "): " + want
	case e.Lines > 0:
		return fmt.Sprintf("the input is empty (%d blank line%s): %s", e.Lines, diag.Plural(e.Lines), want)
	}
	return "the input is empty: " + want
}

// NotText says why the start of an input is not text, "" when it is: a
// NUL byte (a binary file; UTF-16, which Windows PowerShell's ">" writes,
// is named as such), or more than one byte in eight that is neither UTF-8
// nor a printable or layout character. A Latin-1 log, with a few bytes that
// are not UTF-8, is text.
func NotText(head []byte) string {
	if len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff) {
		return "UTF-16 text, as Windows PowerShell's > writes it; convert it to UTF-8 first"
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Sprintf("a NUL byte at offset %d: a binary file", i)
	}
	bad := 0
	for i := 0; i < len(head); {
		c, n := utf8.DecodeRune(head[i:])
		if c == utf8.RuneError && n <= 1 && !utf8.FullRune(head[i:]) {
			break // a rune cut at the end of the window
		}
		if c == utf8.RuneError && n <= 1 || c < 0x20 && !strings.ContainsRune("\t\n\r\f\v\b\x1b", c) || c == 0x7f {
			bad++
		}
		i += max(n, 1)
	}
	if bad > 0 && bad*8 > len(head) {
		return fmt.Sprintf("%d of its first %d bytes are neither UTF-8 nor printable: a binary file", bad, len(head))
	}
	return ""
}

func (x *explainer) read(r io.Reader) error {
	lr := newLineReader(r, x.maxLine)
	for {
		line, ok, err := lr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		x.line(line)
		x.notePeak(cap(lr.buf))
	}
	x.finish()
	return nil
}

// lineReader reads lines of at most max bytes, skipping the rest of longer
// ones, so one endless line cannot grow memory.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (lr *lineReader) next() (string, bool, error) {
	lr.buf = lr.buf[:0]
	read := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		read += len(chunk)
		if room := lr.max - len(lr.buf); room > 0 {
			lr.buf = append(lr.buf, chunk[:min(room, len(chunk))]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if read == 0 {
				return "", false, nil
			}
		case err != nil:
			return "", false, err
		}
		break
	}
	b := lr.buf
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b), true, nil
}

// record is one failure before aggregation.
type record struct {
	sig      *diag.Signature
	evidence string
	provider string
	note     string
	noise    string // why it is taken for exit-time noise
	group    bool   // an exception group no signature matched
	// frames found without a chain (a stack dump)
	frame, reentry string
	user           *scan.Frame // the user's own frame (diag.UserCode)
	// the traceback's chain and the index of the matched exception, read
	// for frames only when the record starts a finding
	chain []scan.PyException
	idx   int
}

type explainer struct {
	maxLine, maxFindings int
	text                 bool // a line that is not blank was read

	lineNo   int
	lastTime string

	ctxProvider     string
	ctxProviderLine int

	// the traceback block being read
	block      *pytext.BlockReader
	blockLine0 int // the line number of the block's "Traceback" line
	// blockTime is the log time when the block started: the block ends at
	// the next record, whose time is not the failure's
	blockTime string
	// blockNoise: the block is one Python printed under "Exception ignored
	// in: ..." (a finalizer's, or at exit); ignoredIn is that line's
	// object and ignoredLine its line
	blockNoise  string
	blockHead   string // the trimmed head line
	ignoredIn   string
	ignoredLine int
	// what shows an error and gave no finding: the verdict when the text
	// gives none but exit-time noise (see doc.go)
	unplaced unplaced
	real     int // the failures added that are not exit-time noise

	// a one-line error waiting for the traceback that may repeat it
	pending    *record
	pendingAge int
	pendTime   string

	// a stack dump being read, and faulthandler's timeout header before it
	dump         *dumpState
	faultTimeout string
	// the first line telling of a hang in words, while no failure was seen
	hangWords string
	// line signatures' LineAfter patterns seen so far
	after map[*diag.Signature]bool
	// the last record telling how a process ended, so that the kill that
	// follows a timeout or a fatal error is not counted twice
	lastEnd     *diag.Signature
	lastEndPID  string
	lastEndLine int
	// g4f's retry log: the attempt open, and the attempts of each provider
	attempt *attempt
	tries   map[string]*tries

	idx      map[findingKey]int
	findings []Finding
	sum      Summary
	peak     int // the most bytes held at once by the line buffer and the block
}

type findingKey struct {
	class    diag.Class
	sig      diag.SignatureID
	provider string
	noise    bool
}

func newExplainer(o Options) *explainer {
	x := &explainer{maxLine: o.MaxLine, maxFindings: o.MaxFindings, idx: map[findingKey]int{},
		after: map[*diag.Signature]bool{}, tries: map[string]*tries{}, block: pytext.NewBlockReader(blockOptions)}
	if x.maxLine <= 0 {
		x.maxLine = defaultMaxLine
	}
	if x.maxFindings <= 0 {
		x.maxFindings = defaultMaxFindings
	}
	return x
}

// notePeak records the bytes held now: the line buffer plus the block.
func (x *explainer) notePeak(lineBuf int) {
	held := lineBuf
	if x.dump != nil && x.dump.r.Current() != nil {
		for _, f := range x.dump.r.Current().Frames {
			held += len(f.File) + len(f.Func) + 32
		}
	}
	held += x.block.Held()
	if held > x.peak {
		x.peak = held
	}
}

var (
	fenceLine = regexp.MustCompile("^[ \t]*(?:```|~~~)")
	logTime   = regexp.MustCompile(`^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2})\b`)
	// logStart is a line that starts a log record; the last alternatives
	// are what Python and asyncio print without a logger's head as a
	// process ends, and an access line in the common log format (werkzeug,
	// gunicorn, nginx):
	// `127.0.0.1 - - [09/Apr/2025 18:22:41] "POST /chat HTTP/1.1" 500 -`.
	logStart = regexp.MustCompile(`^(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}\b|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b[: ]|data:|Exception ignored in|Task was destroyed but it is pending|` +
		`[\w.:\-]+ \S+ \S+ \[\d{2}/[A-Z][a-z]{2}/\d{4}[: ]\d{2}:\d{2}:\d{2})`)
	jsonMessage = regexp.MustCompile(`"message"\s*:\s*("(?:[^"\\]|\\.)*")`)

	providerPath  = regexp.MustCompile(`g4f[/\\]Provider[/\\](?:[A-Za-z0-9_]+[/\\])*([A-Z][A-Za-z0-9_]*)\.py`)
	providerNamed = regexp.MustCompile(`\bprovider=["']?([A-Za-z][A-Za-z0-9_.\-]*)|"provider"\s*:\s*"([A-Za-z][A-Za-z0-9_.\-]*)"|\bProvider:\s*([A-Z][A-Za-z0-9_]*)`)
	// namePrefix is a provider name right before an exception in a log
	// line: "Blackbox: RuntimeError: ...".
	namePrefix = regexp.MustCompile(`(?:^|[\s\]:])([A-Z][A-Za-z0-9_]*):[ \t]*$`)
	// logLevelName are the words before a colon that name no provider.
	logLevelName = map[string]bool{"DEBUG": true, "INFO": true, "WARNING": true, "WARN": true, "ERROR": true,
		"CRITICAL": true, "FATAL": true, "TRACE": true, "EXCEPTION": true}
	// quotedPrefix is "Name: Type:" at a line start of a combined message.
	quotedPrefix = regexp.MustCompile(`(?m)^[ \t]*([A-Za-z][A-Za-z0-9_.\-]*):[ \t]+((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*):`)
)

// noiseLine is printed by g4f itself and names no failure of a request.
func noiseLine(s string) bool {
	return strings.Contains(s, "Failed to check g4f version") || strings.Contains(s, "New g4f version")
}

func (x *explainer) line(raw string) {
	x.lineNo++
	x.sum.Lines++
	if !x.text && strings.TrimSpace(raw) != "" {
		x.text = true
	}
	line := pytext.StripGroupMargin(diag.Sanitize(raw))
	if m := logTime.FindStringSubmatch(line); m != nil {
		x.lastTime = m[1]
		if x.sum.First == "" {
			x.sum.First = m[1]
		}
		x.sum.Last = m[1]
	}
	x.noteAfter(line)
	if x.dump != nil && x.dumpLine(line) {
		return
	}
	if x.block.Active() && x.blockLine(line) {
		return
	}
	x.outsideLine(line)
}

// blockLine feeds a line to the traceback block; false hands it back to the
// outside reader after the block was finished.
func (x *explainer) blockLine(line string) bool {
	consumed, ended := x.block.Feed(line)
	if ended {
		x.finishBlock()
	}
	return consumed
}

// blockOptions frame a traceback block in the logs explain reads.
var blockOptions = pytext.BlockOptions{
	Log: pytext.LogFrame{
		Fence:       fenceLine.MatchString,
		RecordStart: logStart.MatchString,
		Timed:       logTime.MatchString,
		LinePrefix:  linePrefix.MatchString,
		Stamp: func(line string) int {
			if loc := stampPrefix.FindStringIndex(line); loc != nil {
				return loc[1]
			}
			return -1
		},
	},
	MaxFrames: maxBlockFrames, MaxSections: maxBlockSections,
	MaxMessageLines: maxMessageLines, MaxMessageBytes: diag.MaxMatchBytes,
}

// linePrefix is what a container log or a Markdown quote puts before every
// line of a traceback: "api-1  | ", "> ".
var linePrefix = regexp.MustCompile(`^(?:[A-Za-z0-9_.\-]+[ \t]*\|[ \t]?|(?:>[ \t]?)+)$`)

// stampPrefix is the time and source a log collector (Heroku, journald,
// Kubernetes) writes before every line: "2022-06-15T03:42:11.794121+00:00
// app[web.1]: ", "Mar 01 09:14:02 host g4f[812]: ".
var stampPrefix = regexp.MustCompile(`^(?:[A-Z][a-z]{2} +\d{1,2} +)?\S*\d{2}:\d{2}:\d{2}\S*(?: +[^\s:]+)? +[A-Za-z0-9_.\-/]+(?:\[[^\]]*\])?: ?`)

// startBlock opens a traceback block at its head line.
func (x *explainer) startBlock(line string, ipython bool) {
	x.finishBlock()
	x.block.Start(line, ipython)
	// the log line that announced the traceback names its provider
	x.blockLine0 = x.lineNo
	x.blockTime = x.lastTime
	x.blockNoise = ""
	if x.ignoredLine > 0 && x.lineNo-x.ignoredLine <= 1 {
		x.blockNoise = "Python ignored it in " + x.ignoredIn + " (a finalizer, typically while the process ends)"
	}
	x.blockHead = strings.TrimSpace(line)
}

func (x *explainer) outsideLine(line string) {
	if fenceLine.MatchString(line) {
		return
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return
	}
	if p := providerIn(line); p != "" {
		x.ctxProvider, x.ctxProviderLine = p, x.lineNo
	}
	if strings.Contains(line, pytext.TracebackHead) {
		x.startBlock(line, false)
		return
	}
	if pytext.IsIPythonHead(trimmed) {
		x.startBlock(line, true)
		return
	}
	if pytext.IsFaultTimeout(trimmed) {
		x.faultTimeout = trimmed
		return
	}
	if i := strings.Index(line, ignoredHead); i >= 0 {
		x.ignoredIn = diag.OneLine(strings.TrimSpace(strings.TrimPrefix(line[i+len(ignoredHead):], ":")))
		if r := []rune(x.ignoredIn); len(r) > 80 {
			x.ignoredIn = string(r[:79]) + "…"
		}
		x.ignoredLine = x.lineNo
		if x.unplaced.ignored == "" {
			x.unplaced.ignored = trimmed
		}
	}
	if f, ok := pytext.ParseFrameLine(line); ok && x.real == 0 {
		// a traceback whose head the paste lost
		x.unplaced.frame, x.unplaced.frameLine = diag.OneLine(diag.FormatFrame(f)), x.lineNo
	}
	if pytext.MayStartDump(line) && x.dumpStart(line) {
		return
	}
	x.attemptLine(line)
	if x.pending != nil {
		x.pendingAge++
		if x.pendingAge > pendingLines {
			x.flushPending()
		}
	}
	if noiseLine(line) {
		return
	}
	if r, pid, ok := x.lineSignature(line); ok {
		if r.sig.Symptom {
			// left behind by a failure: no traceback repeats it, and it
			// ends no process
			r.noise = lineNoise(line)
			x.add(x.withProvider(r, line), x.lastTime)
			return
		}
		if x.sameEnd(r, pid) {
			return
		}
		r.noise = lineNoise(line)
		// how a process ended is no provider's, unless the line says
		r.provider = providerIn(line)
		x.flushPending()
		x.pending, x.pendingAge, x.pendTime = &r, 0, x.lastTime
		x.lastEnd, x.lastEndPID, x.lastEndLine = r.sig, pid, x.lineNo
		return
	}
	if r, ok := x.lineRecord(line); ok {
		r.noise = lineNoise(line)
		x.flushPending()
		x.pending, x.pendingAge, x.pendTime = &r, 0, x.lastTime
		return
	}
	if n := lineNoise(line); n != "" {
		ev := line[strings.Index(line, taskDestroyed):] // asyncio's message, without the log record's head
		r := x.withProvider(record{sig: sigPtr(diag.SigUnclassified), evidence: ev, noise: n}, line)
		x.flushPending()
		x.pending, x.pendingAge, x.pendTime = &r, 0, x.lastTime
		return
	}
	x.noteHangWords(trimmed)
	if x.real > 0 {
		return // what shows an error but gave no finding matters only in a text with none
	}
	if strings.Contains(line, "HTTP/") && serverError.MatchString(line) {
		x.unplaced.note(trimmed) // the server failed the request; its log says why, when it is there
	}
	if x.unplaced.exception != "" || !strings.Contains(line, "rror") && !strings.Contains(line, "xception") && !strings.Contains(line, "ERROR") &&
		!strings.Contains(line, "CRITICAL") && !strings.Contains(line, "FATAL") && !strings.Contains(line, "level=") {
		return // the cheap test keeps most lines off the regexps
	}
	if at, typ, msg, ok := pytext.FindInlineException(line); ok {
		x.unplaced.exception = pytext.FormatExceptionLine(typ, msg, pytext.LineEvidence)
		if x.unplaced.frame != "" && x.lineNo-x.unplaced.frameLine <= 3 {
			// the frames above it, their code and carets between
			x.unplaced.excFrame = x.unplaced.frame
		}
		if p := namePrefix.FindStringSubmatch(line[:at]); p != nil && !logLevelName[strings.ToUpper(p[1])] &&
			!strings.HasSuffix(p[1], "Error") {
			x.unplaced.provider = p[1]
		}
	} else if errorLevel.MatchString(line) {
		x.unplaced.note(trimmed)
	}
}

// ignoredHead is what Python prints before an exception it could not raise
// (in a __del__, a callback of the garbage collector, at exit).
const ignoredHead = "Exception ignored in"

// taskDestroyed is asyncio's message for a task the garbage collector
// destroyed while it was pending: the loop stopped (the process was
// ending) before the task could finish.
const taskDestroyed = "Task was destroyed but it is pending"

// lineNoise says why a log line is taken for exit-time noise, "" when it is not.
func lineNoise(line string) string {
	if strings.Contains(line, taskDestroyed) {
		return "asyncio destroyed a task still pending, as a loop stopped or the process ended"
	}
	return ""
}

// errorLevel is a log record's level word that says error: "ERROR:root:",
// "[ERROR]", " - ERROR - ", "level=error", "CRITICAL", "FATAL".
var errorLevel = regexp.MustCompile(`(?:^|[\s\[|:(-])(?:ERROR|CRITICAL|FATAL)(?:$|[\s\]|:)-])|\blevel=(?:error|critical|fatal)\b`)

// serverError is an access line of a request the server failed (5xx).
var serverError = regexp.MustCompile(`HTTP/[\d.]+"? 5\d\d\b`)

// unplaced is what of a text shows an error but gave no finding: the first
// exception line no signature knows and the frame read last before it,
// the innermost frame of frames without their traceback head, the first
// other sign (a log record at an error level, a traceback head alone,
// "Exception ignored in").
type unplaced struct {
	exception, excFrame, provider string
	frame                         string
	frameLine                     int
	other                         string
	// ignored is an "Exception ignored in" line: noise, and the verdict
	// only when the text shows nothing else at all
	ignored string
}

func (u *unplaced) note(evidence string) {
	if u.other == "" {
		u.other = evidence
	}
}

// record is the unclassified finding of a text that gave no other:
// the exception (with its frame), else the frames, else the other sign.
func (u *unplaced) record() (record, bool) {
	r := record{sig: sigPtr(diag.SigUnclassified), provider: u.provider}
	switch {
	case u.exception != "":
		// a provider's error when the line names one (placed decides)
		r.sig, r.evidence, r.frame = &diag.FallbackSignature, u.exception, u.excFrame
		if r.frame != "" {
			r.evidence += " (headless traceback, innermost frame " + r.frame + ")"
		}
	case u.frame != "":
		r.evidence, r.frame = "traceback frames without their head or exception line; innermost frame "+u.frame, u.frame
	case u.other != "":
		r.evidence = u.other
	default:
		return record{}, false
	}
	return r, true
}

// noiseRecord is the unclassified finding of a text that shows nothing but
// an "Exception ignored in" line.
func (u *unplaced) noiseRecord() (record, bool) {
	if u.ignored == "" {
		return record{}, false
	}
	return record{sig: sigPtr(diag.SigUnclassified), evidence: u.ignored,
		noise: "Python ignored it (a finalizer, typically while the process ends)"}, true
}

// lineRecord classifies a line outside a traceback: an API error body, a log
// line naming an exception, an exception repr, a loop error's message.
func (x *explainer) lineRecord(line string) (record, bool) {
	if r, ok := jsonRecord(line); ok {
		return x.withProvider(r, line), true
	}
	hasError := strings.Contains(line, "Error") || strings.Contains(line, "Exception") || strings.Contains(line, "error")
	if !hasError && !strings.Contains(line, "loop") && !strings.Contains(line, "task") && !strings.Contains(line, "asyncio") {
		return record{}, false // the cheap test keeps access lines off the regexps
	}
	if at, typ, msg, ok := pytext.FindInlineException(line); hasError && ok {
		// "Blackbox: KeyError: ..." names the provider that raised it
		prefixed := func(r record) record {
			if p := namePrefix.FindStringSubmatch(line[:at]); p != nil && r.provider == "" && !strings.HasSuffix(p[1], "Error") &&
				!logLevelName[strings.ToUpper(p[1])] {
				r.provider = p[1]
			}
			return r
		}
		if r, ok := x.exceptionRecord(typ, msg, line); ok {
			return prefixed(r), true
		}
		if strings.Contains(line, "ERROR") || strings.Contains(line, "CRITICAL") {
			r := record{sig: &diag.FallbackSignature, evidence: pytext.FormatExceptionLine(typ, msg, pytext.LineEvidence)}
			return prefixed(x.withProvider(r, line)), true
		}
	}
	if typ, msg, ok := pytext.FindReprException(line); hasError && ok {
		if r, ok := x.exceptionRecord(typ, msg, line); ok {
			return r, true
		}
	}
	for i := range diag.Signatures {
		s := &diag.Signatures[i]
		if s.Class.IsLoop() && s.ByMessage(diag.CapMessage(line)) {
			return x.withProvider(record{sig: s, evidence: strings.TrimSpace(line)}, line), true
		}
	}
	return record{}, false
}

func (x *explainer) exceptionRecord(typ, msg, line string) (record, bool) {
	m, ok := diag.MatchException(typ, msg)
	if !ok {
		return record{}, false
	}
	r := record{sig: m.Sig, evidence: m.Line}
	if q, p := quotedNote(typ, msg, m); q != "" {
		r.note, r.provider = q, p
	}
	return x.withProvider(r, line), true
}

// jsonRecord reads an API error body: {"error": {"message": ...}} on its own
// or after "data: ", or a "message": "..." field of a pretty-printed one.
func jsonRecord(line string) (record, bool) {
	s := strings.TrimSpace(line)
	if i := strings.Index(s, "data:"); i >= 0 && i < 40 {
		s = strings.TrimSpace(s[i+len("data:"):])
	}
	if strings.HasPrefix(s, "{") && strings.Contains(s, `"error"`) {
		var body struct {
			Error    json.RawMessage `json:"error"`
			Provider any             `json:"provider"`
		}
		if json.Unmarshal([]byte(s), &body) == nil && len(body.Error) > 0 && string(body.Error) != "null" {
			msg := errorBodyMessage(body.Error)
			r := bodyRecord(msg)
			if p, ok := body.Provider.(string); ok {
				r.provider = providerName(p)
			}
			return r, true
		}
	}
	if strings.Contains(s, `"message"`) {
		if m := jsonMessage.FindStringSubmatch(s); m != nil {
			var msg string
			if json.Unmarshal([]byte(m[1]), &msg) == nil {
				if mm, ok := diag.MatchException("", msg); ok {
					return record{sig: mm.Sig, evidence: mm.Line, note: "from an API error body"}, true
				}
			}
		}
	}
	return record{}, false
}

func errorBodyMessage(raw json.RawMessage) string {
	var obj struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return diag.OrDefault(obj.Message, obj.Detail)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func bodyRecord(msg string) record {
	if m, ok := diag.MatchException("", msg); ok {
		return record{sig: m.Sig, evidence: m.Line, note: "from an API error body"}
	}
	return record{sig: &diag.FallbackSignature, evidence: diag.OrDefault(msg, "API error body without a message"),
		note: "from an API error body"}
}

// withProvider fills the record's provider from the line, else from a
// provider a recent log line named.
func (x *explainer) withProvider(r record, line string) record {
	if r.provider == "" {
		r.provider = providerIn(line)
	}
	if r.provider == "" && x.ctxProvider != "" && x.lineNo-x.ctxProviderLine <= providerContextLines {
		r.provider = x.ctxProvider
	}
	return r
}

func providerIn(s string) string {
	if m := providerPath.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if !strings.Contains(s, "rovider") {
		return ""
	}
	if m := providerNamed.FindStringSubmatch(s); m != nil {
		return providerName(m[1] + m[2] + m[3])
	}
	return ""
}

func providerName(p string) string {
	p = strings.TrimSpace(p)
	if len(p) > 64 {
		p = p[:64]
	}
	if strings.TrimLeft(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == "" {
		return p
	}
	return diag.OneLine(p)
}

// quotedNote says when the match came from an exception quoted in another
// one's message, and which provider the quoting line names.
func quotedNote(typ, msg string, m diag.Match) (string, string) {
	msg = diag.CapMessage(msg)
	if _, direct := diag.MatchType(typ, msg); direct {
		return "", ""
	}
	if _, quoted := diag.MatchQuoted(typ, msg, 0); !quoted {
		return "", ""
	}
	note := "quoted"
	if t := pytext.ShortType(typ); t != "" {
		note = "quoted in " + t
	}
	provider := ""
	inner := strings.TrimPrefix(m.Line, pytext.ShortType(typ)+": ")
	innerType, _, _ := strings.Cut(inner, ":")
	for _, q := range quotedPrefix.FindAllStringSubmatch(msg, diag.MaxQuotes) {
		if pytext.ShortType(q[2]) == innerType {
			provider = providerName(q[1])
			break
		}
	}
	if provider != "" {
		note += " (" + provider + ")"
	}
	return note, provider
}

// finishBlock classifies the traceback block read so far, if any.
func (x *explainer) finishBlock() {
	chain, cut, ok := x.block.FinishCut()
	head := x.blockHead
	x.blockHead = ""
	var r record
	switch {
	case ok:
		r = chainRecord(chain)
	case cut != nil:
		r = cutRecord(cut)
	default:
		if head != "" && x.blockNoise == "" && x.real == 0 {
			x.unplaced.note("a traceback head (" + head + ") with no frames or exception line")
		}
		return
	}
	r.noise = x.blockNoise
	if r.noise == "" && finalizer(chain) {
		r.noise = "raised in a __del__ method (a finalizer, typically while the process ends)"
	}
	if r.provider == "" && x.ctxProvider != "" && x.blockLine0-x.ctxProviderLine <= providerContextLines {
		r.provider = x.ctxProvider
	}
	if p := x.pending; p != nil {
		x.pending = nil
		if p.sig != r.sig && !p.group {
			x.add(*p, x.pendTime)
		}
	}
	if r.sig == &diag.FallbackSignature && len(chain) > 0 && strings.HasSuffix(pytext.ShortType(chain[0].Type), "ExceptionGroup") {
		// the tracebacks of its sub-exceptions follow and say what failed
		r.group = true
		g := r // a copy: only a group's record outlives the call
		x.pending, x.pendingAge, x.pendTime = &g, 0, x.blockTime
		return
	}
	x.add(r, x.blockTime)
	for _, pr := range providerRecords(r) {
		x.add(pr, x.blockTime)
	}
}

// providerRecords are the other providers' failures of a combined message
// (g4f's RetryProviderError), each with its own signature and provider: the
// record r stands for the worst one.
func providerRecords(r record) []record {
	if r.chain == nil {
		return nil
	}
	e := r.chain[r.idx]
	ps := diag.ProviderErrors(e.Message)
	if len(ps) < 2 {
		return nil
	}
	t := pytext.ShortType(e.Type)
	var out []record
	for _, p := range ps {
		if p.Provider == r.provider && p.Match.Sig == r.sig {
			continue
		}
		ev := p.Match.Line
		if t != "" {
			ev = t + ": " + ev
		}
		out = append(out, record{sig: p.Match.Sig, evidence: ev, provider: providerName(p.Provider),
			note:  "quoted in " + diag.OrDefault(t, "a combined message") + " (" + providerName(p.Provider) + ")",
			chain: r.chain, idx: r.idx})
	}
	return out
}

// chainRecord classifies an exception chain (raised first) as check does.
func chainRecord(chain []scan.PyException) record {
	m, idx, ok := diag.MatchChain(chain)
	var r record
	if ok {
		r = record{sig: m.Sig, evidence: m.Line}
		r.note, r.provider = quotedNote(chain[idx].Type, chain[idx].Message, m)
	} else if ir, ok := interruptRecord(chain); ok {
		return ir
	} else {
		idx = 0
		r = record{sig: &diag.FallbackSignature, evidence: pytext.FormatExceptionLine(chain[0].Type, chain[0].Message, pytext.LineEvidence)}
	}
	r.chain, r.idx = chain, idx
	if r.provider == "" {
		r.provider = chainProvider(chain, idx)
	}
	return r
}

// cutRecord judges a traceback cut before its exception line by its head
// and frames: a loop refusing to be entered again, under a head naming
// RuntimeError (or none), is a likely re-entry; anything else is shown as
// it is, unclassified.
func cutRecord(c *pytext.Cut) record {
	head := pytext.ShortType(c.HeadType)
	chain := []scan.PyException{{Type: c.HeadType, Frames: c.Frames}}
	inner := ""
	if n := len(c.Frames); n > 0 {
		inner = diag.OneLine(diag.FormatFrame(c.Frames[n-1]))
	}
	headNote := ""
	if head != "" {
		headNote = "; the head names " + head
	}
	if id, ok := diag.RefusedEntry(c.Frames); ok && (head == "" || head == "RuntimeError") {
		if rf, ok := diag.Reentry(c.Frames, diag.ReentryInTraceback); ok {
			refused := c.Frames[len(c.Frames)-1].Func
			if parts := strings.Split(refused, "."); len(parts) > 2 {
				refused = strings.Join(parts[len(parts)-2:], ".") // uvloop.loop.Loop.run_forever
			}
			ev := "likely " + string(diag.ClassLoopReentry) + ": the exception line is missing; the frames show " +
				diag.OneLine(diag.FormatFrame(rf)) + " entering the running loop, refused in " + refused + headNote
			r := record{sig: tableSig(id), evidence: ev, chain: chain}
			r.provider = chainProvider(chain, 0)
			return r
		}
	}
	ev := "a traceback without its exception line" + headNote
	if inner != "" {
		ev += "; innermost frame " + inner
	}
	r := record{sig: sigPtr(diag.SigUnclassified), evidence: ev, chain: chain}
	r.provider = chainProvider(chain, 0)
	return r
}

// finalizer reports whether an exception of the chain was raised in a
// __del__ method, which Python runs when an object is collected, and
// at exit for all that remain.
func finalizer(chain []scan.PyException) bool {
	for _, e := range chain {
		for _, f := range e.Frames {
			if f.Func == "__del__" {
				return true
			}
		}
	}
	return false
}

// chainProvider is the provider whose module the chain's innermost frames
// run in.
func chainProvider(chain []scan.PyException, idx int) string {
	for i := range pytext.WalkOrder(len(chain), idx, pytext.WalkMatchedThenRaised) {
		fs := chain[i].Frames
		for j := len(fs) - 1; j >= 0; j-- {
			if m := providerPath.FindStringSubmatch(fs[j].File); m != nil {
				return m[1]
			}
		}
		if p := providerIn(pytext.FirstLine(chain[i].Message)); p != "" {
			return p
		}
	}
	return ""
}

func (x *explainer) flushPending() {
	if x.pending != nil {
		x.add(*x.pending, x.pendTime)
		x.pending = nil
	}
}

func (x *explainer) finish() {
	x.finishBlock()
	x.finishDump()
	x.flushPending()
	x.flakyFindings()
	if x.real == 0 && x.sum.Dropped == 0 {
		// noise alone does not hide an error: the error outranks it
		if r, ok := x.unplaced.record(); ok {
			x.add(r, "")
		} else if r, ok := x.unplaced.noiseRecord(); ok && len(x.findings) == 0 {
			x.add(r, "")
		}
	}
	x.hangDescribed()
}

// placed is the record with an error no signature knows put where the
// text puts it: a provider's error when a provider is named, the traceback
// runs through g4f or the text is g4f's API error body; else unclassified.
func placed(r record) record {
	if r.sig != &diag.FallbackSignature || r.provider != "" || r.note != "" {
		return r
	}
	for _, e := range r.chain {
		if _, ok := diag.InnermostG4F(e.Frames); ok {
			return r
		}
	}
	r.sig = sigPtr(diag.SigUnclassified)
	return r
}

// add aggregates one failure.
func (x *explainer) add(r record, when string) {
	r = placed(r)
	if r.sig.Symptom && r.noise == "" {
		// A symptom (a task destroyed pending, a coroutine never awaited)
		// decides only alone: beside a real error it is that error's noise.
		r.noise = "a symptom of another failure (a coroutine or task left behind), which decides when there is one"
	}
	if !r.sig.Symptom {
		x.attemptFailed(r)
	}
	x.sum.Failures++
	if r.noise == "" {
		x.real++
	}
	if r.sig.Class.IsLoop() {
		x.sum.Loop++
	}
	k := findingKey{r.sig.Class, r.sig.ID, r.provider, r.noise != ""}
	i, ok := x.idx[k]
	if !ok {
		if len(x.findings) >= x.maxFindings {
			x.sum.Dropped++
			return
		}
		i = len(x.findings)
		x.idx[k] = i
		f := Finding{Verdict: r.sig.Class, Signature: string(r.sig.ID), Evidence: diag.OneLine(r.evidence),
			Provider: r.provider, First: when, Note: r.note, Noise: r.noise, order: i}
		if r.chain != nil {
			f.Frame = diag.ChainFrame(r.chain, r.idx)
			if bf, ok := diag.BlameFrame(r.chain[r.idx].Frames); ok && f.Frame == "" && f.Verdict == diag.ClassUnclassified {
				f.Frame = diag.OneLine(diag.FormatFrame(bf)) // no g4f frame: the innermost one not of the stdlib
			}
			if rf, ok := diag.ChainReentry(r.chain, r.idx); ok {
				f.ReentryFrame = diag.OneLine(diag.FormatFrame(rf))
			}
			if u, ok := diag.ChainUserCode(r.chain, r.idx); ok {
				r.user = &u
			}
		} else {
			f.Frame, f.ReentryFrame = r.frame, r.reentry
		}
		if r.user != nil {
			f.UserFrame, f.user = diag.NewCodeFrame(*r.user), r.user
		}
		if !f.Verdict.KeepsReentryFrame() {
			f.ReentryFrame = "" // only a re-entry has a frame that re-entered the loop
		}
		x.findings = append(x.findings, f)
	}
	f := &x.findings[i]
	f.Count++
	f.lastLine = x.lineNo
	if when != "" {
		if f.First == "" {
			f.First = when
		}
		f.Last = when
	}
}

// explanation sorts the findings and picks the decisive one: a real error
// before exit-time noise (Finding.Noise), then the worst class (a loop
// class before any other; among the rest, a crash before a hang, a hang
// before a provider's error, a provider's own error before the network or
// credentials it lacked), then the most frequent, then the first seen.
func (x *explainer) explanation() Explanation {
	fs := append([]Finding(nil), x.findings...)
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if ta, tb := tier(a), tier(b); ta != tb {
			return ta < tb
		}
		if a.Verdict != b.Verdict {
			return diag.Worse(a.Verdict, b.Verdict)
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.order < b.order
	})
	sum := x.sum
	var secondary []Finding
	if len(fs) > 0 && fs[0].Noise == "" {
		for _, f := range fs {
			if f.Noise != "" {
				secondary = append(secondary, f)
				sum.Failures -= f.Count // said beside the real error, not counted
				if f.Verdict.IsLoop() {
					sum.Loop -= f.Count
				}
			}
		}
	}
	for _, f := range fs {
		if sum.ByClass == nil {
			sum.ByClass, sum.ByProvider = map[diag.Class]int{}, map[string]int{}
		}
		sum.ByClass[f.Verdict] += f.Count
		if f.Provider != "" {
			sum.ByProvider[f.Provider] += f.Count
		}
	}
	if len(sum.ByProvider) == 0 {
		sum.ByProvider = nil
	}
	sum.Top = topSignatures(fs)
	e := Explanation{Findings: fs, Summary: sum, Secondary: secondary}
	if fs == nil {
		e.Findings = []Finding{}
	}
	if len(fs) == 0 {
		s, _ := diag.Lookup(diag.SigOK)
		e.Verdict, e.Signature = s.Class, string(s.ID)
		e.Evidence = "no failure found in " + strconv.Itoa(sum.Lines) + " line" + diag.Plural(sum.Lines)
		return e
	}
	d := fs[0]
	s, ok := diag.Lookup(diag.SignatureID(d.Signature))
	if !ok {
		s = diag.FallbackSignature
	}
	e.Verdict, e.Signature, e.Evidence = d.Verdict, d.Signature, d.Evidence
	e.Provider, e.Frame, e.ReentryFrame, e.Note = d.Provider, d.Frame, d.ReentryFrame, d.Note
	e.UserFrame = d.UserFrame
	e.Explanation, e.Remedy = s.Explanation, s.Remedy
	if d.user != nil {
		e.Remedy = diag.RemedyAt(s, *d.user, true)
	}
	if d.Noise != "" && e.Note == "" {
		e.Note = "no other error in the text; " + d.Noise
	}
	return e
}

// tier ranks a finding before its class does: a real error (a failing
// class), then exit-time noise, then what is no failure (a provider marked
// not working, a skipped or interrupted run). Without noise this is the
// order of the classes.
func tier(f Finding) int {
	switch {
	case f.Noise != "":
		return 1
	case diag.Verdict{Class: f.Verdict}.Failing():
		return 0
	}
	return 2
}

// Formats lists the formats Render knows.
func Formats() []string { return []string{"table", "text", "json", "markdown"} }

// Render writes an explanation as table (or its alias text),
// json or markdown. Like the report renderers it reads nothing but e and o.
func Render(w io.Writer, format string, e Explanation, o render.Options) error {
	switch format {
	case "table", "text":
		return renderExplainText(w, e, o)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(e)
	case "markdown":
		return renderExplainMarkdown(w, e)
	}
	return fmt.Errorf("diag: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// topFindings is how many findings the text and markdown summaries list.
const (
	topFindings       = 10
	topSignatureLines = 3
)

func renderExplainText(w io.Writer, e Explanation, o render.Options) error {
	p := render.NewPainter(o.Color)
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-10s %s\n", name+":", diag.Clean(value))
		}
	}
	verdict := p.Paint(e.Verdict, string(e.Verdict))
	if e.Signature != "" && e.Signature != string(e.Verdict) {
		verdict += " (" + e.Signature + ")"
	}
	fmt.Fprintf(&b, "%-10s %s\n", "verdict:", verdict)
	field("evidence", e.Evidence)
	field("note", e.Note)
	field("provider", e.Provider)
	field("frame", e.Frame)
	field("re-entry", e.ReentryFrame)
	if e.UserFrame != nil {
		field("your code", e.UserFrame.String())
	}
	for _, f := range e.Secondary {
		field("also", secondaryLine(f))
	}
	if e.Explanation != "" {
		b.WriteString("\n" + wrapText(diag.Clean(e.Explanation), 78, "") + "\n")
	}
	if e.Remedy != "" {
		b.WriteString("\n" + wrapText("Remedy: "+diag.Clean(e.Remedy), 78, "") + "\n")
	}
	if s := e.Summary; s.Failures > 1 || len(e.Findings) > 1 {
		b.WriteString("\n" + p.Bold("Summary") + ": " + summaryLine(s) + "\n")
		b.WriteString("  by class:    " + countList(classCounts(s.ByClass)) + "\n")
		if len(s.ByProvider) > 0 {
			b.WriteString("  by provider: " + countList(providerCounts(s.ByProvider)) + "\n")
		}
		for i, t := range s.Top {
			if i == topSignatureLines {
				break
			}
			head := "               "
			if i == 0 {
				head = "  top:         "
			}
			b.WriteString(head + p.Paint(t.Verdict, topLine(t)) + "\n")
		}
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COUNT\tVERDICT\tSIGNATURE\tPROVIDER\tFIRST\tLAST\tEVIDENCE")
		for i, f := range e.Findings {
			if i == topFindings {
				fmt.Fprintf(tw, "…\t%d more\t\t\t\t\t\n", len(e.Findings)-topFindings)
				break
			}
			ev := f.Evidence
			if r := []rune(ev); len(r) > 80 {
				ev = string(r[:79]) + "…"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Count, p.Paint(f.Verdict, string(f.Verdict)), f.Signature,
				diag.OrDefault(diag.SingleLine(f.Provider), "-"), diag.OrDefault(diag.SingleLine(f.First), "-"), diag.OrDefault(diag.SingleLine(f.Last), "-"), diag.SingleLine(ev))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// secondaryLine is "loop-closed (closed-loop): RuntimeError: Event loop is
// closed; exit-time noise after the error above, not its cause: ...".
func secondaryLine(f Finding) string {
	line := string(f.Verdict)
	if f.Signature != string(f.Verdict) {
		line += " (" + f.Signature + ")"
	}
	line += ": " + f.Evidence
	if f.Count > 1 {
		line += fmt.Sprintf(" (%d times)", f.Count)
	}
	return line + "; exit-time noise after the error above, not its cause: " + f.Noise
}

// topSignatures folds findings (sorted worst first) by signature, keeping
// that order; the time span runs from the earliest finding to the latest.
func topSignatures(fs []Finding) []SignatureCount {
	var out []SignatureCount
	idx := map[string]int{}
	type span struct{ firstOrder, lastLine, best int }
	var spans []span
	for _, f := range fs {
		i, ok := idx[f.Signature]
		if !ok {
			i = len(out)
			idx[f.Signature] = i
			out = append(out, SignatureCount{Signature: f.Signature, Verdict: f.Verdict, First: f.First, Last: f.Last,
				At: diag.OrDefault(f.ReentryFrame, f.Frame)})
			spans = append(spans, span{f.order, f.lastLine, f.Count})
		}
		t, sp := &out[i], &spans[i]
		t.Count += f.Count
		if f.Provider != "" {
			t.Providers++
		}
		if f.order < sp.firstOrder {
			sp.firstOrder, t.First = f.order, f.First
		}
		if f.lastLine > sp.lastLine {
			sp.lastLine, t.Last = f.lastLine, f.Last
		}
		if at := diag.OrDefault(f.ReentryFrame, f.Frame); f.Count > sp.best && at != "" {
			sp.best, t.At = f.Count, at
		}
	}
	return out
}

// topLine is "4728 loop-reentry (reentry-uvloop) at g4f/providers/asyncio.py:57
// in to_sync_generator, 4 providers, since 09:14:01".
func topLine(t SignatureCount) string {
	line := fmt.Sprintf("%d %s (%s)", t.Count, t.Verdict, t.Signature)
	if t.At != "" {
		line += " at " + diag.SingleLine(t.At)
	}
	if t.Providers > 1 {
		line += fmt.Sprintf(", %d providers", t.Providers)
	}
	switch {
	case t.First != "" && t.Last != "" && t.First != t.Last:
		line += ", " + diag.SingleLine(t.First) + " – " + diag.SingleLine(t.Last)
	case t.First != "":
		line += ", at " + diag.SingleLine(t.First)
	}
	return line
}

// summaryLine is "412 failures (412 loop) in 51234 lines, 09:14:02 – 11:02:54".
func summaryLine(s Summary) string {
	line := fmt.Sprintf("%d failure%s (%d loop-class) in %d line%s", s.Failures, diag.Plural(s.Failures), s.Loop, s.Lines, diag.Plural(s.Lines))
	if s.First != "" {
		line += ", " + diag.SingleLine(s.First) + " – " + diag.SingleLine(s.Last)
	}
	if s.Dropped > 0 {
		line += fmt.Sprintf("; %d not itemised (too many distinct findings)", s.Dropped)
	}
	return line
}

type nameCount struct {
	name string
	n    int
}

func classCounts(m map[diag.Class]int) []nameCount {
	var out []nameCount
	for _, c := range diag.OrderedClasses(m) {
		out = append(out, nameCount{string(c), m[c]})
	}
	return out
}

func providerCounts(m map[string]int) []nameCount {
	out := make([]nameCount, 0, len(m))
	for k, v := range m {
		out = append(out, nameCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].name < out[j].name
	})
	return out
}

func countList(cs []nameCount) string {
	parts := make([]string, 0, len(cs))
	for i, c := range cs {
		if i == topFindings {
			parts = append(parts, fmt.Sprintf("… %d more", len(cs)-topFindings))
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", c.n, diag.SingleLine(c.name)))
	}
	return strings.Join(parts, ", ")
}

// wrapText wraps prose at width runes, each line after the first indented.
func wrapText(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if i > 0 {
			if n+1+wl > width {
				b.WriteString("\n" + indent)
				n = len(indent)
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(word)
		n += wl
	}
	return b.String()
}

// userFrameText is "bot.py:42 in on_message", "" for none.
func userFrameText(c *diag.CodeFrame) string {
	if c == nil {
		return ""
	}
	return c.String()
}

func renderExplainMarkdown(w io.Writer, e Explanation) error {
	var b strings.Builder
	b.WriteString("## g4fdiag explain\n\n")
	verdict := "**" + render.MarkdownText(string(e.Verdict)) + "**"
	if e.Signature != "" && e.Signature != string(e.Verdict) {
		verdict += " (" + render.MarkdownCode(e.Signature) + ")"
	}
	b.WriteString("- Verdict: " + verdict + "\n")
	for _, kv := range [][2]string{{"Evidence", e.Evidence}, {"Note", e.Note}, {"Provider", e.Provider},
		{"Frame", e.Frame}, {"Re-entered the loop at", e.ReentryFrame}, {"Your code", userFrameText(e.UserFrame)}} {
		if kv[1] != "" {
			b.WriteString("- " + kv[0] + ": " + render.MarkdownCode(kv[1]) + "\n")
		}
	}
	for _, f := range e.Secondary {
		b.WriteString("- Also: " + render.MarkdownText(secondaryLine(f)) + "\n")
	}
	if e.Explanation != "" {
		b.WriteString("\n" + render.MarkdownText(e.Explanation) + "\n")
	}
	if e.Remedy != "" {
		b.WriteString("\n**Remedy:** " + render.MarkdownText(e.Remedy) + "\n")
	}
	if s := e.Summary; s.Failures > 1 || len(e.Findings) > 1 {
		b.WriteString("\n### Summary\n\n" + render.MarkdownText(summaryLine(s)) + "\n\n")
		for i, t := range s.Top {
			if i == topSignatureLines {
				break
			}
			b.WriteString("- " + render.MarkdownText(topLine(t)) + "\n")
		}
		if len(s.Top) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("| Count | Verdict | Signature | Provider | First | Last | Evidence |\n")
		b.WriteString("|---:|---|---|---|---|---|---|\n")
		for i, f := range e.Findings {
			if i == topFindings {
				fmt.Fprintf(&b, "| … | %d more | | | | | |\n", len(e.Findings)-topFindings)
				break
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", f.Count, render.MarkdownText(string(f.Verdict)), render.MarkdownText(f.Signature),
				render.MarkdownText(diag.OrDefault(f.Provider, "-")), render.MarkdownText(diag.OrDefault(f.First, "-")), render.MarkdownText(diag.OrDefault(f.Last, "-")), render.MarkdownText(f.Evidence))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
