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

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

//go:embed harness/repro_script.py.tmpl
var scriptTemplateText string

var scriptTemplate = template.Must(template.New("repro.py").Option("missingkey=error").Parse(scriptTemplateText))

// ScriptSpec is what a reproduction script is written from: the failing
// cell, the environment it failed in, and what it failed with.
type ScriptSpec struct {
	Cell scan.Cell // an in-process cell (not over HTTP, not a remedy cell)
	Env  scan.Environment
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
	// Probe says the provider is one of g4fdiag's probes: the script then
	// carries their definitions (probes.py) and registers them into g4f
	// itself, so it still needs nothing but g4f and the loop package.
	Probe bool
}

// ScriptRemedies lists the remedies an emitted script can apply for a cell,
// in AllRemedies order: those of the remedy table whose Skip rules leave
// the cell. The script refuses the others, with the rule's reason.
func ScriptRemedies(c scan.Cell) []scan.Remedy {
	var out []scan.Remedy
	for _, s := range scan.Remedies {
		if s.Skips(c) == "" {
			out = append(out, s.Remedy)
		}
	}
	return out
}

var (
	scriptModeNotes = map[scan.Mode]string{
		scan.ModeBaseline:    "baseline: the sync Client on a plain thread with no event loop",
		scan.ModeSync:        "sync: the sync Client called inside a coroutine on the running loop",
		scan.ModeSyncStream:  "sync-stream: the sync Client with stream=True, iterated inside a coroutine on the running loop",
		scan.ModeAsync:       "async: await AsyncClient().chat.completions.create(...)",
		scan.ModeAsyncStream: "async-stream: AsyncClient with stream=True, async for over the chunks",
	}
	scriptLoopNotes = map[scan.Loop]string{
		scan.LoopAsyncio: "asyncio: the stdlib loop, nest_asyncio hidden from this process",
		scan.LoopNest:    "nest: the stdlib loop with nest_asyncio importable, as g4f expects",
		scan.LoopUvloop:  "uvloop: uvloop's loop and policy, as uvicorn runs with uvloop installed",
	}
)

