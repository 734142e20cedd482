package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/providers/scale"
)

// TestDemoScaleArguments: --demo-scale is a target like --demo, with the
// demo's short deadlines unless set, and the two exclude each other in
// every command that takes a target.
func TestDemoScaleArguments(t *testing.T) {
	for _, tt := range []struct {
		args        []string
		timeout     time.Duration
		stall       time.Duration
		demo, scale bool
	}{
		{[]string{"check", "--demo-scale", "--include-auth"}, demoTimeout, demoStallTimeout, false, true},
		{[]string{"repro", "--demo-scale", "--provider", "Stream01", "--timeout", "9s"}, 9 * time.Second, demoStallTimeout, false, true},
		{[]string{"check", "--demo-scale", "--stall-timeout", "3s"}, demoTimeout, 3 * time.Second, false, true},
		{[]string{"check", "--demo"}, demoTimeout, demoStallTimeout, true, false},
	} {
		var got scanOptions
		app := newApp(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
		for _, c := range app.Commands {
			c.Action = func(ctx *cli.Context) error {
				var err error
				got, err = scanOptionsFrom(ctx, ctx.Command.Name)
				return err
			}
		}
		if err := app.Run(append([]string{"g4fdiag"}, tt.args...)); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if got.Demo != tt.demo || got.DemoScale != tt.scale || got.Plan.Timeout != tt.timeout || got.API.StallTimeout != tt.stall {
			t.Errorf("%v: demo %v, demo-scale %v, timeout %s, stall timeout %s; want %v, %v, %s, %s", tt.args,
				got.Demo, got.DemoScale, got.Plan.Timeout, got.API.StallTimeout, tt.demo, tt.scale, tt.timeout, tt.stall)
		}
	}

	for _, args := range [][]string{
		{"check", "--demo", "--demo-scale"},
		{"repro", "--demo-scale", "--demo", "--provider", "Echo"},
		{"providers", "--demo", "--demo-scale"},
		{"doctor", "--demo-scale", "--demo"},
	} {
		code, _, stderr := run(t, nil, args...)
		want := "g4fdiag: --demo and --demo-scale are two targets; use one of them"
		if code != exitUsage || strings.TrimSpace(stderr) != want {
			t.Errorf("%v: exit %d, stderr:\n got %s\nwant %s", args, code, strings.TrimSpace(stderr), want)
		}
	}
}

// TestProvidersDemoScale: the catalog the worker reads from the generated
// g4f is the table's.
func TestProvidersDemoScale(t *testing.T) {
	code, out, stderr := run(t, os.Environ(), "providers", "--demo-scale", "--python", testPython(t), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type entry struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		Working   bool   `json:"working"`
		NeedsAuth bool   `json:"needs_auth"`
		Probe     bool   `json:"probe"`
	}
	var catalog []entry
	if err := json.Unmarshal([]byte(out), &catalog); err != nil {
		t.Fatal(err)
	}
	// g4fdiag's probes are listed too, marked: the fixture's own are the rest.
	catalog = slices.DeleteFunc(catalog, func(p entry) bool { return p.Probe })
	byName := map[string]int{}
	for i, p := range catalog {
		byName[p.Name] = i
	}
	want := scale.Providers()
	if len(catalog) != len(want) {
		t.Errorf("%d providers, want %d", len(catalog), len(want))
	}
	for _, p := range want {
		i, ok := byName[p.Name]
		if !ok {
			t.Errorf("%s missing from the catalog", p.Name)
			continue
		}
		c := catalog[i]
		if c.Kind != string(p.Kind.Shape) || c.Working != p.Kind.Working || c.NeedsAuth != p.Kind.NeedsAuth {
			t.Errorf("%s: %+v, want the %s row (%s, working %v, auth %v)", p.Name, c, p.Kind.ID,
				p.Kind.Shape, p.Kind.Working, p.Kind.NeedsAuth)
		}
	}
}

// scaleVerdict is the class a cell of a scale provider must get, from its
// mechanism alone (providers/scale's doc): each cell in a process of its
// own, one call.
func scaleVerdict(k *scale.Kind, mode, loop string) string {
	syncMode := mode == "sync" || mode == "sync-stream"
	switch {
	case !k.Working:
		return "not-working"
	case k.Shape == scale.AsyncGenerator && syncMode && loop != "nest":
		// to_sync_generator re-enters the running loop: refused on uvloop,
		// and on the stdlib loop without nest_asyncio, before the provider
		// runs a line.
		return "loop-reentry"
	case k.Outcome == scale.Hang && loop == "uvloop":
		return "provider-error" // uvloop refuses the wait at once
	case k.Outcome == scale.Hang && syncMode:
		return "loop-blocked" // the hung sync call holds the loop thread
	case k.Outcome == scale.Hang:
		return "timeout"
	}
	return string(k.Outcome)
}

// TestDemoScaleScan scans one provider of each kind of the scale fixture,
// for real, every mode on every loop, and checks every verdict against the
// mechanism. The isolation-sensitive kinds must look like any other
// provider of their shape: a verdict that depends on another cell means
// cells shared a process.
func TestDemoScaleScan(t *testing.T) {
	python := testPython(t)
	var names []string
	kinds := map[string]*scale.Kind{}
	for _, p := range scale.First() {
		names = append(names, p.Name)
		kinds[p.Name] = p.Kind
	}
	out := filepath.Join(t.TempDir(), "scan.json")
	start := time.Now()
	code, _, stderr := run(t, os.Environ(), "check", "--demo-scale", "--python", python,
		"--include-auth", "--include-not-working", "--provider", strings.Join(names, ","),
		"--jobs", "4", "--format", "json", "--output", out)
	t.Logf("scan of %d providers: %s", len(names), time.Since(start).Round(time.Millisecond))
	if code != exitFailures {
		t.Errorf("exit code = %d, want %d (stderr %s)", code, exitFailures, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r reportJSON
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if want := len(names) * 5 * 3; len(r.Cells) != want {
		t.Errorf("%d cells, want %d", len(r.Cells), want)
	}
	for _, c := range r.Cells {
		k := kinds[c.Provider]
		if k == nil {
			t.Errorf("cell of an unasked provider %s", c.Provider)
			continue
		}
		if want := scaleVerdict(k, c.Mode, c.Loop); c.Verdict != want {
			t.Errorf("%s (%s) %s/%s: %s [%s] %s; want %s", c.Provider, k.ID, c.Mode, c.Loop,
				c.Verdict, c.Signature, c.Evidence, want)
		}
		if c.Verdict == "loop-reentry" && c.Loop == "uvloop" && c.Signature != "reentry-uvloop" {
			t.Errorf("%s %s/uvloop: signature %s, want the documented conflict (reentry-uvloop)", c.Provider, c.Mode, c.Signature)
		}
	}
}
