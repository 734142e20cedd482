package scan

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateRemedyPlans = flag.Bool("update-remedy-plans", false, "rewrite testdata/remedy-plans.golden")

// TestPlanRemediesGolden pins what --verify-fixes plans for every mode
// (in-process and HTTP), loop (the server's too) and a few environments:
// the cell each remedy runs, or why not. The golden file was written by the
// hand-written planner the remedy table replaced, so the table keeps its
// behaviour.
func TestPlanRemediesGolden(t *testing.T) {
	t.Parallel()
	envs := []struct {
		name string
		env  Environment
	}{
		{"every loop", Environment{Loops: []LoopInfo{{Loop: LoopAsyncio, Available: true}, {Loop: LoopNest, Available: true}, {Loop: LoopUvloop, Available: true}}}},
		{"no nest_asyncio", Environment{Loops: []LoopInfo{{Loop: LoopAsyncio, Available: true}, {Loop: LoopNest, Reason: "nest_asyncio is not installed"}, {Loop: LoopUvloop, Available: true}}}},
		{"nothing known", Environment{}},
	}
	var b strings.Builder
	for _, e := range envs {
		fmt.Fprintf(&b, "# %s\n", e.name)
		for _, m := range append(append([]Mode{}, AllModes...), APIModes...) {
			for _, l := range append(append([]Loop{}, AllLoops...), LoopServer) {
				c := Cell{Provider: "P", Mode: m, Loop: l, Concurrency: 1, Repeat: 1}
				fmt.Fprintf(&b, "%s/%s:", m, l)
				for _, p := range PlanRemedies(c, e.env) {
					if p.Cell == nil {
						fmt.Fprintf(&b, " %s=n/a(%s)", p.Remedy, p.Note)
						continue
					}
					if p.Cell.Remedy != p.Remedy || p.Cell.Of != c.Key() || p.Cell.Provider != "P" {
						t.Errorf("%s %s: cell %+v", c.Key(), p.Remedy, *p.Cell)
					}
					fmt.Fprintf(&b, " %s=%s/%s", p.Remedy, p.Cell.Mode, p.Cell.Loop)
				}
				b.WriteString("\n")
			}
		}
	}
	golden := filepath.Join("testdata", "remedy-plans.golden")
	if *updateRemedyPlans {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("plans differ from %s (rewrite with -update-remedy-plans and review the diff):\n%s", golden, b.String())
	}
}
