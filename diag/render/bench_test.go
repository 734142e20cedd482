package render

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/report"
)

func BenchmarkReadAndRender(b *testing.B) {
	data, err := os.ReadFile("testdata/report.json.golden")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := report.ReadReport(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range Formats() {
			Render(io.Discard, f, r, Options{})
		}
		Evidence(io.Discard, r, Options{})
	}
}
