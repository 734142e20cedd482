package apiserver

import (
	"context"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/httpapi"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/upstream"
)

// TestProbeOpenAIThroughAPIServer: the API server g4fdiag spawns gets
// G4FDIAG_UPSTREAM too and registers ProbeOpenAI. Its JSON answers carry
// the upstream's failures as the same classes as in-process; its streams
// fail on the loop as the demo's own async-generator providers do (the
// demo's API server streams through the sync wrapper).
func TestProbeOpenAIThroughAPIServer(t *testing.T) {
	up, err := upstream.Start(upstream.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	target := demoTarget(t)
	target.Env = up.Env(repro.WithProbes(target.Env, true))
	set, _ := startSet(t, target, scan.LoopNest, scan.LoopUvloop)
	d := httpapi.New(httpapi.Options{StallTimeout: time.Second,
		Use: func(ctx context.Context, l scan.Loop) (httpapi.Lease, error) {
			srv, err := set.Use(ctx, l)
			if err != nil {
				return nil, err
			}
			return srv, nil
		}})
	for _, tc := range []struct {
		model string
		mode  scan.Mode
		loop  scan.Loop
		class diag.Class
		sig   diag.SignatureID
	}{
		{"probe", scan.ModeAPIJSON, scan.LoopNest, diag.ClassOK, diag.SigOK},
		{"probe-401", scan.ModeAPIJSON, scan.LoopNest, diag.ClassAuth, diag.SigAuthHTTP401},
		{"probe-429", scan.ModeAPIJSON, scan.LoopNest, diag.ClassRateLimit, diag.SigRateLimitedHTTP},
		{"probe-close", scan.ModeAPIJSON, scan.LoopNest, diag.ClassNetwork, diag.SigNetworkAiohttp},
		{"probe", scan.ModeAPISSE, scan.LoopUvloop, diag.ClassLoopReentry, diag.SigReentryUvloop},
	} {
		obs, err := d.RunCell(context.Background(), scan.Cell{Provider: "ProbeOpenAI", Mode: tc.mode, Loop: tc.loop,
			Model: tc.model, Concurrency: 1, Repeat: 1}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if v := diag.Classify(obs); v.Class != tc.class || v.Signature != string(tc.sig) {
			t.Errorf("%s %s %s: %s (%s: %s), want %s (%s)", tc.model, tc.mode, tc.loop, v.Class, v.Signature, v.Evidence, tc.class, tc.sig)
		}
	}
}
