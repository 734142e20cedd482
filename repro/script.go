package repro

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

//go:embed harness/repro_script.py.tmpl
var scriptTemplateText string

var scriptTemplate = template.Must(template.New("repro.py").Option("missingkey=error").Parse(scriptTemplateText))

// ScriptSpec is what a reproduction script is written from: the failing
// cell, the environment it failed in, and what it failed with.
type ScriptSpec struct {
	Cell Cell // an in-process cell (not over HTTP, not a remedy cell)
	Env  Environment
	// Expected is the error line the cell failed with, e.g.
	// "RuntimeError: this event loop is already running."
	Expected string
	// Signature is diag's signature ID for it, e.g. "reentry-uvloop".
	Signature string
	Messages  []Message // nil means DefaultMessages
	// File is the script's name in its run instructions; "" means repro.py.
	File string
	// BlockThreshold is the heartbeat silence after which the script calls
	// the loop thread blocked, as in the scan; zero means 2 s.
	BlockThreshold time.Duration
}

// ScriptRemedies lists the remedies an emitted script can apply for a cell,
// in AllRemedies order: uvloop-removed on uvloop; async for the sync client
// (baseline too: AsyncClient under asyncio.run on the same kind of thread);
// nest-asyncio on the stdlib loop without it, when a loop is running;
// to-thread for the sync client inside a loop. The script refuses the
// others, nest-asyncio on uvloop with the reason.
func ScriptRemedies(c Cell) []Remedy {
	syncClient := c.Mode == ModeBaseline || c.Mode == ModeSync || c.Mode == ModeSyncStream
	var out []Remedy
	for _, r := range AllRemedies {
		var applies bool
		switch r {
		case RemedyNoUvloop:
			applies = c.Loop == LoopUvloop
		case RemedyAsync:
			applies = syncClient
		case RemedyNest:
			applies = c.Loop == LoopAsyncio && c.Mode != ModeBaseline
		case RemedyToThread:
			applies = syncClient && c.Mode != ModeBaseline
		}
		if applies {
			out = append(out, r)
		}
	}
	return out
}

var (
	scriptModeNotes = map[Mode]string{
		ModeBaseline:    "baseline: the sync Client on a plain thread with no event loop",
		ModeSync:        "sync: the sync Client called inside a coroutine on the running loop",
		ModeSyncStream:  "sync-stream: the sync Client with stream=True, iterated inside a coroutine on the running loop",
		ModeAsync:       "async: await AsyncClient().chat.completions.create(...)",
		ModeAsyncStream: "async-stream: AsyncClient with stream=True, async for over the chunks",
	}
	scriptLoopNotes = map[Loop]string{
		LoopAsyncio: "asyncio: the stdlib loop, nest_asyncio hidden from this process",
		LoopNest:    "nest: the stdlib loop with nest_asyncio importable, as g4f expects",
		LoopUvloop:  "uvloop: uvloop's loop and policy, as uvicorn runs with uvloop installed",
	}
	scriptRemedyNotes = map[Remedy]string{
		RemedyNoUvloop: "uvloop hidden before g4f is imported: the stdlib loop",
		RemedyAsync:    "the same call through AsyncClient",
		RemedyNest:     "nest_asyncio importable, as g4f expects",
		RemedyToThread: "the sync call run with await asyncio.to_thread(...)",
	}
)

// scriptData fills the template. The *Note fields go into comments and are
// cleaned to one printable line; the others are Python literals.
type scriptData struct {
	ProviderNote, ModelNote, ModeNote, LoopNote    string
	PythonNote, G4FNote, LoopPackageNote, NestNote string
	ExpectedNote, SignatureNote, CallsNote         string
	RunLines                                       []string
	Provider, Model, Mode, Loop, Messages          string
	Calls, Rounds                                  int
	BlockedAfter                                   string
}

