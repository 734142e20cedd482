package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// shardsOf splits a scan the way check --shard i/n would have run it: each
// shard's report holds the observations of its cells, and of the remedies
// tried for them, and says which shard it is. Each goes through its JSON
// encoding and back, as the files merge reads.
func shardsOf(t *testing.T, whole Report, n int) []NamedReport {
	t.Helper()
	h := whole.Header()
	var out []NamedReport
	for i := 1; i <= n; i++ {
		sh := h
		sh.Plan.Shard = scan.Shard{Index: i, Count: n}
		mine := map[string]bool{}
		for _, c := range sh.Plan.Shard.Take(h.Plan.Cells(h.Providers)) {
			mine[c.Key()] = true
		}
		var obs []scan.Observation
		for _, o := range whole.Observations() {
			if key := o.Key(); mine[key] || (o.Remedy != "" && mine[o.Of]) {
				obs = append(obs, o)
			}
		}
		out = append(out, NamedReport{Name: fmt.Sprintf("scan-%d.json", i), Report: roundTrip(t, Build(sh, obs, false))})
	}
	return out
}

func roundTrip(t *testing.T, r Report) Report {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// TestMergeShardsGiveTheWholeScan is the done-when of sharding on the
// sample scan run with --verify-fixes: 1, 2, 3 or 4 shards merged, in any
// order, encode to the very JSON of the unsharded scan.
func TestMergeShardsGiveTheWholeScan(t *testing.T) {
	whole := roundTrip(t, markdownSample())
	want := jsonOf(t, whole)
	for n := 1; n <= 4; n++ {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			t.Parallel()
			shards := shardsOf(t, whole, n)
			for _, s := range shards {
				if n > 1 && len(s.Report.Cells) == len(whole.Cells) {
					t.Fatalf("shard %s holds every cell", s.Report.Plan.Shard)
				}
			}
			rng := rand.New(rand.NewPCG(3, uint64(n)))
			rng.Shuffle(len(shards), func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
			m, err := Merge(shards)
			if err != nil {
				t.Fatal(err)
			}
			if m.Count != n || len(m.MissingShards) != 0 || m.MissingCells != 0 {
				t.Errorf("count %d, missing shards %v, missing cells %d; want %d, none, 0",
					m.Count, m.MissingShards, m.MissingCells, n)
			}
			if got := jsonOf(t, m.Report); got != want {
				t.Errorf("the merged shards differ from the whole scan:\n%s", firstDiff(want, got))
			}
		})
	}
}

// firstDiff shows where two renderings part.
func firstDiff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(i-80, 0)
	return fmt.Sprintf("at byte %d:\nwant …%q\n got …%q", i, want[from:min(len(want), i+80)], got[from:min(len(got), i+80)])
}

func TestMergePartOfTheShards(t *testing.T) {
	t.Parallel()
	shards := shardsOf(t, sampleReport(), 4)
	m, err := Merge([]NamedReport{shards[2], shards[0]})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.MissingShards, []int{2, 4}) {
		t.Errorf("missing shards %v, want [2 4]", m.MissingShards)
	}
	if want := len(shards[1].Report.Cells) + len(shards[3].Report.Cells); m.MissingCells != want {
		t.Errorf("missing cells %d, want %d", m.MissingCells, want)
	}
	if got, want := len(m.Report.Cells), len(shards[0].Report.Cells)+len(shards[2].Report.Cells); got != want {
		t.Errorf("merged %d cells, want %d", got, want)
	}
	if !m.Report.Plan.Shard.Whole() {
		t.Errorf("merged report keeps shard %s", m.Report.Plan.Shard)
	}
}

func TestMergeInterrupted(t *testing.T) {
	t.Parallel()
	shards := shardsOf(t, sampleReport(), 2)
	shards[1].Report.Interrupted = true
	m, err := Merge(shards)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Report.Interrupted {
		t.Error("a merge with an interrupted shard is not interrupted")
	}
}

// TestMergeAllowsRunnerDifferences checks what may differ between runners
// of one scan: paths, --jobs, and the order providers, modes and loops come
// in.
func TestMergeAllowsRunnerDifferences(t *testing.T) {
	t.Parallel()
	shards := shardsOf(t, sampleReport(), 2)
	r := &shards[1].Report
	r.Plan.Jobs = 64
	r.Environment.Python = "/opt/hostedtoolcache/Python/3.11.2/x64/bin/python3"
	r.Environment.G4FPath = "/tmp/g4fdiag-demo-123/g4f"
	r.Plan.Providers = append([]string{r.Plan.Providers[len(r.Plan.Providers)-1]}, r.Plan.Providers[:len(r.Plan.Providers)-1]...)
	r.Plan.Modes = []scan.Mode{scan.ModeAsyncStream, scan.ModeAsync, scan.ModeSyncStream, scan.ModeSync, scan.ModeBaseline}
	r.Plan.Loops = []scan.Loop{scan.LoopUvloop, scan.LoopNest, scan.LoopAsyncio}
	if _, err := Merge(shards); err != nil {
		t.Fatal(err)
	}
}

// cloned copies what TestMergeRefuses changes in place.
func cloned(shards []NamedReport) []NamedReport {
	out := slices.Clone(shards)
	for i := range out {
		r := &out[i].Report
		r.Cells = slices.Clone(r.Cells)
		r.Environment.Loops = slices.Clone(r.Environment.Loops)
	}
	return out
}

