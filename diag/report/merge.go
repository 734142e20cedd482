package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// NamedReport is a report and the name it goes by — its file — so Merge's
// messages can say which inputs disagree.
type NamedReport struct {
	Name   string
	Report Report
}

// Merged is the one report of several shards of a scan, and what is known
// to be missing from it.
type Merged struct {
	Report Report
	// Count is n of the shards i/n merged; 1 when they were not sharded.
	Count int
	// MissingShards lists the indices of 1..Count no input is, ascending.
	// Merging part of the shards is legitimate mid-pipeline, so it is not
	// an error; the caller says so.
	MissingShards []int
	// MissingCells counts the plan's cells no input has: those of missing
	// shards and of interrupted ones.
	MissingCells int
}

// Merge combines the reports of shards of one scan (check --shard i/n) into
// the report the unsharded scan would have given: their observations,
// remedy re-runs included, rebuilt into one report with the shard cleared,
// interrupted if any input was.
//
// It refuses, naming the inputs, reports of different plans (anything but
// the shard index and --jobs, which is each runner's own), reports from
// different environments (Python, g4f or loop package versions; paths may
// differ from runner to runner), two inputs of the same shard, and a cell
// in two inputs.
func Merge(named []NamedReport) (Merged, error) {
	if len(named) == 0 {
		return Merged{}, errors.New("no reports to merge")
	}
	first := named[0]
	for _, nr := range named[1:] {
		if d := planDiff(first, nr); d != "" {
			return Merged{}, fmt.Errorf("%s and %s scanned different plans: %s", first.Name, nr.Name, d)
		}
		if d := envDiff(first.Report.Environment, nr.Report.Environment); d != "" {
			return Merged{}, fmt.Errorf("%s and %s ran in different environments: %s (merge shards of one interpreter and one g4f)",
				first.Name, nr.Name, d)
		}
	}

	count := max(first.Report.Plan.Shard.Count, 1)
	byShard := map[int]string{}
	byCell := map[string]string{}
	var obs []scan.Observation
	interrupted := false
	for _, nr := range named {
		r := nr.Report
		index := 1
		if !r.Plan.Shard.Whole() {
			index = r.Plan.Shard.Index
		}
		if other, dup := byShard[index]; dup {
			if count == 1 {
				return Merged{}, fmt.Errorf("%s and %s are both unsharded scans of one plan", other, nr.Name)
			}
			return Merged{}, fmt.Errorf("%s and %s are both shard %s", other, nr.Name, r.Plan.Shard)
		}
		byShard[index] = nr.Name
		// Remedy re-runs follow the cell they were tried for, so checking
		// the cells checks them too.
		for _, c := range r.Cells {
			if other, dup := byCell[c.Key()]; dup {
				return Merged{}, fmt.Errorf("cell %s %s/%s is in both %s and %s (overlapping shards?)",
					c.Provider, c.Mode, c.Loop, other, nr.Name)
			}
			byCell[c.Key()] = nr.Name
		}
		obs = append(obs, r.Observations()...)
		interrupted = interrupted || r.Interrupted
	}

	h := first.Report.Header()
	h.Plan.Shard = scan.Shard{}
	m := Merged{Report: Build(h, obs, interrupted), Count: count}
	for i := 1; i <= count; i++ {
		if _, ok := byShard[i]; !ok {
			m.MissingShards = append(m.MissingShards, i)
		}
	}
	for _, c := range h.Plan.Cells(h.Providers) {
		if _, ok := byCell[c.Key()]; !ok {
			m.MissingCells++
		}
	}
	return m, nil
}

