package render

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// junitSchemas are the schemas JUnit output must validate against: the one
// the Jenkins xunit plugin checks reports with, and a strict one of Ant's
// format.
var junitSchemas = []string{"testdata/junit-jenkins-xunit.xsd", "testdata/junit-ant-strict.xsd"}

// xmllintSchemas validates doc against each schema with xmllint (Debian's
// libxml2-utils, which scripts/setup.sh installs) and returns what each
// said: nil when the document validates. The test is skipped when xmllint
// is not installed.
func xmllintSchemas(t *testing.T, doc string) map[string]error {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found: install Debian's libxml2-utils (scripts/setup.sh does) to validate JUnit output against testdata/junit-*.xsd")
	}
	path := filepath.Join(t.TempDir(), "report.junit.xml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	res := map[string]error{}
	for _, xsd := range junitSchemas {
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput()
		if err != nil {
			err = &xmllintError{err: err, out: string(out)}
		}
		res[xsd] = err
	}
	return res
}

type xmllintError struct {
	err error
	out string
}

func (e *xmllintError) Error() string { return e.err.Error() + ": " + e.out }

// validateJUnit fails the test unless doc validates against every schema.
func validateJUnit(t *testing.T, name, doc string) {
	t.Helper()
	for xsd, err := range xmllintSchemas(t, doc) {
		if err != nil {
			t.Errorf("%s does not validate against %s: %v", name, xsd, err)
		}
	}
}

func withGate(r report.Report, failOn string, base *report.Report) report.Report {
	set, err := diag.ParseClassSet(failOn)
	if err != nil {
		panic(err)
	}
	path := ""
	if base != nil {
		path = "baseline.json"
	}
	r.Gate = report.NewGate(r, set, path, base)
	return r
}

// baselineCase is the sample scan compared with itself a run later: one
// cell that passed fails now, one loop failure is fixed, the others still
// fail.
func baselineCase() report.Report {
	base := sampleReport()
	newFail := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	newFail.Provider = "HealthySync"
	fixed := sample.Cell("HealthySync", scan.ModeSync, scan.LoopAsyncio)
	fixed.Provider = "AsyncGenHealthy"
	cur := sampleWith([]scan.Observation{newFail, fixed})
	return withGate(cur, "", &base)
}

func TestJUnitSchemas(t *testing.T) {
	t.Parallel()
	golden, err := os.ReadFile("testdata/report.junit.xml.golden")
	if err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, "the golden JUnit report", string(golden))
	for name, r := range map[string]report.Report{
		"--fail-on any": withGate(sampleReport(), "any", nil),
		"--baseline":    baselineCase(),
		"hostile text":  hostileCells("</testcase>]]>", "\x00\uFFFE&amp;<![CDATA[ \n\t x", "\xff\x1b]0;x\x07"),
		"empty report":  report.Build(report.Header{}, nil, false),
		"not run":       report.Build(sampleHeader(), nil, true),
	} {
		validateJUnit(t, name, renderString(t, "junit", r, Options{}))
	}

	// the schemas can fail: the attribute the xunit schema rejects, and a
	// suite with no timestamp or hostname, which the Ant schema requires
	old := strings.Replace(string(golden), `errors="0" time=`, `errors="0" skipped="15" time=`, 1)
	if err := xmllintSchemas(t, old)[junitSchemas[0]]; err == nil || !strings.Contains(err.Error(), "skipped") {
		t.Errorf("skipped on <testsuites> validates against the xunit schema: %v", err)
	}
	bare := strings.ReplaceAll(string(golden), ` hostname="localhost"`, "")
	if err := xmllintSchemas(t, bare)[junitSchemas[1]]; err == nil || !strings.Contains(err.Error(), "hostname") {
		t.Errorf("a suite without hostname validates against the Ant schema: %v", err)
	}
}

// With --fail-on any, every failing cell is a JUnit failure and a GitHub
// error, as many as the exit code counts.
func TestGateFailOnAny(t *testing.T) {
	t.Parallel()
	r := withGate(sampleReport(), "any", nil)
	want := len(r.Gate.Failing)
	if want <= r.Summary.LoopFailures {
		t.Fatalf("--fail-on any fails %d cells, the loop failures are %d: the sample has no other failure", want, r.Summary.LoopFailures)
	}
	s := decodeStrict(t, renderString(t, "junit", r, Options{}))
	failures := 0
	for _, suite := range s.Suites {
		for _, tc := range suite.Cases {
			if tc.Failure != nil {
				failures++
			}
		}
	}
	if failures != want || s.Failures != want {
		t.Errorf("JUnit: %d <failure> elements, failures=%d; the gate fails %d cells", failures, s.Failures, want)
	}
	commands, titles, _ := githubCommands(t, renderString(t, "github", r, Options{}))
	errors, network := 0, false
	for i, c := range commands {
		if c == "error" {
			errors++
			network = network || strings.HasPrefix(titles[i], "network: ")
		}
	}
	if errors != want || !network {
		t.Errorf("GitHub: %d errors (a network one: %v); the gate fails %d cells", errors, network, want)
	}
}

