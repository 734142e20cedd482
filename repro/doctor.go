package repro

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed harness/doctor.py
var doctorPy []byte

// doctorPrefix starts the one stdout line of doctor.py that holds its report.
const doctorPrefix = "g4fdiag-doctor "

// DoctorPackages are the packages doctor reports, in report order: the ones
// that decide which loop a g4f call runs on and whether it may re-enter it.
var DoctorPackages = []string{"uvloop", "nest_asyncio", "nest_asyncio2", "uvicorn", "aiohttp"}

// nestModules are the two re-entrancy patches g4f releases import (DESIGN §2).
var nestModules = []string{"nest_asyncio", "nest_asyncio2"}

// Doctor is what `g4fdiag doctor` found in one interpreter: the facts, as
// doctor.py reports them, and the exposures the rules derive from them.
// Field order is the order of the JSON report.
type Doctor struct {
	Python         string    `json:"python"`
	PythonVersion  string    `json:"python_version"`
	Implementation string    `json:"implementation"` // CPython, PyPy
	Platform       string    `json:"platform"`       // sys.platform
	Demo           bool      `json:"demo,omitempty"` // the embedded miniature g4f
	G4F            DoctorG4F `json:"g4f"`
	Packages       []Package `json:"packages"`
	// UvicornLoop is the loop `uvicorn --loop auto` (its default) would run
	// on: uvloop or asyncio; "" without uvicorn.
	UvicornLoop string `json:"uvicorn_loop"`
	// LoopPolicy is the event loop policy class after `import g4f`, e.g.
	// asyncio.unix_events._UnixDefaultEventLoopPolicy or uvloop.EventLoopPolicy;
	// "" on a Python without policies.
	LoopPolicy string `json:"loop_policy"`
	// LoopPolicySetBy says who replaced the default policy: "startup"
	// (sitecustomize, a .pth file), "g4f import", or "" when nobody did.
	LoopPolicySetBy string     `json:"loop_policy_set_by"`
	Exposures       []Exposure `json:"exposures"`
}

// DoctorG4F is what doctor found of g4f itself.
type DoctorG4F struct {
	Importable bool   `json:"importable"`
	Version    string `json:"version"`
	Path       string `json:"path"`            // the package directory imported
	Error      string `json:"error,omitempty"` // why `import g4f` failed, one line
	// NestModule is the nest_asyncio this g4f imports (nest_asyncio up to
	// 2025, nest_asyncio2 from 2026), "" when it names neither.
	NestModule string `json:"nest_module"`
	// NestInstalled says whether NestModule itself can be imported: the other
	// one installed does not count.
	NestInstalled bool `json:"nest_installed"`
	// DetectsUvloop and DetectsNest are g4f's own import-time flags
	// (has_uvloop, has_nest_asyncio); null when this g4f has none.
	DetectsUvloop *bool `json:"detects_uvloop"`
	DetectsNest   *bool `json:"detects_nest"`
}

// Package is one Python package as `import name` sees it.
type Package struct {
	Name string `json:"name"`
	// Version is null when the import fails, whether nothing was found or
	// what was found raised; "" when it imports but says no version.
	Version *string `json:"version"`
	Path    string  `json:"path,omitempty"`
	Error   string  `json:"error,omitempty"` // why a module that was found did not import
}

// Installed says whether the package imports.
func (p Package) Installed() bool { return p.Version != nil }

// Package returns the named package and whether doctor reported it.
func (d Doctor) Package(name string) (Package, bool) {
	for _, p := range d.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return Package{Name: name}, false
}

func (d Doctor) installed(name string) bool {
	p, _ := d.Package(name)
	return p.Installed()
}

// versionOf is "name version" for evidence lines.
func (d Doctor) versionOf(name string) string {
	p, _ := d.Package(name)
	if p.Version == nil || *p.Version == "" {
		return name
	}
	return name + " " + *p.Version
}

// ImportError is the environment error of a doctor run whose g4f cannot be
// imported, nil when it can. doctor still reports everything else first:
// the interpreter could be inspected, only g4f could not.
func (d Doctor) ImportError() error {
	if d.G4F.Importable {
		return nil
	}
	msg := d.G4F.Error
	if msg == "" {
		msg = "unknown error"
	}
	return envErrorf("install g4f for it, put a g4f checkout on PYTHONPATH, pass --python, or try --demo",
		"g4f is not importable with %s (%s)", d.Python, oneLine(msg))
}

// Exposure is one way sync g4f calls will break in this environment.
type Exposure struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"` // the facts of this environment that make the rule apply
	Remedy  string `json:"remedy"`
}

