package repro_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

var updateScriptSeeds = flag.Bool("update-script-seeds", false, "rewrite testdata/script-output from real script runs")

// TestScriptOutputSeeds writes the seeds of FuzzParseScriptOutput: the
// output of emitted scripts run against the demo miniature, one per outcome,
// with the temp dir they ran in replaced by a fixed path.
func TestScriptOutputSeeds(t *testing.T) {
	if !*updateScriptSeeds {
		t.Skip("run with -update-script-seeds to rewrite testdata/script-output")
	}
	dir := t.TempDir()
	if _, err := providers.WriteDemo(dir); err != nil {
		t.Fatal(err)
	}
	py := scriptPython(t)
	for _, tc := range []struct {
		name    string
		cell    scan.Cell
		remedy  scan.Remedy
		timeout string
	}{
		{"ok", scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopAsyncio}, scan.RemedyAsync, "20"},
		{"ok-stream", scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSyncStream, Loop: scan.LoopUvloop}, scan.RemedyAsync, "20"},
		{"failed-reentry", scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop}, "", "20"},
		{"failed-thread", scan.Cell{Provider: "ThreadLoop", Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio}, "", "20"},
		{"blocked", scan.Cell{Provider: "DeadlockLoop", Mode: scan.ModeSync, Loop: scan.LoopAsyncio}, "", "20"},
		{"timeout", scan.Cell{Provider: "StallStream", Mode: scan.ModeAsync, Loop: scan.LoopAsyncio}, "", "2"},
		{"remedy-refused", scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop}, scan.RemedyNest, "20"},
	} {
		tc.cell.Concurrency, tc.cell.Repeat = 1, 1
		src, err := repro.EmitScript(repro.ScriptSpec{Cell: tc.cell, BlockThreshold: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "r-"+tc.cell.Provider+".py")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{path, "--timeout", tc.timeout}
		if tc.remedy != "" {
			args = append(args, "--remedy", string(tc.remedy))
		}
		cmd := exec.Command(py, args...)
		cmd.Env = append(repro.WithPythonPath(os.Environ(), dir), "PYTHONDONTWRITEBYTECODE=1")
		out, _ := cmd.CombinedOutput() // the exit status is the outcome's
		text := strings.ReplaceAll(string(out), dir, "/tmp/g4fdiag-demo-1234")
		if !strings.Contains(text, "G4FDIAG-RESULT ") {
			t.Fatalf("%s: no report:\n%s", tc.name, text)
		}
		if err := os.WriteFile(filepath.Join("testdata", "script-output", tc.name+".txt"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
