package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/providers/scale"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/apiserver"
	"github.com/g4fdiag/g4fdiag/repro/httpapi"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/secret"
)

// demoTimeout is the per-cell deadline under --demo: the miniature's
// providers answer at once, so only its hanging ones ever wait for it. The
// stall timeout of its streams is shorter still.
const (
	demoTimeout      = 5 * time.Second
	demoStallTimeout = 2 * time.Second
)

// apiConcurrency is the calls at once of an API cell when --concurrency is
// not given: a fresh g4f api without uvloop hangs (nest_asyncio's task
// switch) only when requests overlap, so one call at a time would pass it.
const apiConcurrency = 2

// targetOptions say which g4f to scan.
type targetOptions struct {
	Python    string
	Demo      bool
	DemoScale bool // the generated fixture of real g4f's size instead of the demo
	// Probes has the workers and API servers register g4fdiag's probe
	// providers into g4f (check --probe, repro, providers).
	Probes bool
}

// targetFrom reads the target flags.
func targetFrom(c *cli.Context) (targetOptions, error) {
	o := targetOptions{Python: absPython(c.String("python")), Demo: c.Bool("demo"), DemoScale: c.Bool("demo-scale")}
	if o.Demo && o.DemoScale {
		return o, usagef("--demo and --demo-scale are two targets; use one of them")
	}
	return o, nil
}

// absPython resolves --python now, in the directory g4fdiag was started in:
// the commands run Python in temp dirs, where .venv/bin/python would name
// nothing. A path is made absolute; a bare name is looked up on PATH (an
// unknown one is left for repro.FindPython to report).
func absPython(p string) string {
	if p == "" {
		return ""
	}
	if !strings.ContainsRune(p, filepath.Separator) {
		found, err := exec.LookPath(p)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return p
		}
		p = found
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// embedded reports whether the target is one g4fdiag writes itself, whose
// providers answer at once and get the demo's short deadlines.
func (o targetOptions) embedded() bool { return o.Demo || o.DemoScale }

// scanOptions are the options of check and repro.
type scanOptions struct {
	targetOptions
	Command  string // check or repro
	Patterns []string
	Plan     scan.Plan
	Format   string
	Outputs  []output // where the report goes: stdout and --output files
	Baseline string   // --baseline: an earlier report; only new failures fail
	FailOn   diag.ClassSet
	Evidence bool // repro: print every failing cell's evidence
	// EmitScript is where repro writes a standalone reproduction script.
	EmitScript string
	// VerifyFixes re-runs every loop-class cell under each remedy.
	VerifyFixes bool
	API         apiOptions
	// Quiet leaves only the report and the errors: no progress line, no
	// notes on stderr.
	Quiet bool
	// Probe scans g4fdiag's probe providers (and only the providers
	// --provider names besides them).
	Probe bool
	// All keeps the table rows of providers that ran in no cell.
	All bool
}

// apiOptions say which g4f API server the HTTP modes call.
type apiOptions struct {
	URL          string // --api URL: a server g4fdiag did not start
	Key          string
	Spawn        bool // --api-spawn: start a fresh server per cell
	StallTimeout time.Duration
}

func (a apiOptions) enabled() bool { return a.URL != "" || a.Spawn }

func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "python", Usage: "Python interpreter to scan with (default: $VIRTUAL_ENV/bin/python, else python3 on PATH)"},
		&cli.BoolFlag{Name: "demo", Usage: "scan the embedded miniature g4f instead of an installed one"},
		&cli.BoolFlag{Name: "demo-scale", Usage: "scan a generated g4f of real g4f 0.3.5.8's size and mix (110 providers) instead of an installed one"},
	}
}

// allFlag is --all: the table shows every provider's row.
func allFlag() cli.Flag {
	return &cli.BoolFlag{Name: "all", Usage: "show the table rows of providers that ran in no cell (marked not working, or needing auth); without it they fold into one line"}
}

