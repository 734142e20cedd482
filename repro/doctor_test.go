package repro

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func exposureIDs(es []scan.Exposure) []string {
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestImportError(t *testing.T) {
	d := scan.Doctor{Python: "/py", PythonVersion: "3.11.2", G4F: scan.DoctorG4F{Importable: true}}
	if err := ImportError(d); err != nil {
		t.Fatalf("importable g4f: %v", err)
	}
	d.G4F = scan.DoctorG4F{Error: "ImportError: boom\x1b[31m\nsecond line"}
	var env *EnvError
	if err := ImportError(d); !errors.As(err, &env) {
		t.Fatalf("ImportError() = %v, want *EnvError", err)
	}
	want := "g4f is not importable with /py (ImportError: boom[31m second line)"
	if env.What != want {
		t.Errorf("What = %q, want %q", env.What, want)
	}
}

func TestParseDoctor(t *testing.T) {
	report := `g4fdiag-doctor {"python":"/py","python_version":"3.12.1","g4f":{"importable":true},"packages":[{"name":"uvloop","version":null}]}`
	tests := []struct {
		name, stdout, err string
	}{
		{"alone", report + "\n", ""},
		{"after g4f prints, last wins", "g4f: new version 9\ng4fdiag-doctor {\"python\":\"\"}\n" + report + "\nnoise\n", ""},
		{"no report", "hello\n", "no report from the doctor script"},
		{"cut short", "g4fdiag-doctor {\"python\":", "unreadable report from the doctor script"},
		{"empty report", "g4fdiag-doctor {}\n", "the doctor script's report names no interpreter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseDoctor(tt.stdout)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Python != "/py" || !d.G4F.Importable || len(d.Packages) != 1 || d.Packages[0].Installed() {
				t.Errorf("parsed %+v", d)
			}
		})
	}
}

func findExposure(d scan.Doctor, id string) (scan.Exposure, bool) {
	for _, e := range d.Exposures {
		if e.ID == id {
			return e, true
		}
	}
	return scan.Exposure{}, false
}

