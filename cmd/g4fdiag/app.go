package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro"
)

// IO is what a command reads and writes, injected so tests can run commands
// without a terminal and a real one can be told apart from a pipe.
type IO struct {
	In          io.Reader
	Out, Err    io.Writer
	OutTerminal bool
	ErrTerminal bool
	Environ     []string
	// Signals, when set, replaces the process's SIGINT/SIGTERM/SIGHUP
	// (tests).
	Signals <-chan os.Signal
	// noScans says scans cannot run on this system (see needsScans); a
	// test sets it to see what a user there sees.
	noScans bool
	// stop is set by Main: what a second signal runs before leaving.
	stop *stopper
	// colorMode is --color (auto, always, never), set by Main; nil is auto.
	colorMode *string
}

func stdIO() IO {
	return IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTerminal: isatty.IsTerminal(os.Stdout.Fd()),
		ErrTerminal: isatty.IsTerminal(os.Stderr.Fd()),
		Environ:     os.Environ(),
		noScans:     !repro.ScansSupported,
	}
}

func (o IO) getenv(key string) string {
	for i := len(o.Environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(o.Environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// color reports whether output to stdout may carry colour.
func (o IO) color() bool { return o.colorOn(o.OutTerminal) }

// colorOn decides colour for a stream that is or is not a terminal, first
// rule that speaks wins: --color always or never; NO_COLOR set and not
// empty (https://no-color.org) turns it off; CLICOLOR_FORCE or FORCE_COLOR
// set and not "0" turns it on; TERM=dumb turns it off; else a terminal
// gets colour and a pipe or a file does not.
func (o IO) colorOn(terminal bool) bool {
	mode := colorAuto
	if o.colorMode != nil {
		mode = *o.colorMode
	}
	switch mode {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	if v, _ := lookup(o.Environ, "NO_COLOR"); v != "" {
		return false
	}
	for _, force := range []string{"CLICOLOR_FORCE", "FORCE_COLOR"} {
		if v, ok := lookup(o.Environ, force); ok && v != "" && v != "0" {
			return true
		}
	}
	if v, _ := lookup(o.Environ, "TERM"); v == "dumb" {
		return false
	}
	return terminal
}

// The values of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

var colorModes = []string{colorAuto, colorAlways, colorNever}

// withColorFlag gives every command --color, all writing to mode, and has
// each refuse a value that is none of colorModes before it runs.
func withColorFlag(app *cli.App, mode *string) {
	for _, c := range app.Commands {
		if c.Name == "version" || c.Name == "completion" || c.Name == "man" {
			continue
		}
		c.Flags = append(c.Flags, &cli.StringFlag{Name: "color", Value: colorAuto, Destination: mode,
			Usage: "colour in the output: auto (a terminal, unless NO_COLOR or TERM=dumb; CLICOLOR_FORCE or FORCE_COLOR force it), always or never"})
		before := c.Before
		c.Before = func(ctx *cli.Context) error {
			if !slices.Contains(colorModes, *mode) {
				return usagef("unknown --color %q%s; use auto, always or never", *mode, didYouMean(*mode, colorModes))
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
	}
}

func lookup(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Main runs g4fdiag with args (args[0] is the program name) and returns the
// exit code. Nothing below it exits the process, but a second signal: that
// one leaves at once (see stopper).
func Main(args []string, stdio IO) int {
	out := &recordingWriter{w: stdio.Out}
	stdio.Out = out
	ctx, stop := interruptContext(&stdio)
	defer stop()
	stdio.colorMode = new(string)
	*stdio.colorMode = colorAuto
	app := newApp(stdio)
	withColorFlag(app, stdio.colorMode)
	if n := len(args); n > 1 && args[n-1] == completionFlag {
		completeWords(stdio.Out, app, args[1:n-1], stdio)
		return exitOK
	}
	err := app.RunContext(ctx, flagsFirst(app, bareAPIFlag(args)))
	if err != nil && ctx.Err() != nil {
		err = context.Canceled
	}
	var outErr *outputError
	if out.err != nil && !errors.As(err, &outErr) && !errors.Is(err, context.Canceled) {
		// --help, --version, providers, doctor...: what was printed did not
		// all arrive.
		err = &outputError{failed: []error{fmt.Errorf("cannot write to stdout: %w", out.err)}}
	}
	code := exitCode(err)
	var failures *failuresError
	switch {
	case err == nil, errors.As(err, &failures):
	case code == exitInterrupted:
		if errors.As(err, &outErr) {
			fmt.Fprintln(stdio.Err, "g4fdiag: "+diag.Sanitize(outErr.Error()))
		}
		fmt.Fprintln(stdio.Err, "g4fdiag: interrupted")
	default:
		// Errors quote what providers, servers and files said: never let
		// that drive the terminal.
		fmt.Fprintln(stdio.Err, "g4fdiag: "+diag.Sanitize(err.Error()))
	}
	return code
}

// recordingWriter keeps the first error of its writer, so a stdout that
// could not be written (a closed pipe, a full disk) is never an exit 0.
type recordingWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return n, err
}

// flagsFirst moves a command's flags before its arguments, so `g4fdiag
// report scan.json --format junit` works: urfave/cli stops reading flags at
// the first argument.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.Name == args[1] {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		if _, isBool := f.(*cli.BoolFlag); isBool {
			continue
		}
		for _, name := range f.Names() {
			takesValue[name] = true
		}
	}
	flags, positional := []string{}, []string{}
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

// bareAPIFlag turns an --api given without a URL (last, or followed by
// another flag) into --api-spawn, so `g4fdiag check --demo --api` starts the
// demo's API servers.
func bareAPIFlag(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--" {
			break
		}
		if (a == "--api" || a == "-api") && (i+1 == len(out) || strings.HasPrefix(out[i+1], "-")) {
			out[i] = "--api-spawn"
		}
	}
	return out
}

// interruptSignals end a run in order: Ctrl-C, kill, and a terminal or SSH
// session that closes (SIGHUP).
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// secondSignalGrace is what a second signal leaves the cleanup before the
// process exits: the first signal's orderly stop may be stuck (a server that
// takes its time to end), and a user who presses Ctrl-C twice wants out.
const secondSignalGrace = 700 * time.Millisecond

// stopper holds what a second signal runs before the process leaves: the
// cleanups of what the command started (process groups, temp dirs), run
// at once and at most secondSignalGrace.
type stopper struct {
	mu       sync.Mutex
	cleanups map[int]func()
	next     int
	exit     func(int) // os.Exit; nil when signals are injected (tests)
}

// onAbort registers f to run on a second signal; the returned func
// unregisters it. A nil stopper registers nothing.
func (s *stopper) onAbort(f func()) func() {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cleanups == nil {
		s.cleanups = map[int]func(){}
	}
	id := s.next
	s.next++
	s.cleanups[id] = f
	return func() {
		s.mu.Lock()
		delete(s.cleanups, id)
		s.mu.Unlock()
	}
}

// abort runs every cleanup at once, waits for them at most
// secondSignalGrace and exits 130.
func (s *stopper) abort(stderr io.Writer) {
	s.mu.Lock()
	fs := make([]func(), 0, len(s.cleanups))
	for _, f := range s.cleanups {
		fs = append(fs, f)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(secondSignalGrace):
	}
	fmt.Fprintln(stderr, "g4fdiag: interrupted again: stopped at once")
	if s.exit != nil {
		s.exit(exitInterrupted)
	}
}

// interruptContext is cancelled by the first SIGINT, SIGTERM or SIGHUP; a
// second one runs the registered cleanups and leaves at once. It also turns
// SIGPIPE into EPIPE errors, so a closed stdout (| head -1) is an output
// error and the other outputs are still written, not a silent exit 141.
func interruptContext(stdio *IO) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := stdio.Signals
	st := &stopper{}
	stdio.stop = st
	var own, pipe chan os.Signal
	if sigs == nil {
		own = make(chan os.Signal, 2)
		signal.Notify(own, interruptSignals...)
		sigs = own
		st.exit = os.Exit
		pipe = make(chan os.Signal, 1)
		signal.Notify(pipe, syscall.SIGPIPE)
	}
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					cancel()
				} else {
					st.abort(stdio.Err)
				}
			case <-pipe: // the write that raised it returns EPIPE
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		if own != nil {
			signal.Stop(own)
			signal.Stop(pipe)
		}
		cancel()
	}
}

