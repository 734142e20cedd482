package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

type doctorOptions struct {
	targetOptions
	Format string
	Output string
	// NoProbe skips the probe: the report says what the environment is,
	// not what g4f does in it.
	NoProbe bool
}

func doctorCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "inspect a Python environment for what makes sync g4f calls fail inside a running event loop",
		UsageText: `g4fdiag doctor [options]

   g4fdiag doctor
   g4fdiag doctor --python .venv/bin/python --format json -o doctor.json`,
		Description: `Reports the interpreter, g4f (version, where it is imported from, which
nest_asyncio it imports and whether that one is installed), uvloop,
nest_asyncio, nest_asyncio2, uvicorn and aiohttp, the loop uvicorn would
pick and the event loop policy.

Then it measures (a few seconds, offline; --no-probe skips it): a probe
provider registered into this g4f on its own async generator base runs the
sync client and AsyncClient inside a running loop on each loop variant,
and each known remedy for the calls that fail. One line per remedy says
what it did here. The exposures follow from what was measured: a rule whose
failure the probe did not see is dropped, a failure no rule names is added,
and the remedies are the ones measured to work.

Exit 1 when exposed, 0 when not, 3 when the interpreter cannot be inspected
or g4f cannot be imported (the rest is still reported).`,
		Flags: append(targetFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout"},
			&cli.BoolFlag{Name: "no-probe", Usage: "do not run the probe: report the environment only, with advice that is not measured"},
		),
		OnUsageError: commandUsageError,
		Before:       needsScans(stdio),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("doctor takes no arguments, got %q", c.Args().First())
			}
			target, err := targetFrom(c)
			if err != nil {
				return err
			}
			o := doctorOptions{
				targetOptions: target,
				Format:        c.String("format"),
				Output:        c.String("output"),
				NoProbe:       c.Bool("no-probe"),
			}
			if o.Format != "table" && o.Format != "json" {
				return usagef("unknown --format %q for doctor%s; use table or json", o.Format, didYouMean(o.Format, []string{"table", "json"}))
			}
			return runDoctor(c.Context, o, stdio)
		},
	}
}

