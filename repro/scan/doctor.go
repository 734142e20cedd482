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
