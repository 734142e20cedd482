package versions

import (
	"context"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
)

// Step is one commit bisect tested.
type Step struct {
	Version
	Class       diag.Class `json:"verdict,omitempty"`
	Unavailable string     `json:"unavailable,omitempty"` // skipped, as git bisect skip
}

// Bisection is bisect's answer. First is the first commit whose verdict
// differs from Good's; when skipped commits hide it, First is the first
// testable commit after them and Candidates lists every commit it may be.
type Bisection struct {
	Cell       string     `json:"cell"`
	Good, Bad  Step       `json:"-"`
	GoodClass  diag.Class `json:"good_verdict"`
	BadClass   diag.Class `json:"bad_verdict"`
	First      Version    `json:"first"`
	Candidates []Version  `json:"candidates,omitempty"`
	Steps      []Step     `json:"steps"`
	Commits    int        `json:"commits"`  // in GOOD..BAD
	DiffStat   string     `json:"diffstat"` // of g4f's loop code, First^..First
}

// LoopCode is the part of g4f whose diff bisect shows.
var LoopCode = []string{"g4f/providers/asyncio.py", "g4f/client/", "g4f/api/"}

// Bisect finds the first commit of GOOD..BAD (first-parent, ancestry path)
// at which the verdict of cell (PROVIDER/MODE/LOOP) differs from GOOD's,
// testing by halving. o.Plan is narrowed to the cell's mode and loop and
// o.Providers to its provider. A commit that cannot be tested is skipped.
func Bisect(ctx context.Context, o Options, good, bad, cell string) (Bisection, error) {
	b := Bisection{Cell: cell}
	parts := strings.Split(cell, "/")
	if len(parts) != 3 {
		return b, argErrorf("--cell %q is not PROVIDER/MODE/LOOP (e.g. ProbeAsyncGenerator/sync/uvloop)", cell)
	}
	o.Providers = []string{parts[0]}
	o.Plan.Modes = nil
	o.Plan.Loops = nil
	for _, m := range []string{parts[1]} {
		o.Plan.Modes = append(o.Plan.Modes, scanMode(m))
	}
	o.Plan.Loops = append(o.Plan.Loops, scanLoop(parts[2]))
	ends, err := Resolve(ctx, o.Repo, []string{good, bad})
	if err != nil {
		return b, err
	}
	commits, err := Range(ctx, o.Repo, ends[0].Commit, ends[1].Commit)
	if err != nil {
		return b, argErrorf("%v", err)
	}
	if len(commits) == 0 {
		return b, argErrorf("%s is not an ancestor of %s: no commits between them", good, bad)
	}
	b.Commits = len(commits)
	test := func(v Version) (Step, error) {
		r, err := Scan(ctx, o, v)
		if err != nil {
			return Step{}, err
		}
		s := Step{Version: v, Unavailable: r.Unavailable}
		if s.Unavailable == "" {
			if s.Class = r.Verdict(cell); s.Class == "" {
				s.Unavailable = "the cell " + cell + " is not in this version's scan"
			}
		}
		b.Steps = append(b.Steps, s)
		return s, nil
	}
	if b.Good, err = test(ends[0]); err != nil {
		return b, err
	}
	if b.Good.Unavailable != "" {
		return b, argErrorf("--good %s cannot be tested: %s", good, b.Good.Unavailable)
	}
	if b.Bad, err = test(ends[1]); err != nil {
		return b, err
	}
	if b.Bad.Unavailable != "" {
		return b, argErrorf("--bad %s cannot be tested: %s", bad, b.Bad.Unavailable)
	}
	b.GoodClass, b.BadClass = b.Good.Class, b.Bad.Class
	if b.Good.Class == b.Bad.Class {
		return b, argErrorf("%s has the same verdict (%s) at %s and %s: nothing to bisect", cell, b.Good.Class, good, bad)
	}
	// lo: last index known to be as good (-1 is GOOD); hi: first index known
	// to differ (len-1 is BAD). skipped: indices that cannot be tested.
	lo, hi := -1, len(commits)-1
	skipped := map[int]bool{}
	for hi-lo > 1 {
		mid := pickUntested(lo, hi, skipped)
		if mid < 0 {
			break
		}
		vs, err := Resolve(ctx, o.Repo, []string{commits[mid]})
		if err != nil {
			return b, err
		}
		s, err := test(vs[0])
		if err != nil {
			return b, err
		}
		switch {
		case s.Unavailable != "":
			skipped[mid] = true
		case s.Class == b.Good.Class:
			lo = mid
		default:
			hi = mid
		}
	}
	vs, err := Resolve(ctx, o.Repo, commits[lo+1:hi+1])
	if err != nil {
		return b, err
	}
	b.First = vs[len(vs)-1]
	if len(vs) > 1 {
		b.Candidates = vs
	}
	args := append([]string{"diff", "--stat", b.First.Commit + "^", b.First.Commit, "--"}, LoopCode...)
	if b.DiffStat, err = git(ctx, o.Repo, args...); err != nil {
		// The first commit of the history has no parent.
		b.DiffStat = ""
	}
	return b, nil
}

// pickUntested is the middle of (lo, hi) or, when skipped, the nearest
// index to it not skipped; -1 when every index between is skipped.
func pickUntested(lo, hi int, skipped map[int]bool) int {
	mid := (lo + hi) / 2
	for d := 0; mid-d > lo || mid+d < hi; d++ {
		if i := mid - d; i > lo && i < hi && !skipped[i] {
			return i
		}
		if i := mid + d; i > lo && i < hi && !skipped[i] {
			return i
		}
	}
	return -1
}
