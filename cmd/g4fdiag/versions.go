package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/versions"
)

// versionsFlags are the flags versions and bisect share.
func versionsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "repo", Usage: "a g4f git checkout (`PATH`); each revision's g4f/ is exported with git archive, the checkout is not touched"},
		&cli.StringFlag{Name: "python", Usage: "Python interpreter to scan with (default: $VIRTUAL_ENV/bin/python, else python3 on PATH)"},
		&cli.StringFlag{Name: "cache", Usage: "where exported revisions are kept, by commit (default: the user cache dir/g4fdiag/versions)"},
		&cli.DurationFlag{Name: "timeout", Value: 20 * time.Second, Usage: "per cell"},
	}
}

type versionsSetup struct {
	opts  versions.Options
	close func()
}

// versionsSetUp resolves the interpreter and the cache, and starts the
// loopback upstream the probes call.
func versionsSetUp(c *cli.Context, stdio IO) (versionsSetup, error) {
	s := versionsSetup{close: func() {}}
	repo := c.String("repo")
	if repo == "" {
		return s, usagef("%s needs --repo PATH, a g4f git checkout (git clone https://github.com/xtekky/gpt4free)", c.Command.Name)
	}
	if st, err := os.Stat(repo); err != nil || !st.IsDir() {
		return s, usagef("--repo %s is not a directory; give a g4f git checkout", repo)
	}
	python, err := repro.FindPython(absPython(c.String("python")), stdio.Environ)
	if err != nil {
		return s, err
	}
	cache := c.String("cache")
	if cache == "" {
		if cache, err = versions.DefaultCache(); err != nil {
			return s, &repro.EnvError{What: "no user cache directory: " + err.Error(), Fix: "name one with --cache DIR", Err: err}
		}
	}
	t := repro.Target{Python: python, Env: stdio.Environ}
	var closers []func()
	if err := startUpstream(func(f func()) { closers = append(closers, f) }, &t); err != nil {
		return s, err
	}
	s.close = func() {
		for _, f := range closers {
			f()
		}
	}
	s.opts = versions.Options{Repo: repo, Cache: cache, Base: t,
		Plan: scan.Plan{Modes: scan.AllModes, Loops: scan.AllLoops, Concurrency: 1, Repeat: 1, Jobs: 2,
			Timeout: c.Duration("timeout"), BlockThreshold: 2 * time.Second}}
	return s, nil
}

func versionsCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "versions",
		Usage: "scan g4f's probe providers on each release (or revision) of a g4f git checkout: which release fixes it",
		UsageText: `g4fdiag versions --repo PATH [--rev A,B,...|--range A..B] [--provider NAME] [--modes M,..] [--loops L,..] [--jobs N] [-o json=FILE]

   g4fdiag versions --repo ~/src/gpt4free
   g4fdiag versions --repo ~/src/gpt4free --range 0.3.5.8..0.5.0.0 --loops uvloop`,
		Flags: append(versionsFlags(),
			&cli.StringFlag{Name: "rev", Usage: "revisions (tags or commits), comma-separated (default: every tag, oldest first)"},
			&cli.StringFlag{Name: "range", Usage: "`A..B`: every first-parent commit from A (included) to B"},
			&cli.StringSliceFlag{Name: "provider", Aliases: []string{"p"}, Usage: "a provider to scan besides the probes (repeatable)"},
			&cli.StringFlag{Name: "modes", Usage: "modes, comma-separated (default: every in-process mode)"},
			&cli.StringFlag{Name: "loops", Usage: "loops, comma-separated (default: every loop variant)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 2, Usage: "versions scanned at once"},
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "json=FILE: the results as JSON too"},
		),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			if c.String("rev") != "" && c.String("range") != "" {
				return usagef("--rev and --range both name the revisions; use one of them")
			}
			if c.Int("jobs") < 1 {
				return usagef("--jobs %d: give at least 1", c.Int("jobs"))
			}
			var jsonPath string
			for _, o := range c.StringSlice("output") {
				f, p, ok := strings.Cut(o, "=")
				if !ok || f != "json" || p == "" {
					return usagef("-o %q: versions writes json=FILE", o)
				}
				jsonPath = p
			}
			s, err := versionsSetUp(c, stdio)
			if err != nil {
				return err
			}
			defer s.close()
			if m := c.String("modes"); m != "" {
				if s.opts.Plan.Modes, err = parseModes(m); err != nil {
					return err
				}
			}
			if l := c.String("loops"); l != "" {
				if s.opts.Plan.Loops, err = parseLoops(l); err != nil {
					return err
				}
			}
			s.opts.Providers = c.StringSlice("provider")
			return runVersions(c.Context, s.opts, c.String("rev"), c.String("range"), c.Int("jobs"), jsonPath, stdio)
		},
	}
}