// planDiff names the first field in which the plans of shards a and b
// differ, with both values, or returns "". The order of providers, modes
// and loops does not matter: it changes neither the cells nor their shards.
func planDiff(a, b NamedReport) string {
	pa, pb := a.Report.Plan, b.Report.Plan
	if d := setDiff(pa.Providers, pb.Providers, a.Name, b.Name); d != "" {
		return "providers " + d
	}
	if joinSet(pa.Modes) != joinSet(pb.Modes) {
		return fmt.Sprintf("modes %s vs %s", joinList(pa.Modes), joinList(pb.Modes))
	}
	if joinSet(pa.Loops) != joinSet(pb.Loops) {
		return fmt.Sprintf("loops %s vs %s", joinList(pa.Loops), joinList(pb.Loops))
	}
	fields := []struct{ name, a, b string }{
		{"model", pa.Model, pb.Model},
		{"concurrency", fmt.Sprint(pa.Concurrency), fmt.Sprint(pb.Concurrency)},
		{"api concurrency", fmt.Sprint(pa.APIConcurrency), fmt.Sprint(pb.APIConcurrency)},
		{"repeat", fmt.Sprint(pa.Repeat), fmt.Sprint(pb.Repeat)},
		{"timeout", pa.Timeout.String(), pb.Timeout.String()},
		{"block threshold", pa.BlockThreshold.String(), pb.BlockThreshold.String()},
		{"include not working", fmt.Sprint(pa.IncludeNotWorking), fmt.Sprint(pb.IncludeNotWorking)},
		{"include auth", fmt.Sprint(pa.IncludeAuth), fmt.Sprint(pb.IncludeAuth)},
		{"api", pa.API, pb.API},
	}
	for _, f := range fields {
		if f.a != f.b {
			return fmt.Sprintf("%s %s vs %s", f.name, display(f.a), display(f.b))
		}
	}
	if max(pa.Shard.Count, 1) != max(pb.Shard.Count, 1) {
		return fmt.Sprintf("shard %s vs %s (the shards of one scan share their count)", pa.Shard, pb.Shard)
	}
	return ""
}

// joinSet is a list as a set, for comparing: sorted, without repeats.
func joinSet[S ~string](xs []S) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// joinList is a list as given, for a message.
func joinList[S ~string](xs []S) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return display(strings.Join(s, ","))
}

// setDiff says which names only one of two lists holds, or returns "".
func setDiff(a, b []string, aName, bName string) string {
	only := func(x, y []string) []string {
		var out []string
		for _, s := range x {
			if !slices.Contains(y, s) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	names := func(xs []string) string {
		const most = 5
		if len(xs) > most {
			return fmt.Sprintf("%s and %d more", strings.Join(xs[:most], ","), len(xs)-most)
		}
		return strings.Join(xs, ",")
	}
	var parts []string
	if oa := only(a, b); len(oa) > 0 {
		parts = append(parts, names(oa)+" only in "+aName)
	}
	if ob := only(b, a); len(ob) > 0 {
		parts = append(parts, names(ob)+" only in "+bName)
	}
	return strings.Join(parts, ", ")
}

// envDiff names the first way two shards' environments differ that can
// change a verdict, or returns "". Paths are not compared: runners install
// the same interpreter and g4f in different places, and --demo writes the
// miniature g4f to a fresh directory each time.
func envDiff(a, b scan.Environment) string {
	switch {
	case a.PythonVersion != b.PythonVersion:
		return fmt.Sprintf("python %s vs %s", display(a.PythonVersion), display(b.PythonVersion))
	case a.Demo != b.Demo:
		return fmt.Sprintf("g4f %s vs %s", g4fOf(a), g4fOf(b))
	case a.G4FVersion != b.G4FVersion:
		return fmt.Sprintf("g4f %s vs %s", display(a.G4FVersion), display(b.G4FVersion))
	case a.NestModule != b.NestModule:
		return fmt.Sprintf("nest module %s vs %s", display(a.NestModule), display(b.NestModule))
	}
	var loops []scan.Loop
	for _, li := range append(slices.Clone(a.Loops), b.Loops...) {
		if !slices.Contains(loops, li.Loop) {
			loops = append(loops, li.Loop)
		}
	}
	for _, l := range loops {
		la, _ := a.Loop(l)
		lb, _ := b.Loop(l)
		if sa, sb := loopState(la), loopState(lb); sa != sb {
			return fmt.Sprintf("loop %s %s vs %s", l, sa, sb)
		}
	}
	return ""
}

func g4fOf(e scan.Environment) string {
	if e.Demo {
		return "the demo"
	}
	return "installed " + display(e.G4FVersion)
}

// loopState is what of a loop variant can change a verdict: whether it can
// be had, and which package and version provide it.
func loopState(li scan.LoopInfo) string {
	if li.Loop == "" {
		return "unknown"
	}
	if !li.Available {
		return "unavailable"
	}
	s := "available"
	if li.Package != "" {
		s += " (" + strings.TrimSpace(li.Package+" "+li.Version) + ")"
	}
	return s
}

// display shows an empty value as (none).
func display(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
