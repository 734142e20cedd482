package scan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Shard
		err  string
	}{
		{in: "2/4", want: Shard{2, 4}},
		{in: "1/1", want: Shard{1, 1}},
		{in: "4/4", want: Shard{4, 4}},
		{in: " 3 / 7 ", want: Shard{3, 7}},
		{in: "5/4", err: "index must be between 1 and 4, got 5"},
		{in: "0/4", err: "index must be between 1 and 4, got 0"},
		{in: "-1/4", err: "index must be between 1 and 4, got -1"},
		{in: "1/0", err: "count must be at least 1, got 0"},
		{in: "2", err: "want INDEX/COUNT, such as 2/4"},
		{in: "", err: "want INDEX/COUNT, such as 2/4"},
		{in: "a/4", err: `index "a" is not a whole number`},
		{in: "1/four", err: `count "four" is not a whole number`},
		{in: "1/", err: `count "" is not a whole number`},
		{in: "1/2/3", err: `count "2/3" is not a whole number`},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseShard(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseShard(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseShard(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && got.String() != strings.ReplaceAll(tt.in, " ", "") {
			t.Errorf("ParseShard(%q).String() = %q", tt.in, got.String())
		}
	}
	if s := (Shard{}).String(); s != "1/1" {
		t.Errorf("zero Shard String() = %q, want 1/1", s)
	}
}

// sampleCells is a plan's worth of cells: providers × every mode × every
// loop, and the remedy cells of Provider00's sync ones, whose keys differ
// from their cells'.
func sampleCells(names []string) []Cell {
	p := Plan{Providers: names, Modes: append(append([]Mode{}, AllModes...), APIModes...), Loops: AllLoops,
		Concurrency: 1, Repeat: 1}
	cells := p.Cells(nil)
	for _, c := range cells {
		if c.Provider == "Provider00" && c.Mode == ModeSync {
			rc := c
			rc.Mode, rc.Remedy, rc.Of = ModeAsync, RemedyAsync, c.Key()
			cells = append(cells, rc)
		}
	}
	return cells
}

func sampleNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("Provider%02d", i)
	}
	return names
}

func keys(cells []Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.Key()
	}
	return out
}

// TestShardCoverage checks that the shards of every count split the cells
// exactly: each cell in one shard, sizes within one of each other, each
// shard in input order.
func TestShardCoverage(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 3, 7, 23} {
		cells := sampleCells(sampleNames(size))
		for n := 1; n <= 5; n++ {
			seen := map[string]string{}
			minLen, maxLen := len(cells), 0
			for i := 1; i <= n; i++ {
				s := Shard{i, n}
				got := s.Take(cells)
				minLen, maxLen = min(minLen, len(got)), max(maxLen, len(got))
				pos := -1
				for _, c := range got {
					if other, dup := seen[c.Key()]; dup {
						t.Errorf("%d cells, n=%d: %s is in shard %s and %s", len(cells), n, c.Key(), other, s)
					}
					seen[c.Key()] = s.String()
					at := slices.IndexFunc(cells, func(x Cell) bool { return x.Key() == c.Key() })
					if at <= pos {
						t.Errorf("%d cells, shard %s: %s out of input order", len(cells), s, c.Key())
					}
					pos = at
				}
			}
			if len(seen) != len(cells) {
				t.Errorf("%d cells, n=%d: the shards cover %d cells", len(cells), n, len(seen))
			}
			if len(cells) > 0 && maxLen-minLen > 1 {
				t.Errorf("%d cells, n=%d: shard sizes range %d..%d, want within 1", len(cells), n, minLen, maxLen)
			}
		}
	}
}

// TestShardStableUnderOrder checks that a cell's shard does not depend on
// the order of the providers (runners whose catalogs list them differently
// must still split one plan the same way).
func TestShardStableUnderOrder(t *testing.T) {
	t.Parallel()
	names := sampleNames(17)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 5 {
		perm := slices.Clone(names)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for n := 2; n <= 5; n++ {
			for i := 1; i <= n; i++ {
				s := Shard{i, n}
				want := keys(s.Take(sampleCells(names)))
				got := keys(s.Take(sampleCells(perm)))
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("trial %d, shard %s: providers in another order give another share:\n got %v\nwant %v", trial, s, got, want)
				}
			}
		}
	}
}

// TestShardSpreadsProviders checks that a provider's cells do not all land
// on one runner, which would make a slow provider one runner's problem.
func TestShardSpreadsProviders(t *testing.T) {
	t.Parallel()
	cells := sampleCells(sampleNames(8))
	for i := 1; i <= 4; i++ {
		providers := map[string]bool{}
		for _, c := range (Shard{i, 4}).Take(cells) {
			providers[c.Provider] = true
		}
		if len(providers) < 6 {
			t.Errorf("shard %d/4 holds cells of %d of 8 providers, want them spread", i, len(providers))
		}
	}
}

func TestShardWholeAndInvalid(t *testing.T) {
	t.Parallel()
	cells := sampleCells(sampleNames(3))
	for _, s := range []Shard{{}, {1, 1}} {
		if got := s.Take(cells); !reflect.DeepEqual(got, cells) {
			t.Errorf("shard %+v takes %d of %d cells, want all", s, len(got), len(cells))
		}
	}
	for _, s := range []Shard{{0, 4}, {5, 4}} {
		if got := s.Take(cells); len(got) != 0 {
			t.Errorf("invalid shard %+v takes %d cells, want none", s, len(got))
		}
	}
}

// TestPlanCellsShard checks that a plan runs its shard's cells only, and
// that the shard survives the plan's JSON encoding.
func TestPlanCellsShard(t *testing.T) {
	t.Parallel()
	catalog := []providers.Provider{{Name: "A"}, {Name: "B"}, {Name: "C"}}
	p := Plan{Providers: []string{"A", "B", "C"}, Modes: AllModes, Loops: AllLoops,
		Concurrency: 1, Repeat: 1, Timeout: time.Second, BlockThreshold: time.Second}
	all := p.Cells(catalog)
	total := 0
	for i := 1; i <= 3; i++ {
		sp := p
		sp.Shard = Shard{i, 3}
		got := sp.Cells(catalog)
		if want := sp.Shard.Take(all); !reflect.DeepEqual(got, want) {
			t.Errorf("plan %s cells = %v, want %v", sp.Shard, keys(got), keys(want))
		}
		total += len(got)

		data, err := json.Marshal(sp)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`"shard":"%d/3"`, i); !strings.Contains(string(data), want) {
			t.Errorf("plan JSON %s lacks %s", data, want)
		}
		var back Plan
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if back.Shard != sp.Shard {
			t.Errorf("shard round trip: %+v, want %+v", back.Shard, sp.Shard)
		}
	}
	if total != len(all) {
		t.Errorf("the plan's 3 shards hold %d cells, want %d", total, len(all))
	}

	whole, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(whole), "shard") {
		t.Errorf("an unsharded plan's JSON mentions a shard: %s", whole)
	}
	var bad Plan
	err = json.Unmarshal([]byte(`{"shard":"5/4","timeout":"1s","block_threshold":"1s"}`), &bad)
	if want := `plan shard "5/4": index must be between 1 and 4, got 5`; err == nil || err.Error() != want {
		t.Errorf("bad shard: error %v, want %q", err, want)
	}
}