// ExposureRule is one known exposure: when it applies, what breaks, and what
// to do. Summary and Remedy are fixed text, except that {nest} stands for
// the nest module this g4f imports.
type ExposureRule struct {
	ID      string
	Summary string
	Remedy  string
	// Applies says whether d is exposed, and the evidence in d that says so.
	Applies func(d Doctor) (detail string, ok bool)
}

// Messages the rules quote: the ones users meet (DESIGN §1).
const (
	uvloopReentry = `"RuntimeError: this event loop is already running."`
	stdlibReentry = `"RuntimeError: This event loop is already running"`
	asyncRemedy   = "in async code await AsyncClient().chat.completions.create(...) instead of the sync client, " +
		"and run unavoidable sync calls off the loop with await asyncio.to_thread(...)"
)

// ExposureRules are every exposure doctor knows, in report order.
var ExposureRules = []ExposureRule{
	{
		ID: "uvloop-installed",
		Summary: "sync g4f calls inside a running uvloop loop fail with " + uvloopReentry +
			": uvloop is installed and nest_asyncio cannot patch it",
		Remedy:  asyncRemedy + "; run uvicorn with --loop asyncio, or remove uvloop from this environment",
		Applies: uvloopInstalled,
	},
	{
		ID: "uvicorn-picks-uvloop",
		Summary: "g4f's API server (g4f api) and any app uvicorn serves with its default --loop auto run on uvloop: " +
			"sync g4f calls in request handlers fail, and a streaming response carries the error inside an HTTP 200 stream",
		Remedy:  `start uvicorn with --loop asyncio (uvicorn.run(app, loop="asyncio")), and use AsyncClient in request handlers`,
		Applies: uvicornPicksUvloop,
	},
	{
		ID: "policy-uvloop",
		Summary: "the event loop policy is uvloop's: every loop asyncio.run() and new_event_loop() create is uvloop, " +
			"so sync g4f calls inside any running loop fail with " + uvloopReentry,
		Remedy:  "remove the uvloop.install() or asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()) call; " + asyncRemedy,
		Applies: policyUvloop,
	},
	{
		ID: "nest-module-missing",
		Summary: "sync g4f calls inside a running stdlib asyncio loop (Jupyter, asyncio.run, uvicorn --loop asyncio) fail with " +
			stdlibReentry + " or NestAsyncioError: the nest_asyncio module this g4f imports is not installed",
		Remedy:  "pip install {nest} into this interpreter (the module this g4f imports: the other one does not count); or " + asyncRemedy,
		Applies: nestModuleMissing,
	},
	{
		ID: "nest-asyncio-task-switch",
		Summary: "sync g4f calls inside a running stdlib asyncio loop re-enter it through {nest}, which can break with " +
			`"RuntimeError: Cannot enter into task ... while another task ... is being executed." and leave a stream hanging, ` +
			"typically on the first request to a fresh server",
		Remedy:  asyncRemedy + "; do not share a loop between sync g4f calls and other tasks",
		Applies: nestTaskSwitch,
	},
}

func uvloopInstalled(d Doctor) (string, bool) {
	p, _ := d.Package("uvloop")
	if !p.Installed() {
		return "", false
	}
	detail := d.versionOf("uvloop") + " is importable"
	if d.G4F.DetectsUvloop != nil && *d.G4F.DetectsUvloop {
		detail += ", and g4f detects it (has_uvloop)"
	}
	return detail, true
}

func uvicornPicksUvloop(d Doctor) (string, bool) {
	if !d.installed("uvicorn") || d.UvicornLoop != "uvloop" {
		return "", false
	}
	return d.versionOf("uvicorn") + " --loop auto picks " + d.versionOf("uvloop"), true
}

func policyUvloop(d Doctor) (string, bool) {
	if !strings.HasPrefix(d.LoopPolicy, "uvloop.") {
		return "", false
	}
	detail := "the policy is " + d.LoopPolicy
	switch d.LoopPolicySetBy {
	case "g4f import":
		detail += ", set while importing g4f"
	case "startup":
		detail += ", set at interpreter start-up, before g4f (sitecustomize, usercustomize or a .pth file)"
	}
	return detail, true
}

func nestModuleMissing(d Doctor) (string, bool) {
	if d.G4F.Importable && d.G4F.NestModule != "" {
		if d.G4F.NestInstalled {
			return "", false
		}
		detail := "this g4f imports " + d.G4F.NestModule + ", which is not installed"
		for _, other := range nestModules {
			if other != d.G4F.NestModule && d.installed(other) {
				detail += "; " + d.versionOf(other) + " is, and this g4f does not use it"
			}
		}
		return detail, true
	}
	if d.G4F.Importable {
		return "", false // a g4f that names neither: its bridge is unknown
	}
	for _, m := range nestModules {
		if d.installed(m) {
			return "", false
		}
	}
	return "neither nest_asyncio nor nest_asyncio2 is installed", true
}

