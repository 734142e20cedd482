package scan

// DoctorPackages are the packages doctor reports, in report order: the ones
// that decide which loop a g4f call runs on and whether it may re-enter it.
var DoctorPackages = []string{"uvloop", "nest_asyncio", "nest_asyncio2", "uvicorn", "aiohttp"}

// NestModules are the two re-entrancy patches g4f releases import (DESIGN §2).
var NestModules = []string{"nest_asyncio", "nest_asyncio2"}

// Doctor is what `g4fdiag doctor` found in one interpreter: the facts, as
// doctor.py reports them, and the exposures diag's rules derive from them (diag.Exposures).
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
	LoopPolicySetBy string `json:"loop_policy_set_by"`
	// Probe is what the probe measured in this interpreter: g4f's own code
	// run offline in each mode and loop, and each remedy tried; nil with
	// --no-probe or when g4f cannot be imported.
	Probe     *DoctorProbe `json:"probe,omitempty"`
	Exposures []Exposure   `json:"exposures"`
}

// DoctorProbe is what doctor measured with a probe provider (registered
// into this g4f on one of its own base classes, offline): how the sync
// client and AsyncClient fare inside each running loop, and what each
// remedy did to the calls that failed.
type DoctorProbe struct {
	Provider string `json:"provider"`
	// Stdlib is the stdlib loop as this interpreter has it: LoopNest when
	// nest_asyncio can be imported, else LoopAsyncio.
	Stdlib Loop `json:"stdlib_loop,omitempty"`
	// Unavailable says why the probe could not run here; the rest is empty.
	Unavailable string            `json:"unavailable,omitempty"`
	Cells       []DoctorProbeCell `json:"cells,omitempty"`
	Remedies    []DoctorRemedy    `json:"remedies,omitempty"`
}

// DoctorProbeCell is one mode × loop the probe ran.
type DoctorProbeCell struct {
	Mode      Mode   `json:"mode"`
	Loop      Loop   `json:"loop"`
	Verdict   string `json:"verdict"`
	Signature string `json:"signature"`
	Evidence  string `json:"evidence,omitempty"` // a loop failure's error
}

// DoctorRemedy is one remedy as measured over the probe's failing cells:
// Outcome is "fixes" (every cell it was run for is then ok), "fails" (none
// is), "partly", or "not-run" (it applies to none of them), with Detail
// saying where and how.
type DoctorRemedy struct {
	Remedy  Remedy `json:"remedy"`
	Does    string `json:"does"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
	// Fixed and Failed are the failing cells ("mode/loop") the remedy
	// fixed, and those it was run for and did not.
	Fixed  []string `json:"fixed,omitempty"`
	Failed []string `json:"failed,omitempty"`
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

// Installed says whether the named package imports.
func (d Doctor) Installed(name string) bool {
	p, _ := d.Package(name)
	return p.Installed()
}

// VersionOf is "name version" for evidence lines.
func (d Doctor) VersionOf(name string) string {
	p, _ := d.Package(name)
	if p.Version == nil || *p.Version == "" {
		return name
	}
	return name + " " + *p.Version
}

// Exposure is one way sync g4f calls will break in this environment.
type Exposure struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"` // the facts of this environment that make the rule apply
	Remedy  string `json:"remedy"`
}