func scanFlags() []cli.Flag {
	return append(targetFlags(),
		&cli.StringSliceFlag{Name: "provider", Aliases: []string{"p"}, Usage: "provider `NAME` or glob (repeatable; default: all)"},
		allFlag(),
		&cli.BoolFlag{Name: "probe", Usage: "scan g4fdiag's probe providers, registered into the installed g4f on its own base classes: offline, no key, every mode and loop (with --api-spawn through its API server too); --provider adds providers to them"},
		&cli.StringFlag{Name: "modes", Value: joinModes(scan.AllModes), Usage: "call modes to run, comma-separated; api-json and api-sse call an API server (default with --api: " + joinModes(scan.APIModes) + ")"},
		&cli.StringFlag{Name: "loops", Value: joinLoops(scan.AllLoops), Usage: "event loops to run on, comma-separated"},
		&cli.StringFlag{Name: "model", Usage: "model to ask for (default: each provider's default model)"},
		&cli.IntFlag{Name: "concurrency", Value: 1, Usage: fmt.Sprintf("calls at once in each cell, at most %d; API cells (api-json, api-sse) make %d unless it is given, so their requests overlap", scan.MaxConcurrency, apiConcurrency)},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "rounds of calls in each cell"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(), Usage: "cells in flight at once"},
		&cli.DurationFlag{Name: "timeout", Value: 20 * time.Second, Usage: "deadline of each cell (5s with --demo or --demo-scale unless set)"},
		&cli.DurationFlag{Name: "block-threshold", Value: 2 * time.Second, Usage: "heartbeat silence after which a loop thread counts as blocked"},
		&cli.BoolFlag{Name: "include-not-working", Usage: "run providers marked working = False instead of reporting them not-working"},
		&cli.BoolFlag{Name: "include-auth", Usage: "run providers that need auth instead of skipping them"},
		&cli.BoolFlag{Name: "verify-fixes", Usage: "re-run every loop-class cell under each known remedy (uvloop removed, AsyncClient, nest_asyncio, asyncio.to_thread) and report which fixes it"},
		&cli.StringFlag{Name: "api", Usage: "base `URL` of a running g4f API server (g4f api) to call in modes api-json and api-sse; --api alone means --api-spawn"},
		&cli.BoolFlag{Name: "api-spawn", Usage: "start a fresh g4f API server for every cell (uvicorn on uvloop, on asyncio with and without nest_asyncio), forked from one per loop that imported g4f once, and call it"},
		&cli.StringFlag{Name: "api-key", Usage: "API key sent to the server as a Bearer token (redacted from every output)", EnvVars: []string{"G4F_API_KEY"}},
		&cli.DurationFlag{Name: "stall-timeout", Value: httpapi.DefaultStallTimeout, Usage: "silence after which a started API stream counts as stalled (2s with --demo or --demo-scale unless set)"},
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(render.Formats(), ", ")},
		&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout; FORMAT=FILE writes that format there beside stdout's (repeatable: -o json=scan.json -o junit=junit.xml)"},
		&cli.StringFlag{Name: "baseline", Usage: "an earlier JSON report: only loop-class failures new against it fail the run; the report lists new, fixed and still-failing cells"},
		&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that fail the run: loop (the loop classes), any (every failure), or class names, comma-separated"},
		&cli.StringFlag{Name: "shard", Usage: "run only share `i/n` of the cells (deterministic and balanced; merge the reports with g4fdiag merge)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the report and errors: no progress line, no notes on stderr"},
	)
}

func checkCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "scan providers × call modes × event loops and print the verdict matrix",
		UsageText: `g4fdiag check [options]

   g4fdiag check --demo
   g4fdiag check --python .venv/bin/python --probe
   g4fdiag check --python .venv/bin/python --provider 'Blackbox*'
   g4fdiag check --modes sync,async --loops uvloop --concurrency 4 --format json -o scan.json`,
		Flags:        scanFlags(),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			opts, err := scanOptionsFrom(c, "check")
			if err != nil {
				return err
			}
			return runScan(c.Context, opts, stdio)
		},
	}
}

func reproCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "repro",
		Usage: "run one provider in every mode and loop and print the evidence of each failure",
		UsageText: `g4fdiag repro --provider NAME [options]

   g4fdiag repro --demo --provider StreamAsync
   g4fdiag repro --demo --provider StreamAsync --loops uvloop --verify-fixes --emit-script repro.py
   g4fdiag repro --python .venv/bin/python --provider Blackbox --loops uvloop`,
		Flags: append(scanFlags(),
			&cli.StringFlag{Name: "emit-script", Usage: "write a standalone Python script reproducing the first failing cell to `FILE`, and run it to check that it does"}),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			opts, err := scanOptionsFrom(c, "repro")
			if err != nil {
				return err
			}
			if len(opts.Patterns) == 0 && !opts.Probe {
				return usagef("repro needs --provider NAME (g4fdiag providers lists them), or --probe")
			}
			opts.Evidence = true
			if opts.EmitScript = c.String("emit-script"); opts.EmitScript != "" {
				if err := checkScriptPath(opts.EmitScript); err != nil {
					return err
				}
			}
			return runScan(c.Context, opts, stdio)
		},
	}
}

// scanOptionsFrom reads and checks the flags of check and repro.
func scanOptionsFrom(c *cli.Context, command string) (scanOptions, error) {
	if c.Args().Len() > 0 {
		return scanOptions{}, usagef("%s takes no arguments, got %q (providers go in --provider)", command, c.Args().First())
	}
	target, err := targetFrom(c)
	if err != nil {
		return scanOptions{}, err
	}
	o := scanOptions{
		targetOptions: target,
		Command:       command,
		Format:        c.String("format"),
		Baseline:      c.String("baseline"),
		VerifyFixes:   c.Bool("verify-fixes"),
		All:           c.Bool("all"),
		Quiet:         c.Bool("quiet"),
		Probe:         c.Bool("probe"),
	}
	// repro registers the probes always, so that --provider can name one.
	o.Probes = o.Probe || command == "repro"
	for _, p := range c.StringSlice("provider") {
		for _, part := range strings.Split(p, ",") {
			if part = strings.TrimSpace(part); part != "" {
				o.Patterns = append(o.Patterns, part)
			}
		}
	}
	if err := checkPatterns(o.Patterns); err != nil {
		return o, err
	}
	o.API = apiOptions{URL: c.String("api"), Key: c.String("api-key"), Spawn: c.Bool("api-spawn"),
		StallTimeout: c.Duration("stall-timeout")}
	if o.API.URL != "" && o.API.Spawn {
		return o, usagef("--api URL calls a running server and --api-spawn starts servers; use one of them")
	}
	if o.API.URL != "" {
		if err := httpapi.CheckBaseURL(o.API.URL); err != nil {
			return o, usagef("%v", err)
		}
		if o.Probe {
			return o, usagef("--probe needs servers that g4fdiag starts, with the probes registered: use --api-spawn instead of --api URL")
		}
	}
	if o.embedded() && !c.IsSet("stall-timeout") {
		o.API.StallTimeout = demoStallTimeout
	}
	if o.API.StallTimeout <= 0 {
		return o, usagef("--stall-timeout must be positive, got %s", o.API.StallTimeout)
	}
	modeList := c.String("modes")
	switch {
	case c.IsSet("modes"):
	case o.Probe && o.API.Spawn:
		modeList = joinModes(knownModes) // the probes: in-process and through the server
	case o.API.enabled():
		modeList = joinModes(scan.APIModes)
	}
	modes, err := parseModes(modeList)
	if err != nil {
		return o, err
	}
	for _, m := range modes {
		if m.OverHTTP() && !o.API.enabled() {
			return o, usagef("mode %s calls an API server: add --api URL, or --api-spawn to start one", m)
		}
	}
	loops, err := parseLoops(c.String("loops"))
	if err != nil {
		return o, err
	}
	timeout := c.Duration("timeout")
	if o.embedded() && !c.IsSet("timeout") {
		timeout = demoTimeout
	}
	o.Plan = scan.Plan{
		Modes: modes, Loops: loops, Model: c.String("model"),
		Concurrency: c.Int("concurrency"), APIConcurrency: apiConcurrency, Repeat: c.Int("repeat"), Jobs: c.Int("jobs"),
		Timeout: timeout, BlockThreshold: c.Duration("block-threshold"),
		IncludeNotWorking: c.Bool("include-not-working"), IncludeAuth: c.Bool("include-auth"),
		API: httpapi.ShownURL(o.API.URL), // never its password
	}
	if c.IsSet("concurrency") {
		o.Plan.APIConcurrency = 0 // the user's number, for every cell
	}
	switch {
	case o.Plan.Concurrency < 1:
		return o, usagef("--concurrency must be at least 1, got %d", o.Plan.Concurrency)
	case o.Plan.Concurrency > scan.MaxConcurrency:
		return o, usagef("--concurrency must be at most %d, got %d; use --repeat for more calls", scan.MaxConcurrency, o.Plan.Concurrency)
	case o.Plan.Repeat < 1:
		return o, usagef("--repeat must be at least 1, got %d", o.Plan.Repeat)
	case o.Plan.Jobs < 1:
		return o, usagef("--jobs must be at least 1, got %d", o.Plan.Jobs)
	case o.Plan.Timeout <= 0:
		return o, usagef("--timeout must be positive, got %s", o.Plan.Timeout)
	case o.Plan.BlockThreshold <= 0:
		return o, usagef("--block-threshold must be positive, got %s", o.Plan.BlockThreshold)
	}
	if err := checkFormat(o.Format); err != nil {
		return o, err
	}
	if o.Outputs, err = parseOutputs(c.StringSlice("output"), o.Format); err != nil {
		return o, err
	}
	if o.FailOn, err = diag.ParseClassSet(c.String("fail-on")); err != nil {
		return o, usagef("--fail-on: %v", strings.TrimPrefix(err.Error(), "diag: "))
	}
	if v := c.String("shard"); v != "" {
		if o.Plan.Shard, err = scan.ParseShard(v); err != nil {
			return o, usagef("--shard %s: %v", v, err)
		}
	}
	return o, nil
}