// TestRunDoctorDemo runs doctor.py for real on the miniature g4f with the
// test interpreter (Debian's uvloop and nest_asyncio).
func TestRunDoctorDemo(t *testing.T) {
	d, err := runDoctor(context.Background(), demoTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.Python == "" || d.PythonVersion == "" || !d.Demo {
		t.Errorf("interpreter = %q %q demo=%v", d.Python, d.PythonVersion, d.Demo)
	}
	g := d.G4F
	if !g.Importable || g.Version != "0.0.1+miniature" || filepath.Base(g.Path) != "g4f" ||
		g.NestModule != "nest_asyncio" || !g.NestInstalled || g.DetectsUvloop == nil || !*g.DetectsUvloop {
		t.Errorf("g4f = %+v", g)
	}
	var names []string
	for _, p := range d.Packages {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, scan.DoctorPackages) {
		t.Errorf("packages = %v, want %v", names, scan.DoctorPackages)
	}
	if uv, _ := d.Package("uvloop"); !uv.Installed() || *uv.Version == "" {
		t.Errorf("uvloop = %+v, want installed with a version", uv)
	}
	if p, _ := d.Package("nest_asyncio2"); p.Installed() {
		t.Errorf("nest_asyncio2 = %+v, want absent", p)
	}
	if d.UvicornLoop != "uvloop" || !strings.HasPrefix(d.LoopPolicy, "asyncio.") || d.LoopPolicySetBy != "" {
		t.Errorf("uvicorn loop %q, policy %q set by %q", d.UvicornLoop, d.LoopPolicy, d.LoopPolicySetBy)
	}
	if _, ok := findExposure(d, "uvloop-installed"); !ok {
		t.Errorf("exposures %v lack uvloop-installed", exposureIDs(d.Exposures))
	}
}

// TestRunDoctorUvloopHidden: a uvloop.py that raises ImportError first on
// PYTHONPATH, as in TestUnavailableLoop: doctor sees what g4f and uvicorn
// would see.
func TestRunDoctorUvloopHidden(t *testing.T) {
	shadow := t.TempDir()
	writeDoctorFile(t, filepath.Join(shadow, "uvloop.py"), "raise ImportError('No module named uvloop (shadowed by the test)')\n")
	d, err := runDoctor(context.Background(), demoTarget(t, shadow))
	if err != nil {
		t.Fatal(err)
	}
	uv, _ := d.Package("uvloop")
	if uv.Installed() || !strings.Contains(uv.Error, "shadowed by the test") {
		t.Errorf("uvloop = %+v, want not importable with the shadow's error", uv)
	}
	if d.G4F.DetectsUvloop == nil || *d.G4F.DetectsUvloop || d.UvicornLoop != "asyncio" {
		t.Errorf("g4f detects uvloop %v, uvicorn loop %q", d.G4F.DetectsUvloop, d.UvicornLoop)
	}
	for _, id := range []string{"uvloop-installed", "uvicorn-picks-uvloop"} {
		if _, ok := findExposure(d, id); ok {
			t.Errorf("exposure %s with uvloop hidden", id)
		}
	}
}

// TestRunDoctorFakeG4F: a g4f of 2026 that imports nest_asyncio2 (absent
// here) and installs uvloop's policy on import.
func TestRunDoctorFakeG4F(t *testing.T) {
	dir := t.TempDir()
	writeDoctorFile(t, filepath.Join(dir, "g4f", "__init__.py"),
		"__version__ = '9.9.9'\nprint('g4f prints on import')\nimport asyncio, uvloop\nasyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n")
	writeDoctorFile(t, filepath.Join(dir, "g4f", "providers", "__init__.py"), "")
	writeDoctorFile(t, filepath.Join(dir, "g4f", "providers", "asyncio.py"),
		"try:\n    import nest_asyncio2 as nest_asyncio\n    has_nest_asyncio = True\nexcept ImportError:\n    has_nest_asyncio = False\n")
	target := Target{Python: testPython(t), Env: WithPythonPath(os.Environ(), dir)}
	d, err := runDoctor(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	g := d.G4F
	if !g.Importable || g.Version != "9.9.9" || g.NestModule != "nest_asyncio2" || g.NestInstalled ||
		g.DetectsNest == nil || *g.DetectsNest || g.DetectsUvloop != nil {
		t.Errorf("g4f = %+v", g)
	}
	if d.LoopPolicy != "uvloop.EventLoopPolicy" || d.LoopPolicySetBy != "g4f import" {
		t.Errorf("policy %q set by %q", d.LoopPolicy, d.LoopPolicySetBy)
	}
	want := []string{"uvloop-installed", "uvicorn-picks-uvloop", "policy-uvloop", "nest-module-missing"}
	if ids := exposureIDs(d.Exposures); !reflect.DeepEqual(ids, want) {
		t.Errorf("exposures = %v, want %v", ids, want)
	}
}

func TestRunDoctorNoG4F(t *testing.T) {
	shadow := t.TempDir()
	writeDoctorFile(t, filepath.Join(shadow, "g4f.py"), "raise ImportError('no g4f here')\n")
	d, err := runDoctor(context.Background(), Target{Python: testPython(t), Env: WithPythonPath(os.Environ(), shadow)})
	if err != nil {
		t.Fatal(err)
	}
	if d.G4F.Importable || d.G4F.Error != "ImportError: no g4f here" {
		t.Errorf("g4f = %+v", d.G4F)
	}
	var env *EnvError
	if err := ImportError(d); !errors.As(err, &env) {
		t.Errorf("ImportError() = %v, want *EnvError", err)
	}
	if len(d.Packages) != len(scan.DoctorPackages) {
		t.Errorf("packages = %+v: the rest must still be inspected", d.Packages)
	}
}

// TestRunDoctorUnusable: an interpreter that cannot run the script, or a
// script whose report is cut, is an environment error naming the problem.
func TestRunDoctorUnusable(t *testing.T) {
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut-python")
	writeDoctorFile(t, cut, "#!/bin/sh\necho 'g4fdiag-doctor {\"python\": '\necho 'Traceback: it broke' >&2\nexit 1\n")
	if err := os.Chmod(cut, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		python, want string
	}{
		{filepath.Join(dir, "missing"), "cannot start Python"},
		{"/bin/true", "no report from the doctor script (exit status 0): no output"},
		{cut, "unreadable report from the doctor script"},
	}
	for _, tt := range tests {
		_, err := RunDoctor(context.Background(), Target{Python: tt.python, Env: os.Environ()})
		var env *EnvError
		if !errors.As(err, &env) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want *EnvError with %q", tt.python, err, tt.want)
		}
	}
	_, err := RunDoctor(context.Background(), Target{Python: cut, Env: os.Environ()})
	if err == nil || !strings.Contains(err.Error(), "(exit status 1): Traceback: it broke") {
		t.Errorf("err = %v, want the exit status and the last stderr line", err)
	}
}

func TestRunDoctorCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow-python")
	writeDoctorFile(t, slow, "#!/bin/sh\nexec sleep 30\n")
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := RunDoctor(ctx, Target{Python: slow, Env: os.Environ()}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func writeDoctorFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunDoctorTimeout(t *testing.T) {
	slow := filepath.Join(t.TempDir(), "slow-python")
	writeDoctorFile(t, slow, "#!/bin/sh\nexec sleep 30\n")
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := RunDoctor(context.Background(), Target{Python: slow, Env: os.Environ(), StartTimeout: 200 * time.Millisecond})
	var env *EnvError
	if !errors.As(err, &env) || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Errorf("err = %v, want *EnvError naming the timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("RunDoctor took %s after a 200ms timeout", d)
	}
}

// TestRunDoctorKillsLeftovers: a child started by the script (as g4f may
// start one on import) that keeps stdout open neither holds RunDoctor up nor
// outlives it.
func TestRunDoctorKillsLeftovers(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	leaky := filepath.Join(dir, "leaky-python")
	writeDoctorFile(t, leaky, "#!/bin/sh\nsleep 30 &\necho $! > "+pidFile+"\n"+
		`echo 'g4fdiag-doctor {"python":"/leaky","python_version":"3.12.0","g4f":{"importable":true},"packages":[]}'`+"\n")
	if err := os.Chmod(leaky, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := runDoctor(context.Background(), Target{Python: leaky, Env: os.Environ()})
	if err != nil || d.Python != "/leaky" {
		t.Fatalf("RunDoctor = %+v, %v", d, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("RunDoctor took %s: held up by the child's stdout", took)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	// Its zombie may stay: a test binary that ran a pool is a subreaper
	// (contain.go), and the orphan is its child, not init's.
	waitGone(t, pid)
}

// runDoctor is RunDoctor with the exposures diag derives, as the doctor
// command reports them.
func runDoctor(ctx context.Context, t Target) (scan.Doctor, error) {
	d, err := RunDoctor(ctx, t)
	if err == nil {
		d.Exposures = diag.Exposures(d)
	}
	return d, err
}

// TestSharedModuleUnderSafePath: doctor.py and harness.py import the module
// they share (g4fdiag_inspect.py) from beside them even where Python does
// not put a script's directory on sys.path (PYTHONSAFEPATH, Python 3.11+),
// and both read the same g4f.
func TestSharedModuleUnderSafePath(t *testing.T) {
	target := demoTarget(t)
	target.Env = append(target.Env, "PYTHONSAFEPATH=1")
	d, err := RunDoctor(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if !d.G4F.Importable || d.G4F.NestModule != "nest_asyncio" || d.G4F.Version == "" {
		t.Errorf("doctor read g4f as %+v", d.G4F)
	}
	p, err := NewPool(target, PoolOptions{BlockThreshold: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "EchoSync", Mode: scan.ModeBaseline, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if obs.End != scan.EndCompleted || len(obs.Calls) != 1 || obs.Calls[0].Outcome != scan.OutcomeOK {
		t.Errorf("EchoSync under PYTHONSAFEPATH: end %s, calls %+v", obs.End, obs.Calls)
	}
	env := p.Environment()
	if env.NestModule != d.G4F.NestModule || env.G4FVersion != d.G4F.Version {
		t.Errorf("worker read g4f %s with %s, doctor %s with %s", env.G4FVersion, env.NestModule, d.G4F.Version, d.G4F.NestModule)
	}
}
