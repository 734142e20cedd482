package repro

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
	"github.com/g4fdiag/g4fdiag/repro/scan"
	"github.com/g4fdiag/g4fdiag/repro/upstream"
)

// upstreamPool is a pool over the demo whose workers register the probes,
// with G4FDIAG_UPSTREAM set to url.
func upstreamPool(tb testing.TB, url string) *Pool {
	tb.Helper()
	t := demoTarget(tb)
	t.Env = append(WithProbes(t.Env, true), upstream.EnvVar+"="+url)
	p, err := NewPool(t, PoolOptions{BlockThreshold: 500 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func startUpstream(tb testing.TB) *upstream.Server {
	tb.Helper()
	s, err := upstream.Start(upstream.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestProbeOpenAIClasses runs ProbeOpenAI, the demo's OpenaiTemplate with
// its real aiohttp requests, status checks and SSE parsing, against the
// loopback upstream in every way the upstream can fail, and classifies
// what the worker saw: each failure comes out as its own class.
func TestProbeOpenAIClasses(t *testing.T) {
	srv := startUpstream(t)
	p := upstreamPool(t, srv.URL)
	ctx := context.Background()
	cases := []struct {
		provider string
		model    string
		mode     scan.Mode
		loop     scan.Loop
		class    diag.Class
		sig      string
	}{
		{"ProbeOpenAI", "probe", scan.ModeAsyncStream, scan.LoopUvloop, diag.ClassOK, "ok"},
		{"ProbeOpenAI", "probe", scan.ModeSync, scan.LoopNest, diag.ClassOK, "ok"},
		{"ProbeOpenAI", "probe", scan.ModeBaseline, scan.LoopAsyncio, diag.ClassOK, "ok"},
		{"ProbeOpenAI", "probe", scan.ModeSyncStream, scan.LoopUvloop, diag.ClassLoopReentry, string(diag.SigReentryUvloop)},
		{"ProbeOpenAI", "probe-close", scan.ModeAsync, scan.LoopAsyncio, diag.ClassNetwork, string(diag.SigNetworkAiohttp)},
		{"ProbeOpenAI", "probe-401", scan.ModeAsync, scan.LoopAsyncio, diag.ClassAuth, string(diag.SigAuthHTTP401)},
		{"ProbeOpenAI", "probe-401", scan.ModeAsyncStream, scan.LoopUvloop, diag.ClassAuth, string(diag.SigAuthHTTP401)},
		{"ProbeOpenAI", "probe-429", scan.ModeAsyncStream, scan.LoopAsyncio, diag.ClassRateLimit, string(diag.SigRateLimitedHTTP)},
		{"ProbeOpenAI", "probe-429", scan.ModeBaseline, scan.LoopAsyncio, diag.ClassRateLimit, string(diag.SigRateLimitedHTTP)},
		{"ProbeOpenAI", "probe-500", scan.ModeAsync, scan.LoopAsyncio, diag.ClassProviderError, string(diag.SigHTTPStatus)},
		{"ProbeOpenAI", "probe-malformed", scan.ModeAsyncStream, scan.LoopAsyncio, diag.ClassProtocol, string(diag.SigUpstreamFrameJSON)},
		{"ProbeOpenAI", "probe-malformed", scan.ModeSyncStream, scan.LoopNest, diag.ClassProtocol, string(diag.SigUpstreamFrameJSON)},
		{"ProbeOpenAI", "probe-stall", scan.ModeAsyncStream, scan.LoopAsyncio, diag.ClassStall, string(diag.SigStreamStalled)},
		// the demo's real OpenaiAPI, pointed at the upstream
		{"UpstreamOpenaiAPI", "probe", scan.ModeAsyncStream, scan.LoopAsyncio, diag.ClassOK, "ok"},
		{"UpstreamOpenaiAPI", "probe-401", scan.ModeSyncStream, scan.LoopNest, diag.ClassAuth, string(diag.SigAuthHTTP401)},
	}
	for _, tc := range cases {
		name := tc.provider + "/" + tc.model + "/" + string(tc.mode) + "/" + string(tc.loop)
		timeout := 20 * time.Second
		if tc.class == diag.ClassStall {
			timeout = 3 * time.Second // the stall holds until the deadline
		}
		obs, err := p.RunCell(ctx, scan.Cell{Provider: tc.provider, Mode: tc.mode, Loop: tc.loop,
			Model: tc.model, Concurrency: 1, Repeat: 1}, timeout)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := diag.Classify(obs)
		if v.Class != tc.class || v.Signature != tc.sig {
			t.Errorf("%s: %s (%s: %s), want %s (%s)\nfirst error: %s\nlog:\n%s",
				name, v.Class, v.Signature, v.Evidence, tc.class, tc.sig, firstError(obs), obs.Log)
		}
	}
}

// TestProbeOpenAIRefused: an upstream that is gone (its port closed) is a
// network failure, as a provider whose host is down.
func TestProbeOpenAIRefused(t *testing.T) {
	srv := startUpstream(t)
	url := srv.URL
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	p := upstreamPool(t, url)
	obs, err := p.RunCell(context.Background(), scan.Cell{Provider: "ProbeOpenAI", Mode: scan.ModeAsync,
		Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v := diag.Classify(obs)
	if v.Class != diag.ClassNetwork || !strings.Contains(firstError(obs), "ClientConnectorError") {
		t.Errorf("%s (%s: %s), want network from ClientConnectorError; first error %s", v.Class, v.Signature, v.Evidence, firstError(obs))
	}
}

// TestProbeOpenAIOnlyWithUpstream: with the probes registered and an
// upstream, ProbeOpenAI and the real base-URL providers are probes of the
// catalog; with no upstream ProbeOpenAI is listed unavailable, saying why;
// without the probes nothing of them is in g4f. The workers still fork a
// child per cell.
func TestProbeOpenAIOnlyWithUpstream(t *testing.T) {
	srv := startUpstream(t)
	catalog := func(p *Pool) map[string]providers.Provider {
		env, cat, err := p.Start(context.Background(), []scan.Loop{scan.LoopAsyncio})
		if err != nil {
			t.Fatal(err)
		}
		// Defining the probes (aiohttp imported) leaves the fork server fit to fork.
		if li, _ := env.Loop(scan.LoopAsyncio); li.Isolation != IsolationFork {
			t.Errorf("isolation %q", li.Isolation)
		}
		out := map[string]providers.Provider{}
		for _, pr := range cat {
			out[pr.Name] = pr
		}
		return out
	}
	noUpstream := demoTarget(t)
	noUpstream.Env = WithProbes(noUpstream.Env, true)
	bare, err := NewPool(noUpstream, PoolOptions{BlockThreshold: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bare.Close() })
	with, without, plain := catalog(upstreamPool(t, srv.URL)), catalog(bare), demoPool(t)
	for _, name := range []string{"ProbeOpenAI", "UpstreamOpenaiAPI"} {
		if pr := with[name]; !pr.Probe || pr.Unavailable != "" {
			t.Errorf("with the upstream, %s = %+v, want an available probe", name, pr)
		}
	}
	if pr := without["ProbeOpenAI"]; !pr.Probe || !strings.Contains(pr.Unavailable, upstream.EnvVar) {
		t.Errorf("without the upstream, ProbeOpenAI = %+v, want unavailable naming %s", pr, upstream.EnvVar)
	}
	if _, ok := without["UpstreamOpenaiAPI"]; ok {
		t.Errorf("without the upstream, UpstreamOpenaiAPI is listed")
	}
	for name, pr := range catalog(plain) {
		if pr.Probe || strings.HasPrefix(name, "Probe") || strings.HasPrefix(name, "Upstream") {
			t.Errorf("without the probes, %s is listed (%+v)", name, pr)
		}
	}
	obs, err := plain.RunCell(context.Background(), scan.Cell{Provider: "ProbeOpenAI", Mode: scan.ModeAsync,
		Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if v := diag.Classify(obs); v.Class != diag.ClassProviderNotFound {
		t.Errorf("without the probes: %s (%s)", v.Class, v.Evidence)
	}
}

// defineProbe runs probe_openai.define against the g4f on pythonPath and
// returns what it gave: the class's name, parent and models, or the
// unavailable string.
func defineProbe(t *testing.T, pythonPath, upstreamURL string, args ...string) map[string]any {
	t.Helper()
	dir := t.TempDir()
	if _, err := WriteHarness(dir); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
sys.path.insert(0, sys.argv[1])
import g4f, probe_openai
probe = probe_openai.define(g4f)
if isinstance(probe, str):
    print(json.dumps({"unavailable": probe}))
else:
    out = {"name": probe.__name__, "parent": probe.parent, "models": probe.models,
           "needs_auth": probe.needs_auth, "working": probe.working}
    if "--run" in sys.argv:
        import asyncio
        async def answer():
            return [chunk async for chunk in probe.create_async_generator("probe", [])]
        out["answer"] = asyncio.run(answer())
    print(json.dumps(out))
`
	cmd := exec.Command(testPython(t), append([]string{"-c", script, dir}, args...)...)
	env := WithPythonPath(os.Environ(), pythonPath)
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, upstream.EnvVar+"=") })
	if upstreamURL != "" {
		env = append(env, upstream.EnvVar+"="+upstreamURL)
	}
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return got
}

func TestProbeOpenAIDefine(t *testing.T) {
	demo := reprotest.WriteDemo(t, nil, "")
	got := defineProbe(t, demo, "http://127.0.0.1:9/v1")
	if got["name"] != "ProbeOpenAI" || got["parent"] != "g4f.Provider.template.OpenaiTemplate" ||
		got["needs_auth"] != false || got["working"] != true {
		t.Errorf("on the demo: %v", got)
	}
	var models []string
	for _, m := range got["models"].([]any) {
		models = append(models, m.(string))
	}
	if !slices.Equal(models, upstream.Models()) {
		t.Errorf("ProbeOpenAI models %v, the upstream's %v", models, upstream.Models())
	}

	if got := defineProbe(t, demo, ""); !strings.HasPrefix(str(got["unavailable"]), "unavailable: no loopback upstream") {
		t.Errorf("without the upstream: %v", got)
	}

	// A g4f without any OpenAI-compatible base.
	bare := reprotest.WriteG4F(t, "", map[string]string{filepath.Join("g4f", "Provider", "__init__.py"): ""})
	if got := defineProbe(t, bare, "http://127.0.0.1:9/v1"); !strings.HasPrefix(str(got["unavailable"]),
		"unavailable: this g4f has no OpenAI-compatible base class (looked for g4f.Provider.template (ModuleNotFoundError") {
		t.Errorf("without a base: %v", got)
	}

	// The oldest shape: Openai, which takes api_base only as an argument.
	old := reprotest.WriteG4F(t, "", map[string]string{
		filepath.Join("g4f", "Provider", "__init__.py"):               "",
		filepath.Join("g4f", "Provider", "needs_auth", "__init__.py"): "from .Openai import Openai\n",
		filepath.Join("g4f", "Provider", "needs_auth", "Openai.py"): `
class Openai:
    needs_auth = True
    @classmethod
    async def create_async_generator(cls, model, messages, api_key=None, api_base="https://api.openai.com/v1", **kwargs):
        yield api_base + " " + str(api_key)
`,
	})
	got = defineProbe(t, old, "http://127.0.0.1:9/v1", "--run")
	if answer, _ := got["answer"].([]any); got["parent"] != "g4f.Provider.needs_auth.Openai" || len(answer) != 1 ||
		answer[0] != "http://127.0.0.1:9/v1 sk-g4fdiag-probe" {
		t.Errorf("on Openai: %v", got)
	}
}

func str(v any) string { s, _ := v.(string); return s }

// TestProbeOpenAIAgreesWithStreamAsync: ProbeOpenAI answering ("probe")
// is an async-generator provider like the demo's StreamAsync, and gets
// the same class in every mode and loop: the probe measures what g4f does
// to such a provider, not the network.
func TestProbeOpenAIAgreesWithStreamAsync(t *testing.T) {
	srv := startUpstream(t)
	p := upstreamPool(t, srv.URL)
	for _, l := range scan.AllLoops {
		for _, m := range []scan.Mode{scan.ModeBaseline, scan.ModeSync, scan.ModeSyncStream, scan.ModeAsync, scan.ModeAsyncStream} {
			var got [2]diag.Class
			for i, prov := range []string{"ProbeOpenAI", "StreamAsync"} {
				obs, err := p.RunCell(context.Background(), scan.Cell{Provider: prov, Mode: m, Loop: l, Concurrency: 1, Repeat: 1}, 20*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = diag.Classify(obs).Class
			}
			if got[0] != got[1] {
				t.Errorf("%s %s: ProbeOpenAI %s, StreamAsync %s", l, m, got[0], got[1])
			}
		}
	}
}
