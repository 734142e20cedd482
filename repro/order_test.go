package repro_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestVerdictsDoNotDependOnOrder runs every cell of the demo scan in a
// shuffled order, twice, and finds the verdicts of the golden scan
// (testdata/demo-matrix.golden, run in plan order): no cell's verdict
// depends on which cells ran before or beside it.
func TestVerdictsDoNotDependOnOrder(t *testing.T) {
	python := reprotest.Python(t)
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	target := repro.Target{Python: python, Env: repro.WithPythonPath(os.Environ(), dir), Demo: true}
	want, err := os.ReadFile(filepath.Join("..", "testdata", "demo-matrix.golden"))
	if err != nil {
		t.Fatal(err)
	}
	wantLines := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
	sort.Strings(wantLines)

	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			pool, err := repro.NewPool(target, repro.PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			ctx := context.Background()
			env, catalog, err := pool.Start(ctx, scan.AllLoops)
			if err != nil {
				t.Fatal(err)
			}
			// what check --demo plans: every provider, mode and loop
			plan := scan.Plan{Modes: scan.AllModes, Loops: scan.AllLoops, Concurrency: 1, Repeat: 1,
				Jobs: 2, Timeout: 5 * time.Second, BlockThreshold: 2 * time.Second}
			byName := map[string]providers.Provider{}
			for _, pr := range catalog {
				plan.Providers = append(plan.Providers, pr.Name)
				byName[pr.Name] = pr
			}
			var decided []scan.Observation
			var todo []scan.Cell
			for _, c := range plan.Cells(catalog) {
				if obs, ok := repro.Decide(plan, c, byName[c.Provider], env); ok {
					decided = append(decided, obs)
				} else {
					todo = append(todo, c)
				}
			}
			rand.New(rand.NewSource(seed)).Shuffle(len(todo), func(i, j int) { todo[i], todo[j] = todo[j], todo[i] })
			var got []string
			for obs := range repro.RunCells(ctx, pool, decided, todo, plan.Jobs, plan.Timeout) {
				v := diag.Classify(obs)
				got = append(got, fmt.Sprintf("%-12s %-12s %-7s %-14s %s", obs.Provider, obs.Mode, obs.Loop, v.Class, v.Signature))
			}
			sort.Strings(got)
			if g, w := strings.Join(got, "\n"), strings.Join(wantLines, "\n"); g != w {
				t.Errorf("shuffled order (seed %d) changes verdicts:\n got:\n%s\nwant:\n%s", seed, g, w)
			}
		})
	}
}