// checkPatterns fails on a --provider glob that cannot match anything (an
// unclosed [ ...), before any worker starts.
func checkPatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return usagef("bad --provider pattern %q: %v; escape [, * and ? with \\ to match them literally", p, err)
		}
	}
	return nil
}

func checkFormat(format string) error {
	for _, f := range render.Formats() {
		if f == format {
			return nil
		}
	}
	return usagef("unknown --format %q%s; use one of %s", format, didYouMean(format, render.Formats()), strings.Join(render.Formats(), ", "))
}

// knownModes are the modes --modes accepts, in-process ones first.
var knownModes = append(append([]scan.Mode{}, scan.AllModes...), scan.APIModes...)

func parseModes(s string) ([]scan.Mode, error) {
	var out []scan.Mode
	for _, part := range splitList(s) {
		m := scan.Mode(part)
		if !containsMode(knownModes, m) {
			return nil, usagef("unknown mode %q in --modes%s; use any of %s", part, didYouMean(part, strings.Split(joinModes(knownModes), ",")), joinModes(knownModes))
		}
		if !containsMode(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--modes is empty; use any of %s", joinModes(knownModes))
	}
	return out, nil
}

func parseLoops(s string) ([]scan.Loop, error) {
	var out []scan.Loop
	for _, part := range splitList(s) {
		l := scan.Loop(part)
		if !containsLoop(scan.AllLoops, l) {
			return nil, usagef("unknown loop %q in --loops%s; use any of %s", part, didYouMean(part, strings.Split(joinLoops(scan.AllLoops), ",")), joinLoops(scan.AllLoops))
		}
		if !containsLoop(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--loops is empty; use any of %s", joinLoops(scan.AllLoops))
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func containsMode(ms []scan.Mode, m scan.Mode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func containsLoop(ls []scan.Loop, l scan.Loop) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func joinModes(ms []scan.Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

func joinLoops(ls []scan.Loop) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ",")
}

// target resolves the interpreter and, for --demo and --demo-scale, writes
// the miniature g4f to dir and puts it on PYTHONPATH.
func (o targetOptions) target(stdio IO, dir func() (string, error)) (repro.Target, error) {
	python, err := repro.FindPython(o.Python, stdio.Environ)
	if err != nil {
		return repro.Target{}, err
	}
	t := repro.Target{Python: python, Env: repro.WithProbes(stdio.Environ, o.Probes), Demo: o.embedded()}
	if o.embedded() {
		d, err := dir()
		if err != nil {
			return t, err
		}
		write := providers.WriteDemo
		if o.DemoScale {
			write = scale.Write
		}
		if _, err := write(d); err != nil {
			return t, err
		}
		t.Env = repro.WithPythonPath(t.Env, d)
	}
	return t, nil
}

// openOutput opens --output before any work, so an unwritable path fails
// fast instead of after a long scan.
func openOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, usagef("cannot write --output %s: %v; choose a writable path", path, unwrapPathError(err))
	}
	return f, f.Close, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// stopGrace is how long an API fork server gets to exit once told to
// before its process group is killed (the servers it forked are killed at
// once): short, so Ctrl-C ends the scan at once.
const stopGrace = 500 * time.Millisecond

// apiStartTimeout bounds the start of one API fork server, g4f import
// included, and of each server it forks.
const apiStartTimeout = 60 * time.Second

// scanTarget is what a scan runs against, once set up: the drivers, the
// catalog and what is known of the environment. close ends every worker and
// server it started.
type scanTarget struct {
	target  repro.Target // the interpreter and environment, when Python runs
	driver  repro.Route
	env     scan.Environment
	catalog []providers.Provider
	closers []func()
	mu      sync.Mutex // held while closing: a second Ctrl-C's close waits for the first
	// abortOff unregisters close from what a second Ctrl-C runs.
	abortOff func()
}

// onClose adds f to what close ends, first in last out.
func (st *scanTarget) onClose(f func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closers = append(st.closers, f)
}

func (st *scanTarget) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
	st.closers = nil
}

// setUp starts what the plan needs: Python workers for in-process modes
// (and for the catalog when g4fdiag starts the API servers), the API servers
// for --api-spawn, the HTTP driver for --api.
func setUp(ctx context.Context, o *scanOptions, stdio IO) (*scanTarget, error) {
	st := &scanTarget{}
	// A second Ctrl-C ends the workers and servers, even while they start,
	// and leaves at once.
	st.abortOff = stdio.stop.onAbort(st.close)
	inProcess := false
	for _, m := range o.Plan.Modes {
		inProcess = inProcess || !m.OverHTTP()
	}
	var t repro.Target
	if inProcess || o.API.Spawn {
		demoDir, err := os.MkdirTemp("", "g4fdiag-demo-")
		if err != nil {
			return st, err
		}
		st.onClose(func() { os.RemoveAll(demoDir) })
		if t, err = o.target(stdio, func() (string, error) { return demoDir, nil }); err != nil {
			return st, err
		}
		if o.Probes {
			if err := startUpstream(st.onClose, &t); err != nil {
				return st, err
			}
		}
		pool, err := repro.NewPool(t, repro.PoolOptions{BlockThreshold: o.Plan.BlockThreshold})
		if err != nil {
			return st, err
		}
		st.onClose(func() { pool.Close() })
		if st.env, st.catalog, err = pool.Start(ctx, o.loopsToStart()); err != nil {
			return st, err
		}
		st.driver.InProcess = pool
		st.target = t
	}
	if !o.API.enabled() {
		return st, nil
	}
	hopts := httpapi.Options{APIKey: o.API.Key, StallTimeout: o.API.StallTimeout}
	if o.API.Spawn {
		set, infos, err := apiserver.StartAll(ctx, t, o.loopsToStart(), apiStartTimeout)
		if err != nil {
			return st, err
		}
		st.onClose(func() { set.Stop(stopGrace) })
		hopts.Use = func(ctx context.Context, l scan.Loop) (httpapi.Lease, error) {
			srv, err := set.Use(ctx, l)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return srv, nil
		}
		st.env.Loops = mergeLoops(st.env.Loops, infos)
	} else {
		cat, err := httpapi.Discover(ctx, nil, o.API.URL, o.API.Key)
		if err != nil {
			return st, err
		}
		hopts.Servers = map[scan.Loop]string{scan.LoopServer: o.API.URL}
		if !inProcess {
			st.catalog = cat.Providers
			if len(st.catalog) == 0 {
				// An older server lists models, not providers: the
				// --provider names are the catalog.
				if len(o.Patterns) == 0 {
					return st, usagef("the server at %s does not list its providers (no /v1/providers); name them with --provider", o.Plan.API)
				}
				for _, name := range o.Patterns {
					st.catalog = append(st.catalog, providers.Provider{Name: name, Working: true, SupportsStream: true})
				}
			}
		}
	}
	st.driver.HTTP = httpapi.New(hopts)
	return st, nil
}

// keepSecrets has every output cut the API key and the password of the
// --api URL (diag.Redact), and warns when the key is too weak to be cut
// wherever it stands without cutting words of the messages too.
func keepSecrets(a apiOptions, stdio IO) (forget func()) {
	var forgets []func()
	if a.Key != "" {
		forgets = append(forgets, secret.Keep(a.Key))
		if secret.Weak(a.Key) {
			fmt.Fprintf(stdio.Err, "g4fdiag: warning: the API key is short or a plain word (%d characters): outputs cut it only where "+
				"it stands as a key's value (\"key: …\", \"Bearer …\"), not where it is a word of a message\n", len(a.Key))
		}
	}
	if u, err := url.Parse(a.URL); err == nil && u.User != nil {
		if pass, ok := u.User.Password(); ok && pass != "" {
			forgets = append(forgets, secret.Keep(pass),
				secret.Keep(base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))))
		}
	}
	return func() {
		for _, f := range forgets {
			f()
		}
	}
}

