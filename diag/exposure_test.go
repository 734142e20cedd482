package diag

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func versionPtr(s string) *string { return &s }
func boolPtr(b bool) *bool        { return &b }

// doctorOf is a hand-made report: g4f importable with nest module nest,
// installed packages name=version.
func doctorOf(nest string, installed ...string) scan.Doctor {
	d := scan.Doctor{Python: "/py", PythonVersion: "3.11.2",
		G4F:        scan.DoctorG4F{Importable: true, Version: "0.5.0", Path: "/site/g4f", NestModule: nest},
		LoopPolicy: "asyncio.unix_events._UnixDefaultEventLoopPolicy"}
	have := map[string]string{}
	for _, kv := range installed {
		k, v, _ := strings.Cut(kv, "=")
		have[k] = v
	}
	for _, name := range scan.DoctorPackages {
		p := scan.Package{Name: name}
		if v, ok := have[name]; ok {
			p.Version = versionPtr(v)
		}
		d.Packages = append(d.Packages, p)
	}
	d.G4F.NestInstalled = nest != "" && have[nest] != ""
	if _, ok := have["uvicorn"]; ok {
		d.UvicornLoop = "asyncio"
		if _, ok := have["uvloop"]; ok {
			d.UvicornLoop = "uvloop"
		}
	}
	return d
}

