package versions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Version is one revision of the checkout: what the user named, its commit
// and subject.
type Version struct {
	Rev     string `json:"rev"`
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
}

// git runs git in repo and returns its trimmed stdout.
func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ArgError is a revision or cell the user named that does not fit: a
// revision that is no commit, a --good that is no ancestor of --bad, a
// cell whose verdict does not change. The other errors are the machine's
// (git, the cache, the interpreter).
type ArgError struct{ Msg string }

func (e *ArgError) Error() string { return e.Msg }

func argErrorf(format string, args ...any) error { return &ArgError{Msg: fmt.Sprintf(format, args...)} }

// Tags lists the checkout's tags, oldest first (git tag --sort=creatordate).
func Tags(ctx context.Context, repo string) ([]string, error) {
	out, err := git(ctx, repo, "tag", "--sort=creatordate")
	return lines(out), err
}

// Range lists the commits of A..B on the ancestry path, first-parent,
// oldest first, B included and A not.
func Range(ctx context.Context, repo, a, b string) ([]string, error) {
	for _, r := range []string{a, b} {
		if strings.HasPrefix(r, "-") || r == "" {
			return nil, argErrorf("revision %q is not a revision name (it would be read as a git option)", r)
		}
	}
	out, err := git(ctx, repo, "rev-list", "--reverse", "--first-parent", "--ancestry-path", a+".."+b)
	return lines(out), err
}

// Resolve names each revision's commit and subject.
func Resolve(ctx context.Context, repo string, revs []string) ([]Version, error) {
	vs := make([]Version, 0, len(revs))
	for _, r := range revs {
		if strings.HasPrefix(r, "-") || r == "" {
			return nil, argErrorf("revision %q is not a revision name (it would be read as a git option)", r)
		}
		out, err := git(ctx, repo, "log", "-1", "--format=%H%x00%s", r+"^{commit}", "--")
		if err != nil {
			return nil, argErrorf("revision %q is not a commit of %s: %v", r, repo, err)
		}
		h, s, _ := strings.Cut(out, "\x00")
		vs = append(vs, Version{Rev: r, Commit: h, Subject: s})
	}
	return vs, nil
}

// DefaultCache is os.UserCacheDir()/g4fdiag/versions.
func DefaultCache() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "g4fdiag", "versions"), nil
}

// Export writes commit's g4f/ to cache/COMMIT (git archive COMMIT g4f |
// tar -x) once, and returns that directory, the one to put on PYTHONPATH.
// A commit with no g4f/ is an error. The export goes to a temporary
// directory renamed into place, so a cut-short export is never reused.
func Export(ctx context.Context, repo, commit, cache string) (string, error) {
	dir := filepath.Join(cache, commit)
	if _, err := os.Stat(filepath.Join(dir, "g4f")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, commit+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	archive := exec.CommandContext(ctx, "git", "-C", repo, "archive", "--format=tar", commit, "g4f")
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", tmp)
	var aerr, terr bytes.Buffer
	archive.Stderr, untar.Stderr = &aerr, &terr
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		untar.Wait()
		return "", fmt.Errorf("git archive %s g4f: %v: %s", commit, err, strings.TrimSpace(aerr.String()))
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("tar -x of %s: %v: %s", commit, err, strings.TrimSpace(terr.String()))
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "g4f")); serr == nil {
			return dir, nil // another export won the race
		}
		return "", err
	}
	return dir, nil
}

// Target is base with dir first on PYTHONPATH and the probes registered.
func Target(base repro.Target, dir string) repro.Target {
	t := base
	t.Env = repro.WithProbes(repro.WithPythonPath(append([]string(nil), base.Env...), dir), true)
	t.Demo = false
	return t
}

// Cell is one cell's verdict in one version.
type Cell struct {
	Provider  string     `json:"provider"`
	Mode      scan.Mode  `json:"mode"`
	Loop      scan.Loop  `json:"loop"`
	Class     diag.Class `json:"verdict"`
	Signature string     `json:"signature,omitempty"`
}