// selectProviders is a scan's selection: with --probe the probes, and the
// providers --provider names besides; without it, what --provider names
// (all when nothing is named).
func selectProviders(catalog []providers.Provider, o scanOptions) ([]providers.Provider, error) {
	if !o.Probe {
		return providers.Select(catalog, o.Patterns)
	}
	probes := providers.Probes(catalog)
	if len(probes) == 0 {
		return nil, &repro.EnvError{What: "the g4f under test lists no g4fdiag probes: the harness could not register them",
			Fix: "run `g4fdiag providers` to see the harness's message on stderr"}
	}
	if len(o.Patterns) == 0 {
		return probes, nil
	}
	named, err := providers.Select(catalog, o.Patterns)
	if err != nil {
		return nil, err
	}
	chosen := make(map[string]bool)
	for _, p := range append(probes, named...) {
		chosen[p.Name] = true
	}
	var out []providers.Provider
	for _, p := range catalog {
		if chosen[p.Name] {
			out = append(out, p)
		}
	}
	return out, nil
}

// promptedProviders counts the providers of a selection that the scan
// sends its prompt to, the notice's number: none when the target is one
// g4fdiag wrote itself (--demo, --demo-scale: its providers are local
// Python), never a probe, and not those the plan skips (not working,
// needing auth).
func promptedProviders(selected []providers.Provider, o scanOptions) int {
	if o.embedded() {
		return 0
	}
	n := 0
	for _, p := range selected {
		if p.Probe || (!p.Working && !o.Plan.IncludeNotWorking) || (p.NeedsAuth && !o.Plan.IncludeAuth) {
			continue
		}
		n++
	}
	return n
}

