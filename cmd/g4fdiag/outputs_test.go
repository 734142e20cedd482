package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseOutputs(t *testing.T) {
	tests := []struct {
		values []string
		want   []output
	}{
		{nil, []output{{Format: "table"}}},
		{[]string{"scan.txt"}, []output{{Format: "table", Path: "scan.txt"}}},
		{[]string{"json=scan.json", "junit=junit.xml"},
			[]output{{Format: "table"}, {Format: "json", Path: "scan.json"}, {Format: "junit", Path: "junit.xml"}}},
		{[]string{"./a=b.txt"}, []output{{Format: "table", Path: "./a=b.txt"}}}, // a path: a file name
		{[]string{"dir/yaml=b"}, []output{{Format: "table", Path: "dir/yaml=b"}}},
	}
	for _, tt := range tests {
		got, err := parseOutputs(tt.values, "table")
		if err != nil {
			t.Fatalf("parseOutputs(%q): %v", tt.values, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseOutputs(%q) = %+v, want %+v", tt.values, got, tt.want)
		}
	}
	// An unknown FORMAT= is a mistake, not a file named "yaml=x.yml".
	for _, bad := range [][]string{{"json="}, {"x.json", "x.json"}, {"yaml=x.yml"}, {"a=b.txt"}} {
		if _, err := parseOutputs(bad, "table"); err == nil {
			t.Errorf("parseOutputs(%q) accepted", bad)
		}
	}
}

// TestTableFitsTheTerminal: on an 80-column terminal the demo's matrix
// comes in blocks that fit, never wrapped; to a pipe it keeps 120.
func TestTableFitsTheTerminal(t *testing.T) {
	python := testPython(t)
	for _, tc := range []struct {
		name     string
		terminal bool
		columns  string
		widest   int
		blocks   int
	}{
		{"80-column terminal", true, "80", 80, 2},
		{"pipe", false, "", 120, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(os.Environ(), "COLUMNS="+tc.columns)
			var out, errOut bytes.Buffer
			code := Main([]string{"g4fdiag", "check", "--demo", "--python", python, "--provider", "EchoSync,StreamAsync",
				"-q", "--color", "never"}, IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Environ: env, OutTerminal: tc.terminal})
			if code != exitFailures {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			widest := 0
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.ContainsAny(l, "│┌└├") {
					widest = max(widest, utf8.RuneCountInString(l))
				}
			}
			if widest > tc.widest || strings.Count(out.String(), "│ provider") != tc.blocks {
				t.Errorf("widest table line %d (want at most %d), %d blocks (want %d):\n%s",
					widest, tc.widest, strings.Count(out.String(), "│ provider"), tc.blocks, out.String())
			}
		})
	}
}
