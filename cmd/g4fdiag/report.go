package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

type reportOptions struct {
	Files    []string
	Format   string
	Output   string
	Baseline string
	FailOn   diag.ClassSet
	All      bool
}

func reportCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "re-render a saved scan (json or jsonl) in any format, reclassified with this g4fdiag's tables",
		ArgsUsage: "FILE...",
		UsageText: `g4fdiag report FILE... [--format FORMAT] [--output FILE] [--baseline FILE]

   g4fdiag check --demo --format jsonl > scan.jsonl; g4fdiag report scan.jsonl
   g4fdiag check --demo --format jsonl | g4fdiag report - --format markdown
   g4fdiag report scan.json --format junit -o junit.xml
   g4fdiag report scan.json --baseline yesterday.json

   Every verdict is reclassified from the observations with this g4fdiag's
   signature tables, so an old scan reads as a new one would. FILE - is
   stdin. Several files are the shards of one scan, merged as merge does.
   A jsonl stream cut mid-line, or with records of a kind this version does
   not know, is read past with a warning.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&cli.StringFlag{Name: "baseline", Usage: "an earlier report: only failures new against it fail"},
			&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that fail: loop, any, or class names, comma-separated"},
			allFlag(),
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() == 0 {
				return usagef("report needs a FILE (a json or jsonl report from check; - for stdin)")
			}
			o := reportOptions{Files: c.Args().Slice(), Format: c.String("format"), Output: c.String("output"),
				Baseline: c.String("baseline"), All: c.Bool("all")}
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
	var named []report.NamedReport
	for _, f := range o.Files {
		r, err := loadReportFrom(ctx, f, "", stdio.In, stdio.Err)
		if err != nil {
			return err
		}
		named = append(named, report.NamedReport{Name: f, Report: r})
	}
	r := named[0].Report
	if len(named) > 1 {
		m, err := report.Merge(named)
		if err != nil {
			return usagef("cannot report these files together: %v (they must be shards of one scan)", err)
		}
		if w := mergeWarning(m); w != "" {
			fmt.Fprintln(stdio.Err, "g4fdiag: warning: "+diag.Sanitize(w))
		}
		r = m.Report
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
	if err := deliver(sinks, delivery{report: r, all: o.All}, stdio); err != nil {
		return err
	}
	return gate(r)
}
