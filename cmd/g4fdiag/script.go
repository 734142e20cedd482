package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro"
)

// scriptOutcome is what --emit-script did: the script, and what running it
// showed.
type scriptOutcome struct {
	Text     string   // the script
	Note     string   // one line: whether it reproduces
	Remedies []string // one line per remedy the script offers, and what it did
}

// checkScriptPath fails fast on a path that cannot be written, before the
// scan, like --output.
func checkScriptPath(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return usagef("cannot write --emit-script %s: %v; choose a writable path", path, unwrapPathError(err))
	}
	return f.Close()
}

// emitScript writes the standalone reproduction of the first in-process cell
// that failed with a loop-class verdict, then runs it — bare and with each
// remedy it offers — to say whether it reproduces what the scan saw. It must
// run before the target is closed: under --demo the script imports the demo
// g4f the target wrote.
func emitScript(ctx context.Context, path string, o scanOptions, st *scanTarget, r report.Report) (*scriptOutcome, error) {
	var cell *diag.CellReport
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.LoopFailure() && !c.Mode.OverHTTP() {
			cell = c
			break
		}
	}
	if cell == nil {
		return &scriptOutcome{Note: "--emit-script: no in-process cell failed with a loop-class verdict; nothing to reproduce (nothing written)"}, nil
	}
	spec := repro.ScriptSpec{Cell: cell.Cell, Env: st.env, Expected: expectedError(*cell),
		Signature: cell.Signature, File: filepath.Base(path), BlockThreshold: o.Plan.BlockThreshold}
	for _, pr := range r.Providers {
		spec.Probe = spec.Probe || (pr.Probe && pr.Name == cell.Provider)
	}
	text, err := repro.EmitScript(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, text, 0o644); err != nil {
		return nil, usagef("cannot write --emit-script %s: %v", path, unwrapPathError(err))
	}
	out := &scriptOutcome{Text: string(text)}
	// interrupted is the outcome of a run cut short by a signal: the script
	// is written, the report keeps every finished cell, and it says the
	// check did not finish.
	interrupted := func(what string) (*scriptOutcome, error) {
		out.Note = fmt.Sprintf("wrote %s: interrupted while running %s; whether it reproduces %s %s/%s is not known",
			path, what, cell.Provider, cell.Mode, cell.Loop)
		out.Note = diag.Redact(diag.Sanitize(out.Note))
		return out, nil
	}
	obs, err := repro.RunScript(ctx, st.target, path, "", o.Plan.Timeout)
	if ctx.Err() != nil {
		return interrupted("the script")
	}
	if err != nil {
		return nil, err
	}
	got := diag.Classify(obs)
	where := fmt.Sprintf("%s %s/%s", cell.Provider, cell.Mode, cell.Loop)
	if got.Signature == cell.Signature {
		how := fmt.Sprintf("run it with %s %s", st.target.Python, path)
		if o.embedded() {
			how += " and a g4f on PYTHONPATH (the demo's is removed when g4fdiag exits)"
		}
		out.Note = fmt.Sprintf("wrote %s: reproduces %s %s [%s] (%s); %s",
			path, where, got.Class, got.Signature, got.Evidence, how)
	} else {
		out.Note = fmt.Sprintf("wrote %s: does not reproduce %s: the script ended %s [%s] (%s) where the scan saw [%s]",
			path, where, got.Class, got.Signature, got.Evidence, cell.Signature)
	}
	for _, rem := range repro.ScriptRemedies(cell.Cell) {
		robs, err := repro.RunScript(ctx, st.target, path, rem, o.Plan.Timeout)
		if ctx.Err() != nil {
			return interrupted("the script with --remedy " + string(rem))
		}
		if err != nil {
			return nil, err
		}
		line := fmt.Sprintf("--remedy %s: %s", rem, diag.RemedyEffect(cell.Verdict, diag.Classify(robs)))
		out.Remedies = append(out.Remedies, line)
	}
	out.Note = diag.Redact(diag.Sanitize(out.Note))
	return out, nil
}

// expectedError is the error line the script should end with: the raised
// exception of the first failing call, else the verdict's evidence (a hang).
func expectedError(c diag.CellReport) string {
	for _, call := range c.Calls {
		if len(call.Chain) > 0 {
			e := call.Chain[0]
			return pytext.FormatExceptionLine(e.Type, e.Message, pytext.LineScript)
		}
	}
	return c.Evidence
}
