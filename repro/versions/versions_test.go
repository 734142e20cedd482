package versions

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func testPython(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("G4FDIAG_PYTHON")
	if p == "" {
		tb.Skip("set G4FDIAG_PYTHON to run scans on real Python")
	}
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("no git on PATH")
	}
	return p
}

// GitEnv is the environment git runs in for the test repositories: a fixed
// identity and dates, no user or system configuration.
func gitEnv() []string {
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	return env
}

func options(tb testing.TB, repo string) Options {
	python := testPython(tb)
	return Options{
		Repo: repo, Cache: tb.TempDir(),
		Base: repro.Target{Python: python, Env: os.Environ()},
		Plan: scan.Plan{Modes: []scan.Mode{scan.ModeAsyncStream, scan.ModeSync}, Loops: []scan.Loop{scan.LoopAsyncio, scan.LoopUvloop},
			Concurrency: 1, Repeat: 1, Jobs: 2, Timeout: 20 * time.Second, BlockThreshold: 2 * time.Second},
	}
}

// TestScanVersions: v1 (AsyncClient through the sync wrapper) fails
// async-stream on uvloop, v2 is unavailable naming its missing module, v3
// (fixed) passes it; the user's checkout is left as it was.
func TestScanVersions(t *testing.T) {
	o := options(t, t.TempDir())
	tr, err := BuildTestRepo(o.Repo, 2, gitEnv())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tags, err := Tags(ctx, o.Repo)
	if err != nil || strings.Join(tags, ",") != "v1,v2,v3" {
		t.Fatalf("tags %v, %v; want v1,v2,v3", tags, err)
	}
	vs, err := Resolve(ctx, o.Repo, tags)
	if err != nil {
		t.Fatal(err)
	}
	rs := make([]Result, len(vs))
	for i, v := range vs {
		if rs[i], err = Scan(ctx, o, v); err != nil {
			t.Fatalf("%s: %v", v.Rev, err)
		}
		t.Logf("%s in %v: %+v %s", v.Rev, rs[i].Duration, rs[i].Cells, rs[i].Unavailable)
	}
	key := "ProbeAsyncGenerator/async-stream/uvloop"
	if c := rs[0].Verdict(key); c == "ok" || c == "" {
		t.Errorf("v1 %s = %q, want a loop failure", key, c)
	}
	if rs[1].Unavailable != "missing module g4fdiag_missing_module" {
		t.Errorf("v2 unavailable %q, want the missing module named", rs[1].Unavailable)
	}
	if c := rs[2].Verdict(key); c != "ok" {
		t.Errorf("v3 %s = %q, want ok", key, c)
	}
	if _, err := os.Stat(filepath.Join(o.Cache, vs[0].Commit, "g4f", "__init__.py")); err != nil {
		t.Errorf("no export in the cache: %v", err)
	}
	cmd := exec.Command("git", "-C", o.Repo, "status", "--porcelain")
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Errorf("the checkout changed: %q %v", out, err)
	}
	_ = tr
}

// TestBisect names the fix commit of the test repository, skipping the
// unimportable one.
func TestBisect(t *testing.T) {
	o := options(t, t.TempDir())
	tr, err := BuildTestRepo(o.Repo, 6, gitEnv())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bisect(context.Background(), o, "v1", "v3", "ProbeAsyncGenerator/async-stream/uvloop")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Steps {
		t.Logf("%s %s %s %s", s.Commit[:8], s.Subject, s.Class, s.Unavailable)
	}
	if b.First.Commit != tr.Fix {
		t.Fatalf("first commit %s %q, want the fix %s", b.First.Commit, b.First.Subject, tr.Fix)
	}
	if !strings.Contains(b.DiffStat, "g4f/client/__init__.py") {
		t.Errorf("diff stat %q does not name g4f/client/__init__.py", b.DiffStat)
	}
	if b.GoodClass == "ok" || b.BadClass != "ok" {
		t.Errorf("good %s bad %s, want a failure then ok", b.GoodClass, b.BadClass)
	}
}

// TestBisectSkips: when the fix is committed while g4f does not import,
// bisect skips the commits it cannot test, as git bisect skip does, and
// names every commit the change may be in.
func TestBisectSkips(t *testing.T) {
	o := options(t, t.TempDir())
	tr, err := BuildSkipTestRepo(o.Repo, 4, gitEnv())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bisect(context.Background(), o, "v1", "v3", "ProbeAsyncGenerator/async-stream/uvloop")
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, s := range b.Steps {
		t.Logf("%s %s %s %s", s.Commit[:8], s.Subject, s.Class, s.Unavailable)
		if s.Unavailable != "" {
			skipped++
		}
	}
	if skipped == 0 {
		t.Errorf("no commit skipped")
	}
	if b.First.Subject != "Drop the import again" {
		t.Errorf("first testable commit %q, want the one that makes g4f import again", b.First.Subject)
	}
	var names []string
	for _, v := range b.Candidates {
		names = append(names, v.Subject)
		if v.Commit == tr.Fix {
			return
		}
	}
	t.Errorf("candidates %q do not include the fix", names)
}

func TestPickUntested(t *testing.T) {
	for _, c := range []struct {
		lo, hi  int
		skipped []int
		want    int
	}{
		{-1, 9, nil, 4},
		{-1, 9, []int{4}, 3},
		{-1, 9, []int{4, 3}, 5},
		{2, 4, []int{3}, -1},
		{2, 3, nil, -1},
	} {
		sk := map[int]bool{}
		for _, i := range c.skipped {
			sk[i] = true
		}
		if got := pickUntested(c.lo, c.hi, sk); got != c.want {
			t.Errorf("pickUntested(%d, %d, %v) = %d, want %d", c.lo, c.hi, c.skipped, got, c.want)
		}
	}
}

// TestRevisionsAreNotOptions: a revision that starts with "-" is refused
// before git sees it (git log --output=FILE would write a file).
func TestRevisionsAreNotOptions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	repo, out := t.TempDir(), t.TempDir()
	if _, err := BuildTestRepo(repo, 1, gitEnv()); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"--output=" + filepath.Join(out, "x"), "-p", ""} {
		if _, err := Resolve(context.Background(), repo, []string{r}); err == nil {
			t.Errorf("Resolve(%q) gave no error", r)
		}
		if _, err := Range(context.Background(), repo, r, "HEAD"); err == nil {
			t.Errorf("Range(%q) gave no error", r)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("git wrote %s", ents[0].Name())
	}
}