func TestMergeRefuses(t *testing.T) {
	t.Parallel()
	sample := shardsOf(t, roundTrip(t, sampleReport()), 2)
	// The overlap case copies the first cell of the whole scan in report
	// order; let scan-1.json be the shard that has it.
	if c := sample[0].Report.Cells[0].Cell; c.Provider != "HealthySync" || c.Mode != scan.ModeBaseline || c.Loop != scan.LoopAsyncio {
		sample[0].Report, sample[1].Report = sample[1].Report, sample[0].Report
		sample[0].Report.Plan.Shard, sample[1].Report.Plan.Shard = scan.Shard{Index: 1, Count: 2}, scan.Shard{Index: 2, Count: 2}
	}
	tests := []struct {
		name   string
		change func(a, b *Report)
		err    string
	}{
		{"modes", func(_, b *Report) { b.Plan.Modes = []scan.Mode{scan.ModeSync} },
			"scan-1.json and scan-2.json scanned different plans: modes baseline,sync,sync-stream,async,async-stream vs sync"},
		{"loops", func(_, b *Report) { b.Plan.Loops = []scan.Loop{scan.LoopUvloop} },
			"scan-1.json and scan-2.json scanned different plans: loops asyncio,nest,uvloop vs uvloop"},
		{"providers", func(a, b *Report) {
			a.Plan.Providers = []string{"HealthySync", "NeedsAuth"}
			b.Plan.Providers = []string{"HealthySync", "Extra", "Other"}
		}, "scan-1.json and scan-2.json scanned different plans: providers NeedsAuth only in scan-1.json, Extra,Other only in scan-2.json"},
		{"model", func(_, b *Report) { b.Plan.Model = "gpt-4o" },
			"scan-1.json and scan-2.json scanned different plans: model (none) vs gpt-4o"},
		{"concurrency", func(_, b *Report) { b.Plan.Concurrency = 4 },
			"scan-1.json and scan-2.json scanned different plans: concurrency 2 vs 4"},
		{"api concurrency", func(_, b *Report) { b.Plan.APIConcurrency = 3 },
			"scan-1.json and scan-2.json scanned different plans: api concurrency 0 vs 3"},
		{"timeout", func(_, b *Report) { b.Plan.Timeout = 20 * time.Second },
			"scan-1.json and scan-2.json scanned different plans: timeout 5s vs 20s"},
		{"include auth", func(_, b *Report) { b.Plan.IncludeAuth = false },
			"scan-1.json and scan-2.json scanned different plans: include auth true vs false"},
		{"api", func(_, b *Report) { b.Plan.API = "http://localhost:1337" },
			"scan-1.json and scan-2.json scanned different plans: api (none) vs http://localhost:1337"},
		{"shard count", func(_, b *Report) { b.Plan.Shard = scan.Shard{Index: 2, Count: 3} },
			"scan-1.json and scan-2.json scanned different plans: shard 1/2 vs 2/3 (the shards of one scan share their count)"},
		{"python", func(_, b *Report) { b.Environment.PythonVersion = "3.12.1" },
			"scan-1.json and scan-2.json ran in different environments: python 3.11.2 vs 3.12.1 (merge shards of one interpreter and one g4f)"},
		{"g4f", func(_, b *Report) { b.Environment.Demo, b.Environment.G4FVersion = false, "0.5.1.2" },
			"scan-1.json and scan-2.json ran in different environments: g4f the demo vs installed 0.5.1.2 (merge shards of one interpreter and one g4f)"},
		{"uvloop", func(_, b *Report) {
			b.Environment.Loops = []scan.LoopInfo{b.Environment.Loops[0], b.Environment.Loops[1],
				{Loop: scan.LoopUvloop, Reason: "No module named 'uvloop'"}}
		}, "scan-1.json and scan-2.json ran in different environments: loop uvloop available (uvloop 0.17.0) vs unavailable (merge shards of one interpreter and one g4f)"},
		{"uvloop version", func(_, b *Report) { b.Environment.Loops[2].Version = "0.19.0" },
			"scan-1.json and scan-2.json ran in different environments: loop uvloop available (uvloop 0.17.0) vs available (uvloop 0.19.0) (merge shards of one interpreter and one g4f)"},
		{"same shard", func(_, b *Report) { b.Plan.Shard.Index = 1 },
			"scan-1.json and scan-2.json are both shard 1/2"},
		{"unsharded twice", func(a, b *Report) { a.Plan.Shard, b.Plan.Shard = scan.Shard{}, scan.Shard{Index: 1, Count: 1} },
			"scan-1.json and scan-2.json are both unsharded scans of one plan"},
		{"overlap", func(a, b *Report) { b.Cells = append(b.Cells, a.Cells[0]) },
			"cell HealthySync baseline/asyncio is in both scan-1.json and scan-2.json (overlapping shards?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shards := cloned(sample)
			tt.change(&shards[0].Report, &shards[1].Report)
			_, err := Merge(shards)
			if err == nil || err.Error() != tt.err {
				t.Errorf("error = %v\nwant    %s", err, tt.err)
			}
		})
	}
	if _, err := Merge(nil); err == nil || err.Error() != "no reports to merge" {
		t.Errorf("Merge(nil) error = %v", err)
	}
}

// jsonOf is the report as WriteJSON writes it.
func jsonOf(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
