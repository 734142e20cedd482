package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// comparisonSample has a new failure, a fixed cell, one not run now, and the
// rest still failing.
func comparisonSample() report.Comparison {
	broken := sample.Cell("AsyncGenHealthy", scan.ModeSync, scan.LoopUvloop)
	broken.Provider = "HealthySync"
	fixed := sample.Cell("HealthySync", scan.ModeSync, scan.LoopAsyncio)
	fixed.Provider = "AsyncGenHealthy"
	cur := sampleWith([]scan.Observation{broken, fixed},
		scan.Cell{Provider: "BlockingSleep", Mode: scan.ModeSync, Loop: scan.LoopUvloop})
	return report.Compare(sampleReport(), cur, diag.ClassSet{})
}

func TestGoldenComparison(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Comparison(&buf, comparisonSample(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "baseline.golden", buf.Bytes())
	if !strings.HasPrefix(buf.String(), "baseline: 1 new, 1 fixed, 18 still failing, 1 not run now (fail on: loop)\n") {
		t.Errorf("summary line: %s", buf.String())
	}
}

func TestRenderComparisonColorAndWidth(t *testing.T) {
	t.Parallel()
	c := comparisonSample()
	var plain, colored, narrow bytes.Buffer
	_ = Comparison(&plain, c, Options{})
	_ = Comparison(&colored, c, Options{Color: true})
	_ = Comparison(&narrow, c, Options{Width: 30})
	if !sgr.MatchString(colored.String()) || sgr.ReplaceAllString(colored.String(), "") != plain.String() {
		t.Errorf("colour changed more than colours:\n%s", colored.String())
	}
	for _, l := range strings.Split(narrow.String(), "\n") {
		if strings.HasPrefix(l, "  ") && len([]rune(l)) > 30 {
			t.Errorf("line wider than 30: %q", l)
		}
	}
	// hostile names stay on their line, without escapes
	k := report.CellKey{Provider: "Evil\n\x1b[2Jname", Mode: "sync", Loop: "uvloop", Class: diag.ClassLoopReentry, Signature: "sig\nx"}
	var buf bytes.Buffer
	_ = Comparison(&buf, report.Comparison{New: []report.CellKey{k}}, Options{})
	if got := buf.String(); strings.Count(got, "\n") != 3 || strings.ContainsRune(got, '\x1b') {
		t.Errorf("hostile key: %q", got)
	}
}
