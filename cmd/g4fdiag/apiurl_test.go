package main

import (
	"strings"
	"testing"
)

// A malformed --api URL is a usage error (exit 2) that says what is wrong
// and gives an example, before any request; a password in it is not shown.
func TestMalformedAPIURL(t *testing.T) {
	const example = "; e.g. --api http://127.0.0.1:1337"
	tests := map[string]string{
		"127.0.0.1:1337":          `--api "127.0.0.1:1337" is not the base URL of a g4f API server: it has no scheme: start it with http:// or https://`,
		"ftp://127.0.0.1:1337":    `--api "ftp://127.0.0.1:1337" is not the base URL of a g4f API server: scheme "ftp" is not http or https`,
		"http://":                 `--api "http://" is not the base URL of a g4f API server: it names no host`,
		"http://host name":        `--api "http://host name" is not the base URL of a g4f API server: it holds spaces`,
		"http://[::1":             `--api "http://[::1" is not the base URL of a g4f API server: missing ']' in host`,
		"http://127.0.0.1:70000":  `--api "http://127.0.0.1:70000" is not the base URL of a g4f API server: port "70000" is not a port number (1-65535)`,
		"http://u:pw-secret@[::1": `--api "http://u:xxxxx@[::1" is not the base URL of a g4f API server: missing ']' in host`,
		"http://h:1/?q=1":         `--api "http://h:1/?q=1" is not the base URL of a g4f API server: a base URL takes no query (?...)`,
	}
	for raw, want := range tests {
		code, stdout, stderr := run(t, nil, "check", "--api", raw)
		if code != exitUsage || strings.TrimSpace(stderr) != "g4fdiag: "+want+example || stdout != "" {
			t.Errorf("--api %q: exit %d, stderr:\n got %s\nwant g4fdiag: %s%s", raw, code, strings.TrimSpace(stderr), want, example)
		}
	}
}