// defaultPrompt is what the scan asks every provider, for the notice.
func defaultPrompt() string {
	return repro.DefaultMessages[len(repro.DefaultMessages)-1].Content
}

// loopsToStart are the loop variants to start workers and servers for: the
// plan's, and with --verify-fixes every one, since remedies move cells to
// other loops and need to know which can be had.
func (o *scanOptions) loopsToStart() []scan.Loop {
	if o.VerifyFixes {
		return scan.AllLoops
	}
	return o.Plan.Loops
}

// remedyCells plans the remedies of every loop-class cell of a report: the
// cells to run, and the observations of those that do not apply.
func remedyCells(r report.Report, env scan.Environment) (decided []scan.Observation, todo []scan.Cell) {
	for _, c := range r.Cells {
		if !c.LoopFailure() {
			continue
		}
		for _, plan := range scan.PlanRemedies(c.Cell, env) {
			if plan.Cell == nil {
				decided = append(decided, plan.NotRun(c.Cell))
				continue
			}
			todo = append(todo, *plan.Cell)
		}
	}
	return decided, todo
}

// mergeLoops marks a loop unavailable when its API server could not start,
// and adds how its API servers are kept apart when the workers differ.
func mergeLoops(loops, servers []scan.LoopInfo) []scan.LoopInfo {
	for _, s := range servers {
		found := false
		for i := range loops {
			if loops[i].Loop == s.Loop {
				found = true
				if !s.Available && loops[i].Available {
					loops[i].Available, loops[i].Reason = false, "API server: "+s.Reason
				}
				if s.Isolation != "" && s.Isolation != loops[i].Isolation {
					loops[i].Isolation = strings.TrimPrefix(loops[i].Isolation+"; API servers: "+s.Isolation, "; ")
				}
			}
		}
		if !found {
			loops = append(loops, s)
		}
	}
	return loops
}

