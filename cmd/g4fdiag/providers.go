package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/olekukonko/tablewriter"
	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

type providersOptions struct {
	targetOptions
	Patterns []string
	Format   string
}

func providersCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "providers",
		Usage: "list the provider catalog of a g4f installation",
		UsageText: `g4fdiag providers [options]

   g4fdiag providers --demo
   g4fdiag providers --python .venv/bin/python --format json`,
		Flags: append(targetFlags(),
			&cli.StringSliceFlag{Name: "provider", Aliases: []string{"p"}, Usage: "only providers matching `NAME` or glob (repeatable)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			target, err := targetFrom(c)
			if err != nil {
				return err
			}
			target.Probes = true // listed, and marked as probes
			o := providersOptions{
				targetOptions: target,
				Patterns:      c.StringSlice("provider"),
				Format:        c.String("format"),
			}
			if err := checkPatterns(o.Patterns); err != nil {
				return err
			}
			if o.Format != "table" && o.Format != "json" {
				return usagef("unknown --format %q for providers%s; use table or json", o.Format, didYouMean(o.Format, []string{"table", "json"}))
			}
			return runProviders(c.Context, o, stdio)
		},
	}
}

func runProviders(ctx context.Context, o providersOptions, stdio IO) error {
	demoDir, err := os.MkdirTemp("", "g4fdiag-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(demoDir)
	t, err := o.target(stdio, func() (string, error) { return demoDir, nil })
	if err != nil {
		return err
	}
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	if err := startUpstream(func(c func()) { closers = append(closers, c) }, &t); err != nil {
		return err
	}
	pool, err := repro.NewPool(t, repro.PoolOptions{})
	if err != nil {
		return err
	}
	defer pool.Close()
	_, catalog, err := pool.Start(ctx, []scan.Loop{scan.LoopAsyncio})
	if err != nil {
		return err
	}
	selected, err := providers.Select(catalog, o.Patterns)
	if err != nil {
		return err
	}
	if o.Format == "json" {
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		if selected == nil {
			selected = []providers.Provider{}
		}
		return enc.Encode(selected)
	}
	table := tablewriter.NewWriter(stdio.Out)
	table.Header("Provider", "Kind", "Working", "Auth", "Stream", "Default model")
	probes, unavailable := 0, []providers.Provider{}
	for _, p := range selected {
		// Names and models come from the provider classes: sanitized, they
		// cannot set the window title or clear the screen.
		name, working := diag.Sanitize(p.Name), yesNo(p.Working)
		if p.Probe {
			probes++
			name += " (probe)"
		}
		if p.Unavailable != "" {
			working = "unavailable"
			unavailable = append(unavailable, p)
		}
		if err := table.Append(name, diag.Sanitize(string(p.Kind)), working, yesNo(p.NeedsAuth),
			yesNo(p.SupportsStream), diag.Sanitize(p.DefaultModel)); err != nil {
			return err
		}
	}
	if err := table.Render(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdio.Out, "%d providers\n", len(selected)-probes); err != nil {
		return err
	}
	if probes > 0 {
		if _, err := fmt.Fprintf(stdio.Out, "%d probes: g4fdiag's own providers on g4f's base classes, offline (g4fdiag check --probe)\n", probes); err != nil {
			return err
		}
	}
	for _, p := range unavailable {
		if _, err := fmt.Fprintf(stdio.Out, "  %s unavailable: %s\n", diag.Sanitize(p.Name), diag.Sanitize(p.Unavailable)); err != nil {
			return err
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
