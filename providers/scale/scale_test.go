package scale

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

// TestMix: the table adds up to g4f 0.3.5.8's figures, and has the state
// the isolation tests need.
func TestMix(t *testing.T) {
	t.Parallel()
	got := Count(Kinds)
	want := G4F0358
	want.Stateful, want.IsolationSensitive = got.Stateful, got.IsolationSensitive
	if got != want {
		t.Errorf("mix = %+v\nwant %+v", got, want)
	}
	if got.Stateful < 3 || got.IsolationSensitive < 1 {
		t.Errorf("stateful %d, isolation-sensitive %d: want several and at least one", got.Stateful, got.IsolationSensitive)
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	ids := map[string]bool{}
	templates := map[string]bool{}
	for _, k := range Kinds {
		if ids[k.ID] {
			t.Errorf("kind %s twice", k.ID)
		}
		ids[k.ID] = true
		if k.Count < 1 || k.Prefix == "" || k.Summary == "" || k.template == "" {
			t.Errorf("kind %s: incomplete row %+v", k.ID, k)
		}
		if (k.State == "") && k.Sharing != Harmless {
			t.Errorf("kind %s: state that leaks must be named", k.ID)
		}
		templates[k.template] = true
	}
	names := map[string]bool{}
	for _, p := range Providers() {
		if names[p.Name] {
			t.Errorf("provider %s twice", p.Name)
		}
		names[p.Name] = true
	}
	if len(names) != G4F0358.Providers {
		t.Errorf("%d provider names, want %d", len(names), G4F0358.Providers)
	}
	if n := len(First()); n != len(Kinds) {
		t.Errorf("First() = %d providers, want one per kind (%d)", n, len(Kinds))
	}
}

// TestDocTable: the table in doc.go lists every row of Kinds with its count,
// in order.
func TestDocTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^//\t([a-z-]+)\s+(\d+)\s+(yes|no)\s+(yes|no)\s`)
	var got, want []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	for _, k := range Kinds {
		want = append(want, strings.Join([]string{k.ID, strconv.Itoa(k.Count), yesNo(k.Working), yesNo(k.NeedsAuth)}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("doc.go table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestWriteIsDeterministic: two runs write the same files, byte for byte,
// and the demo's own providers are gone.
func TestWriteIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := tree(t, t.TempDir()), tree(t, t.TempDir())
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between runs", name)
		}
	}
	for _, p := range Providers() {
		if _, ok := a["g4f/Provider/"+p.Name+".py"]; !ok {
			t.Errorf("no module for %s", p.Name)
		}
	}
	for _, demo := range []string{"EchoSync", "StreamAsync", "Crowded", "Retired"} {
		if _, ok := a["g4f/Provider/"+demo+".py"]; ok {
			t.Errorf("the demo's %s is still there", demo)
		}
	}
	for _, keep := range []string{"g4f/__init__.py", "g4f/client/__init__.py", "g4f/providers/asyncio.py", "g4f/api/__init__.py"} {
		if _, ok := a[keep]; !ok {
			t.Errorf("the demo's %s is missing", keep)
		}
	}
}

// tree writes the fixture into dir and returns its files by slash path.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// census is what testdata/census.py reports.
type census struct {
	Counts struct {
		Providers          int `json:"providers"`
		Names              int `json:"names"`
		NotWorking         int `json:"not_working"`
		NeedsAuth          int `json:"needs_auth"`
		UvloopBreaking     int `json:"uvloop_breaking"`
		UvloopBreakingAuth int `json:"uvloop_breaking_auth"`
	} `json:"counts"`
	Providers map[string]struct {
		Working   bool     `json:"working"`
		NeedsAuth bool     `json:"needs_auth"`
		Shape     Shape    `json:"shape"`
		Alone     Outcome  `json:"alone"`
		Error     string   `json:"error"`
		After     Outcome  `json:"after"`
		Together  []string `json:"together"`
	} `json:"providers"`
}

func testPython(t *testing.T) string {
	t.Helper()
	return reprotest.Python(t)
}

// runCensus imports the written fixture with Python and calls every
// provider directly; uvloop makes the calls' loops uvloop's. It runs on
// goroutines of its own, so it returns its error rather than failing t.
func runCensus(python, dir, tmp string, uvloop bool) (census, error) {
	var c census
	script, err := filepath.Abs(filepath.Join("testdata", "census.py"))
	if err != nil {
		return c, err
	}
	out := filepath.Join(tmp, fmt.Sprintf("census-uvloop-%v.json", uvloop))
	args := []string{script, out}
	if uvloop {
		args = append(args, "--uvloop")
	}
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	if log, err := cmd.CombinedOutput(); err != nil {
		return c, fmt.Errorf("census.py (uvloop %v): %v\n%s", uvloop, err, log)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(data, &c)
}

// TestPythonCensus imports the generated package with the test interpreter
// and checks it against the table: the class attributes add up to the same
// mix, and every provider does what its row says when called — alone, after
// another call and beside one, on the stdlib loop and on uvloop.
func TestPythonCensus(t *testing.T) {
	t.Parallel()
	python := testPython(t)
	dir, err := Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The two censuses wait out the hang side by side.
	var plain, uv census
	var errPlain, errUV error
	tmp := t.TempDir()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); plain, errPlain = runCensus(python, dir, tmp, false) }()
	go func() { defer wg.Done(); uv, errUV = runCensus(python, dir, tmp, true) }()
	wg.Wait()
	if errPlain != nil || errUV != nil {
		t.Fatal(errors.Join(errPlain, errUV))
	}

	mix := G4F0358
	c := plain.Counts
	got := Mix{Providers: c.Providers, NotWorking: c.NotWorking, NeedsAuth: c.NeedsAuth,
		UvloopBreaking: c.UvloopBreaking, UvloopBreakingAuth: c.UvloopBreakingAuth}
	for _, p := range plain.Providers {
		switch p.Alone {
		case Network:
			got.Network++
		case MissingRequirements:
			got.MissingRequirement++
		case Hang:
			got.Hang++
		}
	}
	mix.Stateful, mix.IsolationSensitive = 0, 0
	if got != mix {
		t.Errorf("Python sees the mix %+v\nwant %+v", got, mix)
	}
	if c.Names != c.Providers {
		t.Errorf("ProviderUtils.convert has %d names for %d providers", c.Names, c.Providers)
	}

	for _, p := range Providers() {
		k := p.Kind
		s, ok := plain.Providers[p.Name]
		if !ok {
			t.Errorf("%s: not in __providers__", p.Name)
			continue
		}
		if s.Working != k.Working || s.NeedsAuth != k.NeedsAuth || s.Shape != k.Shape {
			t.Errorf("%s: working %v, needs_auth %v, shape %s; the %s row says %v, %v, %s",
				p.Name, s.Working, s.NeedsAuth, s.Shape, k.ID, k.Working, k.NeedsAuth, k.Shape)
		}
		if s.Alone != k.Outcome {
			t.Errorf("%s: a call alone ended %s (%s), want %s", p.Name, s.Alone, s.Error, k.Outcome)
		}
		wantUV := k.Outcome
		if k.UnderUvloop != "" {
			wantUV = k.UnderUvloop
		}
		if u := uv.Providers[p.Name]; u.Alone != wantUV {
			t.Errorf("%s: under uvloop a call ended %s (%s), want %s", p.Name, u.Alone, u.Error, wantUV)
		}
		if k.Outcome == Hang {
			continue // a hung call is never over: nothing comes after it
		}
		together := append([]string(nil), s.Together...)
		sort.Strings(together)
		same := len(together) == 2 && together[0] == string(k.Outcome) && together[1] == string(k.Outcome)
		switch k.Sharing {
		case Harmless:
			if s.After != k.Outcome || !same {
				t.Errorf("%s: after another call %s, beside one %v; want %s (its state is harmless)", p.Name, s.After, s.Together, k.Outcome)
			}
		case FailsAfter:
			if s.After == k.Outcome {
				t.Errorf("%s: a call after another one ended %s too; its state should break it", p.Name, s.After)
			}
		case FailsTogether:
			if s.After != k.Outcome || same {
				t.Errorf("%s: after another call %s, beside one %v; want only calls at once to break", p.Name, s.After, s.Together)
			}
		}
	}
}
