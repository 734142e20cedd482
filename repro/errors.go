package repro

import "fmt"

// EnvError is a problem with the target environment rather than with the
// user's arguments: no interpreter, g4f not importable, a worker that cannot
// start. The command layer maps it to exit code 3.
type EnvError struct {
	What string // one line naming the problem
	Fix  string // one line naming what to do
	Err  error
}

func (e *EnvError) Error() string {
	msg := e.What
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *EnvError) Unwrap() error { return e.Err }

func envErrorf(fix string, format string, args ...any) *EnvError {
	return &EnvError{What: fmt.Sprintf(format, args...), Fix: fix}
}
