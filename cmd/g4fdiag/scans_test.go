package main

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runWithoutScans runs Main as on a system where scans cannot run
// (Windows). Not in parallel: Main sets urfave/cli's package variables.
func runWithoutScans(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append([]string{"g4fdiag"}, args...), IO{
		In: strings.NewReader(stdin), Out: &out, Err: &errOut, noScans: true,
	})
	return code, out.String(), errOut.String()
}

// TestScansNeedUnix: where scans cannot run, the commands that start Python
// say so and exit 3 before they start anything; their --help still works.
func TestScansNeedUnix(t *testing.T) {
	const want = "g4fdiag: scans need Linux or macOS (WSL works); run check, repro, providers and doctor there; explain, report, merge and completion work here\n"
	for _, args := range [][]string{
		{"check", "--demo"},
		{"check", "--python", "python3", "--provider", "X"},
		{"repro", "--demo", "--provider", "StreamAsync"},
		{"providers", "--demo"},
		{"doctor"},
	} {
		code, out, stderr := runWithoutScans(t, "", args...)
		if code != exitEnv || stderr != want || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", args, code, out, stderr, exitEnv, want)
		}
		code, out, stderr = runWithoutScans(t, "", args[0], "--help")
		if code != exitOK || !strings.Contains(out, "g4fdiag "+args[0]) || stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q, stdout %q", args[0], code, stderr, out)
		}
	}
}

// TestWithoutScansTheRestWorks: explain, report, merge, completion and
// --help start no process and work where scans cannot run.
func TestWithoutScansTheRestWorks(t *testing.T) {
	scan := filepath.Join("..", "..", "diag", "render", "testdata", "report.json.golden")
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"--help"}, exitOK, "EXIT CODES:"},
		{"", []string{"report", scan}, exitFailures, "HealthySync"},
		{"", []string{"merge", scan}, exitFailures, "HealthySync"},
		{"", []string{"completion", "bash"}, exitOK, "g4fdiag"},
		{"RuntimeError: this event loop is already running.\n", []string{"explain"}, exitFailures, "verdict:   loop-reentry"},
	} {
		code, out, stderr := runWithoutScans(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, stderr, out, tc.code, tc.want)
		}
	}
}

// TestScansSupportedHere: the real IO says scans run on Linux and macOS,
// and not on Windows.
func TestScansSupportedHere(t *testing.T) {
	t.Parallel()
	want := runtime.GOOS == "windows"
	if got := stdIO().noScans; got != want {
		t.Errorf("on %s: noScans = %v, want %v", runtime.GOOS, got, want)
	}
}
