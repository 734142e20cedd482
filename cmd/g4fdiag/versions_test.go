package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/versions"
)

// versionsRepo builds the test repository of repro/versions: v1 with
// AsyncClient streaming through the sync wrapper, v2 unimportable, v3
// fixed, filler commits around the fix.
func versionsRepo(t *testing.T, filler int) versions.TestRepo {
	t.Helper()
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	r, err := versions.BuildTestRepo(t.TempDir(), filler, env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVersionsChangeTable: versions on the test repository prints the
// change table and the summary lines, v2 unavailable with its module.
func TestVersionsChangeTable(t *testing.T) {
	python := testPython(t)
	r := versionsRepo(t, 2)
	out := filepath.Join(t.TempDir(), "versions.json")
	code, stdout, stderr := run(t, os.Environ(), "versions", "--repo", r.Dir, "--python", python, "--cache", t.TempDir(),
		"--modes", "sync,async-stream", "--loops", "asyncio,uvloop", "-o", "json="+out)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	t.Log(stdout)
	for _, want := range []string{
		"  v2 unavailable: missing module g4fdiag_missing_module\n",
		"*ok",
		"  async-stream/uvloop: loop-reentry up to v1, ok from v3\n",
		"  sync/uvloop: loop-reentry in every version scanned\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout has no %q", want)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Versions []versions.Result `json:"versions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Versions) != 3 {
		t.Fatalf("json: %v, %d versions", err, len(doc.Versions))
	}
}

// TestBisectCommand names the fix commit with its subject and the diff stat.
func TestBisectCommand(t *testing.T) {
	python := testPython(t)
	r := versionsRepo(t, 10)
	code, stdout, stderr := run(t, os.Environ(), "bisect", "--repo", r.Dir, "--python", python, "--cache", t.TempDir(),
		"--good", "v1", "--bad", "v3", "--cell", "ProbeAsyncGenerator/async-stream/uvloop")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	t.Log(stdout)
	for _, want := range []string{
		"first commit where it is no longer loop-reentry: " + r.Fix + " AsyncClient streams the provider's async generator",
		"g4f/client/__init__.py",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout has no %q", want)
		}
	}
	cache := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--good", "v1", "--bad", "v3", "--cell", "nope"}, "PROVIDER/MODE/LOOP"},
		{[]string{"--good", "v0", "--bad", "v3", "--cell", "ProbeAsyncGenerator/sync/uvloop"}, `revision "v0" is not a commit`},
		{[]string{"--good", "v3", "--bad", "v1", "--cell", "ProbeAsyncGenerator/sync/uvloop"}, "v3 is not an ancestor of v1"},
		{[]string{"--good", "v1", "--bad", "v3", "--cell", "ProbeAsyncGenerator/sync/uvloop"}, "nothing to bisect"},
		{[]string{"--good", "v2", "--bad", "v3", "--cell", "ProbeAsyncGenerator/sync/uvloop"}, "--good v2 cannot be tested: missing module g4fdiag_missing_module"},
	} {
		code, _, stderr = run(t, os.Environ(), append([]string{"bisect", "--repo", r.Dir, "--python", python, "--cache", cache}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %s; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
	if code, _, stderr := run(t, os.Environ(), "versions", "--python", python); code != exitUsage || !strings.Contains(stderr, "needs --repo PATH") {
		t.Errorf("versions without --repo: exit %d, stderr %s", code, stderr)
	}
}
