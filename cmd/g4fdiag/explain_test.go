package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const explainOwn = "../../diag/explain/testdata/explain-own/"

func runExplainIO(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append([]string{"g4fdiag", "explain"}, args...), IO{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

func TestExplainCommandExitCodes(t *testing.T) {
	sse, err := os.ReadFile(explainOwn + "sse-body.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	binary := filepath.Join(dir, "screenshot.png")
	if err := os.WriteFile(binary, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const corpus = "../../testdata/explain/"
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string // a substring of stdout
		err   string // the whole stderr
	}{
		{"loop from stdin", string(sse), nil, exitFailures, "verdict:   loop-reentry (reentry-uvloop)", ""},
		{"loop from dash", string(sse), []string{"-"}, exitFailures, "provider:  Blackbox", ""},
		{"network file", "", []string{explainOwn + "json-network.txt"}, exitOK, "verdict:   network (network-aiohttp)", ""},
		{"cloudflare through run_until_complete", "", []string{explainOwn + "cloudflare-through-run-until-complete.txt"},
			exitOK, "provider-error (cloudflare)", ""},
		{"two files", "", []string{explainOwn + "json-network.txt", explainOwn + "stdlib-windows.txt"}, exitFailures,
			"Summary: 2 failures (1 loop-class)", ""},
		{"nothing", "INFO: all good\n", nil, exitOK, "verdict:   ok", ""},
		{"empty stdin", "", nil, exitNoText, "",
			"g4fdiag: stdin: the input is empty: pass the text of a traceback, a log or a stack dump\n"},
		{"blank stdin", "\n\n", []string{"-"}, exitNoText, "",
			"g4fdiag: stdin: the input is empty (2 blank lines): pass the text of a traceback, a log or a stack dump\n"},
		{"empty file", "", []string{empty}, exitNoText, "",
			"g4fdiag: " + empty + ": the input is empty: pass the text of a traceback, a log or a stack dump\n"},
		{"binary file", "", []string{binary}, exitNoText, "",
			"g4fdiag: " + binary + ": the input is not text (a NUL byte at offset 8: a binary file): " +
				"pass the text of a traceback, a log or a stack dump\n"},
		{"unclassified", "", []string{corpus + "103-unclassified-flask-typeerror-own-route.txt"}, exitOK, "verdict:   unclassified\n", ""},
		{"unclassified fails any", "", []string{"--fail-on", "any", corpus + "103-unclassified-flask-typeerror-own-route.txt"},
			exitFailures, "verdict:   unclassified\n", ""},
		{"auth before exit noise", "", []string{corpus + "101-auth-then-proactor-closed-noise-windows-py311.txt"}, exitOK,
			"also:      loop-closed (closed-loop): RuntimeError: Event loop is closed; exit-time noise", ""},
		{"cut traceback", "", []string{corpus + "100-cut-colab-ipython-to-sync-generator.txt"}, exitFailures,
			"likely loop-reentry: the exception line is missing", ""},
		{"missing file", "", []string{filepath.Join(dir, "nope.txt")}, exitUsage, "",
			"g4fdiag: cannot read " + filepath.Join(dir, "nope.txt") + ": no such file or directory\n"},
		{"directory", "", []string{dir}, exitUsage, "", "g4fdiag: cannot read " + dir + ": is a directory\n"},
		{"bad format", "", []string{"--format", "junit"}, exitUsage, "",
			"g4fdiag: unknown --format \"junit\" for explain; use one of table, text, json, markdown\n"},
		{"markdown", string(sse), []string{"-f", "markdown"}, exitFailures, "- Verdict: **loop-reentry** (`reentry-uvloop`)", ""},
		{"fail on network", "", []string{"--fail-on", "network", explainOwn + "json-network.txt"}, exitFailures, "network", ""},
		{"fail on any", "", []string{"--fail-on", "any", explainOwn + "cloudflare-through-run-until-complete.txt"}, exitFailures, "cloudflare", ""},
		{"fail on crashes only", string(sse), []string{"--fail-on", "crashed"}, exitOK, "loop-reentry", ""},
		{"fail on loop and crashes", string(sse), []string{"--fail-on", "loop,crashed"}, exitFailures, "loop-reentry", ""},
		{"fail on nothing known", "", []string{"--fail-on", "loops", explainOwn + "json-network.txt"}, exitUsage, "",
			"g4fdiag: --fail-on: unknown class \"loops\" (want loop, any, loop-reentry, loop-missing, loop-closed, loop-mismatch, " +
				"loop-blocked, deadlock, timeout, stall, flaky, crashed, protocol, network, auth, rate-limit, provider-error, missing-requirements, " +
				"provider-not-found, unclassified, not-working, skipped, unavailable)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runExplainIO(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, out)
			}
			if errOut != tt.err {
				t.Errorf("stderr %q, want %q", errOut, tt.err)
			}
		})
	}
}

func TestExplainCommandJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.json")
	code, stdout, _ := runExplainIO(t, "", explainOwn+"server-log.txt", "--format", "json", "-o", out)
	if code != exitFailures || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verdict, Signature, Evidence, Remedy string
		Findings                             []struct {
			Verdict, Signature, Evidence string
			Count                        int
		}
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "loop-reentry" || got.Signature != "reentry-uvloop" || got.Evidence == "" || got.Remedy == "" ||
		len(got.Findings) != 2 || got.Findings[0].Count != 2 || got.Findings[1].Verdict != "network" {
		t.Errorf("%+v", got)
	}
}

// explain --help says how each kind of input exits.
func TestExplainHelpExitCodes(t *testing.T) {
	code, out, _ := runExplainIO(t, "", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"0 no loop-class failure", "unclassified (--fail-on any makes these 1)",
		"1 a loop-class failure", "is empty (nothing or blank lines only) or is not text (a binary file, UTF-16)",
		"3 the output cannot be written", "ok only for a text with no error in it at all"} {
		if !strings.Contains(flat, want) {
			t.Errorf("explain --help lacks %q:\n%s", want, out)
		}
	}
}
