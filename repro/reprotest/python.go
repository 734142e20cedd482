package reprotest

import (
	"os"
	"testing"
)

// PythonVar names the test interpreter; CI sets it.
const PythonVar = "G4FDIAG_PYTHON"

// DefaultPython is the interpreter of the tests when PythonVar is unset:
// Debian's, which scripts/setup.sh gives uvloop, nest_asyncio, aiohttp,
// FastAPI and uvicorn — not whatever python3 is first on PATH.
const DefaultPython = "/usr/bin/python3"

// Python is the interpreter a test runs: $G4FDIAG_PYTHON, else
// DefaultPython. The test is skipped, saying why, under -short or where
// there is neither; it fails when G4FDIAG_PYTHON names no interpreter, so
// that a wrong setting never passes as skipped tests.
func Python(tb testing.TB) string {
	tb.Helper()
	return python(tb, os.Getenv(PythonVar), DefaultPython, testing.Short())
}

func python(tb testing.TB, set, fallback string, short bool) string {
	tb.Helper()
	if short {
		tb.Skip("runs Python: skipped with -short")
	}
	if set != "" {
		if fi, err := os.Stat(set); err != nil || fi.IsDir() {
			tb.Fatalf("%s=%s names no Python interpreter (unset it to use %s, or skip with -short)", PythonVar, set, fallback)
		}
		return set
	}
	if fi, err := os.Stat(fallback); err != nil || fi.IsDir() {
		tb.Skipf("runs Python: no %s and %s unset (scripts/setup.sh installs it; or set %s to a Python 3 with uvloop and nest_asyncio)",
			fallback, PythonVar, PythonVar)
	}
	return fallback
}