func runVersions(ctx context.Context, o versions.Options, revList, rng string, jobs int, jsonPath string, stdio IO) error {
	var revs []string
	var err error
	switch {
	case rng != "":
		a, b, ok := strings.Cut(rng, "..")
		if !ok || a == "" || b == "" {
			return usagef("--range %q is not A..B", rng)
		}
		if revs, err = versions.Range(ctx, o.Repo, a, b); err != nil {
			return usagef("--range %s: %v", rng, err)
		}
		for i, c := range revs {
			revs[i] = c[:min(10, len(c))] // a commit's row is named by its short hash
		}
		revs = append([]string{a}, revs...)
	case revList != "":
		revs = splitList(revList)
	default:
		if revs, err = versions.Tags(ctx, o.Repo); err != nil {
			return usagef("--repo %s: %v", o.Repo, err)
		}
		if len(revs) == 0 {
			return usagef("--repo %s has no tags; name revisions with --rev or --range", o.Repo)
		}
	}
	vs, err := versions.Resolve(ctx, o.Repo, revs)
	if err != nil {
		return usagef("%v", err)
	}
	results := make([]versions.Result, len(vs))
	errs := make([]error, len(vs))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = versions.Scan(ctx, o, v)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	show := append([]string{diag.DoctorProbeProvider}, o.Providers...)
	writeVersionsTable(stdio.Out, results, show, o.Plan)
	if jsonPath != "" {
		data, err := json.MarshalIndent(struct {
			Repo     string            `json:"repo"`
			Versions []versions.Result `json:"versions"`
		}{o.Repo, results}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
			return &outputError{failed: []error{fmt.Errorf("cannot write -o json=%s: %v", jsonPath, unwrapPathError(err))}}
		}
	}
	return nil
}

// writeVersionsTable writes, per provider shown, a version × (mode, loop)
// table, a verdict marked * where it differs from the previous version
// that could be scanned, then one summary line per (mode, loop).
func writeVersionsTable(w io.Writer, rs []versions.Result, show []string, p scan.Plan) {
	for _, prov := range show {
		fmt.Fprintf(w, "%s\n", diag.Sanitize(prov))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		head := []string{"version", "commit"}
		var keys []string
		for _, m := range p.Modes {
			for _, l := range p.Loops {
				head = append(head, string(m)+"/"+l.Short())
				keys = append(keys, prov+"/"+string(m)+"/"+string(l))
			}
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		prev := map[string]diag.Class{}
		var notes []string
		for _, r := range rs {
			row := []string{diag.Sanitize(r.Rev), r.Commit[:min(10, len(r.Commit))]}
			if r.Unavailable != "" {
				for range keys {
					row = append(row, "unavailable")
				}
				fmt.Fprintln(tw, strings.Join(row, "\t"))
				notes = append(notes, fmt.Sprintf("  %s unavailable: %s", diag.Sanitize(r.Rev), diag.Sanitize(r.Unavailable)))
				continue
			}
			for _, k := range keys {
				c := r.Verdict(k)
				cell := string(c)
				if c == "" {
					cell = "-"
				} else if pc, ok := prev[k]; ok && pc != c {
					cell = "*" + cell
				}
				if c != "" {
					prev[k] = c
				}
				row = append(row, cell)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
		for _, m := range p.Modes {
			for _, l := range p.Loops {
				fmt.Fprintf(w, "  %s/%s: %s\n", m, l, diag.Sanitize(summarize(rs, prov+"/"+string(m)+"/"+string(l))))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "* the verdict changed from the previous version scanned")
}

// summarize says a cell's verdicts across versions as runs: "loop-reentry
// up to v2, ok from v3"; versions that could not be scanned are left out.
func summarize(rs []versions.Result, key string) string {
	type run struct {
		class       diag.Class
		first, last string
	}
	var runs []run
	for _, r := range rs {
		c := r.Verdict(key)
		if r.Unavailable != "" || c == "" {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].class == c {
			runs[n-1].last = r.Rev
			continue
		}
		runs = append(runs, run{c, r.Rev, r.Rev})
	}
	switch len(runs) {
	case 0:
		return "not scanned in any version"
	case 1:
		return fmt.Sprintf("%s in every version scanned", runs[0].class)
	}
	parts := make([]string, len(runs))
	for i, r := range runs {
		switch {
		case i == 0:
			parts[i] = fmt.Sprintf("%s up to %s", r.class, r.last)
		case i == len(runs)-1:
			parts[i] = fmt.Sprintf("%s from %s", r.class, r.first)
		case r.first == r.last:
			parts[i] = fmt.Sprintf("%s at %s", r.class, r.first)
		default:
			parts[i] = fmt.Sprintf("%s from %s to %s", r.class, r.first, r.last)
		}
	}
	return strings.Join(parts, ", ")
}
