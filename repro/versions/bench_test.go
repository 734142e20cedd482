package versions

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/upstream"
)

// benchOptions is what `g4fdiag versions` runs by default: every probe,
// every in-process mode, every loop variant, the loopback upstream on.
func benchOptions(b *testing.B, repo string) Options {
	o := options(b, repo)
	srv, err := upstream.Start(upstream.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	o.Base = repro.Target{Python: o.Base.Python, Env: srv.Env(os.Environ())}
	o.Plan.Modes, o.Plan.Loops, o.Plan.Timeout = scan.AllModes, scan.AllLoops, 20*time.Second
	return o
}

// BenchmarkScanVersion is the time of one version of the default matrix,
// its export from git included (a fresh cache each time):
//
//	G4FDIAG_PYTHON=/usr/bin/python3 go test ./repro/versions -run '^$' -bench ScanVersion -benchtime 5x
func BenchmarkScanVersion(b *testing.B) {
	o := benchOptions(b, b.TempDir())
	if _, err := BuildTestRepo(o.Repo, 1, gitEnv()); err != nil {
		b.Fatal(err)
	}
	vs, err := Resolve(context.Background(), o.Repo, []string{"v3"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		o.Cache = b.TempDir()
		r, err := Scan(context.Background(), o, vs[0])
		if err != nil || r.Unavailable != "" || len(r.Cells) == 0 {
			b.Fatalf("%v %q %d cells", err, r.Unavailable, len(r.Cells))
		}
	}
}

// BenchmarkBisect100 bisects one cell over the 101 commits of v1..v3 of
// the test repository, exports included (a fresh cache each time):
//
//	G4FDIAG_PYTHON=/usr/bin/python3 go test ./repro/versions -run '^$' -bench Bisect100 -benchtime 3x
func BenchmarkBisect100(b *testing.B) {
	o := benchOptions(b, b.TempDir())
	// 24 + the unimportable commit + its revert + 25 + the fix + 49: 101 commits after v1.
	tr, err := BuildTestRepo(o.Repo, 49, gitEnv())
	if err != nil {
		b.Fatal(err)
	}
	commits, err := Range(context.Background(), o.Repo, "v1", "v3")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(commits)), "commits")
	for i := 0; i < b.N; i++ {
		o.Cache = b.TempDir()
		bs, err := Bisect(context.Background(), o, "v1", "v3", "ProbeAsyncGenerator/async-stream/uvloop")
		if err != nil || bs.First.Commit != tr.Fix {
			b.Fatalf("%v: first %s, want %s", err, bs.First.Commit, tr.Fix)
		}
		b.ReportMetric(float64(len(bs.Steps)), "tested")
	}
}
