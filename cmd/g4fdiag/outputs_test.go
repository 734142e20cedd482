package main

import (
	"reflect"
	"testing"
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
