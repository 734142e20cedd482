package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// shadowUvloop returns an environment whose PYTHONPATH starts with a
// uvloop.py that raises ImportError, so the interpreter has no uvloop.
func shadowUvloop(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "uvloop.py"), []byte("raise ImportError('No module named uvloop (shadowed by the test)')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return repro.WithPythonPath(os.Environ(), dir)
}

// exposureLines are the "- ID: summary" lines of a text report.
func exposureIDsOf(text string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^- ([a-z0-9-]+): `).FindAllStringSubmatch(text, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func hasID(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestDoctorDemo: on the test machine (Debian's uvloop and nest_asyncio)
// doctor measures the sync client failing under uvloop and on the stdlib
// loop without nest_asyncio, and every remedy fixing it, then reports the
// uvloop exposure with the measured remedies and exits 1.
func TestDoctorDemo(t *testing.T) {
	code, stdout, stderr := run(t, os.Environ(), "doctor", "--demo", "--python", testPython(t))
	if code != exitFailures || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want %d and nothing on stderr", code, stderr, exitFailures)
	}
	for _, want := range []string{
		"\ng4f:                 0.0.1+miniature (the miniature g4f of --demo)\n",
		"\ng4f nest module:     nest_asyncio (installed)\n",
		"\nnest_asyncio2:       absent\n",
		"\nuvicorn --loop auto: uvloop\n",
		"\n- uvloop-installed: sync g4f calls inside a running uvloop loop fail with \"RuntimeError: this event loop is already running.\"",
		// Measured by the probe, offline: what fails, what each remedy did.
		"\nprobe (ProbeAsyncGenerator, g4f's own code, offline): 12 calls inside a running loop, 4 fail: ",
		"\n- async (the same call through AsyncClient): fixes it here (ok in sync/asyncio, sync/uvloop, sync-stream/asyncio, sync-stream/uvloop)\n",
		"\n  remedy: measured here, these fix it: uvloop hidden before g4f is imported: the stdlib loop; the same call through AsyncClient; ",
		// The task switch needs overlapping requests: not measured, advised as it was.
		"\n  remedy: in async code await AsyncClient()",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if ids := exposureIDsOf(stdout); !hasID(ids, "uvloop-installed") || !hasID(ids, "uvicorn-picks-uvloop") {
		t.Errorf("exposures %v, want uvloop-installed and uvicorn-picks-uvloop", ids)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("colour in a report that goes to a pipe:\n%q", stdout)
	}
}

// TestDoctorUvloopHidden: with uvloop unimportable neither uvloop exposure
// is reported.
func TestDoctorUvloopHidden(t *testing.T) {
	code, stdout, stderr := run(t, shadowUvloop(t), "doctor", "--demo", "--python", testPython(t))
	if code != exitOK && code != exitFailures {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	ids := exposureIDsOf(stdout)
	for _, id := range []string{"uvloop-installed", "uvicorn-picks-uvloop"} {
		if hasID(ids, id) {
			t.Errorf("exposure %s reported with uvloop hidden:\n%s", id, stdout)
		}
	}
	for _, want := range []string{
		"\nuvloop:              not importable: ImportError: No module named uvloop (shadowed by the test)\n",
		"\nuvicorn --loop auto: asyncio\n",
		"\ng4f detects uvloop:  no\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if wantCode := map[bool]int{true: exitFailures, false: exitOK}[len(ids) > 0]; code != wantCode {
		t.Errorf("exit %d with exposures %v, want %d", code, ids, wantCode)
	}
}

// TestDoctorJSONGolden pins the JSON report of the demo on the test
// machine, machine-specific values normalised.
func TestDoctorJSONGolden(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		environ      []string
	}{
		{"demo", "doctor.golden.json", os.Environ()},
		{"demo without uvloop", "doctor-no-uvloop.golden.json", shadowUvloop(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "doctor.json")
			code, stdout, stderr := run(t, tc.environ, "doctor", "--demo", "--python", testPython(t), "--format", "json", "-o", out)
			if code != exitFailures || stdout != "" || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := normaliseDoctorJSON(t, raw)
			golden := filepath.Join("..", "..", "testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("doctor JSON differs from %s (go test ./cmd/g4fdiag -run TestDoctorJSONGolden -update to accept):\n%s",
					golden, reprotest.LineDiff(string(want), string(got)))
			}
		})
	}
}

// normaliseDoctorJSON replaces what differs between machines — the
// interpreter, its version, paths, package versions — and keeps the
// structure, what is installed, and every exposure.
func normaliseDoctorJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var d scan.Doctor
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	// The raw report must already be what a re-encode gives: field order is
	// the struct's, and nothing is lost.
	var again bytes.Buffer
	if err := renderDoctorJSON(&again, d); err != nil {
		t.Fatal(err)
	}
	if again.String() != string(raw) {
		t.Errorf("the report does not round-trip:\n%s", reprotest.LineDiff(string(raw), again.String()))
	}
	var replace []string
	d.Python = "PYTHON"
	d.PythonVersion = "PYTHON_VERSION"
	d.G4F.Path = "DEMO/g4f"
	for i, p := range d.Packages {
		if p.Version != nil && *p.Version != "" {
			replace = append(replace, p.Name+" "+*p.Version, p.Name+" VERSION")
			v := "VERSION"
			d.Packages[i].Version = &v
		}
		if p.Path != "" {
			d.Packages[i].Path = "PATH"
		}
		if p.Error != "" && !strings.Contains(p.Error, "shadowed by the test") {
			t.Errorf("package %s: unexpected error %q", p.Name, p.Error)
		}
	}
	r := strings.NewReplacer(replace...)
	for i := range d.Exposures {
		d.Exposures[i].Detail = r.Replace(d.Exposures[i].Detail)
	}
	var b bytes.Buffer
	if err := renderDoctorJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDoctorErrors: exit 3 with one line when the interpreter cannot be
// inspected; exit 3 after the report when g4f cannot be imported; exit 2
// for bad arguments.
func TestDoctorErrors(t *testing.T) {
	noG4F := t.TempDir()
	if err := os.WriteFile(filepath.Join(noG4F, "g4f.py"), []byte("raise ImportError('no g4f here')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	python := testPython(t)
	missing := filepath.Join(t.TempDir(), "python")
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		stderr  string // the whole of it
		report  bool   // a report on stdout
	}{
		{"no such python", os.Environ(), []string{"doctor", "--python", missing}, exitEnv,
			`g4fdiag: --python "` + missing + `": no such file or directory; pass --python with the path of a Python 3 interpreter` + "\n", false},
		{"not a python", os.Environ(), []string{"doctor", "--python", "/bin/true"}, exitEnv,
			"g4fdiag: cannot inspect /bin/true: no report from the doctor script (exit status 0): no output; " +
				"check the interpreter with `/bin/true -c 'import sys; print(sys.version)'`\n", false},
		{"g4f not importable", repro.WithPythonPath(os.Environ(), noG4F), []string{"doctor", "--python", python}, exitEnv,
			"g4fdiag: g4f is not importable with " + python + " (ImportError: no g4f here); " +
				"install g4f for it, put a g4f checkout on PYTHONPATH, pass --python, or try --demo\n", true},
		{"unknown format", os.Environ(), []string{"doctor", "--demo", "--format", "junit"}, exitUsage,
			"g4fdiag: unknown --format \"junit\" for doctor; use table or json\n", false},
		{"an argument", os.Environ(), []string{"doctor", "uvloop"}, exitUsage,
			"g4fdiag: doctor takes no arguments, got \"uvloop\"\n", false},
		{"unwritable output", os.Environ(), []string{"doctor", "--demo", "-o", filepath.Join(missing, "x", "out.json")}, exitUsage,
			"g4fdiag: cannot write --output " + filepath.Join(missing, "x", "out.json") + ": no such file or directory; choose a writable path\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.environ, tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q\nwant %d, %q", code, stderr, tt.code, tt.stderr)
			}
			if got := strings.Contains(stdout, "\nexposures: "); got != tt.report {
				t.Errorf("report on stdout = %v, want %v:\n%s", got, tt.report, stdout)
			}
			if tt.report && !strings.Contains(stdout, "\ng4f:                 not importable: ImportError: no g4f here\n") {
				t.Errorf("report does not say why g4f is missing:\n%s", stdout)
			}
		})
	}
}

// TestDoctorText renders hand-made reports: colour only when asked, and
// what the interpreter said is stripped of terminal sequences.
func TestDoctorText(t *testing.T) {
	v := "1.0"
	d := scan.Doctor{Python: "/py", PythonVersion: "3.12.1", Implementation: "CPython", Platform: "linux",
		G4F:        scan.DoctorG4F{Error: "ImportError: \x1b]0;pwned\x07bad \x1b[2Jname"},
		Packages:   []scan.Package{{Name: "uvloop", Version: &v}, {Name: "nest_asyncio"}},
		LoopPolicy: "uvloop.EventLoopPolicy", LoopPolicySetBy: "startup"}
	d.Exposures = diag.Exposures(d)

	var plain bytes.Buffer
	if err := renderDoctorText(&plain, d, false); err != nil {
		t.Fatal(err)
	}
	want := `python:              /py
python version:      3.12.1 (CPython, linux)
g4f:                 not importable: ImportError: bad name
uvloop:              1.0
nest_asyncio:        absent
uvicorn --loop auto: (uvicorn not installed)
event loop policy:   uvloop.EventLoopPolicy (set by startup)

exposures: 3
- uvloop-installed: `
	if !strings.HasPrefix(plain.String(), want) {
		t.Errorf("plain report:\n%s\nwant it to start with:\n%s", plain.String(), want)
	}
	if ids := exposureIDsOf(plain.String()); strings.Join(ids, ",") != "uvloop-installed,policy-uvloop,nest-module-missing" {
		t.Errorf("exposures %v", ids)
	}

	var coloured bytes.Buffer
	if err := renderDoctorText(&coloured, d, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(coloured.String(), "- \x1b[31muvloop-installed\x1b[0m: ") {
		t.Errorf("no colour on a terminal:\n%q", coloured.String())
	}

	d.Exposures = []scan.Exposure{}
	plain.Reset()
	if err := renderDoctorText(&plain, d, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(plain.String(), "\n\nexposures: none\n") {
		t.Errorf("no exposures:\n%s", plain.String())
	}
}

// TestDoctorColourOnlyOnTerminal: a terminal gets colour, a pipe does
// not; --color, NO_COLOR (set and not empty), CLICOLOR_FORCE and
// FORCE_COLOR, and TERM=dumb decide before that, in this order.
func TestDoctorColourOnlyOnTerminal(t *testing.T) {
	python := testPython(t)
	env := func(kv ...string) []string {
		clean := slices.DeleteFunc(slices.Clone(os.Environ()), func(e string) bool {
			for _, k := range []string{"NO_COLOR=", "CLICOLOR_FORCE=", "FORCE_COLOR=", "TERM="} {
				if strings.HasPrefix(e, k) {
					return true
				}
			}
			return false
		})
		return append(clean, kv...)
	}
	for _, tc := range []struct {
		name     string
		environ  []string
		terminal bool
		args     []string
		colour   bool
	}{
		{"terminal", env("TERM=xterm"), true, nil, true},
		{"pipe", env("TERM=xterm"), false, nil, false},
		{"NO_COLOR", env("NO_COLOR=1"), true, nil, false},
		{"empty NO_COLOR", env("NO_COLOR="), true, nil, true},
		{"TERM=dumb", env("TERM=dumb"), true, nil, false},
		{"FORCE_COLOR on a pipe", env("FORCE_COLOR=1"), false, nil, true},
		{"CLICOLOR_FORCE on a dumb terminal", env("CLICOLOR_FORCE=1", "TERM=dumb"), true, nil, true},
		{"FORCE_COLOR=0", env("FORCE_COLOR=0"), false, nil, false},
		{"NO_COLOR beats FORCE_COLOR", env("NO_COLOR=1", "FORCE_COLOR=1"), true, nil, false},
		{"--color always on a pipe", env("NO_COLOR=1"), false, []string{"--color", "always"}, true},
		{"--color never on a terminal", env("FORCE_COLOR=1"), true, []string{"--color", "never"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(append([]string{"g4fdiag", "doctor", "--demo", "--no-probe", "--python", python}, tc.args...), IO{
				In: strings.NewReader(""), Out: &out, Err: &errOut, Environ: tc.environ, OutTerminal: tc.terminal,
			})
			if code != exitFailures {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if got := strings.Contains(out.String(), "\x1b["); got != tc.colour {
				t.Errorf("colour = %v, want %v:\n%q", got, tc.colour, out.String())
			}
		})
	}
	code, _, stderr := run(t, os.Environ(), "doctor", "--demo", "--color", "allways")
	if want := "g4fdiag: unknown --color \"allways\" (did you mean always?); use auto, always or never\n"; code != exitUsage || stderr != want {
		t.Errorf("--color allways: exit %d, stderr %q, want %q", code, stderr, want)
	}
}

// TestDoctorMeasuresAsyncClient: on a g4f whose AsyncClient streams through
// the sync wrapper (as 0.3.5.8's does), doctor's probe measures that
// AsyncClient fails where the sync client does, says so in the remedy
// line, adds the exposure no static rule has, and advises only what it
// measured to work. On the demo as it is, AsyncClient fixes every failing
// call. Nothing here is static: the same doctor gives both answers.
func TestDoctorMeasuresAsyncClient(t *testing.T) {
	python := testPython(t)
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	client := filepath.Join(dir, "g4f", "client", "__init__.py")
	src, err := os.ReadFile(client)
	if err != nil {
		t.Fatal(err)
	}
	// The async stream iterates the provider through the sync wrapper.
	old := "    async for chunk in iter_async(cls, model, messages, True, **kwargs):\n"
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("the demo's AsyncClient changed: %s has no %q", client, old)
	}
	src = bytes.Replace(src, []byte(old), []byte("    for chunk in iter_sync(cls, model, messages, True, **kwargs):\n"), 1)
	if err := os.WriteFile(client, src, 0o644); err != nil {
		t.Fatal(err)
	}

	doctor := func(environ []string, args ...string) scan.Doctor {
		t.Helper()
		out := filepath.Join(t.TempDir(), "doctor.json")
		code, _, stderr := run(t, environ, append([]string{"doctor", "--python", python, "--format", "json", "-o", out}, args...)...)
		if code != exitFailures {
			t.Fatalf("doctor %v: exit %d, want %d (stderr %s)", args, code, exitFailures, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var d scan.Doctor
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	remedy := func(d scan.Doctor, r scan.Remedy) scan.DoctorRemedy {
		t.Helper()
		if d.Probe == nil {
			t.Fatal("no probe in the report")
		}
		for _, x := range d.Probe.Remedies {
			if x.Remedy == r {
				return x
			}
		}
		t.Fatalf("no %s remedy in %+v", r, d.Probe.Remedies)
		return scan.DoctorRemedy{}
	}
	ids := func(d scan.Doctor) []string {
		var out []string
		for _, e := range d.Exposures {
			out = append(out, e.ID)
		}
		return out
	}

	wrapped := doctor(append(os.Environ(), "PYTHONPATH="+dir))
	async := remedy(wrapped, scan.RemedyAsync)
	if async.Outcome != "partly" || !strings.Contains(async.Detail, "this g4f's AsyncClient goes through the sync wrapper") ||
		!slices.Contains(async.Failed, "sync-stream/uvloop") || !slices.Contains(async.Fixed, "sync/uvloop") {
		t.Errorf("AsyncClient through the sync wrapper: %+v", async)
	}
	if !slices.Contains(ids(wrapped), "async-client-uvloop") {
		t.Errorf("exposures %v lack async-client-uvloop", ids(wrapped))
	}
	for _, e := range wrapped.Exposures {
		if e.ID == "uvloop-installed" && (strings.Contains(e.Remedy, "AsyncClient;") || !strings.Contains(e.Remedy, "measured here")) {
			t.Errorf("uvloop-installed advises what was not measured to work: %q", e.Remedy)
		}
	}

	plain := doctor(os.Environ(), "--demo")
	if a := remedy(plain, scan.RemedyAsync); a.Outcome != "fixes" {
		t.Errorf("the demo's own AsyncClient: %+v, want fixes", a)
	}
	if slices.Contains(ids(plain), "async-client-uvloop") {
		t.Errorf("the demo's exposures %v name AsyncClient", ids(plain))
	}
	if nop := doctor(os.Environ(), "--demo", "--no-probe"); nop.Probe != nil {
		t.Errorf("--no-probe ran the probe: %+v", nop.Probe)
	}
}
