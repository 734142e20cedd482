package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
)

type reportOptions struct {
	File     string
	Format   string
	Output   string
	Baseline string
	FailOn   diag.ClassSet
}

func reportCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "re-render a saved scan (json or jsonl) in any format",
		ArgsUsage: "FILE",
		UsageText: `g4fdiag report FILE [--format FORMAT] [--output FILE] [--baseline FILE]

   g4fdiag check --demo --format jsonl > scan.jsonl; g4fdiag report scan.jsonl
   g4fdiag report scan.json --format junit -o junit.xml
   g4fdiag report scan.json --baseline yesterday.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&cli.StringFlag{Name: "baseline", Usage: "an earlier report: only failures new against it fail"},
			&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that fail: loop, any, or class names, comma-separated"},
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("report needs exactly one FILE (a json or jsonl report from check), got %d", c.Args().Len())
			}
			o := reportOptions{File: c.Args().First(), Format: c.String("format"), Output: c.String("output"),
				Baseline: c.String("baseline")}
			if err := checkFormat(o.Format); err != nil {
				return err
			}
			var err error
			if o.FailOn, err = diag.ParseClassSet(c.String("fail-on")); err != nil {
				return usagef("--fail-on: %v", strings.TrimPrefix(err.Error(), "diag: "))
			}
			return runReport(c.Context, o, stdio)
		},
	}
}

func runReport(ctx context.Context, o reportOptions, stdio IO) error {
	r, err := loadReport(ctx, o.File, "", stdio.Err)
	if err != nil {
		return err
	}
	if err := setGate(ctx, &r, o.FailOn, o.Baseline, stdio.Err); err != nil {
		return err
	}
	var values []string
	if o.Output != "" {
		values = []string{o.Output}
	}
	outs, err := parseOutputs(values, o.Format)
	if err != nil {
		return err
	}
	sinks, err := openSinks(outs, stdio.Out)
	if err != nil {
		return err
	}
	defer closeSinks(sinks)
	if err := deliver(sinks, delivery{report: r}, stdio); err != nil {
		return err
	}
	return gate(r)
}
