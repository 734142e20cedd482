package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// junitCases is what a JUnit reader counts: the failures attribute of
// <testsuites>, and each test case with its outcome and location.
type junitCases struct {
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Timestamp string `xml:"timestamp,attr"`
		Hostname  string `xml:"hostname,attr"`
		Cases     []struct {
			Classname string    `xml:"classname,attr"`
			Name      string    `xml:"name,attr"`
			File      string    `xml:"file,attr"`
			Line      int       `xml:"line,attr"`
			Failure   *struct{} `xml:"failure"`
			SystemOut string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) (junitCases, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitCases
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return j, string(data)
}

// githubCounts counts the workflow commands of a GitHub output by kind,
// and returns its lines.
func githubCounts(t *testing.T, path string) (map[string]int, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for _, line := range lines {
		kind, _, _ := strings.Cut(strings.TrimPrefix(line, "::"), "::")
		kind, _, _ = strings.Cut(kind, " ")
		counts[kind]++
	}
	return counts, lines
}

// validateJUnitFile validates a JUnit file with xmllint against the
// schemas in diag/render/testdata (the Jenkins xunit one and a strict Ant
// one); skipped without xmllint (Debian's libxml2-utils).
func validateJUnitFile(t *testing.T, path string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found: install Debian's libxml2-utils (scripts/setup.sh does) to validate JUnit output against diag/render/testdata/junit-*.xsd")
	}
	for _, xsd := range []string{"junit-jenkins-xunit.xsd", "junit-ant-strict.xsd"} {
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("..", "..", "diag", "render", "testdata", xsd), path).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate against %s: %v\n%s", path, xsd, err, out)
		}
	}
}

// TestGateOutputsAgree: a scan whose only failures are network ones, run
// with --fail-on any, exits 1, and its JUnit and GitHub outputs mark as
// failures exactly the cells the exit code counts; the JUnit validates
// against both schemas and points at g4f's frame. Then the same scan read
// against a baseline in which one of those cells answered: that one is the
// only error, the others warnings.
func TestGateOutputsAgree(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	junitPath, ghPath, jsonPath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "github.txt"), filepath.Join(dir, "scan.json")
	code, _, stderr := run(t, os.Environ(), "check", "--demo", "--python", python, "--provider", "NetFail", "--fail-on", "any",
		"-o", "junit="+junitPath, "-o", "github="+ghPath, "-o", "json="+jsonPath)
	if code != exitFailures {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// what the exit code counts: the cells failing under --fail-on any
	r := savedReport(t, jsonPath)
	anySet, _ := diag.ParseClassSet("any")
	failing := len(report.Failing(r, anySet))
	if r.Summary.LoopFailures != 0 || failing == 0 {
		t.Fatalf("NetFail: %d loop failures, %d failing cells; want only network failures", r.Summary.LoopFailures, failing)
	}

	j, _ := readJUnit(t, junitPath)
	cases := 0
	for _, s := range j.Suites {
		if s.Timestamp == "" || s.Hostname == "" {
			t.Errorf("suite without timestamp %q or hostname %q", s.Timestamp, s.Hostname)
		}
		for _, c := range s.Cases {
			if c.Failure == nil {
				continue
			}
			cases++
			if !strings.HasPrefix(c.File, "g4f/") || c.Line <= 0 {
				t.Errorf("%s %s: file %q line %d; want g4f's frame", c.Classname, c.Name, c.File, c.Line)
			}
		}
	}
	if failing == 0 || j.Failures != failing || cases != failing {
		t.Errorf("exit code counts %d failing cells; JUnit says failures=%d with %d <failure> test cases", failing, j.Failures, cases)
	}
	validateJUnitFile(t, junitPath)

	counts, lines := githubCounts(t, ghPath)
	if counts["error"] != failing {
		t.Errorf("exit code counts %d failing cells; GitHub has %d ::error:\n%s", failing, counts["error"], strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "::error") && !strings.HasPrefix(line, "::error file=g4f/") {
			t.Errorf("error annotation without g4f's file: %.200s", line)
		}
	}

	// against a baseline in which NetFail sync/asyncio answered
	basePath := writeBaseline(t, dir, r, func(o scan.Observation) bool {
		return o.Mode == scan.ModeSync && o.Loop == scan.LoopAsyncio
	})
	for _, format := range []string{"github", "junit"} {
		out := filepath.Join(dir, "against-baseline."+format)
		code, _, stderr = run(t, os.Environ(), "report", jsonPath, "--baseline", basePath, "--fail-on", "any", "--format", format, "--output", out)
		if code != exitFailures {
			t.Fatalf("report --baseline: exit %d, stderr %s", code, stderr)
		}
		if format == "github" {
			counts, lines := githubCounts(t, out)
			if counts["error"] != 1 || counts["warning"] != failing-1 || !strings.Contains(lines[1], "NetFail sync/asyncio") {
				t.Errorf("against the baseline: %v; want 1 error (NetFail sync/asyncio) and %d warnings:\n%s", counts, failing-1, strings.Join(lines, "\n"))
			}
			continue
		}
		j, _ := readJUnit(t, out)
		still := 0
		for _, s := range j.Suites {
			for _, c := range s.Cases {
				if strings.Contains(c.SystemOut, "still failing, as in the baseline") {
					still++
				}
			}
		}
		if j.Failures != 1 || still != failing-1 {
			t.Errorf("JUnit against the baseline: failures=%d, %d still failing; want 1, %d", j.Failures, still, failing-1)
		}
		validateJUnitFile(t, out)
	}
}