// EmitScript writes a standalone Python script that reproduces the cell of
// s with only g4f and the loop package: the same provider, model, call mode
// and loop set-up, headed by the versions observed and the expected error.
// Run with --remedy NAME it applies one of ScriptRemedies(s.Cell) for real.
// Every value from outside (provider, model, messages, versions) is written
// as a Python string literal or a cleaned comment, so none can break out.
func EmitScript(s ScriptSpec) ([]byte, error) {
	c := s.Cell
	switch {
	case c.Provider == "":
		return nil, errors.New("emit script: the cell has no provider")
	case scriptModeNotes[c.Mode] == "":
		return nil, fmt.Errorf("emit script: mode %q has no script (the script calls g4f in-process: %s)", c.Mode, scriptJoin(AllModes))
	case scriptLoopNotes[c.Loop] == "":
		return nil, fmt.Errorf("emit script: loop %q has no script (use one of %s)", c.Loop, scriptJoin(AllLoops))
	case c.Remedy != "":
		return nil, fmt.Errorf("emit script: cell %s tries remedy %s; emit the cell it is a remedy for (%s)", c.Key(), c.Remedy, c.Of)
	}
	msgs := s.Messages
	if msgs == nil {
		msgs = DefaultMessages
	}
	file := s.File
	if file == "" {
		file = "repro.py"
	}
	d := scriptData{
		ProviderNote:    pyString(c.Provider),
		ModelNote:       "the provider's default",
		ModeNote:        scriptModeNotes[c.Mode],
		LoopNote:        scriptLoopNotes[c.Loop],
		PythonNote:      scriptOrUnknown(scriptJoinNonEmpty(s.Env.PythonVersion, scriptParens(s.Env.Python))),
		G4FNote:         scriptOrUnknown(scriptJoinNonEmpty(s.Env.G4FVersion, scriptParens(s.Env.G4FPath))),
		LoopPackageNote: scriptLoopPackage(s.Env, c.Loop),
		NestNote:        scriptOrUnknown(s.Env.NestModule),
		ExpectedNote:    scriptOrUnknown(s.Expected),
		SignatureNote:   scriptOrUnknown(s.Signature),
		Provider:        pyString(c.Provider),
		Model:           pyString(c.Model),
		Mode:            pyString(string(c.Mode)),
		Loop:            pyString(string(c.Loop)),
		Messages:        pyMessages(msgs),
		Calls:           max(c.Concurrency, 1),
		Rounds:          max(c.Repeat, 1),
		BlockedAfter:    "2.0",
	}
	if s.BlockThreshold > 0 {
		d.BlockedAfter = strconv.FormatFloat(s.BlockThreshold.Seconds(), 'f', -1, 64)
	}
	d.CallsNote = fmt.Sprintf("%d at once, %d round", d.Calls, d.Rounds)
	if d.Rounds > 1 {
		d.CallsNote += "s"
	}
	if c.Model != "" {
		d.ModelNote = pyString(c.Model)
	}
	if s.Env.NestModule != "" {
		d.NestNote = s.Env.NestModule + " (the module g4f imports to re-enter a running loop)"
	}
	cmd := "python3 " + scriptComment(file)
	width := len(cmd) + len(" --remedy uvloop-removed")
	d.RunLines = []string{fmt.Sprintf("%-*s  # reproduces the failure", width, cmd)}
	for _, r := range ScriptRemedies(c) {
		if r == RemedyNest && !scriptNestAvailable(s.Env) {
			continue
		}
		d.RunLines = append(d.RunLines, fmt.Sprintf("%-*s  # %s", width, cmd+" --remedy "+string(r), scriptRemedyNotes[r]))
	}
	for _, p := range []*string{&d.ProviderNote, &d.ModelNote, &d.PythonNote, &d.G4FNote, &d.LoopPackageNote,
		&d.NestNote, &d.ExpectedNote, &d.SignatureNote} {
		*p = scriptComment(*p)
	}
	var b bytes.Buffer
	if err := scriptTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("emit script: %w", err)
	}
	return b.Bytes(), nil
}

func scriptNestAvailable(env Environment) bool {
	li, known := env.Loop(LoopNest)
	return !known || li.Available
}

func scriptLoopPackage(env Environment, l Loop) string {
	li, ok := env.Loop(l)
	if !ok || li.Package == "" {
		return scriptOrUnknown("")
	}
	return scriptJoinNonEmpty(li.Package, li.Version)
}

