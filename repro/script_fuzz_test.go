package repro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// FuzzParseScriptOutput feeds the reader of an emitted script's output what
// a provider may print around the script's own lines: it must never panic,
// and a report it accepts must be the text's last G4FDIAG-RESULT line, sound
// (known status, mode and loop, no negative figures), with a log that is the
// start of the text. The seeds are real outputs of emitted scripts run
// against the demo miniature (testdata/script-output, written by
// TestScriptOutputSeeds with -update-script-seeds).
func FuzzParseScriptOutput(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "script-output", "*.txt"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/script-output: %v", err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add(`G4FDIAG-RESULT {"version":1,"status":"BLOCKED","mode":"sync","loop":"uvloop","call_s":1,"blocked_s":1e309}` + "\n")
	f.Add(`G4FDIAG-RESULT {"version":1,"status":"FAILED","mode":"sync","loop":"nest","exception":{"type":"E","message":"\udc80\u2028"}}` + "\r\n")
	f.Add("G4FDIAG-RESULT {\"version\":1,\"status\":\"OK\",\"mode\":\"sync\",\"loop\":\"asyncio\",\"first_line\":\"x\"}\nx\nG4FDIAG-RESULT {}\n")
	f.Fuzz(func(t *testing.T, text string) {
		r, log, ok := parseScriptOutput(text)
		if !ok {
			return
		}
		last := strings.LastIndex("\n"+text, "\n"+scriptReportPrefix)
		if last < 0 || !strings.HasPrefix(text, log) || len(log) > last {
			t.Fatalf("log %q is not the text before the last report line", log)
		}
		if !r.sound() {
			t.Fatalf("accepted an unsound report %+v", r)
		}
		c := r.call()
		if c.DurationMS < 0 || c.FirstChunkMS < 0 || c.LastChunkMS < 0 || c.Chunks < 0 {
			t.Fatalf("negative figures: %+v", c)
		}
		if (c.Outcome == scan.OutcomeError) != (len(c.Chain) == 1) {
			t.Fatalf("outcome %s with chain %+v", c.Outcome, c.Chain)
		}
		if utf8.ValidString(text) && len(c.Chain) == 1 && !utf8.ValidString(c.Chain[0].Type+c.Chain[0].Message+c.Chain[0].Traceback) {
			t.Fatalf("exception from valid UTF-8 is not: %+v", c.Chain[0])
		}
		_ = scriptTail(log, scriptLogLimit)
	})
}
