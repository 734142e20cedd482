package report

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// sampleWith is the sample scan with some cells replaced (by provider, mode
// and loop) and some left out.
func sampleWith(replace []scan.Observation, drop ...scan.Cell) Report {
	return Build(sampleHeader(), sample.ObservationsWith(replace, drop...), false)
}

func key(p string, m scan.Mode, l scan.Loop, c diag.Class, sig string) CellKey {
	return CellKey{Provider: p, Mode: m, Loop: l, Class: c, Signature: sig}
}

func TestCompareWithItself(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	for _, spec := range []string{"", "any", "loop-reentry,stall"} {
		set, err := diag.ParseClassSet(spec)
		if err != nil {
			t.Fatal(err)
		}
		c := Compare(r, r, set)
		if len(c.New) != 0 || len(c.Fixed) != 0 || len(c.Gone) != 0 || c.Regressed() {
			t.Errorf("%q: %+v", spec, c)
		}
		if !reflect.DeepEqual(c.Still, Failing(r, set)) || len(c.Still) == 0 {
			t.Errorf("%q: still %v, failing %v", spec, c.Still, Failing(r, set))
		}
	}
	if n := len(Failing(r, diag.ClassSet{})); n != r.Summary.LoopFailures {
		t.Errorf("%d failing under the default set, %d loop failures", n, r.Summary.LoopFailures)
	}
}

func TestCompareNewFailure(t *testing.T) {
	t.Parallel()
	base := sampleReport()
	// HealthySync fails like AsyncGenHealthy now, and a new provider's cell
	// that fails was not in the baseline at all
	broken := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	broken.Provider = "HealthySync"
	cur := sampleWith([]scan.Observation{broken})
	c := Compare(base, cur, diag.ClassSet{})
	want := []CellKey{key("HealthySync", scan.ModeSync, scan.LoopUvloop, diag.ClassLoopReentry, "reentry-uvloop")}
	if !reflect.DeepEqual(c.New, want) || len(c.Fixed) != 0 || len(c.Gone) != 0 || !c.Regressed() {
		t.Errorf("new %v fixed %v gone %v", c.New, c.Fixed, c.Gone)
	}
	if len(c.Still) != base.Summary.LoopFailures {
		t.Errorf("%d still failing, want %d", len(c.Still), base.Summary.LoopFailures)
	}

	// a cell absent from the baseline is new
	base = sampleWith(nil, scan.Cell{Provider: "ThreadLocalLoop", Mode: scan.ModeBaseline, Loop: scan.LoopNest})
	c = Compare(base, sampleReport(), diag.ClassSet{})
	want = []CellKey{key("ThreadLocalLoop", scan.ModeBaseline, scan.LoopNest, diag.ClassLoopMissing, "missing-thread-loop")}
	if !reflect.DeepEqual(c.New, want) {
		t.Errorf("new %v, want %v", c.New, want)
	}

	// a network failure is new only when the set asks for it
	down := sample.Cell("NetworkDown", scan.ModeSync, scan.LoopNest)
	down.Provider = "HealthySync"
	cur = sampleWith([]scan.Observation{down})
	if c := Compare(sampleReport(), cur, diag.ClassSet{}); len(c.New) != 0 {
		t.Errorf("network failure is new under loop: %v", c.New)
	}
	for _, spec := range []string{"any", "network", "loop,network"} {
		set, _ := diag.ParseClassSet(spec)
		c := Compare(sampleReport(), cur, set)
		if len(c.New) != 1 || c.New[0].Class != diag.ClassNetwork || c.New[0].Provider != "HealthySync" {
			t.Errorf("%s: new %v", spec, c.New)
		}
	}
}

