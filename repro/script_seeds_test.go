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
		cell    repro.Cell
		remedy  repro.Remedy
		timeout string
	}{
		{"ok", repro.Cell{Provider: "StreamAsync", Mode: repro.ModeSync, Loop: repro.LoopAsyncio}, repro.RemedyAsync, "20"},
		{"ok-stream", repro.Cell{Provider: "StreamAsync", Mode: repro.ModeSyncStream, Loop: repro.LoopUvloop}, repro.RemedyAsync, "20"},
		{"failed-reentry", repro.Cell{Provider: "StreamAsync", Mode: repro.ModeSync, Loop: repro.LoopUvloop}, "", "20"},
		{"failed-thread", repro.Cell{Provider: "ThreadLoop", Mode: repro.ModeBaseline, Loop: repro.LoopAsyncio}, "", "20"},
		{"blocked", repro.Cell{Provider: "DeadlockLoop", Mode: repro.ModeSync, Loop: repro.LoopAsyncio}, "", "20"},
		{"timeout", repro.Cell{Provider: "StallStream", Mode: repro.ModeAsync, Loop: repro.LoopAsyncio}, "", "2"},
		{"remedy-refused", repro.Cell{Provider: "StreamAsync", Mode: repro.ModeSync, Loop: repro.LoopUvloop}, repro.RemedyNest, "20"},
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
