package diag

import (
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// ExposureRule is one known exposure: when it applies, what breaks, and what
// to do. Summary and Remedy are fixed text, except that {nest} stands for
// the nest module this g4f imports.
type ExposureRule struct {
	ID      string
	Summary string
	Remedy  string
	// Applies says whether d is exposed, and the evidence in d that says so.
	Applies func(d scan.Doctor) (detail string, ok bool)
	// MeasuredOn is the loop whose sync-client cells of doctor's probe
	// measure the rule's claim: uvloop, or the stdlib loop as the
	// interpreter has it (scan.DoctorProbe.Stdlib, written "stdlib"); ""
	// for a rule the probe cannot measure.
	MeasuredOn string
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
		Remedy:     asyncRemedy + "; run uvicorn with --loop asyncio, or remove uvloop from this environment",
		Applies:    uvloopInstalled,
		MeasuredOn: "uvloop",
	},
	{
		ID: "uvicorn-picks-uvloop",
		Summary: "g4f's API server (g4f api) and any app uvicorn serves with its default --loop auto run on uvloop: " +
			"sync g4f calls in request handlers fail, and a streaming response carries the error inside an HTTP 200 stream",
		Remedy:     `start uvicorn with --loop asyncio (uvicorn.run(app, loop="asyncio")), and use AsyncClient in request handlers`,
		Applies:    uvicornPicksUvloop,
		MeasuredOn: "uvloop",
	},
	{
		ID: "policy-uvloop",
		Summary: "the event loop policy is uvloop's: every loop asyncio.run() and new_event_loop() create is uvloop, " +
			"so sync g4f calls inside any running loop fail with " + uvloopReentry,
		Remedy:     "remove the uvloop.install() or asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()) call; " + asyncRemedy,
		Applies:    policyUvloop,
		MeasuredOn: "uvloop",
	},
	{
		ID: "nest-module-missing",
		Summary: "sync g4f calls inside a running stdlib asyncio loop (Jupyter, asyncio.run, uvicorn --loop asyncio) fail with " +
			stdlibReentry + " or NestAsyncioError: the nest_asyncio module this g4f imports is not installed",
		Remedy:     "pip install {nest} into this interpreter (the module this g4f imports: the other one does not count); or " + asyncRemedy,
		Applies:    nestModuleMissing,
		MeasuredOn: "stdlib",
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

func uvloopInstalled(d scan.Doctor) (string, bool) {
	p, _ := d.Package("uvloop")
	if !p.Installed() {
		return "", false
	}
	detail := d.VersionOf("uvloop") + " is importable"
	if d.G4F.DetectsUvloop != nil && *d.G4F.DetectsUvloop {
		detail += ", and g4f detects it (has_uvloop)"
	}
	return detail, true
}

func uvicornPicksUvloop(d scan.Doctor) (string, bool) {
	if !d.Installed("uvicorn") || d.UvicornLoop != "uvloop" {
		return "", false
	}
	return d.VersionOf("uvicorn") + " --loop auto picks " + d.VersionOf("uvloop"), true
}

func policyUvloop(d scan.Doctor) (string, bool) {
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

func nestModuleMissing(d scan.Doctor) (string, bool) {
	if d.G4F.Importable && d.G4F.NestModule != "" {
		if d.G4F.NestInstalled {
			return "", false
		}
		detail := "this g4f imports " + d.G4F.NestModule + ", which is not installed"
		for _, other := range scan.NestModules {
			if other != d.G4F.NestModule && d.Installed(other) {
				detail += "; " + d.VersionOf(other) + " is, and this g4f does not use it"
			}
		}
		return detail, true
	}
	if d.G4F.Importable {
		return "", false // a g4f that names neither: its bridge is unknown
	}
	for _, m := range scan.NestModules {
		if d.Installed(m) {
			return "", false
		}
	}
	return "neither nest_asyncio nor nest_asyncio2 is installed", true
}

// nestTaskSwitch applies wherever g4f will patch a stdlib loop: uvloop
// installed or not (Jupyter and asyncio.run still run stdlib loops), unless
// the policy makes every loop uvloop.
func nestTaskSwitch(d scan.Doctor) (string, bool) {
	if strings.HasPrefix(d.LoopPolicy, "uvloop.") {
		return "", false
	}
	if d.G4F.Importable && d.G4F.NestModule != "" {
		if !d.G4F.NestInstalled {
			return "", false
		}
		return "this g4f imports " + d.VersionOf(d.G4F.NestModule) + " and patches stdlib loops with it", true
	}
	if d.G4F.Importable {
		return "", false
	}
	for _, m := range scan.NestModules {
		if d.Installed(m) {
			return d.VersionOf(m) + " is installed", true
		}
	}
	return "", false
}

// Exposures applies every rule to d, in ExposureRules order, then adds what
// doctor's probe measured that no rule says. With a probe that ran, a rule
// whose claim it measured holds only if the probe's sync client failed on
// that loop, and its remedy is then what the probe measured to fix it; a
// rule it cannot measure stands as it is. The result is never nil, so the
// JSON report says [] rather than null.
func Exposures(d scan.Doctor) []scan.Exposure {
	nest := d.G4F.NestModule
	if nest == "" {
		nest = "nest_asyncio2 (g4f from 2026) or nest_asyncio (older g4f)"
	}
	fill := func(s string) string { return strings.ReplaceAll(s, "{nest}", nest) }
	probe := d.Probe
	if probe != nil && (probe.Unavailable != "" || len(probe.Cells) == 0) {
		probe = nil
	}
	out := []scan.Exposure{}
	covered := map[scan.Loop]bool{}
	for _, r := range ExposureRules {
		detail, ok := r.Applies(d)
		if !ok {
			continue
		}
		e := scan.Exposure{ID: r.ID, Summary: fill(r.Summary), Detail: detail, Remedy: fill(r.Remedy)}
		if probe != nil && r.MeasuredOn != "" {
			loop := scan.Loop(r.MeasuredOn)
			if r.MeasuredOn == "stdlib" {
				loop = probe.Stdlib
			}
			fails, ran := probeFailures(probe, loop, "sync")
			if ran && len(fails) == 0 {
				continue // measured: the sync client works on that loop here
			}
			if len(fails) > 0 {
				covered[loop] = true
				e.Detail += "; " + describeFailures(fails)
				if advice := measuredAdvice(probe, loop, "sync"); advice != "" {
					e.Remedy = advice
				}
			}
		}
		out = append(out, e)
	}
	if probe != nil {
		out = append(out, measuredExposures(probe, covered)...)
	}
	return out
}

// measuredExposures are the loop failures doctor's probe measured on the
// loops this interpreter has (uvloop when installed, its stdlib loop) that
// no rule covered: the sync client where no rule said it fails, and
// AsyncClient wherever it fails.
func measuredExposures(p *scan.DoctorProbe, covered map[scan.Loop]bool) []scan.Exposure {
	var out []scan.Exposure
	for _, loop := range []scan.Loop{scan.LoopUvloop, p.Stdlib} {
		advice := func(client string) string {
			if a := measuredAdvice(p, loop, client); a != "" {
				return a
			}
			return "none of the known remedies fixed it here (see the measured remedies above); keep g4f calls " +
				"off this loop, or pin a g4f release whose probe passes"
		}
		if fails, _ := probeFailures(p, loop, "sync"); len(fails) > 0 && !covered[loop] {
			out = append(out, scan.Exposure{ID: "sync-client-" + string(loop),
				Summary: "sync g4f calls inside a running " + loop.Meaning() + " loop fail (measured)",
				Detail:  describeFailures(fails), Remedy: advice("sync")})
		}
		if fails, _ := probeFailures(p, loop, "async"); len(fails) > 0 {
			out = append(out, scan.Exposure{ID: "async-client-" + string(loop),
				Summary: "AsyncClient calls inside a running " + loop.Meaning() + " loop fail like the sync client " +
					"(measured): this g4f's AsyncClient goes through the sync wrapper",
				Detail: describeFailures(fails), Remedy: advice("async")})
		}
	}
	return out
}
