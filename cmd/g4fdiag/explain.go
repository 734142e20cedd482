package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/explain"
	"github.com/g4fdiag/g4fdiag/diag/render"
)

type explainOptions struct {
	Files  []string // "-" is stdin; none means stdin
	Format string
	Output string
	FailOn diag.ClassSet
}

func explainCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "classify a pasted traceback, API error body, server log or bug report",
		ArgsUsage: "[FILE ...]",
		UsageText: `g4fdiag explain [FILE ...] [--format table|text|json|markdown] [--output FILE]

   g4fdiag explain traceback.txt
   pbpaste | g4fdiag explain
   g4fdiag explain /var/log/g4f/api.log --format json`,
		Description: `Reads Python tracebacks (chained ones too), g4f API error bodies and SSE data:
lines, uvicorn/gunicorn/g4f logs, stack dumps (faulthandler, py-spy dump, gdb
py-bt/py-bt-full, a server's "# Thread:" dump, python -m asyncio ps/pstree),
curl output or Markdown bug reports from the FILEs (stdin when none or -) and
prints the decisive verdict: class, signature, evidence, the frame that
re-entered the loop, "your code:" (the first frame outside g4f, Python's
library and installed packages: the line to change), what it means and the
remedy, phrased for that line. A real error outranks the noise a process
makes as it ends ("Event loop is closed" from a __del__, "Task was destroyed
but it is pending!"), which is shown beside it; then the worst class
decides, then the most frequent. A log with many failures also gets a
summary per class, provider and signature.

Verdicts: ok only for a text with no error in it at all; unclassified for
an error explain cannot place (the exception, or the traceback's head and
frames, shown); a traceback cut before its exception line is judged by its
head and frames ("likely loop-reentry: the exception line is missing ...").

Exit codes of explain:
   0  no loop-class failure (nor one of the --fail-on classes): ok, a
      provider's error, unclassified (--fail-on any makes these 1)
   1  a loop-class failure, or one of the --fail-on classes
   2  a bad flag, or an input that cannot be read (a missing file, a
      directory)
   3  the output cannot be written
   4  the input is empty (nothing or blank lines only) or is not text (a
      binary file, UTF-16): stderr says which; there is nothing to explain`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table (or text), json or markdown"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that exit 1: loop (the loop classes), any (every failure), or class names, comma-separated"},
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			o := explainOptions{Files: c.Args().Slice(), Format: c.String("format"), Output: c.String("output")}
			if !knownExplainFormat(o.Format) {
				return usagef("unknown --format %q for explain%s; use one of %s", o.Format, didYouMean(o.Format, explain.Formats()), strings.Join(explain.Formats(), ", "))
			}
			var err error
			if o.FailOn, err = diag.ParseClassSet(c.String("fail-on")); err != nil {
				return usagef("--fail-on: %v", strings.TrimPrefix(err.Error(), "diag: "))
			}
			return runExplain(o, stdio)
		},
	}
}

func knownExplainFormat(f string) bool {
	for _, k := range explain.Formats() {
		if k == f {
			return true
		}
	}
	return false
}

func runExplain(o explainOptions, stdio IO) error {
	in, closeIn, err := openExplainInputs(o.Files, stdio.In)
	if err != nil {
		return err
	}
	defer closeIn()
	e, err := explain.Explain(in, explain.Options{})
	var bad *explain.InputError
	if errors.As(err, &bad) {
		return &noTextError{msg: fmt.Sprintf("%s: %v", inputNames(o.Files), bad)}
	}
	if err != nil {
		return usagef("%v", err)
	}
	out, closeOut, err := openOutput(o.Output, stdio.Out)
	if err != nil {
		return err
	}
	err = explain.Render(out, o.Format, e, render.Options{Color: o.Output == "" && stdio.color()})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the explanation: %w", err)
	}
	if n := e.Failing(o.FailOn); n > 0 {
		return &failuresError{n: n, what: "failure"}
	}
	return nil
}

// openExplainInputs opens every input before reading any, so a missing file
// fails before output starts, and joins them with a line break between.
func openExplainInputs(files []string, stdin io.Reader) (io.Reader, func(), error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	var readers []io.Reader
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	for i, name := range files {
		if i > 0 {
			readers = append(readers, strings.NewReader("\n"))
		}
		if name == "-" {
			readers = append(readers, namedReader{name: "stdin", r: stdin})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, usagef("cannot read %s: %v", name, unwrapPathError(err))
		}
		opened = append(opened, f)
		readers = append(readers, namedReader{name: name, r: f})
	}
	return io.MultiReader(readers...), closeAll, nil
}

// inputNames names the inputs in a message: "stdin", "a.log", "a.log, b.log".
func inputNames(files []string) string {
	if len(files) == 0 {
		return "stdin"
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f
		if f == "-" {
			names[i] = "stdin"
		}
	}
	return strings.Join(names, ", ")
}

// namedReader says which input a read error came from.
type namedReader struct {
	name string
	r    io.Reader
}

func (n namedReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("cannot read %s: %w", n.name, unwrapPathError(err))
	}
	return k, err
}
