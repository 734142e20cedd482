//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// hostileName sets the window title and clears the screen when printed raw.
const hostileName = "Evil\x1b]0;pwned\x07\x1b[2JName"

// writeHostileG4F writes the demo miniature to a temp dir with one more
// provider whose name and models are terminal sequences, and returns the
// environment that imports it.
func writeHostileG4F(t *testing.T) []string {
	t.Helper()
	tail := fmt.Sprintf("\nHostile = type(%q, (EchoSync,), {\"default_model\": \"m\\x1b]0;title\\x07\\x1b[2J\", \"models\": [\"\\x1b[2J\"]})\n"+
		"__providers__.append(Hostile)\n__map__[Hostile.__name__] = Hostile\nProviderUtils.convert[Hostile.__name__] = Hostile\n", hostileName)
	dir := reprotest.WriteDemo(t, nil, tail)
	return repro.WithPythonPath(os.Environ(), dir)
}

func assertNoControls(t *testing.T, what, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\x1b\x07\u009b\u009d") {
		t.Errorf("%s holds terminal controls: %q", what, s)
	}
}

// Provider names and models reach the terminal sanitized: in providers'
// table, and in an error that suggests names.
func TestProviderNamesCannotDriveTheTerminal(t *testing.T) {
	python := testPython(t)
	env := writeHostileG4F(t)
	code, out, stderr := run(t, env, "providers", "--python", python)
	if code != exitOK {
		t.Fatalf("providers: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "EvilName") {
		t.Errorf("the hostile provider is not listed (sanitized):\n%s", out)
	}
	assertNoControls(t, "providers' table", out)

	code, out, _ = run(t, env, "providers", "--python", python, "--format", "json")
	if code != exitOK || !strings.Contains(out, `Evil\u001b]0;pwned\u0007`) {
		t.Errorf("providers --format json (exit %d) should keep the name, escaped:\n%s", code, out)
	}
	assertNoControls(t, "providers' json", out)

	code, out, stderr = run(t, env, "check", "--python", python, "--provider", "Evil*", "--modes", "sync", "--loops", "asyncio")
	if code != exitOK || !strings.Contains(out, "EvilName") {
		t.Errorf("check of the hostile provider: exit %d\n%s\n%s", code, out, stderr)
	}
	assertNoControls(t, "check's report", out)
	assertNoControls(t, "check's stderr", stderr)
}

// merge's refusal names providers from the reports, which an API server
// named: sanitized.
func TestMergeErrorCannotDriveTheTerminal(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, prov := range []string{hostileName, "Other\x1b[2J"} {
		h := report.Header{Tool: "g4fdiag", Command: "check", Plan: scan.Plan{Providers: []string{prov},
			Modes: []scan.Mode{scan.ModeAPIJSON}, Loops: []scan.Loop{scan.LoopServer}, Concurrency: 1, Repeat: 1}}
		r := report.Build(h, []scan.Observation{{Cell: scan.Cell{Provider: prov, Mode: scan.ModeAPIJSON, Loop: scan.LoopServer,
			Concurrency: 1, Repeat: 1}, End: scan.EndCompleted}}, false)
		p := filepath.Join(dir, fmt.Sprintf("scan-%d.json", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := render.Render(f, "json", r, render.Options{}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, p)
	}
	code, _, stderr := run(t, nil, append([]string{"merge"}, paths...)...)
	if code != exitUsage || !strings.Contains(stderr, "cannot merge") || !strings.Contains(stderr, "EvilName") {
		t.Errorf("merge: exit %d, stderr %q", code, stderr)
	}
	assertNoControls(t, "merge's error", stderr)
}

// --python is a path from where g4fdiag was started, though doctor runs
// Python in a temp dir.
func TestRelativePython(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".venv", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(python, filepath.Join(dir, ".venv", "bin", "python")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, args := range [][]string{
		{"doctor", "--demo", "--python", ".venv/bin/python"},
		{"doctor", "--demo", "--python", "./.venv/bin/python"},
		{"providers", "--demo", "--python", ".venv/bin/python"},
	} {
		code, out, stderr := run(t, os.Environ(), args...)
		if code == exitEnv || code == exitUsage {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
			continue
		}
		if args[0] == "doctor" && !strings.Contains(out, filepath.Join(dir, ".venv", "bin", "python")) {
			t.Errorf("%v does not name the interpreter by its absolute path:\n%s", args, out)
		}
	}
}

// failingWriter fails every write, as a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// --help and --version to a full disk are an output error, not exit 0.
func TestHelpAndVersionToAFullDisk(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"--version"}, {"check", "--help"}} {
		var stderr bytes.Buffer
		code := Main(append([]string{"g4fdiag"}, args...), IO{In: strings.NewReader(""), Out: failingWriter{}, Err: &stderr})
		if code != exitEnv || !strings.Contains(stderr.String(), "cannot write to stdout: no space left on device") {
			t.Errorf("%v: exit %d, stderr %q; want exit 3 naming stdout", args, code, stderr.String())
		}
	}
}

// A stdout on a full disk fails; the -o files are still written in full.
func TestFullStdoutKeepsTheOtherOutputs(t *testing.T) {
	python := testPython(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	dir := t.TempDir()
	var stderr bytes.Buffer
	code := Main([]string{"g4fdiag", "check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync",
		"--modes", "sync", "--loops", "asyncio", "--format", "jsonl", "-o", "json=" + dir + "/r.json", "-o", "junit=" + dir + "/r.xml",
		"-o", "markdown=" + dir + "/r.md"},
		IO{In: strings.NewReader(""), Out: full, Err: &stderr, Environ: os.Environ()})
	if code != exitEnv || !strings.Contains(stderr.String(), "cannot write the jsonl report to stdout: no space left on device") {
		t.Errorf("exit %d, stderr %q; want exit 3 naming stdout", code, stderr.String())
	}
	var r reportJSON
	data, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(data, &r); err != nil || len(r.Cells) != 2 || r.Interrupted {
		t.Errorf("json output: %v, %d cells, interrupted %v", err, len(r.Cells), r.Interrupted)
	}
	for _, name := range []string{"r.xml", "r.md"} {
		if data, _ := os.ReadFile(filepath.Join(dir, name)); !strings.Contains(string(data), "StreamAsync") {
			t.Errorf("%s is not complete:\n%s", name, data)
		}
	}
}

// A jsonl without its end record (a scan killed) re-renders as partial, and
// report says so.
func TestReportOfACutJSONL(t *testing.T) {
	dir := t.TempDir()
	h := report.Header{Tool: "g4fdiag", Command: "check", Plan: scan.Plan{Providers: []string{"P", "Q"},
		Modes: []scan.Mode{scan.ModeSync}, Loops: []scan.Loop{scan.LoopUvloop}, Concurrency: 1, Repeat: 1}}
	obs := scan.Observation{Cell: scan.Cell{Provider: "P", Mode: scan.ModeSync, Loop: scan.LoopUvloop, Concurrency: 1, Repeat: 1},
		End: scan.EndCompleted, Calls: []scan.Call{{Outcome: scan.OutcomeOK}}}
	var whole bytes.Buffer
	jw := report.NewJSONLWriter(&whole)
	if err := jw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if err := jw.WriteObservation(obs); err != nil {
		t.Fatal(err)
	}
	cut := whole.String()
	if err := jw.WriteEnd(false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		cutShort   bool
	}{
		{"ended", whole.String(), false},
		{"killed", cut, true},
		{"ended before the count", cut + `{"record":"end"}` + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".jsonl")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := run(t, nil, "report", p, "--format", "markdown")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			warned := strings.Contains(stderr, "was cut short (no end record: killed, or the file truncated)")
			marked := strings.Contains(out, "Interrupted")
			if warned != tc.cutShort || marked != tc.cutShort {
				t.Errorf("stderr warns %v, report marked %v; want %v\nstderr: %s", warned, marked, tc.cutShort, stderr)
			}
		})
	}
}

// report and merge fail fast on what is no report, and read a bounded
// amount whatever they are fed: the peak RSS of the real process is read
// from the kernel.
func TestReportAndMergeMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a gigabyte")
	}
	bin := buildBinary(t)
	const mib = 1 << 20
	// The kernel's peak RSS of a child counts the image it was forked from
	// before exec (this test process): measure it, before each case, on a
	// run that reads nothing.
	baseline := func(t *testing.T) int64 {
		base := exec.Command(bin, "--version")
		if err := base.Run(); err != nil {
			t.Fatal(err)
		}
		return base.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	}
	cases := []struct {
		name    string
		input   func(w io.Writer) // streamed on stdin
		wantErr string
		maxRSS  int64 // bytes over the baseline
	}{
		{"a gigabyte of zeros", func(w io.Writer) { writeRepeated(w, 0, 1<<30) },
			"not a g4fdiag report (want a JSON object or JSON lines)", 64 * mib},
		{"a jsonl record of 200 MiB", func(w io.Writer) {
			io.WriteString(w, `{"record":"header","tool":"g4fdiag"}`+"\n"+`{"provider":"`)
			writeRepeated(w, 'a', 200*mib)
		}, "a record over 64 MiB", 400 * mib},
		{"a JSON object of a gigabyte", func(w io.Writer) {
			io.WriteString(w, "{\n")
			writeRepeated(w, ' ', 1<<30)
		}, "over 256 MiB", 900 * mib},
	}
	for _, tc := range cases {
		for _, command := range []string{"report", "merge"} {
			t.Run(command+"/"+tc.name, func(t *testing.T) {
				baseRSS := baseline(t)
				cmd := exec.Command(bin, command, "/dev/stdin")
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				go func() {
					tc.input(stdin)
					stdin.Close()
				}()
				_ = cmd.Wait()
				took := time.Since(start)
				rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
				t.Logf("exit %d after %s, peak RSS %d MiB (--version: %d MiB)", cmd.ProcessState.ExitCode(), took.Round(time.Millisecond), rss/mib, baseRSS/mib)
				if code := cmd.ProcessState.ExitCode(); code != exitUsage || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.wantErr)
				}
				if rss-baseRSS > tc.maxRSS {
					t.Errorf("peak RSS %d MiB, %d MiB over --version's; want at most %d MiB over", rss/mib, (rss-baseRSS)/mib, tc.maxRSS/mib)
				}
			})
		}
	}
}

