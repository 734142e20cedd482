package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
)

// demoTimeout is the per-cell deadline under --demo: the miniature's
// providers answer at once, so only its hanging ones ever wait for it.
const demoTimeout = 5 * time.Second

// targetOptions say which g4f to scan.
type targetOptions struct {
	Python string
	Demo   bool
}

// scanOptions are the options of check and repro.
type scanOptions struct {
	targetOptions
	Command   string // check or repro
	Patterns  []string
	Plan      repro.Plan
	Format    string
	Output    string
	Evidence  bool // repro: print every failing cell's evidence
	StartWait time.Duration
}

func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "python", Usage: "Python interpreter to scan with (default: $VIRTUAL_ENV/bin/python, else python3 on PATH)"},
		&cli.BoolFlag{Name: "demo", Usage: "scan the embedded miniature g4f instead of an installed one"},
	}
}

func scanFlags() []cli.Flag {
	return append(targetFlags(),
		&cli.StringSliceFlag{Name: "provider", Aliases: []string{"p"}, Usage: "provider `NAME` or glob (repeatable; default: all)"},
		&cli.StringFlag{Name: "modes", Value: joinModes(repro.AllModes), Usage: "call modes to run, comma-separated"},
		&cli.StringFlag{Name: "loops", Value: joinLoops(repro.AllLoops), Usage: "event loops to run on, comma-separated"},
		&cli.StringFlag{Name: "model", Usage: "model to ask for (default: each provider's default model)"},
		&cli.IntFlag{Name: "concurrency", Value: 1, Usage: "calls at once in each cell"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "rounds of calls in each cell"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(), Usage: "cells in flight at once"},
		&cli.DurationFlag{Name: "timeout", Value: 20 * time.Second, Usage: "deadline of each cell (5s with --demo unless set)"},
		&cli.DurationFlag{Name: "block-threshold", Value: 2 * time.Second, Usage: "heartbeat silence after which a loop thread counts as blocked"},
		&cli.BoolFlag{Name: "include-not-working", Usage: "run providers marked working = False instead of reporting them not-working"},
		&cli.BoolFlag{Name: "include-auth", Usage: "run providers that need auth instead of skipping them"},
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(diag.Formats(), ", ")},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout"},
	)
}

func checkCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "scan providers × call modes × event loops and print the verdict matrix",
		UsageText: `g4fdiag check [options]

   g4fdiag check --demo
   g4fdiag check --python .venv/bin/python --provider 'Blackbox*'
   g4fdiag check --modes sync,async --loops uvloop --concurrency 4 --format json -o scan.json`,
		Flags:        scanFlags(),
		OnUsageError: commandUsageError,
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
   g4fdiag repro --python .venv/bin/python --provider Blackbox --loops uvloop`,
		Flags:        scanFlags(),
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			opts, err := scanOptionsFrom(c, "repro")
			if err != nil {
				return err
			}
			if len(opts.Patterns) == 0 {
				return usagef("repro needs --provider NAME (g4fdiag providers lists them)")
			}
			opts.Evidence = true
			return runScan(c.Context, opts, stdio)
		},
	}
}

// scanOptionsFrom reads and checks the flags of check and repro.
func scanOptionsFrom(c *cli.Context, command string) (scanOptions, error) {
	if c.Args().Len() > 0 {
		return scanOptions{}, usagef("%s takes no arguments, got %q (providers go in --provider)", command, c.Args().First())
	}
	o := scanOptions{
		targetOptions: targetOptions{Python: c.String("python"), Demo: c.Bool("demo")},
		Command:       command,
		Format:        c.String("format"),
		Output:        c.String("output"),
	}
	for _, p := range c.StringSlice("provider") {
		for _, part := range strings.Split(p, ",") {
			if part = strings.TrimSpace(part); part != "" {
				o.Patterns = append(o.Patterns, part)
			}
		}
	}
	modes, err := parseModes(c.String("modes"))
	if err != nil {
		return o, err
	}
	loops, err := parseLoops(c.String("loops"))
	if err != nil {
		return o, err
	}
	timeout := c.Duration("timeout")
	if o.Demo && !c.IsSet("timeout") {
		timeout = demoTimeout
	}
	o.Plan = repro.Plan{
		Modes: modes, Loops: loops, Model: c.String("model"),
		Concurrency: c.Int("concurrency"), Repeat: c.Int("repeat"), Jobs: c.Int("jobs"),
		Timeout: timeout, BlockThreshold: c.Duration("block-threshold"),
		IncludeNotWorking: c.Bool("include-not-working"), IncludeAuth: c.Bool("include-auth"),
	}
	switch {
	case o.Plan.Concurrency < 1:
		return o, usagef("--concurrency must be at least 1, got %d", o.Plan.Concurrency)
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
	return o, nil
}

func checkFormat(format string) error {
	for _, f := range diag.Formats() {
		if f == format {
			return nil
		}
	}
	return usagef("unknown --format %q; use one of %s", format, strings.Join(diag.Formats(), ", "))
}

func parseModes(s string) ([]repro.Mode, error) {
	var out []repro.Mode
	for _, part := range splitList(s) {
		m := repro.Mode(part)
		if !containsMode(repro.AllModes, m) {
			return nil, usagef("unknown mode %q in --modes; use any of %s", part, joinModes(repro.AllModes))
		}
		if !containsMode(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--modes is empty; use any of %s", joinModes(repro.AllModes))
	}
	return out, nil
}

func parseLoops(s string) ([]repro.Loop, error) {
	var out []repro.Loop
	for _, part := range splitList(s) {
		l := repro.Loop(part)
		if !containsLoop(repro.AllLoops, l) {
			return nil, usagef("unknown loop %q in --loops; use any of %s", part, joinLoops(repro.AllLoops))
		}
		if !containsLoop(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--loops is empty; use any of %s", joinLoops(repro.AllLoops))
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

func containsMode(ms []repro.Mode, m repro.Mode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func containsLoop(ls []repro.Loop, l repro.Loop) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func joinModes(ms []repro.Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

func joinLoops(ls []repro.Loop) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ",")
}

// target resolves the interpreter and, for --demo, writes the miniature g4f
// to dir and puts it on PYTHONPATH.
func (o targetOptions) target(stdio IO, dir func() (string, error)) (repro.Target, error) {
	python, err := repro.FindPython(o.Python, stdio.Environ)
	if err != nil {
		return repro.Target{}, err
	}
	t := repro.Target{Python: python, Env: stdio.Environ, Demo: o.Demo}
	if o.Demo {
		d, err := dir()
		if err != nil {
			return t, err
		}
		if _, err := providers.WriteDemo(d); err != nil {
			return t, err
		}
		t.Env = repro.WithPythonPath(stdio.Environ, d)
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

// runScan is check and repro: discover, select, run, classify, render.
func runScan(ctx context.Context, o scanOptions, stdio IO) error {
	out, closeOut, err := openOutput(o.Output, stdio.Out)
	if err != nil {
		return err
	}
	defer closeOut()

	demoDir, err := os.MkdirTemp("", "g4fdiag-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(demoDir)
	t, err := o.target(stdio, func() (string, error) { return demoDir, nil })
	if err != nil {
		return err
	}
	pool, err := repro.NewPool(t, repro.PoolOptions{BlockThreshold: o.Plan.BlockThreshold})
	if err != nil {
		return err
	}
	defer pool.Close()

	env, catalog, err := pool.Start(ctx, o.Plan.Loops)
	if err != nil {
		return err
	}
	selected, err := providers.Select(catalog, o.Patterns)
	if err != nil {
		return err
	}
	for _, pr := range selected {
		o.Plan.Providers = append(o.Plan.Providers, pr.Name)
	}
	header := diag.Header{Tool: "g4fdiag", Version: versionString(), Command: o.Command,
		Plan: o.Plan, Environment: env, Providers: selected}

	var stream *diag.JSONLWriter
	if o.Format == "jsonl" {
		stream = diag.NewJSONLWriter(out)
		if err := stream.WriteHeader(header); err != nil {
			return err
		}
	}
	var observations []repro.Observation
	for obs := range repro.Run(ctx, pool, o.Plan, selected, env) {
		observations = append(observations, obs)
		if stream != nil {
			if err := stream.WriteObservation(obs); err != nil {
				return err
			}
		}
	}
	interrupted := ctx.Err() != nil
	pool.Close() // end every worker before rendering: nothing outlives the scan
	report := diag.Build(header, observations, interrupted)
	if stream != nil {
		if interrupted {
			if err := stream.WriteEnd(true); err != nil {
				return err
			}
		}
	} else if err := render(out, o.Format, report, stdio, o.Output == ""); err != nil {
		return err
	}
	if o.Evidence && o.Format == "table" {
		if err := diag.RenderEvidence(out, report, diag.RenderOptions{Color: o.Output == "" && stdio.color(), Width: 120}); err != nil {
			return err
		}
	}
	if interrupted {
		return context.Canceled
	}
	if n := report.Summary.LoopFailures; n > 0 {
		return &failuresError{n: n}
	}
	return nil
}

func render(w io.Writer, format string, r diag.Report, stdio IO, toStdout bool) error {
	err := diag.Render(w, format, r, diag.RenderOptions{Color: toStdout && stdio.color(), Width: 120})
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
