package report_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

// TestMergedShardsRenderTheWholeTable: the merged shards of the sample scan
// render the very table of the unsharded scan, beside the JSON that
// TestMergeShardsGiveTheWholeScan compares (a field the JSON does not carry
// would show here).
func TestMergedShardsRenderTheWholeTable(t *testing.T) {
	t.Parallel()
	whole := report.RoundTrip(t, report.MarkdownSample())
	want := table(t, whole)
	for n := 1; n <= 4; n++ {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			m, err := report.Merge(report.ShardsOf(t, whole, n))
			if err != nil {
				t.Fatal(err)
			}
			if got := table(t, m.Report); got != want {
				t.Errorf("the merged shards render another table:\n%s", reprotest.LineDiff(want, got))
			}
		})
	}
}

func table(t *testing.T, r report.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := render.Render(&b, "table", r, render.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
