package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// run runs Main with args and no terminal, and returns the exit code,
// stdout and stderr.
func run(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append([]string{"g4fdiag"}, args...), IO{
		In: strings.NewReader(""), Out: &out, Err: &errOut, Environ: environ,
	})
	return code, out.String(), errOut.String()
}

func TestBadArguments(t *testing.T) {
	unwritable := filepath.Join(t.TempDir(), "no-such-dir", "out.json")
	tests := []struct {
		name string
		args []string
		code int
		msg  string // the whole stderr line
	}{
		{"unknown mode", []string{"check", "--demo", "--modes", "sync,turbo"}, exitUsage,
			`g4fdiag: unknown mode "turbo" in --modes; use any of baseline,sync,sync-stream,async,async-stream,api-json,api-sse`},
		{"unknown loop", []string{"check", "--demo", "--loops", "trio"}, exitUsage,
			`g4fdiag: unknown loop "trio" in --loops; use any of asyncio,nest,uvloop`},
		{"concurrency 0", []string{"check", "--demo", "--concurrency", "0"}, exitUsage,
			`g4fdiag: --concurrency must be at least 1, got 0`},
		{"repeat 0", []string{"check", "--demo", "--repeat", "0"}, exitUsage,
			`g4fdiag: --repeat must be at least 1, got 0`},
		{"negative timeout", []string{"check", "--demo", "--timeout", "-1s"}, exitUsage,
			`g4fdiag: --timeout must be positive, got -1s`},
		{"unknown format", []string{"check", "--demo", "--format", "yaml"}, exitUsage,
			`g4fdiag: unknown --format "yaml"; use one of ` + formatsList()},
		{"unknown flag", []string{"check", "--colour"}, exitUsage,
			`g4fdiag: unknown flag --colour (did you mean --color?); see --help`},
		{"mistyped flag", []string{"check", "--timout", "5s"}, exitUsage,
			`g4fdiag: unknown flag --timout (did you mean --timeout?); see --help`},
		{"duration without a unit", []string{"check", "--demo", "--timeout", "20"}, exitUsage,
			`g4fdiag: --timeout 20: a duration needs a unit; use 20s (or ms, m)`},
		{"mistyped mode", []string{"check", "--demo", "--modes", "synk"}, exitUsage,
			`g4fdiag: unknown mode "synk" in --modes (did you mean sync?); use any of baseline,sync,sync-stream,async,async-stream,api-json,api-sse`},
		{"mistyped format", []string{"check", "--demo", "--format", "jsn"}, exitUsage,
			`g4fdiag: unknown --format "jsn" (did you mean json?); use one of ` + formatsList()},
		{"unknown output format", []string{"check", "--demo", "-o", "yaml=x.yml"}, exitUsage,
			`g4fdiag: --output "yaml=x.yml": unknown format "yaml"; use FORMAT=FILE with one of ` + formatsList() + `, or ./yaml=x.yml for a file of that name`},
		{"mistyped command", []string{"chek", "--demo"}, exitUsage,
			`g4fdiag: unknown command "chek" (did you mean check?); g4fdiag --help lists them`},
		{"unknown flag, nothing near", []string{"check", "--frobnicate"}, exitUsage,
			`g4fdiag: unknown flag --frobnicate; see --help`},
		{"unknown command", []string{"scan"}, exitUsage,
			`g4fdiag: unknown command "scan"; g4fdiag --help lists them`},
		{"stray argument", []string{"check", "Blackbox"}, exitUsage,
			`g4fdiag: check takes no arguments, got "Blackbox" (providers go in --provider)`},
		{"repro without provider", []string{"repro", "--demo"}, exitUsage,
			`g4fdiag: repro needs --provider NAME (g4fdiag providers lists them), or --probe`},
		{"unwritable output", []string{"check", "--demo", "--output", unwritable}, exitUsage,
			`g4fdiag: cannot write --output ` + unwritable + `: no such file or directory; choose a writable path`},
		{"missing python", []string{"check", "--python", "/nonexistent/python3"}, exitEnv,
			`g4fdiag: --python "/nonexistent/python3": no such file or directory; pass --python with the path of a Python 3 interpreter`},
		{"python not on PATH", []string{"providers", "--python", "no-such-python-g4fdiag"}, exitEnv,
			`g4fdiag: --python "no-such-python-g4fdiag": not found on PATH; pass --python with the path of a Python 3 interpreter`},
		{"bad provider glob", []string{"check", "--demo", "--provider", "["}, exitUsage,
			`g4fdiag: bad --provider pattern "[": syntax error in pattern; escape [, * and ? with \ to match them literally`},
		{"bad provider glob in providers", []string{"providers", "--demo", "-p", "Echo*,["}, exitUsage,
			`g4fdiag: bad --provider pattern "[": syntax error in pattern; escape [, * and ? with \ to match them literally`},
		{"report without file", []string{"report"}, exitUsage,
			`g4fdiag: report needs a FILE (a json or jsonl report from check; - for stdin)`},
		{"report of a missing file", []string{"report", "/nonexistent/scan.json"}, exitUsage,
			`g4fdiag: cannot read /nonexistent/scan.json: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if got := strings.TrimSpace(stderr); got != tt.msg {
				t.Errorf("stderr:\n got %s\nwant %s", got, tt.msg)
			}
		})
	}
}

func formatsList() string {
	return strings.Join(render.Formats(), ", ")
}

func TestScanOptions(t *testing.T) {
	var got scanOptions
	app := newApp(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	for _, c := range app.Commands {
		if c.Name == "check" {
			c.Action = func(ctx *cli.Context) error {
				var err error
				got, err = scanOptionsFrom(ctx, "check")
				return err
			}
		}
	}
	err := app.Run([]string{"g4fdiag", "check", "--demo", "--provider", "Stream*,EchoSync", "--provider", "NetFail",
		"--modes", "sync, async,sync", "--loops", "uvloop", "--concurrency", "4", "--repeat", "2", "-j", "3",
		"--block-threshold", "500ms", "--include-auth"})
	if err != nil {
		t.Fatal(err)
	}
	want := scan.Plan{
		Modes: []scan.Mode{scan.ModeSync, scan.ModeAsync}, Loops: []scan.Loop{scan.LoopUvloop},
		Concurrency: 4, Repeat: 2, Jobs: 3, Timeout: demoTimeout, BlockThreshold: 500 * time.Millisecond,
		IncludeAuth: true,
	}
	if !equalPlan(got.Plan, want) {
		t.Errorf("plan = %+v\nwant %+v", got.Plan, want)
	}
	if p := strings.Join(got.Patterns, " "); p != "Stream* EchoSync NetFail" {
		t.Errorf("patterns = %q", p)
	}
	if !got.Demo || got.Format != "table" {
		t.Errorf("demo = %v, format = %q", got.Demo, got.Format)
	}
}

// API cells overlap two requests unless --concurrency says otherwise; the
// user's number then holds for every cell.
func TestAPIConcurrencyDefault(t *testing.T) {
	for argv, want := range map[string]string{
		"check --demo --api-spawn":                       "api-json:2 api-sse:2",
		"check --demo --api-spawn --concurrency 1":       "api-json:1 api-sse:1",
		"check --demo --api-spawn --concurrency 3":       "api-json:3 api-sse:3",
		"check --demo --api-spawn --modes sync,api-sse":  "sync:1 api-sse:2",
		"check --demo --modes sync":                      "sync:1",
		"check --api http://127.0.0.1:1 --modes api-sse": "api-sse:2",
		// --probe: every mode, in-process and, with --api-spawn, over HTTP.
		"check --demo --probe":                             "baseline:1 sync:1 sync-stream:1 async:1 async-stream:1",
		"check --demo --probe --api-spawn":                 "baseline:1 sync:1 sync-stream:1 async:1 async-stream:1 api-json:2 api-sse:2",
		"check --demo --probe --api-spawn --modes api-sse": "api-sse:2",
	} {
		var got scanOptions
		app := newApp(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
		for _, c := range app.Commands {
			if c.Name == "check" {
				c.Action = func(ctx *cli.Context) error {
					var err error
					got, err = scanOptionsFrom(ctx, "check")
					return err
				}
			}
		}
		if err := app.Run(append([]string{"g4fdiag"}, strings.Fields(argv)...)); err != nil {
			t.Fatalf("%s: %v", argv, err)
		}
		got.Plan.Providers = []string{"P"}
		var cells []string
		for _, c := range got.Plan.Cells(nil) {
			if c.Loop == scan.LoopNest || c.Loop == scan.LoopServer {
				cells = append(cells, fmt.Sprintf("%s:%d", c.Mode, c.Concurrency))
			}
		}
		if strings.Join(cells, " ") != want {
			t.Errorf("%s: cells %q, want %q", argv, cells, want)
		}
	}
}

func equalPlan(a, b scan.Plan) bool {
	return joinModes(a.Modes) == joinModes(b.Modes) && joinLoops(a.Loops) == joinLoops(b.Loops) &&
		a.Concurrency == b.Concurrency && a.Repeat == b.Repeat && a.Jobs == b.Jobs &&
		a.Timeout == b.Timeout && a.BlockThreshold == b.BlockThreshold &&
		a.IncludeAuth == b.IncludeAuth && a.IncludeNotWorking == b.IncludeNotWorking && a.Model == b.Model
}

func TestHelpListsExitCodesAndExamples(t *testing.T) {
	code, out, _ := run(t, nil, "--help")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"EXIT CODES:", "130", "g4fdiag check --demo", "repro", "providers", "report"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "g4fdiag ") {
		t.Fatalf("--version: code %d, output %q", code, out)
	}
}

func TestAPIArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"api mode without a server", []string{"check", "--demo", "--modes", "sync,api-sse"},
			`g4fdiag: mode api-sse calls an API server: add --api URL, or --api-spawn to start one`},
		{"both api flags", []string{"check", "--api", "http://127.0.0.1:1", "--api-spawn"},
			`g4fdiag: --api URL calls a running server and --api-spawn starts servers; use one of them`},
		{"bad stall timeout", []string{"check", "--api-spawn", "--stall-timeout", "0s"},
			`g4fdiag: --stall-timeout must be positive, got 0s`},
		{"probes on a server g4fdiag did not start", []string{"check", "--probe", "--api", "http://127.0.0.1:1"},
			`g4fdiag: --probe needs servers that g4fdiag starts, with the probes registered: use --api-spawn instead of --api URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tt.args...)
			if code != exitUsage || strings.TrimSpace(stderr) != tt.msg {
				t.Errorf("exit %d, stderr:\n got %s\nwant %s", code, strings.TrimSpace(stderr), tt.msg)
			}
		})
	}
}

func TestBareAPIFlag(t *testing.T) {
	tests := map[string]string{
		"check --demo --api":                  "check --demo --api-spawn",
		"check --api --modes api-sse":         "check --api-spawn --modes api-sse",
		"check --api http://h:1 --modes sync": "check --api http://h:1 --modes sync",
		"check -- --api":                      "check -- --api",
	}
	for in, want := range tests {
		if got := strings.Join(bareAPIFlag(strings.Fields(in)), " "); got != want {
			t.Errorf("bareAPIFlag(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVersionNamesRevision: a binary built from the checkout prints the
// module version and the VCS revision it was built from.
func TestVersionNamesRevision(t *testing.T) {
	rev, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	out, err := exec.Command(buildBinary(t), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), strings.TrimSpace(string(rev))) {
		t.Errorf("--version = %q, want the revision %s", out, rev)
	}
}