// Under --baseline only new failures are errors; cells still failing are
// warnings, cells fixed are notices, and JUnit says the same.
func TestGateBaseline(t *testing.T) {
	t.Parallel()
	r := baselineCase()
	cmp := r.Gate.Comparison
	if len(cmp.New) != 1 || len(cmp.Fixed) != 1 || len(cmp.Still) == 0 {
		t.Fatalf("comparison: %s", cmp.Summary())
	}

	commands, titles, messages := githubCommands(t, renderString(t, "github", r, Options{}))
	var errors, still, fixed []string
	for i, c := range commands {
		switch {
		case c == "error":
			errors = append(errors, titles[i])
		case c == "warning" && strings.HasPrefix(titles[i], "still failing: "):
			still = append(still, titles[i])
		case c == "notice" && strings.HasPrefix(titles[i], "fixed: "):
			fixed = append(fixed, titles[i])
			if !strings.Contains(messages[i], "loop-reentry") {
				t.Errorf("fixed notice does not say how it failed: %q", messages[i])
			}
		}
	}
	if len(errors) != 1 || errors[0] != "loop-reentry: HealthySync sync/uvloop" {
		t.Errorf("errors %q; want the one new failure", errors)
	}
	if len(still) != len(cmp.Still) {
		t.Errorf("%d still-failing warnings for %d cells still failing", len(still), len(cmp.Still))
	}
	if len(fixed) != 1 || fixed[0] != "fixed: AsyncGenHealthy sync/asyncio" {
		t.Errorf("fixed notices %q", fixed)
	}
	if !strings.Contains(messages[0], cmp.Summary()) {
		t.Errorf("summary notice lacks the comparison: %q", messages[0])
	}

	s := decodeStrict(t, renderString(t, "junit", r, Options{}))
	failures, stillNotes, fixedNotes := 0, 0, 0
	for _, suite := range s.Suites {
		for _, tc := range suite.Cases {
			if tc.Failure != nil {
				failures++
				if tc.Classname != "g4fdiag.HealthySync" || tc.Name != "sync/uvloop" {
					t.Errorf("failure in %s %s", tc.Classname, tc.Name)
				}
			}
			if strings.Contains(tc.SystemOut, "still failing, as in the baseline") {
				stillNotes++
			}
			if strings.Contains(tc.SystemOut, "fixed since the baseline") {
				fixedNotes++
			}
		}
	}
	if failures != 1 || s.Failures != 1 || stillNotes != len(cmp.Still) || fixedNotes != 1 {
		t.Errorf("JUnit: %d failures (failures=%d), %d still notes, %d fixed notes; want 1, %d, 1", failures, s.Failures, stillNotes, fixedNotes, len(cmp.Still))
	}
}

func TestCodeLocation(t *testing.T) {
	t.Parallel()
	g4f := "g4f/providers/asyncio.py:57 in to_sync_generator"
	for _, tc := range []struct {
		user  *diag.CodeFrame
		frame string
		want  string
	}{
		{&diag.CodeFrame{File: "bot/main.py", Line: 42, Func: "on_message"}, g4f, "bot/main.py:42"},
		{&diag.CodeFrame{File: "/home/u/bot.py", Line: 42}, g4f, "g4f/providers/asyncio.py:57"},
		{&diag.CodeFrame{File: "Cell In[3]", Line: 2}, "", ""},
		{nil, "g4f/Provider/Bing.py:12", "g4f/Provider/Bing.py:12"},
		{nil, "python3.11/asyncio/base_events.py:629 in run_until_complete", ""},
		{nil, "g4f/../etc/x.py:1 in f", ""},
		{nil, "g4f/x.py:0 in f", ""},
		{nil, "", ""},
	} {
		c := diag.CellReport{Verdict: diag.Verdict{Class: diag.ClassLoopReentry, Frame: tc.frame, User: tc.user}}
		got := ""
		if file, line, ok := codeLocation(c); ok {
			got = file + ":" + strconv.Itoa(line)
		}
		if got != tc.want {
			t.Errorf("codeLocation(user %v, frame %q) = %q, want %q", tc.user, tc.frame, got, tc.want)
		}
	}
}