func exposureIDs(es []scan.Exposure) []string {
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestExposureRules pins which rules apply to which environment, and the
// evidence each gives.
func TestExposureRules(t *testing.T) {
	t.Parallel()
	notImportable := func(d scan.Doctor) scan.Doctor {
		d.G4F = scan.DoctorG4F{Error: "ModuleNotFoundError: No module named 'g4f'"}
		return d
	}
	uvloopPolicy := func(by string) func(scan.Doctor) scan.Doctor {
		return func(d scan.Doctor) scan.Doctor {
			d.LoopPolicy, d.LoopPolicySetBy = "uvloop.EventLoopPolicy", by
			return d
		}
	}
	tests := []struct {
		name    string
		d       scan.Doctor
		ids     []string
		details []string
	}{
		{"Debian: uvloop, nest_asyncio, uvicorn",
			doctorOf("nest_asyncio", "uvloop=0.17.0", "nest_asyncio=1.5.4", "uvicorn=0.17.6", "aiohttp=3.8.4"),
			[]string{"uvloop-installed", "uvicorn-picks-uvloop", "nest-asyncio-task-switch"},
			[]string{"uvloop 0.17.0 is importable", "uvicorn 0.17.6 --loop auto picks uvloop 0.17.0",
				"this g4f imports nest_asyncio 1.5.4 and patches stdlib loops with it"}},
		{"uvloop hidden",
			doctorOf("nest_asyncio", "nest_asyncio=1.5.4", "uvicorn=0.17.6"),
			[]string{"nest-asyncio-task-switch"}, nil},
		{"uvloop without uvicorn",
			doctorOf("nest_asyncio", "uvloop=0.19.0", "nest_asyncio=1.6.0"),
			[]string{"uvloop-installed", "nest-asyncio-task-switch"}, nil},
		{"uvicorn whose auto loop is asyncio although uvloop imports",
			func() scan.Doctor {
				d := doctorOf("nest_asyncio", "uvloop=0.19.0", "nest_asyncio=1.6.0", "uvicorn=9.0")
				d.UvicornLoop = "asyncio"
				return d
			}(),
			[]string{"uvloop-installed", "nest-asyncio-task-switch"}, nil},
		{"g4f 2026 imports nest_asyncio2, only nest_asyncio installed",
			doctorOf("nest_asyncio2", "nest_asyncio=1.5.4"),
			[]string{"nest-module-missing"},
			[]string{"this g4f imports nest_asyncio2, which is not installed; nest_asyncio 1.5.4 is, and this g4f does not use it"}},
		{"older g4f imports nest_asyncio, only nest_asyncio2 installed",
			doctorOf("nest_asyncio", "nest_asyncio2=1.7.0"),
			[]string{"nest-module-missing"},
			[]string{"this g4f imports nest_asyncio, which is not installed; nest_asyncio2 1.7.0 is, and this g4f does not use it"}},
		{"the right nest module installed",
			doctorOf("nest_asyncio2", "nest_asyncio2=1.7.0"),
			[]string{"nest-asyncio-task-switch"},
			[]string{"this g4f imports nest_asyncio2 1.7.0 and patches stdlib loops with it"}},
		{"neither nest module",
			doctorOf("nest_asyncio"),
			[]string{"nest-module-missing"},
			[]string{"this g4f imports nest_asyncio, which is not installed"}},
		{"a g4f that names no nest module",
			doctorOf("", "nest_asyncio=1.5.4"),
			[]string{}, nil},
		{"g4f not importable, nothing installed",
			notImportable(doctorOf("")),
			[]string{"nest-module-missing"},
			[]string{"neither nest_asyncio nor nest_asyncio2 is installed"}},
		{"g4f not importable, Debian packages",
			notImportable(doctorOf("", "uvloop=0.17.0", "nest_asyncio=1.5.4", "uvicorn=0.17.6")),
			[]string{"uvloop-installed", "uvicorn-picks-uvloop", "nest-asyncio-task-switch"},
			[]string{"uvloop 0.17.0 is importable", "uvicorn 0.17.6 --loop auto picks uvloop 0.17.0",
				"nest_asyncio 1.5.4 is installed"}},
		{"uvloop policy set at start-up",
			uvloopPolicy("startup")(doctorOf("nest_asyncio", "uvloop=0.17.0", "nest_asyncio=1.5.4")),
			[]string{"uvloop-installed", "policy-uvloop"},
			[]string{"uvloop 0.17.0 is importable",
				"the policy is uvloop.EventLoopPolicy, set at interpreter start-up, before g4f (sitecustomize, usercustomize or a .pth file)"}},
		{"uvloop policy set by importing g4f",
			uvloopPolicy("g4f import")(doctorOf("nest_asyncio", "uvloop=0.17.0", "nest_asyncio=1.5.4")),
			[]string{"uvloop-installed", "policy-uvloop"},
			[]string{"uvloop 0.17.0 is importable", "the policy is uvloop.EventLoopPolicy, set while importing g4f"}},
		{"g4f detects uvloop",
			func() scan.Doctor {
				d := doctorOf("", "uvloop=0.17.0")
				d.G4F.DetectsUvloop = boolPtr(true)
				return d
			}(),
			[]string{"uvloop-installed"},
			[]string{"uvloop 0.17.0 is importable, and g4f detects it (has_uvloop)"}},
		{"uvloop that imports but says no version",
			doctorOf("", "uvloop="),
			[]string{"uvloop-installed"},
			[]string{"uvloop is importable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Exposures(tt.d)
			if ids := exposureIDs(got); !reflect.DeepEqual(ids, tt.ids) {
				t.Fatalf("exposures = %v, want %v", ids, tt.ids)
			}
			if tt.details == nil {
				return
			}
			var details []string
			for _, e := range got {
				details = append(details, e.Detail)
			}
			if !reflect.DeepEqual(details, tt.details) {
				t.Errorf("details:\n got %q\nwant %q", details, tt.details)
			}
		})
	}
}

// TestExposureRulesAreComplete: every rule has an ID, text and a condition,
// IDs are unique, and {nest} is filled in.
func TestExposureRulesAreComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range ExposureRules {
		if r.ID == "" || r.Summary == "" || r.Remedy == "" || r.Applies == nil {
			t.Errorf("incomplete rule %+v", r)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
	}
	for _, e := range Exposures(doctorOf("nest_asyncio2")) {
		if e.ID != "nest-module-missing" || !strings.HasPrefix(e.Remedy, "pip install nest_asyncio2 into this interpreter") {
			t.Errorf("exposure %+v: want nest-module-missing naming nest_asyncio2", e)
		}
	}
	d := doctorOf("")
	d.G4F.Importable = false
	for _, e := range Exposures(d) {
		if strings.Contains(e.Summary+e.Remedy, "{nest}") {
			t.Errorf("unfilled placeholder in %+v", e)
		}
	}
}

// With a probe that ran, a rule whose failure it measured stands with the
// measured evidence and advice, one whose failure it did not see goes, and
// one it cannot measure stays as it is.
func TestExposuresFollowTheProbe(t *testing.T) {
	t.Parallel()
	d := doctorOf("nest_asyncio", "uvloop=0.17.0", "nest_asyncio=1.5.4")
	probe := func(uvloopSync string) *scan.DoctorProbe {
		p := &scan.DoctorProbe{Provider: DoctorProbeProvider, Stdlib: scan.LoopNest}
		for _, m := range DoctorProbeModes {
			for _, l := range scan.AllLoops {
				c := scan.DoctorProbeCell{Mode: m, Loop: l, Verdict: "ok", Signature: "ok"}
				if l == scan.LoopUvloop && m.SyncClient() {
					c.Verdict, c.Signature = uvloopSync, "reentry-uvloop"
				}
				p.Cells = append(p.Cells, c)
			}
		}
		p.Remedies = []scan.DoctorRemedy{{Remedy: scan.RemedyToThread, Does: "off the loop thread", Outcome: "fixes",
			Fixed: []string{"sync/uvloop", "sync-stream/uvloop"}}}
		return p
	}
	ids := func(es []scan.Exposure) []string { return exposureIDs(es) }
	static := ids(Exposures(d))

	d.Probe = probe("loop-reentry")
	got := Exposures(d)
	if !slices.Equal(ids(got), static) {
		t.Errorf("measured failures: %v, want the static %v", ids(got), static)
	}
	for _, e := range got {
		if e.ID == "uvloop-installed" && (!strings.Contains(e.Detail, "measured with ProbeAsyncGenerator: sync/uvloop loop-reentry") ||
			e.Remedy != "measured here, these fix it: off the loop thread") {
			t.Errorf("uvloop-installed: detail %q, remedy %q", e.Detail, e.Remedy)
		}
	}

	d.Probe = probe("ok")
	got = Exposures(d)
	if slices.Contains(ids(got), "uvloop-installed") || !slices.Contains(ids(got), "nest-asyncio-task-switch") {
		t.Errorf("the sync client works on uvloop here: %v, want uvloop rules gone, the unmeasured one kept", ids(got))
	}

	d.Probe = &scan.DoctorProbe{Provider: DoctorProbeProvider, Unavailable: "no base"}
	if got := ids(Exposures(d)); !slices.Equal(got, static) {
		t.Errorf("a probe that could not run: %v, want the static %v", got, static)
	}
}
