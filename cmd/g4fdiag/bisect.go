package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro/versions"
)

func bisectCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "bisect",
		Usage: "find the first commit of a g4f git checkout where a cell's verdict changes",
		UsageText: `g4fdiag bisect --repo PATH --good REV --bad REV --cell PROVIDER/MODE/LOOP

   g4fdiag bisect --repo ~/src/gpt4free --good 0.3.5.8 --bad 0.5.0.0 --cell ProbeAsyncGenerator/async-stream/uvloop`,
		Flags: append(versionsFlags(),
			&cli.StringFlag{Name: "good", Usage: "the older revision"},
			&cli.StringFlag{Name: "bad", Usage: "the newer revision, where the verdict differs"},
			&cli.StringFlag{Name: "cell", Usage: "`PROVIDER/MODE/LOOP`, e.g. ProbeAsyncGenerator/sync/uvloop"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "text or json"},
		),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			for _, f := range []string{"good", "bad", "cell"} {
				if c.String(f) == "" {
					return usagef("bisect needs --%s (g4fdiag bisect --repo PATH --good REV --bad REV --cell PROVIDER/MODE/LOOP)", f)
				}
			}
			if f := c.String("format"); f != "text" && f != "json" {
				return usagef("unknown --format %q for bisect; use text or json", f)
			}
			s, err := versionsSetUp(c, stdio)
			if err != nil {
				return err
			}
			defer s.close()
			b, err := versions.Bisect(c.Context, s.opts, c.String("good"), c.String("bad"), c.String("cell"))
			if err != nil {
				if c.Context.Err() != nil {
					return c.Context.Err()
				}
				var arg *versions.ArgError
				if errors.As(err, &arg) {
					return usagef("%v", err)
				}
				return err
			}
			if c.String("format") == "json" {
				data, err := json.MarshalIndent(b, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdio.Out, "%s\n", data)
				return err
			}
			writeBisection(stdio.Out, b)
			return nil
		},
	}
}

func writeBisection(w io.Writer, b versions.Bisection) {
	for _, s := range b.Steps {
		what := string(s.Class)
		if s.Unavailable != "" {
			what = "skipped: " + s.Unavailable
		}
		fmt.Fprintf(w, "tested %.10s %s: %s\n", s.Commit, diag.Sanitize(s.Subject), diag.Sanitize(what))
	}
	fmt.Fprintf(w, "%s: %s at %s, %s at %s; %d commits, %d tested\n", diag.Sanitize(b.Cell), b.GoodClass, diag.Sanitize(b.Good.Rev), b.BadClass, diag.Sanitize(b.Bad.Rev), b.Commits, len(b.Steps))
	if len(b.Candidates) > 0 {
		fmt.Fprintf(w, "the first commit where it changes is one of (commits between could not be tested):\n")
		for _, v := range b.Candidates {
			fmt.Fprintf(w, "  %s %s\n", v.Commit, diag.Sanitize(v.Subject))
		}
	}
	fmt.Fprintf(w, "first commit where it is no longer %s: %s %s\n", b.GoodClass, b.First.Commit, diag.Sanitize(b.First.Subject))
	if b.DiffStat != "" {
		fmt.Fprintf(w, "g4f loop code it changes:\n%s\n", diag.Sanitize(b.DiffStat))
	} else {
		fmt.Fprintln(w, "it changes none of g4f's loop code (g4f/providers/asyncio.py, g4f/client/, g4f/api/)")
	}
}