// scriptData fills the template. The *Note fields go into comments and are
// cleaned to one printable line; the others are Python literals.
type scriptData struct {
	ProviderNote, ModelNote, ModeNote, LoopNote    string
	PythonNote, G4FNote, LoopPackageNote, NestNote string
	ExpectedNote, SignatureNote, CallsNote         string
	RunLines                                       []string
	Remedies                                       string // the remedy table as a Python literal
	Provider, Model, Mode, Loop, Messages          string
	Probes                                         string // probes.py as a Python literal, or None
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
		return nil, fmt.Errorf("emit script: mode %q has no script (the script calls g4f in-process: %s)", c.Mode, scriptJoin(scan.AllModes))
	case scriptLoopNotes[c.Loop] == "":
		return nil, fmt.Errorf("emit script: loop %q has no script (use one of %s)", c.Loop, scriptJoin(scan.AllLoops))
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
		Remedies:        scriptRemedies(),
		Probes:          "None",
	}
	if s.Probe {
		src, err := modules.ReadFile("harness/probes.py")
		if err != nil {
			return nil, err
		}
		d.Probes = pyString(string(src))
		d.ProviderNote += " (g4fdiag's probe, defined below and registered into g4f: no network, no key)"
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
	for _, r := range scan.Remedies {
		if _, why := r.Apply(c, s.Env); why != "" {
			continue // it does not apply, or needs a loop this environment lacks
		}
		d.RunLines = append(d.RunLines, fmt.Sprintf("%-*s  # %s", width, cmd+" --remedy "+string(r.Remedy), r.Does))
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

// scriptRemedies writes the remedy table as the Python literal the script
// reads: {name: {"does", "skip": [[modes, loops, why]...], "mode": {from:
// to}, "loop", "else", "off_loop_thread"}}.
func scriptRemedies() string {
	var b strings.Builder
	b.WriteString("{\n")
	for _, r := range scan.Remedies {
		fmt.Fprintf(&b, "    %s: {\n        \"does\": %s,\n        \"skip\": [", pyString(string(r.Remedy)), pyString(r.Does))
		for i, k := range r.Skip {
			if i > 0 {
				b.WriteString(",\n                 ")
			}
			fmt.Fprintf(&b, "[%s, %s, %s]", pyList(k.Modes), pyList(k.Loops), pyString(k.Why))
		}
		b.WriteString("],\n        \"mode\": {")
		sep := ""
		for _, m := range append(append([]scan.Mode{}, scan.AllModes...), scan.APIModes...) { // in mode order: the same literal every time
			if to, ok := r.Mode[m]; ok {
				fmt.Fprintf(&b, "%s%s: %s", sep, pyString(string(m)), pyString(string(to)))
				sep = ", "
			}
		}
		fmt.Fprintf(&b, "},\n        \"loop\": %s, \"else\": %s, \"off_loop_thread\": %s,\n    },\n",
			pyString(string(r.Loop)), pyString(string(r.Else)), pyBool(r.OffLoopThread))
	}
	b.WriteString("}")
	return b.String()
}

func pyList[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = pyString(string(x))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

func scriptLoopPackage(env scan.Environment, l scan.Loop) string {
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
// S`, with t.Env in a process group of its own, and turns the report it
// printed last (a G4FDIAG-RESULT line of JSON, see scriptReport; the human
// lines above it are not read) into an Observation diag classifies like a
// worker's, the output before the outcome as its log: completed with one
// call (ok, or error with the exception the script reported and its
// traceback), blocked with the loop thread's stack, or deadline with every
// thread's stack (the script's own timeout) or none (killed at timeout plus
// a grace, or when ctx ends). The cell comes from the script's constants;
// with a remedy, Mode and Loop are those the script ran with, Remedy and
// Of (the failing cell's key) are set.
//
// The error is non-nil when the script could not be read or started, was
// written by a g4fdiag from before the JSON report, refused the remedy, or
// when ctx ended (the observation is then incomplete).
// A script that died without an outcome is an observation that ended
// EndCrashed, not an error.
func RunScript(ctx context.Context, t Target, path string, remedy scan.Remedy, timeout time.Duration) (scan.Observation, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return scan.Observation{}, err
	}
	cell, err := scriptCell(src)
	if err != nil {
		return scan.Observation{}, fmt.Errorf("%s: %w", path, err)
	}
	if !bytes.Contains(src, []byte(scriptReportPrefix)) {
		return scan.Observation{}, fmt.Errorf("%s was written by an older g4fdiag that does not report in JSON: write it again with --emit-script", path)
	}
	obs := scan.Observation{Cell: cell, Started: time.Now()}
	if remedy != "" {
		if !scriptHasRemedy(ScriptRemedies(cell), remedy) {
			return obs, fmt.Errorf("remedy %s does not apply to %s (it has: %s)", remedy, cell.Key(), scriptOrUnknown(scriptJoin(ScriptRemedies(cell))))
		}
		// The mode and loop as far as Go can tell before the run: the script
		// reports those it ran with (without nest_asyncio, uvloop-removed
		// runs on asyncio, not nest).
		spec, _ := scan.RemedyOf(remedy)
		obs.Remedy, obs.Of = remedy, cell.Key()
		if m, ok := spec.Mode[cell.Mode]; ok {
			obs.Mode = m
		}
		if spec.Loop != "" {
			obs.Loop = spec.Loop
		}
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
	obs.Worker = &scan.WorkerInfo{PID: cmd.Process.Pid}
	if cancelled {
		return obs, ctx.Err()
	}
	text := out.String()
	if killed {
		obs.End = scan.EndDeadline
		obs.Log = scriptTail(text, scriptLogLimit)
		obs.Calls = []scan.Call{{Outcome: scan.OutcomePending, DurationMS: obs.DurationMS}}
		return obs, nil
	}
	res, log, ok := parseScriptOutput(text)
	if ok && res.Status == scriptRefused {
		return obs, fmt.Errorf("the script refused to apply it: %s", res.Detail)
	}
	if !ok {
		obs.End = scan.EndCrashed
		obs.Worker.ExitStatus = scriptExitStatus(waitErr)
		obs.Worker.StderrTail = scriptTail(text, 4<<10)
		obs.Log = scriptTail(text, scriptLogLimit)
		return obs, nil
	}
	if remedy != "" {
		obs.Mode, obs.Loop = res.Mode, res.Loop
	}
	obs.Log = scriptTail(log, scriptLogLimit)
	obs.Calls = []scan.Call{res.call()}
	switch res.Status {
	case scriptOK, scriptFailed:
		obs.End = scan.EndCompleted
	case scriptBlocked:
		obs.End = scan.EndBlocked
		obs.Stacks = &scan.Stacks{LoopThread: res.Stacks, BlockedMS: res.BlockedS * 1000}
	case scriptTimeout:
		obs.End = scan.EndDeadline
		obs.Stacks = &scan.Stacks{Threads: res.Stacks}
	}
	return obs, nil
}

func scriptHasRemedy(rs []scan.Remedy, r scan.Remedy) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// scriptConst matches one constant line of an emitted script.
var scriptConst = regexp.MustCompile(`(?m)^(PROVIDER|MODEL|MODE|LOOP|CALLS|ROUNDS) = ("(?:[^"\\\n]|\\.)*"|\d+)`)

// scriptCell reads the cell an emitted script reproduces from its constants.
func scriptCell(src []byte) (scan.Cell, error) {
	vals := map[string]string{}
	for _, m := range scriptConst.FindAllSubmatch(src, -1) {
		name, lit := string(m[1]), string(m[2])
		if _, seen := vals[name]; seen {
			continue
		}
		if strings.HasPrefix(lit, `"`) {
			v, err := strconv.Unquote(lit)
			if err != nil {
				return scan.Cell{}, fmt.Errorf("not a g4fdiag reproduction script: %s = %s", name, lit)
			}
			lit = v
		}
		vals[name] = lit
	}
	for _, name := range []string{"PROVIDER", "MODEL", "MODE", "LOOP", "CALLS", "ROUNDS"} {
		if _, ok := vals[name]; !ok {
			return scan.Cell{}, fmt.Errorf("not a g4fdiag reproduction script: no %s", name)
		}
	}
	calls, _ := strconv.Atoi(vals["CALLS"])
	rounds, _ := strconv.Atoi(vals["ROUNDS"])
	c := scan.Cell{Provider: vals["PROVIDER"], Model: vals["MODEL"], Mode: scan.Mode(vals["MODE"]), Loop: scan.Loop(vals["LOOP"]),
		Concurrency: max(calls, 1), Repeat: max(rounds, 1)}
	if scriptModeNotes[c.Mode] == "" || scriptLoopNotes[c.Loop] == "" {
		return scan.Cell{}, fmt.Errorf("not a g4fdiag reproduction script: mode %q, loop %q", c.Mode, c.Loop)
	}
	return c, nil
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

func scriptExitStatus(err error) string {
	if err == nil {
		return "exit status 0 without an outcome"
	}
	return err.Error() + " without an outcome"
}