func scriptJoin[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func scriptJoinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func scriptParens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func scriptOrUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// pyString is s as a Python string literal. strconv.Quote's escapes (\a \b
// \f \n \r \t \v \\ \" \xXX for bytes below 0x80, \uXXXX, \UXXXXXXXX) mean
// the same in Python once s is valid UTF-8, and it escapes every rune that
// is not printable, line and paragraph separators included.
func pyString(s string) string {
	return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD"))
}

func pyMessages(msgs []Message) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf(`{"role": %s, "content": %s}`, pyString(m.Role), pyString(m.Content))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// scriptMaxNote bounds a comment value, in runes.
const scriptMaxNote = 300

// scriptComment makes s safe and short inside a # comment: one line, every
// rune that is not printable (controls, line separators, bidi overrides) a
// "?", at most scriptMaxNote runes.
func scriptComment(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	s = strings.Map(func(r rune) rune {
		if !strconv.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > scriptMaxNote {
		s = string([]rune(s)[:scriptMaxNote-1]) + "…"
	}
	return s
}

// scriptGrace is how long RunScript waits past the script's own timeout
// before it kills the script's process group.
const scriptGrace = 3 * time.Second

// scriptOutputLimit bounds what RunScript keeps of a script's output (its
// tail: the outcome is printed last).
const scriptOutputLimit = 1 << 20

// scriptLogLimit bounds Observation.Log of a script run.
const scriptLogLimit = 16 << 10

// RunScript runs an emitted script, `t.Python path [--remedy R] --timeout
// S`, with t.Env in a process group of its own, and turns what it printed
// into an Observation diag classifies like a worker's: completed with one
// call (ok, or error with the exception the script reported and its
// traceback), blocked with the loop thread's stack, or deadline with every
// thread's stack (the script's own timeout) or none (killed at timeout plus
// a grace, or when ctx ends). The cell comes from the script's constants;
// with a remedy, Mode and Loop are those the script ran with, Remedy and
// Of (the failing cell's key) are set.
//
// The error is non-nil when the script could not be read or started, when it
// refused the remedy, or when ctx ended (the observation is then incomplete).
// A script that died without an outcome is an observation that ended
// EndCrashed, not an error.
func RunScript(ctx context.Context, t Target, path string, remedy Remedy, timeout time.Duration) (Observation, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Observation{}, err
	}
	cell, err := scriptCell(src)
	if err != nil {
		return Observation{}, fmt.Errorf("%s: %w", path, err)
	}
	obs := Observation{Cell: cell, Started: time.Now()}
	if remedy != "" {
		if !scriptHasRemedy(ScriptRemedies(cell), remedy) {
			return obs, fmt.Errorf("remedy %s does not apply to %s (it has: %s)", remedy, cell.Key(), scriptOrUnknown(scriptJoin(ScriptRemedies(cell))))
		}
		obs.Remedy, obs.Of = remedy, cell.Key()
		obs.Mode, obs.Loop = scriptRemedyCell(cell, remedy)
	}
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	args := []string{path}
	if remedy != "" {
		args = append(args, "--remedy", string(remedy))
	}
	args = append(args, "--timeout", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	cmd := exec.Command(t.Python, args...)
	cmd.Env = t.Env
	cmd.SysProcAttr = ProcAttr()
	out := newTailBuffer(scriptOutputLimit)
	cmd.Stdout = out // one pipe for both: the traceback stays between its lines
	cmd.Stderr = out
	cmd.WaitDelay = time.Second
	if err := StartContained(cmd); err != nil {
		return obs, envErrorf("pass --python with the path of a Python 3 interpreter",
			"cannot start Python %q: %v", t.Python, unwrapExec(err))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(timeout + scriptGrace)
	defer timer.Stop()
	var waitErr error
	killed, cancelled := false, false
	select {
	case waitErr = <-done:
	case <-timer.C:
		killed = true
	case <-ctx.Done():
		cancelled = true
	}
	// Whatever the script started dies with it (os._exit leaves children).
	KillGroup(cmd.Process.Pid)
	if killed || cancelled {
		waitErr = <-done
	}
	ReapAdopted() // and what it started in a session of its own
	obs.DurationMS = msSince(obs.Started)
	obs.Worker = &WorkerInfo{PID: cmd.Process.Pid}
	if cancelled {
		return obs, ctx.Err()
	}
	text := out.String()
	if killed {
		obs.End = EndDeadline
		obs.Log = scriptTail(text, scriptLogLimit)
		obs.Calls = []Call{{Outcome: OutcomePending, DurationMS: obs.DurationMS}}
		return obs, nil
	}
	res, ok := parseScriptOutput(text)
	if !ok {
		if last := lastLine(text); remedy != "" && scriptExitCode(waitErr) == 1 && strings.HasPrefix(last, "--remedy ") &&
			!scriptSetupLine.MatchString(text) {
			return obs, fmt.Errorf("the script refused to apply it: %s", last)
		}
		obs.End = EndCrashed
		obs.Worker.ExitStatus = scriptExitStatus(waitErr)
		obs.Worker.StderrTail = scriptTail(text, 4<<10)
		obs.Log = scriptTail(text, scriptLogLimit)
		return obs, nil
	}
	if res.mode != "" && remedy != "" {
		obs.Mode, obs.Loop = res.mode, res.loop
	}
	obs.Log = scriptTail(res.log, scriptLogLimit)
	call := Call{DurationMS: res.callMS, Chunks: res.chunks, FirstChunkMS: res.firstMS, LastChunkMS: res.lastMS}
	switch res.status {
	case "OK":
		obs.End = EndCompleted
		call.Outcome, call.Text = OutcomeOK, scriptCut(res.detail, 200)
	case "FAILED":
		obs.End = EndCompleted
		call.Outcome = OutcomeError
		call.Chain = []PyException{scriptException(res.detail, res.traceback)}
	case "BLOCKED":
		obs.End = EndBlocked
		call.Outcome = OutcomePending
		obs.Stacks = &Stacks{LoopThread: res.after, BlockedMS: res.blockedMS}
	case "TIMEOUT":
		obs.End = EndDeadline
		call.Outcome = OutcomePending
		obs.Stacks = &Stacks{Threads: res.after}
	}
	obs.Calls = []Call{call}
	return obs, nil
}

func scriptHasRemedy(rs []Remedy, r Remedy) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// scriptRemedyCell is the mode and loop a script runs with under a remedy, as far
// as Go can tell before it runs: without uvloop the stdlib loop is "nest"
// when nest_asyncio is installed, which the script reports on its SETUP line.
func scriptRemedyCell(c Cell, r Remedy) (Mode, Loop) {
	switch r {
	case RemedyNoUvloop, RemedyNest:
		return c.Mode, LoopNest
	case RemedyAsync:
		if c.Mode == ModeSyncStream {
			return ModeAsyncStream, c.Loop
		}
		return ModeAsync, c.Loop
	}
	return c.Mode, c.Loop
}

// scriptConst matches one constant line of an emitted script.
var scriptConst = regexp.MustCompile(`(?m)^(PROVIDER|MODEL|MODE|LOOP|CALLS|ROUNDS) = ("(?:[^"\\\n]|\\.)*"|\d+)`)

// scriptCell reads the cell an emitted script reproduces from its constants.
func scriptCell(src []byte) (Cell, error) {
	vals := map[string]string{}
	for _, m := range scriptConst.FindAllSubmatch(src, -1) {
		name, lit := string(m[1]), string(m[2])
		if _, seen := vals[name]; seen {
			continue
		}
		if strings.HasPrefix(lit, `"`) {
			v, err := strconv.Unquote(lit)
			if err != nil {
				return Cell{}, fmt.Errorf("not a g4fdiag reproduction script: %s = %s", name, lit)
			}
			lit = v
		}
		vals[name] = lit
	}
	for _, name := range []string{"PROVIDER", "MODEL", "MODE", "LOOP", "CALLS", "ROUNDS"} {
		if _, ok := vals[name]; !ok {
			return Cell{}, fmt.Errorf("not a g4fdiag reproduction script: no %s", name)
		}
	}
	calls, _ := strconv.Atoi(vals["CALLS"])
	rounds, _ := strconv.Atoi(vals["ROUNDS"])
	c := Cell{Provider: vals["PROVIDER"], Model: vals["MODEL"], Mode: Mode(vals["MODE"]), Loop: Loop(vals["LOOP"]),
		Concurrency: max(calls, 1), Repeat: max(rounds, 1)}
	if scriptModeNotes[c.Mode] == "" || scriptLoopNotes[c.Loop] == "" {
		return Cell{}, fmt.Errorf("not a g4fdiag reproduction script: mode %q, loop %q", c.Mode, c.Loop)
	}
	return c, nil
}

// scriptResult is what a script printed about its run.
type scriptResult struct {
	mode      Mode
	loop      Loop
	status    string // OK, FAILED, BLOCKED, TIMEOUT
	detail    string // the rest of the RESULT line, unescaped
	log       string // everything before the call line
	traceback string // FAILED: between the call line and the RESULT line
	after     string // BLOCKED, TIMEOUT: the stacks after the RESULT line
	callMS    float64
	chunks    int
	firstMS   float64
	lastMS    float64
	blockedMS float64
}

var (
	scriptSetupLine   = regexp.MustCompile(`(?m)^SETUP: mode=(\S+) loop=(\S+) remedy=(\S+)\r?$`)
	scriptCallLine    = regexp.MustCompile(`^call: ([0-9.]+) s, (\d+) chunks(?: \(first at ([0-9.]+) s, last at ([0-9.]+) s\))?\r?$`)
	scriptBlockedLine = regexp.MustCompile(`for ([0-9.]+) s$`)
)

// parseScriptOutput finds the outcome a script printed last: its call line,
// then (FAILED) the traceback, its RESULT line, then (BLOCKED, TIMEOUT) the
// stacks. Output printed before is the provider's, untrusted: only the last
// call line followed by a RESULT line counts.
func parseScriptOutput(text string) (scriptResult, bool) {
	var r scriptResult
	lines := strings.SplitAfter(text, "\n")
	resultAt := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "RESULT: ") {
			resultAt = i
			break
		}
	}
	if resultAt < 0 {
		return r, false
	}
	callAt := -1
	for i := resultAt - 1; i >= 0; i-- {
		if scriptCallLine.MatchString(strings.TrimRight(lines[i], "\n")) {
			callAt = i
			break
		}
	}
	if callAt < 0 {
		return r, false
	}
	m := scriptCallLine.FindStringSubmatch(strings.TrimRight(lines[callAt], "\n"))
	r.callMS = scriptMS(m[1])
	r.chunks, _ = strconv.Atoi(m[2])
	r.firstMS, r.lastMS = scriptMS(m[3]), scriptMS(m[4])
	head := strings.Join(lines[:callAt], "")
	// The script's SETUP line comes before g4f is imported: the first one.
	if sm := scriptSetupLine.FindStringSubmatch(head); sm != nil &&
		scriptModeNotes[Mode(sm[1])] != "" && scriptLoopNotes[Loop(sm[2])] != "" {
		r.mode, r.loop = Mode(sm[1]), Loop(sm[2])
	}
	r.log = head
	r.traceback = strings.Join(lines[callAt+1:resultAt], "")
	r.after = strings.Join(lines[resultAt+1:], "")
	res := strings.TrimRight(strings.TrimPrefix(lines[resultAt], "RESULT: "), "\r\n")
	r.status, r.detail, _ = strings.Cut(res, " ")
	r.detail = scriptUnescape(r.detail)
	switch r.status {
	case "OK", "FAILED", "TIMEOUT":
	case "BLOCKED":
		if bm := scriptBlockedLine.FindStringSubmatch(r.detail); bm != nil {
			r.blockedMS = scriptMS(bm[1])
		}
	default:
		return r, false
	}
	return r, true
}

func scriptMS(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f * 1000
}

// scriptUnescape undoes the script's escaping of its RESULT line: \\ \n \r.
func scriptUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// scriptFrameLine matches a traceback frame line; the code line follows it.
var scriptFrameLine = regexp.MustCompile(`^  File "(.*)", line (\d+), in (.*)$`)

// scriptException is the exception of a FAILED line ("Type: message") with
// its traceback, whose frames are those of its last block: the raised
// exception, when Python printed causes and contexts before it.
func scriptException(detail, tb string) PyException {
	typ, msg, found := strings.Cut(detail, ": ")
	if !found {
		typ, msg = strings.TrimSuffix(detail, ":"), ""
	}
	e := PyException{Type: typ, Message: msg, Traceback: scriptTail(tb, 8<<10)}
	block := tb
	if i := strings.LastIndex(tb, "Traceback (most recent call last):"); i >= 0 {
		block = tb[i:]
	}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := scriptFrameLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[2])
			e.Frames = append(e.Frames, Frame{File: m[1], Line: n, Func: m[3]})
			continue
		}
		if k := len(e.Frames); k > 0 && e.Frames[k-1].Code == "" && strings.HasPrefix(line, "    ") {
			if code := strings.TrimSpace(line); code != "" && strings.Trim(code, "^~ ") != "" {
				e.Frames[k-1].Code = code
			}
		}
	}
	return e
}

func scriptTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < len(s) && i < utf8.UTFMax; i++ { // start on a rune
		if utf8.RuneStart(s[i]) {
			return s[i:]
		}
	}
	return s
}

func scriptCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func scriptExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

func scriptExitStatus(err error) string {
	if err == nil {
		return "exit status 0 without an outcome"
	}
	return err.Error() + " without an outcome"
}
