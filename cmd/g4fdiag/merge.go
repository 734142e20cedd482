package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

type mergeOptions struct {
	Files    []string
	Format   string
	Outputs  []output
	Baseline string
	FailOn   diag.ClassSet
	All      bool
}

func mergeCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "combine the reports of check --shard i/n runs into the report of the whole scan",
		ArgsUsage: "FILE...",
		UsageText: `g4fdiag merge FILE... [--format FORMAT] [--output [FORMAT=]FILE]... [--baseline FILE]

   g4fdiag check --shard 1/2 -o json=scan-1.json; g4fdiag check --shard 2/2 -o json=scan-2.json
   g4fdiag merge scan-1.json scan-2.json
   g4fdiag merge scan-*.json --format github -o table=- -o json=scan.json -o junit=junit.xml

   The files are json or jsonl reports of one scan: the same flags but --shard
   and --jobs, run with the same Python and g4f. Merging some of the shards
   is allowed; merge then says which are missing.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(render.Formats(), ", ")},
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout; FORMAT=FILE writes that format there beside stdout's (repeatable)"},
			&cli.StringFlag{Name: "baseline", Usage: "an earlier JSON report: only loop-class failures new against it fail the run"},
			&cli.StringFlag{Name: "fail-on", Value: "loop", Usage: "classes that fail the run: loop (the loop classes), any (every failure), or class names, comma-separated"},
			allFlag(),
		},
		OnUsageError: commandUsageError,
		Action: func(c *cli.Context) error {
			o, err := mergeOptionsFrom(c)
			if err != nil {
				return err
			}
			return runMerge(c.Context, o, stdio)
		},
	}
}

// mergeOptionsFrom reads and checks merge's flags and files.
func mergeOptionsFrom(c *cli.Context) (mergeOptions, error) {
	o := mergeOptions{Files: c.Args().Slice(), Format: c.String("format"), Baseline: c.String("baseline"), All: c.Bool("all")}
	if len(o.Files) == 0 {
		return o, usagef("merge needs at least one FILE (json or jsonl reports of check --shard i/n)")
	}
	seen := map[string]bool{}
	for _, f := range o.Files {
		if seen[f] {
			return o, usagef("merge: %s is given twice", f)
		}
		seen[f] = true
	}
	if err := checkFormat(o.Format); err != nil {
		return o, err
	}
	var err error
	if o.Outputs, err = parseOutputs(c.StringSlice("output"), o.Format); err != nil {
		return o, err
	}
	if o.FailOn, err = diag.ParseClassSet(c.String("fail-on")); err != nil {
		return o, usagef("--fail-on: %v", strings.TrimPrefix(err.Error(), "diag: "))
	}
	return o, nil
}

// runMerge reads and merges the shards before it opens an output, so a
// refused merge leaves no empty report behind for a later step to upload.
func runMerge(ctx context.Context, o mergeOptions, stdio IO) error {
	named := make([]report.NamedReport, 0, len(o.Files))
	for _, f := range o.Files {
		r, err := loadReport(ctx, f, "", stdio.Err)
		if err != nil {
			return err
		}
		named = append(named, report.NamedReport{Name: f, Report: r})
	}
	m, err := report.Merge(named)
	if err != nil {
		return usagef("cannot merge: %v", err)
	}
	if err := setGate(ctx, &m.Report, o.FailOn, o.Baseline, stdio.Err); err != nil {
		return err
	}
	sinks, err := openSinks(o.Outputs, stdio.Out)
	if err != nil {
		return err
	}
	defer closeSinks(sinks)
	if err := deliver(sinks, delivery{report: m.Report, all: o.All}, stdio); err != nil {
		return err
	}
	if w := mergeWarning(m); w != "" {
		fmt.Fprintln(stdio.Err, "g4fdiag: warning: "+diag.Sanitize(w))
	}
	return gate(m.Report)
}

// mergeWarning says what the merged report lacks: shards not given, and
// cells no shard has (an interrupted one's). A partial merge is legitimate
// mid-pipeline, so it is a warning, not an error.
func mergeWarning(m report.Merged) string {
	var parts []string
	if len(m.MissingShards) > 0 {
		names := make([]string, len(m.MissingShards))
		for i, s := range m.MissingShards {
			names[i] = fmt.Sprintf("%d/%d", s, m.Count)
		}
		parts = append(parts, fmt.Sprintf("merged %d of %d shards; missing %s", m.Count-len(m.MissingShards), m.Count,
			strings.Join(names, ", ")))
	}
	if m.MissingCells > 0 {
		parts = append(parts, fmt.Sprintf("%d cell(s) of the plan are in no report", m.MissingCells))
	}
	return strings.Join(parts, "; ")
}
