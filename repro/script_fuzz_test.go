package repro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseScriptOutput feeds the parser of an emitted script's output what
// a provider may print around the script's own lines: it must never panic,
// and an outcome it accepts must be read from the text's last RESULT line,
// the parts it splits the text into must be the text, and the exception it
// builds must be sound. The seeds are real outputs of emitted scripts run
// against the demo miniature (testdata/script-output).
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
	f.Add("call: 1 s, 2 chunks (first at 0.5 s, last at 0.9 s)\nRESULT: BLOCKED for 1e309 s\n")
	f.Add("SETUP: mode=sync loop=uvloop remedy=none\ncall: 0.1 s, 99999999999999999999 chunks\nRESULT: FAILED \\\\n\\x\n")
	f.Add("RESULT: OK forged\ncall: 0.1 s, 0 chunks\r\nRESULT: OK\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		r, ok := parseScriptOutput(text)
		if !ok {
			return
		}
		switch r.status {
		case "OK", "FAILED", "BLOCKED", "TIMEOUT":
		default:
			t.Fatalf("accepted status %q", r.status)
		}
		last := strings.LastIndex("\n"+text, "\nRESULT: ")
		if last < 0 || !strings.HasPrefix(text[last:], "RESULT: "+r.status) {
			t.Fatalf("status %q is not the last RESULT line's", r.status)
		}
		if r.mode != "" && (scriptModeNotes[r.mode] == "" || scriptLoopNotes[r.loop] == "") {
			t.Fatalf("unknown mode %q or loop %q accepted", r.mode, r.loop)
		}
		if !strings.HasPrefix(text, r.log) || !strings.HasSuffix(text, r.after) || !strings.Contains(text, r.traceback) {
			t.Fatal("log, traceback or stacks are not parts of the text")
		}
		if r.chunks < 0 || r.callMS < 0 || r.firstMS < 0 || r.lastMS < 0 || r.blockedMS < 0 {
			t.Fatalf("negative figures: %+v", r)
		}
		e := scriptException(r.detail, r.traceback)
		if utf8.ValidString(text) && !utf8.ValidString(e.Type+e.Message) {
			t.Fatalf("exception from valid UTF-8 is not: %q %q", e.Type, e.Message)
		}
		_ = scriptCut(r.detail, 200)
		_ = scriptTail(r.log, scriptLogLimit)
	})
}
