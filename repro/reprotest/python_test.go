package reprotest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Skip and Fatal end only the goroutine it
// runs in, as the real ones do, and record what was said.
type recorder struct {
	testing.TB
	skipped, failed bool
	said            string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped, r.said = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) { r.Skip(fmt.Sprintf(format, args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.said = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// gate runs python with a recorder and returns what it chose.
func gate(t *testing.T, set, fallback string, short bool) (got string, r *recorder) {
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = python(r, set, fallback, short)
	}()
	<-done
	return got, r
}

func TestPythonGate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	interp := filepath.Join(dir, "python3")
	if err := os.WriteFile(interp, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-python")

	if got, r := gate(t, "", interp, false); got != interp || r.skipped || r.failed {
		t.Errorf("default present: got %q, %+v", got, r)
	}
	if got, r := gate(t, interp, missing, false); got != interp || r.skipped || r.failed {
		t.Errorf("G4FDIAG_PYTHON set: got %q, %+v", got, r)
	}
	if _, r := gate(t, "", missing, false); !r.skipped || !strings.Contains(r.said, "no "+missing+" and G4FDIAG_PYTHON unset") {
		t.Errorf("no Python: %+v, want a skip naming both", r)
	}
	if _, r := gate(t, interp, interp, true); !r.skipped || !strings.Contains(r.said, "-short") {
		t.Errorf("-short: %+v, want a skip naming -short", r)
	}
	for _, wrong := range []string{missing, dir} {
		if _, r := gate(t, wrong, interp, false); !r.failed || r.skipped || !strings.Contains(r.said, "G4FDIAG_PYTHON="+wrong) {
			t.Errorf("G4FDIAG_PYTHON=%s: %+v, want a failure naming it", wrong, r)
		}
	}
}
