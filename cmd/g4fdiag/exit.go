package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
)

// Exit codes, documented in the README and in --help.
const (
	exitOK          = 0   // no loop-class failure
	exitFailures    = 1   // loop-class failures found
	exitUsage       = 2   // bad arguments
	exitEnv         = 3   // no Python, g4f not importable, a worker that cannot start, an output that cannot be written, a scan where none can run; and any other error
	exitNoText      = 4   // explain: an input that is empty or not text: nothing to explain
	exitInterrupted = 130 // SIGINT, SIGTERM or SIGHUP
)

const exitCodesHelp = `EXIT CODES:
   0    no loop-class failure found
   1    loop-class failures found (loop-reentry, loop-missing, loop-closed,
        loop-mismatch, loop-blocked, deadlock)
   2    usage error: an unknown command, flag or value (with the closest one),
        a bad provider, mode, loop, --api URL or output file, or a file that
        cannot be read
   3    environment error: no Python, g4f not importable, a worker that cannot
        start, an output that cannot be written (the other outputs are still written);
        also the catch-all for any other internal error
   4    explain only: the input is empty (or blank lines only) or is not text
        (a binary file, UTF-16): there is nothing to explain
   130  interrupted (Ctrl-C, SIGTERM, SIGHUP); finished cells are still written
        to every output; a second Ctrl-C stops at once`

// noTextError is an explain input with nothing to explain in it: empty,
// blank, or not text. Exit 4, apart from usage errors, so a pipeline can
// tell "explain got nothing" from "explain was called wrong".
type noTextError struct{ msg string }

func (e *noTextError) Error() string { return e.msg }

// usageError is a mistake in the arguments: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// outputError is one or more outputs that could not be written (a closed
// pipe, a full disk): exit 3. The others were written in full.
type outputError struct{ failed []error }

func (e *outputError) Error() string {
	msgs := make([]string, len(e.failed))
	for i, err := range e.failed {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

// failuresError says the scan found loop-class failures: exit 1, and the
// report already said which.
type failuresError struct {
	n    int
	new  bool   // counted against a baseline
	what string // what failed: "cell" unless said
}

func (e *failuresError) Error() string {
	what := e.what
	if what == "" {
		what = "cell"
	}
	if e.new {
		return fmt.Sprintf("%d %s(s) fail anew against the baseline", e.n, what)
	}
	return fmt.Sprintf("%d %s(s) fail", e.n, what)
}

// exitCode maps an error from a command to the process exit code. It is the
// only place that knows the mapping.
func exitCode(err error) int {
	var (
		usage    *usageError
		unknown  *providers.UnknownError
		env      *repro.EnvError
		failures *failuresError
		output   *outputError
		noText   *noTextError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &output):
		return exitEnv
	case errors.As(err, &failures):
		return exitFailures
	case errors.As(err, &noText):
		return exitNoText
	case errors.As(err, &usage), errors.As(err, &unknown):
		return exitUsage
	case errors.As(err, &env):
		return exitEnv
	}
	return exitEnv // the documented catch-all for any other error
}
