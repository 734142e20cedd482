package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/report/schematest"
)

// TestGoldensValidate: the json and jsonl goldens, which the render tests
// hold every writer to, validate against the schemas in docs/.
func TestGoldensValidate(t *testing.T) {
	s, err := schematest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file     string
		validate func([]byte) error
	}{
		{"report.json.golden", s.ValidateJSON},
		{"report.jsonl.golden", func(b []byte) error { return s.ValidateJSONL(b, true) }},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.validate(data); err != nil {
			t.Errorf("%s: %v", tc.file, err)
		}
	}
}
