package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
)

// output is one place a report goes: a format and a file ("" or "-" is
// stdout).
type output struct {
	Format string
	Path   string
}

func (o output) stdout() bool { return o.Path == "" || o.Path == "-" }

// parseOutputs reads the --output values. "FILE" writes the --format report
// there instead of stdout; "FORMAT=FILE" writes that format there, beside the
// --format report on stdout — so `--output json=scan.json --output
// junit=junit.xml` keeps the table on the terminal and feeds CI two files.
func parseOutputs(values []string, format string) ([]output, error) {
	var outs []output
	plain := false
	seen := map[string]bool{}
	for _, v := range values {
		o := output{Format: format, Path: v}
		if f, path, ok := strings.Cut(v, "="); ok && isFormat(f) {
			o = output{Format: f, Path: path}
		} else {
			plain = true
		}
		if o.Path == "" {
			return nil, usagef("--output %q names no file; use FILE or FORMAT=FILE", v)
		}
		if !o.stdout() {
			if seen[o.Path] {
				return nil, usagef("--output %s is given twice", o.Path)
			}
			seen[o.Path] = true
		}
		outs = append(outs, o)
	}
	if !plain {
		outs = append([]output{{Format: format}}, outs...)
	}
	return outs, nil
}

func isFormat(f string) bool {
	for _, known := range diag.Formats() {
		if f == known {
			return true
		}
	}
	return false
}

// sink is an opened output.
type sink struct {
	output
	w        io.Writer
	close    func() error
	jsonl    *diag.JSONLWriter // streams observations as cells finish
	streamed bool              // the header went out: observations follow as cells end
}

// openSinks opens every output before any work, so an unwritable path fails
// fast instead of after a long scan.
func openSinks(outs []output, stdout io.Writer) ([]*sink, error) {
	var sinks []*sink
	for _, o := range outs {
		s := &sink{output: o, w: stdout, close: func() error { return nil }}
		if !o.stdout() {
			f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				closeSinks(sinks)
				return nil, usagef("cannot write --output %s: %v; choose a writable path", o.Path, unwrapPathError(err))
			}
			s.w, s.close = f, f.Close
		}
		if o.Format == "jsonl" {
			s.jsonl = diag.NewJSONLWriter(s.w)
		}
		sinks = append(sinks, s)
	}
	return sinks, nil
}

func closeSinks(sinks []*sink) error {
	var first error
	for _, s := range sinks {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// writeReport renders the finished report to a sink; a jsonl sink that
// streamed a scan's observations only needs its end record.
func (s *sink) writeReport(r diag.Report, o diag.RenderOptions) error {
	if s.streamed {
		if r.Interrupted {
			return s.jsonl.WriteEnd(true)
		}
		return nil
	}
	if err := diag.Render(s.w, s.Format, r, o); err != nil {
		return fmt.Errorf("writing the %s report to %s: %w", s.Format, s.name(), err)
	}
	return nil
}

func (s *sink) name() string {
	if s.stdout() {
		return "stdout"
	}
	return s.Path
}

// delivery is a finished report and what goes with it.
type delivery struct {
	report   diag.Report
	cmp      *diag.Comparison // against --baseline, when given
	evidence bool             // repro: every failing cell's evidence after the table
	script   *scriptOutcome   // repro --emit-script
}

// deliver writes a finished report to every sink — a table followed by the
// evidence and the baseline comparison — and the GitHub job summary.
func deliver(sinks []*sink, d delivery, stdio IO) error {
	for _, s := range sinks {
		ropts := diag.RenderOptions{Color: s.stdout() && stdio.color(), Width: 120}
		if d.script != nil {
			ropts.Script = d.script.Text
			ropts.ScriptNote = strings.Join(append([]string{d.script.Note}, d.script.Remedies...), "\n")
		}
		if err := s.writeReport(d.report, ropts); err != nil {
			return err
		}
		if s.Format != "table" {
			continue
		}
		if d.evidence {
			if err := diag.RenderEvidence(s.w, d.report, ropts); err != nil {
				return err
			}
		}
		if d.cmp != nil {
			fmt.Fprintln(s.w)
			if err := diag.RenderComparison(s.w, *d.cmp, ropts); err != nil {
				return err
			}
		}
	}
	return writeStepSummary(sinks, d.report, stdio)
}

// compareWith reads a --baseline report and compares r with it; no path, no
// comparison.
func compareWith(path string, r diag.Report, failOn diag.ClassSet) (*diag.Comparison, error) {
	if path == "" {
		return nil, nil
	}
	base, err := loadReport(path, "--baseline")
	if err != nil {
		return nil, err
	}
	c := diag.Compare(base, r, failOn)
	return &c, nil
}

// gate is the run's result by its verdicts: against a baseline, the new
// failures; else the failures of the --fail-on classes.
func gate(r diag.Report, cmp *diag.Comparison, failOn diag.ClassSet) error {
	if cmp != nil {
		if cmp.Regressed() {
			return &failuresError{n: len(cmp.New), new: true}
		}
		return nil
	}
	if n := len(diag.Failing(r, failOn)); n > 0 {
		return &failuresError{n: n}
	}
	return nil
}