// runScan is check and repro: set up, select, run, classify, render.
func runScan(ctx context.Context, o scanOptions, stdio IO) error {
	sinks, err := openSinks(o.Outputs, stdio.Out)
	if err != nil {
		return err
	}
	defer closeSinks(sinks)
	var base *report.Report
	if o.Baseline != "" {
		b, err := loadReport(ctx, o.Baseline, "--baseline", stdio.Err)
		if err != nil {
			return err
		}
		base = &b
	}

	defer keepSecrets(o.API, stdio)()
	st, err := setUp(ctx, &o, stdio)
	defer st.close()
	defer st.abortOff()
	if err != nil {
		return err
	}
	for _, li := range st.env.Loops {
		if li.Available && li.Isolation != "" && li.Isolation != repro.IsolationFork {
			stdio.info(o.Quiet, "g4fdiag: %s cells: %s — each starts its own interpreter, slower than a fork", li.Loop, li.Isolation)
		}
	}
	selected, err := selectProviders(st.catalog, o)
	if err != nil {
		return err
	}
	if n := promptedProviders(selected, o); n > 0 {
		stdio.info(o.Quiet, "g4fdiag: note: this scan sends a short prompt (%q) to each of the %d provider(s) it runs, "+
			"and they send it on to their third-party services; `g4fdiag check --probe` runs offline", defaultPrompt(), n)
	}
	for _, pr := range selected {
		o.Plan.Providers = append(o.Plan.Providers, pr.Name)
	}
	header := report.Header{Tool: "g4fdiag", Version: versionString(), Command: o.Command,
		Plan: o.Plan, Environment: st.env, Providers: selected}
	header.Environment.Hostname, _ = os.Hostname() // JUnit's hostname; "" leaves it "localhost"

	for _, s := range sinks {
		if s.jsonl != nil {
			if err := s.jsonl.WriteHeader(header); err != nil && s.w.failed() == nil {
				return err
			}
			s.streamed = true
		}
	}
	// jsonl streamed to the same terminal would land inside the progress line.
	jsonlOnTerminal := false
	for _, s := range sinks {
		jsonlOnTerminal = jsonlOnTerminal || (s.jsonl != nil && s.stdout() && stdio.OutTerminal)
	}
	progress := newProgress(stdio.Err, stdio.showProgress(o.Quiet) && !jsonlOnTerminal, len(o.Plan.Cells(selected)), time.Now, stdio.stderrWidth)
	defer progress.Done()
	var observations []scan.Observation
	collect := func(ch <-chan scan.Observation) error {
		for obs := range ch {
			observations = append(observations, obs)
			v := diag.Classify(obs)
			if cellRan(obs.End) {
				progress.Observe(v.LoopFailure())
			} else {
				progress.ObserveNotRun()
			}
			for _, s := range sinks {
				if s.jsonl != nil && s.w.failed() == nil {
					// A write error stays with its sink: the scan and the
					// other outputs go on, and the end names it.
					if err := s.jsonl.WriteClassified(obs, v); err != nil && s.w.failed() == nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := runPlan(ctx, o, st, selected, header, collect, func() []scan.Observation { return observations }, progress.AddTotal); err != nil {
		return err
	}
	progress.Done()
	interrupted := ctx.Err() != nil
	rep := report.Build(header, observations, interrupted)
	var script *scriptOutcome
	if o.EmitScript != "" && !interrupted {
		if script, err = emitScript(ctx, o.EmitScript, o, st, rep); err != nil {
			return err
		}
	}
	st.close() // end every worker and server before rendering: nothing outlives the scan
	// A signal during --emit-script's run: every cell is in the report, the
	// script note says the run was cut short, and the exit is 130.
	interrupted = interrupted || ctx.Err() != nil

	rep.Gate = report.NewGate(rep, o.FailOn, o.Baseline, base)
	outErr := deliver(sinks, delivery{report: rep, evidence: o.Evidence, script: script, all: o.All}, stdio)
	if script != nil {
		stdio.info(o.Quiet, "%s", script.Note)
		for _, line := range script.Remedies {
			stdio.info(o.Quiet, "  %s", line)
		}
	}
	switch {
	case interrupted:
		return errors.Join(context.Canceled, outErr)
	case outErr != nil:
		return outErr
	}
	return gate(rep)
}

// runPlan runs the plan's cells of selected through st's drivers, then,
// with --verify-fixes, every remedy of each loop failure; collect takes the
// observations as they come and keeps them (observed returns them), and
// more tells how many cells the remedies add.
func runPlan(ctx context.Context, o scanOptions, st *scanTarget, selected []providers.Provider, header report.Header,
	collect func(<-chan scan.Observation) error, observed func() []scan.Observation, more func(int)) error {
	if err := collect(repro.Run(ctx, st.driver, o.Plan, selected, st.env)); err != nil {
		return err
	}
	if !o.VerifyFixes || ctx.Err() != nil {
		return nil
	}
	decided, todo := remedyCells(report.Build(header, observed(), false), st.env)
	more(len(decided) + len(todo))
	return collect(repro.RunCells(ctx, st.driver, decided, todo, o.Plan.Jobs, o.Plan.Timeout))
}

// writeStepSummary appends the Markdown job summary to $GITHUB_STEP_SUMMARY
// when a github output was asked for and the variable is set.
func writeStepSummary(sinks []*sink, r report.Report, stdio IO) error {
	path := stdio.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	for _, s := range sinks {
		if s.Format != "github" {
			continue
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("writing the job summary to $GITHUB_STEP_SUMMARY (%s): %w", path, err)
		}
		_, err = io.WriteString(f, render.GitHubSummary(r))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// loadReport reads a saved report (json or jsonl); what names the flag it
// came from, "" for a plain argument. A jsonl stream cut short (no end
// record) still reads, as a partial report, and warn says so. Reading stops
// when ctx ends, even on a pipe that sends nothing.
func loadReport(ctx context.Context, path, what string, warn io.Writer) (report.Report, error) {
	return loadReportFrom(ctx, path, what, nil, warn)
}

// loadReportFrom is loadReport where path "-" reads stdin (report -).
func loadReportFrom(ctx context.Context, path, what string, stdin io.Reader, warn io.Writer) (report.Report, error) {
	name := path
	if what != "" {
		name = what + " " + path
	}
	var in io.Reader
	if path == "-" && stdin != nil {
		name = "stdin"
		in = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return report.Report{}, usagef("cannot read %s: %v", name, unwrapPathError(err))
		}
		defer f.Close()
		stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
		defer stop()
		in = f
	}
	r, info, err := report.ReadReportInfo(in)
	if ctx.Err() != nil {
		return report.Report{}, ctx.Err()
	}
	if err != nil {
		return report.Report{}, usagef("%s is not a g4fdiag report: %v", name, err)
	}
	if warn != nil {
		for _, w := range info.Warnings {
			fmt.Fprintf(warn, "g4fdiag: warning: %s: %s\n", name, diag.Sanitize(w))
		}
		if info.CutShort {
			fmt.Fprintf(warn, "g4fdiag: warning: %s was cut short (no end record: killed, or the file truncated); the report is partial, %d cell(s)\n", name, len(r.Cells))
		}
	}
	return r, nil
}
