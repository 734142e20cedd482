package versions

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/g4fdiag/g4fdiag/providers"
)

// The demo's AsyncClient stream, as it is, and as it is when it goes
// through the sync wrapper (as g4f 0.3.5.8's does).
const (
	asyncStreamFixed  = "    async for chunk in iter_async(cls, model, messages, True, **kwargs):\n"
	asyncStreamBroken = "    for chunk in iter_sync(cls, model, messages, True, **kwargs):\n"
)

// TestRepo is a git repository of the demo miniature whose loop behaviour
// changes (BuildTestRepo).
type TestRepo struct {
	Dir string
	// Fix is the commit that makes AsyncClient's stream async again: the
	// first commit where async-stream's verdicts change.
	Fix string
}

// BuildTestRepo makes a git repository in dir: v1, the demo with
// AsyncClient streaming through the sync wrapper; filler commits before
// and after an unimportable one; the fix; more filler; v3 at the end. v2
// is the unimportable commit. filler is the number of commits on each side
// of the fix (at least 1). environ gives git its identity
// (GIT_AUTHOR_*, GIT_COMMITTER_*). It is for tests and benchmarks.
func BuildTestRepo(dir string, filler int, environ []string) (TestRepo, error) {
	return buildTestRepo(dir, filler, environ, false)
}

// BuildSkipTestRepo is BuildTestRepo with the fix committed while g4f
// does not import: v1, the unimportable commit (v2), the fix, the commit
// that makes g4f import again, filler, v3. The first commit that can be
// tested and differs is the one after the fix; bisect must skip the two
// before it and name all three as candidates.
func BuildSkipTestRepo(dir string, filler int, environ []string) (TestRepo, error) {
	return buildTestRepo(dir, filler, environ, true)
}

func buildTestRepo(dir string, filler int, environ []string, fixUnimportable bool) (TestRepo, error) {
	r := TestRepo{Dir: dir}
	run := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %v: %v: %s", args, err, out)
		}
		return string(bytes.TrimSpace(out)), nil
	}
	if _, err := providers.WriteDemo(dir); err != nil {
		return r, err
	}
	client := filepath.Join(dir, "g4f", "client", "__init__.py")
	fixed, err := os.ReadFile(client)
	if err != nil {
		return r, err
	}
	if !bytes.Contains(fixed, []byte(asyncStreamFixed)) {
		return r, fmt.Errorf("the demo's AsyncClient changed: %s has no %q", client, asyncStreamFixed)
	}
	broken := bytes.Replace(fixed, []byte(asyncStreamFixed), []byte(asyncStreamBroken), 1)
	initPy := filepath.Join(dir, "g4f", "__init__.py")
	initSrc, err := os.ReadFile(initPy)
	if err != nil {
		return r, err
	}
	notes := filepath.Join(dir, "NOTES")
	n := 0
	commit := func(msg string, paths ...string) error {
		if _, err := run(append([]string{"add", "--"}, paths...)...); err != nil {
			return err
		}
		_, err := run("commit", "-q", "--allow-empty", "-m", msg)
		return err
	}
	fill := func(k int) error {
		for i := 0; i < k; i++ {
			n++
			if err := os.WriteFile(notes, []byte(fmt.Sprintf("note %d\n", n)), 0o644); err != nil {
				return err
			}
			if err := commit(fmt.Sprintf("Notes %d", n), "NOTES"); err != nil {
				return err
			}
		}
		return nil
	}
	if filler < 1 {
		filler = 1
	}
	if _, err := run("init", "-q", "-b", "main"); err != nil {
		return r, err
	}
	if err := os.WriteFile(client, broken, 0o644); err != nil {
		return r, err
	}
	if err := commit("AsyncClient streams through the sync wrapper", "g4f"); err != nil {
		return r, err
	}
	if _, err := run("tag", "v1"); err != nil {
		return r, err
	}
	if err := fill(filler / 2); err != nil {
		return r, err
	}
	if err := os.WriteFile(initPy, append([]byte("import g4fdiag_missing_module\n"), initSrc...), 0o644); err != nil {
		return r, err
	}
	if err := commit("Import a module nobody has", "g4f"); err != nil {
		return r, err
	}
	if _, err := run("tag", "v2"); err != nil {
		return r, err
	}
	fix := func() error {
		if err := os.WriteFile(client, fixed, 0o644); err != nil {
			return err
		}
		if err := commit("AsyncClient streams the provider's async generator", "g4f"); err != nil {
			return err
		}
		var err error
		r.Fix, err = run("rev-parse", "HEAD")
		return err
	}
	if fixUnimportable {
		if err := fix(); err != nil {
			return r, err
		}
	}
	if err := os.WriteFile(initPy, initSrc, 0o644); err != nil {
		return r, err
	}
	if err := commit("Drop the import again", "g4f"); err != nil {
		return r, err
	}
	if !fixUnimportable {
		if err := fill(filler - filler/2); err != nil {
			return r, err
		}
		if err := fix(); err != nil {
			return r, err
		}
	}
	if err := fill(filler); err != nil {
		return r, err
	}
	if _, err := run("tag", "v3"); err != nil {
		return r, err
	}
	return r, nil
}