// runDoctor inspects the interpreter, prints the report, and returns
// failuresError when exposed. A g4f that cannot be imported is reported
// first and then returned as the environment error (exit 3): the rest of
// the interpreter could be inspected, but not what the user asked about.
func runDoctor(ctx context.Context, o doctorOptions, stdio IO) error {
	out, closeOut, err := openOutput(o.Output, stdio.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	var demoDir string // only --demo and --demo-scale make one
	t, err := o.target(stdio, func() (string, error) {
		var err error
		demoDir, err = os.MkdirTemp("", "g4fdiag-demo-")
		return demoDir, err
	})
	if demoDir != "" {
		defer os.RemoveAll(demoDir)
	}
	if err != nil {
		return err
	}
	d, err := repro.RunDoctor(ctx, t)
	if err != nil {
		return err
	}
	if !o.NoProbe && d.G4F.Importable {
		if d.Probe, err = probeDoctor(ctx, o.targetOptions, stdio); err != nil {
			return err
		}
	}
	d.Exposures = diag.Exposures(d)
	if o.Format == "json" {
		err = renderDoctorJSON(out, d)
	} else {
		err = renderDoctorText(out, d, o.Output == "" && stdio.color())
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := repro.ImportError(d); err != nil {
		return err
	}
	if n := len(d.Exposures); n > 0 {
		return &failuresError{n: n}
	}
	return nil
}

// probeDoctor runs doctor's probe (diag.DoctorProbeProvider) in each of
// diag.DoctorProbeModes on every loop variant, then every remedy of the
// calls that failed on the loop, as check --probe --verify-fixes would,
// and sums it up. A probe this g4f cannot have is reported unavailable.
func probeDoctor(ctx context.Context, t targetOptions, stdio IO) (*scan.DoctorProbe, error) {
	t.Probes = true
	o := scanOptions{targetOptions: t, Command: "doctor", Probe: true, VerifyFixes: true, Quiet: true,
		Plan: scan.Plan{Modes: diag.DoctorProbeModes, Loops: scan.AllLoops, Concurrency: 1, Repeat: 1,
			Jobs: runtime.NumCPU(), Timeout: demoTimeout, BlockThreshold: 2 * time.Second}}
	st, err := setUp(ctx, &o, stdio)
	defer st.close()
	defer st.abortOff()
	if err != nil {
		return nil, err
	}
	var probe *providers.Provider
	for i, pr := range st.catalog {
		if pr.Name == diag.DoctorProbeProvider {
			probe = &st.catalog[i]
		}
	}
	switch {
	case probe == nil:
		return &scan.DoctorProbe{Provider: diag.DoctorProbeProvider, Unavailable: "this g4f did not take the probe"}, nil
	case probe.Unavailable != "":
		return &scan.DoctorProbe{Provider: diag.DoctorProbeProvider, Unavailable: probe.Unavailable}, nil
	}
	o.Plan.Providers = []string{probe.Name}
	selected := []providers.Provider{*probe}
	header := report.Header{Tool: "g4fdiag", Version: versionString(), Command: o.Command,
		Plan: o.Plan, Environment: st.env, Providers: selected}
	var observations []scan.Observation
	collect := func(ch <-chan scan.Observation) error {
		for obs := range ch {
			observations = append(observations, obs)
		}
		return nil
	}
	if err := runPlan(ctx, o, st, selected, header, collect, func() []scan.Observation { return observations }, func(int) {}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return diag.ProbeFindings(st.env, report.Build(header, observations, false).Cells), nil
}

func renderDoctorJSON(w io.Writer, d scan.Doctor) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// renderDoctorText writes aligned "key: value" lines, then the exposures,
// each with its evidence and remedy. Everything the interpreter said is
// untrusted: it is sanitised before it reaches a terminal.
func renderDoctorText(w io.Writer, d scan.Doctor, colour bool) error {
	paint := func(attr color.Attribute, s string) string {
		if !colour {
			return s
		}
		c := color.New(attr)
		c.EnableColor()
		return c.Sprint(s)
	}
	var rows [][2]string
	add := func(k, v string) { rows = append(rows, [2]string{k, diag.Sanitize(v)}) }

	add("python", d.Python)
	add("python version", fmt.Sprintf("%s (%s, %s)", d.PythonVersion, d.Implementation, d.Platform))
	if d.G4F.Importable {
		v := d.G4F.Version
		if v == "" {
			v = "(version unknown)"
		}
		if d.Demo {
			v += " (the miniature g4f of --demo)"
		}
		add("g4f", v)
		add("g4f path", d.G4F.Path)
		switch {
		case d.G4F.NestModule == "":
			add("g4f nest module", "none named")
		case d.G4F.NestInstalled:
			add("g4f nest module", d.G4F.NestModule+" (installed)")
		default:
			add("g4f nest module", d.G4F.NestModule+" (NOT installed)")
		}
		if d.G4F.DetectsUvloop != nil {
			add("g4f detects uvloop", yesNo(*d.G4F.DetectsUvloop))
		}
	} else {
		add("g4f", "not importable: "+d.G4F.Error)
	}
	for _, p := range d.Packages {
		v := "absent"
		switch {
		case p.Installed() && *p.Version == "":
			v = "installed (version unknown)"
		case p.Installed():
			v = *p.Version
		case p.Error != "":
			v = "not importable: " + p.Error
		}
		add(p.Name, v)
	}
	uv := d.UvicornLoop
	if uv == "" {
		uv = "(uvicorn not installed)"
	}
	add("uvicorn --loop auto", uv)
	policy := d.LoopPolicy
	switch {
	case policy == "":
		policy = "(none: this Python has no event loop policies)"
	case d.LoopPolicySetBy != "":
		policy += " (set by " + d.LoopPolicySetBy + ")"
	}
	add("event loop policy", policy)

	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s %s\n", width+1, r[0]+":", r[1])
	}
	b.WriteString("\n")
	writeDoctorProbe(&b, d.Probe, paint)
	if len(d.Exposures) == 0 {
		b.WriteString("exposures: " + paint(color.FgGreen, "none") + "\n")
	} else {
		fmt.Fprintf(&b, "exposures: %d\n", len(d.Exposures))
		for _, e := range d.Exposures {
			fmt.Fprintf(&b, "- %s: %s\n", paint(color.FgRed, e.ID), diag.Sanitize(e.Summary))
			fmt.Fprintf(&b, "  because: %s\n", diag.Sanitize(e.Detail))
			fmt.Fprintf(&b, "  remedy: %s\n", diag.Sanitize(e.Remedy))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDoctorProbe prints what the probe measured: the calls that fail
// inside a running loop, then one line per remedy.
func writeDoctorProbe(b *strings.Builder, p *scan.DoctorProbe, paint func(color.Attribute, string) string) {
	if p == nil {
		return
	}
	if p.Unavailable != "" {
		fmt.Fprintf(b, "probe: %s unavailable: %s\n\n", p.Provider, diag.Sanitize(p.Unavailable))
		return
	}
	var failing []string
	for _, c := range p.Cells {
		if diag.Class(c.Verdict).IsLoop() {
			failing = append(failing, fmt.Sprintf("%s/%s %s", c.Mode, c.Loop, c.Verdict))
		}
	}
	fmt.Fprintf(b, "probe (%s, g4f's own code, offline): %d calls inside a running loop, ", p.Provider, len(p.Cells))
	if len(failing) == 0 {
		b.WriteString(paint(color.FgGreen, "none fails") + "\n\n")
		return
	}
	fmt.Fprintf(b, "%s: %s\n", paint(color.FgRed, fmt.Sprintf("%d fail", len(failing))), strings.Join(failing, ", "))
	for _, r := range p.Remedies {
		outcome := r.Outcome
		switch r.Outcome {
		case "fixes":
			outcome = paint(color.FgGreen, "fixes it here")
		case "fails":
			outcome = paint(color.FgRed, "fails here")
		case "partly":
			outcome = paint(color.FgYellow, "fixes it in part")
		case "not-run":
			outcome = "not tried"
		}
		fmt.Fprintf(b, "- %s (%s): %s (%s)\n", r.Remedy, r.Does, outcome, diag.Sanitize(r.Detail))
	}
	b.WriteString("\n")
}
