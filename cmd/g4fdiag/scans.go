package main

import (
	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/repro"
)

// errNoScans is what the commands that start Python say where scans cannot
// run (repro.ScansSupported): exit 3, before they start anything.
var errNoScans = &repro.EnvError{
	What: "scans need Linux or macOS (WSL works)",
	Fix:  "run check, repro, providers and doctor there; explain, report, merge and completion work here",
}

// needsScans is the Before of the commands that start Python: check,
// repro, providers and doctor. It runs after their flags are read and
// their --help is shown.
func needsScans(stdio IO) cli.BeforeFunc {
	return func(*cli.Context) error {
		if stdio.noScans {
			return errNoScans
		}
		return nil
	}
}
