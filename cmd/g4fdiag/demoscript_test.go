//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoScript runs the README's first command as a new user would: it
// says it is building before the build, then scans, and its last line says
// what the exit code means, so the demo's exit 1 does not read like a
// crash.
func TestDemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and scans the demo")
	}
	testPython(t)
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "demo.sh"), "--provider", "StreamAsync,EchoSync", "-q")
	cmd.Env = os.Environ()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitFailures {
		t.Fatalf("demo.sh: %v, want exit %d\nstderr: %s", err, exitFailures, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if !strings.HasPrefix(lines[0], "building g4fdiag into bin/") {
		t.Errorf("first line %q, want the building note", lines[0])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "exit 1: loop failures found, as expected for the demo") {
		t.Errorf("last line %q, want what exit 1 means", last)
	}
	if !strings.Contains(stdout.String(), "StreamAsync") {
		t.Errorf("no table on stdout:\n%s", stdout.String())
	}
}