// Key is PROVIDER/MODE/LOOP, the form of bisect's --cell.
func (c Cell) Key() string { return c.Provider + "/" + string(c.Mode) + "/" + string(c.Loop) }

// Result is one version's scan. Unavailable, when set, says why the version
// could not be scanned (the missing module, when an import failed), and
// Cells is empty.
type Result struct {
	Version
	Unavailable string        `json:"unavailable,omitempty"`
	Cells       []Cell        `json:"cells,omitempty"`
	Duration    time.Duration `json:"-"`
	DurationMS  float64       `json:"duration_ms"`
}

// Verdict returns the class of the cell key, or "" when the version has none.
func (r Result) Verdict(key string) diag.Class {
	for _, c := range r.Cells {
		if c.Key() == key {
			return c.Class
		}
	}
	return ""
}

var noModule = regexp.MustCompile(`No module named '([^']+)'`)

// unavailable names why a version could not start: the missing module when
// the import error says so, else the first line of the error.
func unavailable(err error) string {
	msg := err.Error()
	if m := noModule.FindStringSubmatch(msg); m != nil {
		return "missing module " + m[1]
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// Options is what Scan runs on a version.
type Options struct {
	Repo      string
	Cache     string
	Base      repro.Target // the interpreter and environment; PYTHONPATH is set per version
	Plan      scan.Plan    // Modes, Loops, Jobs, Timeout...; Providers are added to the probes
	Providers []string     // named providers besides the probes ("" probes only)
}

// Scan exports v, starts workers on it and runs the plan on the probes
// (and the named providers this version has). A version whose g4f does not
// import is a Result with Unavailable set, not an error; an error is for
// what is wrong whatever the version (git, the cache, ctx).
func Scan(ctx context.Context, o Options, v Version) (Result, error) {
	start := time.Now()
	res := Result{Version: v}
	dir, err := Export(ctx, o.Repo, v.Commit, o.Cache)
	if err != nil {
		return res, err
	}
	pool, err := repro.NewPool(Target(o.Base, dir), repro.PoolOptions{BlockThreshold: o.Plan.BlockThreshold})
	if err != nil {
		return res, err
	}
	defer pool.Close()
	env, catalog, err := pool.Start(ctx, o.Plan.Loops)
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var ee *repro.EnvError
		if !errors.As(err, &ee) {
			return res, err
		}
		res.Unavailable = unavailable(err)
		return finish(res, start), nil
	}
	plan := o.Plan
	plan.Providers = nil
	have := map[string]bool{}
	for _, p := range providers.Probes(catalog) {
		plan.Providers = append(plan.Providers, p.Name)
		have[p.Name] = true
	}
	for _, name := range o.Providers {
		for _, p := range catalog {
			if p.Name == name && !have[name] {
				plan.Providers = append(plan.Providers, name)
				have[name] = true
			}
		}
	}
	if len(plan.Providers) == 0 {
		res.Unavailable = "no probe registered in this g4f"
		return finish(res, start), nil
	}
	for obs := range repro.Run(ctx, pool, plan, catalog, env) {
		vd := diag.Classify(obs)
		res.Cells = append(res.Cells, Cell{Provider: obs.Provider, Mode: obs.Mode, Loop: obs.Loop,
			Class: vd.Class, Signature: vd.Signature})
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	order := map[string]int{}
	for i, c := range plan.Cells(catalog) {
		order[c.Provider+"/"+string(c.Mode)+"/"+string(c.Loop)] = i
	}
	sort.SliceStable(res.Cells, func(i, j int) bool { return order[res.Cells[i].Key()] < order[res.Cells[j].Key()] })
	return finish(res, start), nil
}

func finish(r Result, start time.Time) Result {
	r.Duration = time.Since(start)
	r.DurationMS = float64(r.Duration.Microseconds()) / 1000
	return r
}

func scanMode(s string) scan.Mode { return scan.Mode(s) }
func scanLoop(s string) scan.Loop { return scan.Loop(s) }
