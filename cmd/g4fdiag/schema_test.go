package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/report/schematest"
)

// TestOutputsValidate: what real scans of the miniature g4f write as json
// and jsonl, and what report writes from them (whole, and from a stream
// torn mid-line), validates against the schemas in docs/. One scan is the
// whole demo with --verify-fixes (remedy re-runs and remedies not run), the
// other calls API servers g4fdiag starts (HTTP statuses, SSE frames, server
// logs).
func TestOutputsValidate(t *testing.T) {
	s, err := schematest.Load()
	if err != nil {
		t.Fatal(err)
	}
	python := testPython(t)
	scans := []struct {
		name string
		args []string
	}{
		{"demo", []string{"--verify-fixes"}},
		{"api", []string{"-p", "StreamAsync,StallStream", "--modes", "sync,api-json,api-sse", "--api-spawn"}},
	}
	for _, sc := range scans {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			jsonl, js := filepath.Join(dir, "scan.jsonl"), filepath.Join(dir, "scan.json")
			args := append([]string{"check", "--demo", "--python", python}, sc.args...)
			code, _, stderr := run(t, os.Environ(), append(args, "--format", "jsonl", "--output", jsonl, "--output", "json="+js)...)
			if code != exitFailures {
				t.Fatalf("check: exit %d, want %d; stderr %s", code, exitFailures, stderr)
			}
			validateFile(t, s, js, true)
			validateFile(t, s, jsonl, true)

			// Re-rendered by report, from each saved form.
			for _, in := range []string{js, jsonl} {
				for _, format := range []string{"json", "jsonl"} {
					code, out, stderr := run(t, os.Environ(), "report", in, "--format", format)
					if code != exitFailures {
						t.Fatalf("report %s --format %s: exit %d; stderr %s", filepath.Base(in), format, code, stderr)
					}
					validate(t, s, "report "+filepath.Base(in)+" --format "+format, format, []byte(out), true)
				}
			}

			// A stream torn mid-line (a killed scan) reads as an
			// interrupted report, which validates with its end record.
			data, err := os.ReadFile(jsonl)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			if len(lines) < 4 {
				t.Fatalf("a stream of %d lines", len(lines))
			}
			torn := bytes.Join(lines[:len(lines)/2], nil)
			torn = append(torn, lines[len(lines)/2][:len(lines[len(lines)/2])/2]...)
			tornPath := filepath.Join(dir, "torn.jsonl")
			if err := os.WriteFile(tornPath, torn, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{"json", "jsonl"} {
				_, out, stderr := run(t, os.Environ(), "report", tornPath, "--format", format)
				if !strings.Contains(stderr, "torn last line") {
					t.Errorf("report of a torn stream does not warn: %s", stderr)
				}
				validate(t, s, "report torn.jsonl --format "+format, format, []byte(out), true)
				if !strings.Contains(out, `"interrupted":true`) && !strings.Contains(out, `"interrupted": true`) {
					t.Errorf("report of a torn stream --format %s is not marked interrupted", format)
				}
			}
		})
	}
}

func validateFile(t *testing.T, s *schematest.Schemas, path string, whole bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, s, filepath.Base(path), strings.TrimPrefix(filepath.Ext(path), "."), data, whole)
}

func validate(t *testing.T, s *schematest.Schemas, name, format string, data []byte, whole bool) {
	t.Helper()
	var err error
	switch format {
	case "json":
		err = s.ValidateJSON(data)
	case "jsonl":
		err = s.ValidateJSONL(data, whole)
	default:
		t.Fatalf("%s: no schema for format %s", name, format)
	}
	if err != nil {
		t.Errorf("%s does not validate: %v", name, err)
	}
}