// nestTaskSwitch applies wherever g4f will patch a stdlib loop: uvloop
// installed or not (Jupyter and asyncio.run still run stdlib loops), unless
// the policy makes every loop uvloop.
func nestTaskSwitch(d Doctor) (string, bool) {
	if strings.HasPrefix(d.LoopPolicy, "uvloop.") {
		return "", false
	}
	if d.G4F.Importable && d.G4F.NestModule != "" {
		if !d.G4F.NestInstalled {
			return "", false
		}
		return "this g4f imports " + d.versionOf(d.G4F.NestModule) + " and patches stdlib loops with it", true
	}
	if d.G4F.Importable {
		return "", false
	}
	for _, m := range nestModules {
		if d.installed(m) {
			return d.versionOf(m) + " is installed", true
		}
	}
	return "", false
}

// Exposures applies every rule to d, in ExposureRules order. The result is
// never nil, so the JSON report says [] rather than null.
func Exposures(d Doctor) []Exposure {
	nest := d.G4F.NestModule
	if nest == "" {
		nest = "nest_asyncio2 (g4f from 2026) or nest_asyncio (older g4f)"
	}
	fill := func(s string) string { return strings.ReplaceAll(s, "{nest}", nest) }
	out := []Exposure{}
	for _, r := range ExposureRules {
		if detail, ok := r.Applies(d); ok {
			out = append(out, Exposure{ID: r.ID, Summary: fill(r.Summary), Detail: detail, Remedy: fill(r.Remedy)})
		}
	}
	return out
}

// RunDoctor runs the embedded doctor.py with t's interpreter and environment
// and returns its report with the exposures filled in. It fails with an
// *EnvError when the interpreter cannot run the script or the script gives
// no usable report; a g4f that cannot be imported is not an error here (see
// Doctor.ImportError). The script's process group is killed before
// RunDoctor returns, whatever g4f started on import.
func RunDoctor(ctx context.Context, t Target) (Doctor, error) {
	dir, err := os.MkdirTemp("", "g4fdiag-doctor-")
	if err != nil {
		return Doctor{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "doctor.py")
	if err := os.WriteFile(script, doctorPy, 0o600); err != nil {
		return Doctor{}, err
	}

	cmd := exec.Command(t.Python, append([]string{"-u", script}, DoctorPackages...)...)
	cmd.Env = t.Env
	cmd.Dir = dir
	cmd.SysProcAttr = ProcAttr()
	stdout := newTailBuffer(4 << 20)
	stderr := newTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A child g4f started may hold the pipes after the script exits: stop
	// reading soon after, and kill the group below.
	cmd.WaitDelay = 500 * time.Millisecond
	if err := StartContained(cmd); err != nil {
		return Doctor{}, envErrorf("pass --python with the path of a Python 3 interpreter",
			"cannot start Python %q: %v", t.Python, unwrapExec(err))
	}
	defer ReapAdopted() // once it is reaped: what g4f started outside its group
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(t.startTimeout())
	defer timer.Stop()
	var waitErr error
	select {
	case waitErr = <-done:
		KillGroup(pgid) // children g4f left behind
	case <-timer.C:
		KillGroup(pgid)
		<-done
		return Doctor{}, envErrorf("check that `"+t.Python+" -c 'import g4f'` finishes",
			"inspecting %s did not finish within %s (importing g4f hangs?)", t.Python, t.startTimeout())
	case <-ctx.Done():
		KillGroup(pgid)
		<-done
		return Doctor{}, ctx.Err()
	}

	d, err := parseDoctor(stdout.String())
	if err != nil {
		status := "exit status 0"
		if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
			status = waitErr.Error()
		}
		return Doctor{}, envErrorf("check the interpreter with `"+t.Python+" -c 'import sys; print(sys.version)'`",
			"cannot inspect %s: %v (%s): %s", t.Python, err, status, oneLine(lastLine(stderr.String())))
	}
	d.Demo = t.Demo
	d.Exposures = Exposures(d)
	return d, nil
}

// parseDoctor finds the last report line in doctor.py's stdout.
func parseDoctor(stdout string) (Doctor, error) {
	var last string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); strings.HasPrefix(line, doctorPrefix) {
			last = line
		}
	}
	if last == "" {
		return Doctor{}, errors.New("no report from the doctor script")
	}
	var d Doctor
	if err := json.Unmarshal([]byte(strings.TrimPrefix(last, doctorPrefix)), &d); err != nil {
		return Doctor{}, fmt.Errorf("unreadable report from the doctor script: %v", err)
	}
	if d.Python == "" || d.PythonVersion == "" {
		return Doctor{}, errors.New("the doctor script's report names no interpreter")
	}
	return d, nil
}

// oneLine keeps untrusted text to one printable line: an error message goes
// to a terminal as is.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
