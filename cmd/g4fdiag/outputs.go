package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
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
		} else if ok && formatWord.MatchString(f) {
			// FORMAT=FILE with a format g4fdiag does not write: not a file
			// named "yaml=x.yml" (./yaml=x.yml is one, if meant).
			return nil, usagef("--output %q: unknown format %q%s; use FORMAT=FILE with one of %s, or ./%s for a file of that name",
				v, f, didYouMean(f, render.Formats()), strings.Join(render.Formats(), ", "), v)
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

// formatWord is what stands before "=" in FORMAT=FILE: a word, no path.
var formatWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func isFormat(f string) bool {
	for _, known := range render.Formats() {
		if f == known {
			return true
		}
	}
	return false
}

// sink is an opened output.
type sink struct {
	output
	w        *sinkWriter
	close    func() error
	jsonl    *report.JSONLWriter // streams observations as cells finish
	streamed bool                // the header went out: observations follow as cells end
}

// sinkWriter stops writing at its first error and keeps it: one output
// that fails (a closed pipe, a full disk) must not stop the others, and is
// named at the end.
type sinkWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (w *sinkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

func (w *sinkWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// openSinks opens every output before any work, so an unwritable path fails
// fast instead of after a long scan.
func openSinks(outs []output, stdout io.Writer) ([]*sink, error) {
	var sinks []*sink
	for _, o := range outs {
		s := &sink{output: o, w: &sinkWriter{w: stdout}, close: func() error { return nil }}
		if !o.stdout() {
			f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				closeSinks(sinks)
				return nil, usagef("cannot write --output %s: %v; choose a writable path", o.Path, unwrapPathError(err))
			}
			s.w.w, s.close = f, f.Close
		}
		if o.Format == "jsonl" {
			s.jsonl = report.NewJSONLWriter(s.w)
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

// failures names every output that could not be written, nil when all
// were.
func failures(sinks []*sink) error {
	var failed []error
	for _, s := range sinks {
		if err := s.w.failed(); err != nil {
			failed = append(failed, fmt.Errorf("cannot write the %s report to %s: %v", s.Format, s.name(), unwrapPathError(err)))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &outputError{failed: failed}
}

// writeReport renders the finished report to a sink; a jsonl sink that
// streamed a scan's observations only needs its end record.
func (s *sink) writeReport(r report.Report, o render.Options) error {
	if s.streamed {
		return s.jsonl.WriteEnd(r.Interrupted)
	}
	return render.Render(s.w, s.Format, r, o)
}

func (s *sink) name() string {
	if s.stdout() {
		return "stdout"
	}
	return s.Path
}

// delivery is a finished report and what goes with it.
type delivery struct {
	report   report.Report  // its Gate set: the comparison comes from there
	evidence bool           // repro: every failing cell's evidence after the table
	script   *scriptOutcome // repro --emit-script
	all      bool           // --all: the table keeps the rows of providers that ran in no cell
}

// deliver writes a finished report to every sink — a table followed by the
// evidence and the baseline comparison — and the GitHub job summary. An
// output that fails does not stop the others: they are all written, and
// the error (an *outputError) names the ones that failed.
func deliver(sinks []*sink, d delivery, stdio IO) error {
	for _, s := range sinks {
		if s.w.failed() != nil {
			continue // a stream that failed during the scan
		}
		ropts := render.Options{Color: s.stdout() && stdio.color(), Width: 120, All: d.all}
		if s.stdout() {
			ropts.Width = stdio.tableWidth()
		}
		if d.script != nil {
			ropts.Script = d.script.Text
			ropts.ScriptNote = strings.Join(append([]string{d.script.Note}, d.script.Remedies...), "\n")
		}
		if err := s.writeReport(d.report, ropts); err != nil {
			if s.w.failed() == nil {
				return fmt.Errorf("writing the %s report to %s: %w", s.Format, s.name(), err)
			}
			continue
		}
		if s.Format != "table" {
			continue
		}
		if d.evidence {
			_ = render.Evidence(s.w, d.report, ropts) // a write error is the sink's
		}
		if g := d.report.Gate; g != nil && g.Comparison != nil {
			fmt.Fprintln(s.w)
			_ = render.Comparison(s.w, *g.Comparison, ropts)
		}
	}
	if err := failures(sinks); err != nil {
		if serr := writeStepSummary(sinks, d.report, stdio); serr != nil {
			err.(*outputError).failed = append(err.(*outputError).failed, serr)
		}
		return err
	}
	return writeStepSummary(sinks, d.report, stdio)
}

// setGate reads the --baseline report at path, when one is given, and sets
// r's gate: against it, or against failOn alone.
func setGate(ctx context.Context, r *report.Report, failOn diag.ClassSet, path string, warn io.Writer) error {
	var base *report.Report
	if path != "" {
		b, err := loadReport(ctx, path, "--baseline", warn)
		if err != nil {
			return err
		}
		base = &b
	}
	r.Gate = report.NewGate(*r, failOn, path, base)
	return nil
}

// gate is the run's result by its verdicts, read from the report's gate:
// against a baseline, the new failures; else the failures of the --fail-on
// classes. A report with no gate set fails under the default --fail-on.
func gate(r report.Report) error {
	g := r.Gate
	if g == nil {
		g = report.NewGate(r, diag.ClassSet{}, "", nil)
	}
	if !g.Failed() {
		return nil
	}
	return &failuresError{n: len(g.Failing), new: g.Comparison != nil}
}
