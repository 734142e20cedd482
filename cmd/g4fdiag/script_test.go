package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmitScript: repro writes the standalone script, runs it, and says it
// reproduces the scan's signature and which remedies fix it.
func TestEmitScript(t *testing.T) {
	python := testPython(t)
	tests := []struct {
		provider string
		want     []string
	}{
		{"StreamAsync", []string{
			"reproduces StreamAsync sync/uvloop loop-reentry [reentry-uvloop]",
			"--remedy uvloop-removed: fixes it (ok)",
			"--remedy async: fixes it (ok)",
			"--remedy to-thread: fixes it (ok)",
		}},
		{"DeadlockLoop", []string{
			"reproduces DeadlockLoop sync/uvloop deadlock [deadlock-loop-thread]",
			"--remedy uvloop-removed: does not fix it (deadlock [deadlock-loop-thread])",
			"--remedy to-thread: fixes it (ok)",
		}},
		// A probe: the script defines it and registers it into g4f itself.
		{"ProbeAsyncGenerator", []string{
			"reproduces ProbeAsyncGenerator sync/uvloop loop-reentry [reentry-uvloop]",
			"--remedy uvloop-removed: fixes it (ok)",
			"--remedy async: fixes it (ok)",
			"--remedy to-thread: fixes it (ok)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "repro.py")
			code, _, stderr := run(t, os.Environ(), "repro", "--demo", "--python", python, "--provider", tt.provider,
				"--loops", "uvloop", "--modes", "sync", "--emit-script", path)
			if code != exitFailures {
				t.Fatalf("exit %d, stderr %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			script, err := os.ReadFile(path)
			if err != nil || !strings.Contains(string(script), `PROVIDER = "`+tt.provider+`"`) {
				t.Errorf("script (%v):\n%.400s", err, script)
			}
		})
	}
}

func TestEmitScriptUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "repro.py")
	code, _, stderr := run(t, nil, "repro", "--demo", "--provider", "StreamAsync", "--emit-script", path)
	want := "g4fdiag: cannot write --emit-script " + path + ": no such file or directory; choose a writable path\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
}