// writeRepeated writes n bytes of b to w, stopping at the first error (the
// reader gave up).
func writeRepeated(w io.Writer, b byte, n int) {
	chunk := bytes.Repeat([]byte{b}, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// report - reads stdin; several files are the shards of one scan.
func TestReportStdinAndShards(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	var shards []string
	for i := 1; i <= 2; i++ {
		p := filepath.Join(dir, fmt.Sprintf("s%d.jsonl", i))
		code, _, stderr := run(t, os.Environ(), "check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync",
			"--modes", "sync", "--shard", fmt.Sprintf("%d/2", i), "--format", "jsonl", "--output", p)
		if code != exitOK && code != exitFailures {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		shards = append(shards, p)
	}
	data, err := os.ReadFile(shards[0])
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main([]string{"g4fdiag", "report", "-", "--format", "json"}, IO{In: bytes.NewReader(data), Out: &out, Err: &errOut, Environ: os.Environ()})
	if code == exitUsage || !strings.Contains(out.String(), `"schema_version": 1`) {
		t.Errorf("report -: exit %d, stderr %s\n%.300s", code, errOut.String(), out.String())
	}
	code, whole, stderr := run(t, os.Environ(), append([]string{"report", "--format", "json"}, shards...)...)
	if code != exitFailures || strings.Count(whole, `"provider": "`) < 6 || strings.Contains(stderr, "missing") {
		t.Errorf("report of both shards: exit %d, stderr %s", code, stderr)
	}
}
