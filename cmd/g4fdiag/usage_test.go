package main

import (
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	t.Parallel()
	commands := []string{"check", "repro", "providers", "report", "explain", "merge", "doctor", "completion", "version"}
	for _, tt := range []struct{ in, want string }{
		{"chek", "check"},
		{"cehck", "check"}, // two letters swapped: one edit
		{"versoin", "version"},
		{"docter", "doctor"},
		{"prov", "providers"}, // a prefix
		{"scan", ""},
		{"x", ""},
	} {
		if got := closest(tt.in, commands); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, nil, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "g4fdiag ") || stderr != "" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, flag, _ := run(t, nil, "--version")
	if flag != stdout {
		t.Errorf("version says %q, --version %q", stdout, flag)
	}
	if code, _, stderr := run(t, nil, "version", "extra"); code != exitUsage || !strings.Contains(stderr, "version takes no arguments") {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}