func TestCompareFixed(t *testing.T) {
	t.Parallel()
	base := sampleReport()
	fixed := sample.Cell("HealthySync", scan.ModeSync, scan.LoopUvloop)
	fixed.Provider = "AsyncGenHealthy"
	unavailable := sample.Cell("DeadlockLoop", scan.ModeSync, scan.LoopNest)
	unavailable.End, unavailable.Calls, unavailable.Stacks = scan.EndUnavailable, nil, nil
	cur := sampleWith([]scan.Observation{fixed, unavailable},
		scan.Cell{Provider: "BlockingSleep", Mode: scan.ModeSync, Loop: scan.LoopUvloop})
	c := Compare(base, cur, diag.ClassSet{})
	wantFixed := []CellKey{key("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop, diag.ClassLoopReentry, "reentry-uvloop")}
	wantGone := []CellKey{
		key("DeadlockLoop", scan.ModeSync, scan.LoopNest, diag.ClassDeadlock, "deadlock-loop-thread"),
		key("BlockingSleep", scan.ModeSync, scan.LoopUvloop, diag.ClassLoopBlocked, "loop-thread-blocked"),
	}
	if len(c.New) != 0 || !reflect.DeepEqual(c.Fixed, wantFixed) || !reflect.DeepEqual(c.Gone, wantGone) || c.Regressed() {
		t.Errorf("new %v\nfixed %v\ngone %v", c.New, c.Fixed, c.Gone)
	}
	if len(c.Still) != base.Summary.LoopFailures-3 {
		t.Errorf("%d still failing", len(c.Still))
	}
	// the other way round, the fixed cell is new and the ones that did not
	// run in the baseline are new too
	back := Compare(cur, base, diag.ClassSet{})
	if len(back.New) != 3 || len(back.Fixed) != 0 {
		t.Errorf("reversed: new %v fixed %v", back.New, back.Fixed)
	}
}

func TestComparisonJSON(t *testing.T) {
	t.Parallel()
	set, _ := diag.ParseClassSet("loop,stall")
	c := Compare(sampleReport(), sampleReport(), set)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{`"fail_on":"loop,stall"`, `"new":[]`, `"fixed":[]`, `"gone":[]`,
		`{"provider":"AsyncGenHealthy","mode":"sync","loop":"asyncio","class":"loop-reentry","signature":"reentry-stdlib"}`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s:\n%s", want, s)
		}
	}
	var back Comparison
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("JSON round trip:\n%+v\n%+v", back, c)
	}
}

// TestNewGate: without a baseline the gate fails on every cell failing under
// --fail-on, with one on the new failures only; a saved report never
// carries the gate.
func TestNewGate(t *testing.T) {
	t.Parallel()
	any, err := diag.ParseClassSet("any")
	if err != nil {
		t.Fatal(err)
	}
	base := sampleReport()
	broken := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	broken.Provider = "HealthySync"
	cur := sampleWith([]scan.Observation{broken})

	g := NewGate(cur, any, "", nil)
	if g.Comparison != nil || g.Baseline != "" || !reflect.DeepEqual(g.Failing, Failing(cur, any)) || !g.Failed() {
		t.Errorf("without a baseline: %+v", g)
	}
	g = NewGate(cur, any, "base.json", &base)
	want := Compare(base, cur, any)
	if g.Comparison == nil || !reflect.DeepEqual(*g.Comparison, want) || g.Baseline != "base.json" {
		t.Fatalf("with a baseline: %+v", g)
	}
	if !reflect.DeepEqual(g.Failing, want.New) || len(g.Failing) != 1 || !g.Failed() {
		t.Errorf("failing %v, want the new %v", g.Failing, want.New)
	}
	if g := NewGate(base, any, "base.json", &base); g.Failed() || len(g.Failing) != 0 {
		t.Errorf("against itself: %+v", g)
	}

	var plain, gated strings.Builder
	if err := WriteJSON(&plain, cur); err != nil {
		t.Fatal(err)
	}
	cur.Gate = g
	if err := WriteJSON(&gated, cur); err != nil {
		t.Fatal(err)
	}
	if plain.String() != gated.String() {
		t.Errorf("the gate reached the saved report:\n%s", gated.String())
	}
}