// cli's version printer is a package variable: set once, as it writes to
// each app's own Writer, so concurrent Mains never write it.
func init() {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "g4fdiag "+versionString()) }
}

func newApp(stdio IO) *cli.App {
	app := &cli.App{
		Name:  "g4fdiag",
		Usage: "diagnose and reproduce event-loop conflicts in gpt4free (g4f)",
		Description: `g4fdiag runs every g4f provider in every call mode (baseline, sync, sync-stream,
async, async-stream) on every event loop (asyncio, nest, uvloop), in Python worker
processes it controls, and tells which combinations fail like the documented
loop conflict "RuntimeError: this event loop is already running." and why.`,
		UsageText: `g4fdiag check --demo                      scan the embedded miniature g4f
   g4fdiag check --python .venv/bin/python   scan the g4f installed in a venv
   PYTHONPATH=~/src/gpt4free g4fdiag check   scan a g4f source checkout
   g4fdiag check --provider 'Blackbox*' --modes sync,async --loops uvloop
   g4fdiag repro --demo --provider StreamAsync
   g4fdiag check --demo --format jsonl > scan.jsonl; g4fdiag report scan.jsonl
   g4fdiag providers --demo
   g4fdiag doctor                            check this Python for event-loop exposures`,
		Version:              versionString(),
		Reader:               stdio.In,
		Writer:               stdio.Out,
		ErrWriter:            stdio.Err,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Suggest:              true,
		ExitErrHandler:       func(*cli.Context, error) {}, // Main maps errors to exit codes
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageProblem(c.App.Flags, err)
		},
		Action: unknownCommand,
		Commands: []*cli.Command{
			checkCommand(stdio),
			reproCommand(stdio),
			providersCommand(stdio),
			reportCommand(stdio),
			explainCommand(stdio),
			mergeCommand(stdio),
			doctorCommand(stdio),
			versionsCommand(stdio),
			bisectCommand(stdio),
			completionCommand(stdio),
			versionCommand(),
			manCommand(stdio),
		},
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + exitCodesHelp + "\n",
	}
	return app
}

// versionString is the module version and VCS revision from the build info.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + modified
	}
	return v + " " + runtime.Version()
}

func commandUsageError(c *cli.Context, err error, _ bool) error {
	var flags []cli.Flag
	if c != nil && c.Command != nil {
		flags = c.Command.Flags
	}
	return usageProblem(flags, err)
}
