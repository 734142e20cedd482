package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
)

type reportOptions struct {
	File   string
	Format string
	Output string
}

func reportCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "re-render a saved scan (json or jsonl) in any format",
		ArgsUsage: "FILE",
		UsageText: `g4fdiag report FILE [--format FORMAT] [--output FILE]

   g4fdiag check --demo --format jsonl > scan.jsonl; g4fdiag report scan.jsonl
   g4fdiag report scan.json --format json -o copy.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("report needs exactly one FILE (a json or jsonl report from check), got %d", c.Args().Len())
			}
			o := reportOptions{File: c.Args().First(), Format: c.String("format"), Output: c.String("output")}
			if err := checkFormat(o.Format); err != nil {
				return err
			}
			return runReport(o, stdio)
		},
	}
}

func runReport(o reportOptions, stdio IO) error {
	in, err := os.Open(o.File)
	if err != nil {
		return usagef("cannot read %s: %v", o.File, unwrapPathError(err))
	}
	defer in.Close()
	r, err := diag.ReadReport(in)
	if err != nil {
		return usagef("%s is not a g4fdiag report: %v", o.File, err)
	}
	out, closeOut, err := openOutput(o.Output, stdio.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	if err := render(out, o.Format, r, stdio, o.Output == ""); err != nil {
		return err
	}
	if n := r.Summary.LoopFailures; n > 0 {
		return &failuresError{n: n}
	}
	return nil
}
