package main

import (
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
re-entered the loop, what it means and the remedy. The worst class decides,
then the most frequent. A log with many failures also gets a summary per
class, provider and signature.
Exit 1 when a loop-class failure is found (or one of the --fail-on classes),
0 when none, 2 when the input cannot be read.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table (or text), json or markdown"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that exit 1: loop (the loop classes), any (every failure), or class names, comma-separated"},
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			o := explainOptions{Files: c.Args().Slice(), Format: c.String("format"), Output: c.String("output")}
			if !knownExplainFormat(o.Format) {
				return usagef("unknown --format %q for explain; use one of %s", o.Format, strings.Join(explain.Formats(), ", "))
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
