package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/upstream"
)

// TestStartUpstream: the workers' environment gets the upstream's URL, the
// upstream answers there, and the scan's close ends it.
func TestStartUpstream(t *testing.T) {
	st := &scanTarget{}
	target := repro.Target{Env: []string{"A=1", upstream.EnvVar + "=stale"}}
	if err := startUpstream(st.onClose, &target); err != nil {
		t.Fatal(err)
	}
	var url string
	for _, kv := range target.Env {
		if v, ok := strings.CutPrefix(kv, upstream.EnvVar+"="); ok {
			if url != "" {
				t.Fatalf("%s set twice: %q", upstream.EnvVar, target.Env)
			}
			url = v
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("env %q", target.Env)
	}
	resp, err := http.Get(url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /models: %d", resp.StatusCode)
	}
	st.close()
	if resp, err := http.Get(url + "/models"); err == nil {
		resp.Body.Close()
		t.Fatal("the upstream still answers after the scan closed")
	}
}
