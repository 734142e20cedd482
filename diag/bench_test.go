package diag

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func BenchmarkReadAndRender(b *testing.B) {
	data, err := os.ReadFile("testdata/report.json.golden")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := ReadReport(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range Formats() {
			Render(io.Discard, f, r, RenderOptions{})
		}
		RenderEvidence(io.Discard, r, RenderOptions{})
	}
}
