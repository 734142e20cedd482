package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/g4fdiag/g4fdiag/providers"
)

// probeTwin is the demo provider each probe must behave like: same base
// class in the miniature, same path through its clients and its API.
var probeTwin = map[string]string{
	"ProbeAsyncGenerator": "StreamAsync",
	"ProbeAsync":          "RunAsync",
	"ProbeSync":           "EchoSync",
	// On the demo's OpenaiTemplate: an async generator, like StreamAsync,
	// whose chunks come from the loopback upstream over real aiohttp.
	"ProbeOpenAI":       "StreamAsync",
	"UpstreamOpenaiAPI": "StreamAsync",
}

// isProbe tells a probe's cells from the demo's: every probe is named
// Probe..., or Upstream... for a real provider run against the loopback
// upstream, and no demo provider is.
func isProbe(name string) bool {
	return strings.HasPrefix(name, "Probe") || strings.HasPrefix(name, "Upstream")
}

// goldenCells reads a matrix golden (provider mode loop verdict signature
// per line) into "provider mode loop" -> "verdict signature".
func goldenCells(t *testing.T, name string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("%s: bad line %q", name, line)
		}
		out[f[0]+" "+f[1]+" "+f[2]] = f[3] + " " + f[4]
	}
	return out
}

// checkProbeCells checks that every probe cell of r has its twin's verdict
// and signature in the goldens (API cells: its signature — a nest_asyncio
// task switch under overlapping requests can end flaky or loop-reentry),
// and that all three probes ran in every mode and loop of wantModes.
func checkProbeCells(t *testing.T, r reportJSON, wantModes []string) {
	t.Helper()
	want := goldenCells(t, "demo-matrix.golden")
	for k, v := range goldenCells(t, "api-demo-matrix.golden") {
		want[k] = v
	}
	seen := map[string]bool{}
	for _, c := range r.Cells {
		twin, ok := probeTwin[c.Provider]
		if !ok {
			continue
		}
		seen[c.Provider+" "+c.Mode+" "+c.Loop] = true
		exp, ok := want[twin+" "+c.Mode+" "+c.Loop]
		if !ok {
			t.Errorf("%s %s/%s: no golden cell of %s to compare with", c.Provider, c.Mode, c.Loop, twin)
			continue
		}
		got := c.Verdict + " " + c.Signature
		if strings.HasPrefix(c.Mode, "api-") {
			got, exp = c.Signature, strings.Fields(exp)[1]
		}
		if got != exp {
			t.Errorf("%s %s/%s = %s, its twin %s gives %s (%s)", c.Provider, c.Mode, c.Loop, got, twin, exp, c.Evidence)
		}
	}
	for probe := range probeTwin {
		for _, m := range wantModes {
			for _, l := range []string{"asyncio", "nest", "uvloop"} {
				if !seen[probe+" "+m+" "+l] {
					t.Errorf("no cell %s %s/%s", probe, m, l)
				}
			}
		}
	}
}

var inProcessModes = []string{"baseline", "sync", "sync-stream", "async", "async-stream"}

// TestProbeScanOfTheDemo runs the probes against the miniature g4f, in the
// same scan as every demo provider: each probe gets its twin's verdicts,
// and the demo providers keep the verdicts of the scan without probes
// (the golden): registering the probes changes nothing for g4f's own.
func TestProbeScanOfTheDemo(t *testing.T) {
	python := testPython(t)
	r := scanReport(t, exitFailures, "check", "--demo", "--python", python, "--probe", "--provider", "*")
	checkProbeCells(t, r, inProcessModes)
	var demo reportJSON
	for _, c := range r.Cells {
		if !isProbe(c.Provider) {
			demo.Cells = append(demo.Cells, c)
		}
	}
	checkGolden(t, "demo-matrix.golden", matrixLines(demo))
	probes := 0
	for _, p := range r.Providers {
		if _, ok := probeTwin[p.Name]; ok {
			probes++
		}
	}
	if probes != len(probeTwin) {
		t.Errorf("report lists %d probes among its providers, want %d", probes, len(probeTwin))
	}
}

// trapProxy listens on loopback as the proxy every proxy variable names:
// a connection to it is something the scan tried to send off the machine.
func trapProxy(t *testing.T) (url string, connections *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	connections = new(atomic.Int64)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			conn.Close()
		}
	}()
	return "http://" + l.Addr().String(), connections
}

// offlineEnviron is the test's environment with every proxy variable set
// to proxy and no exceptions to it.
func offlineEnviron(proxy string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"} {
		env = append(env, k+"="+proxy, strings.ToLower(k)+"="+proxy)
	}
	return env
}

// TestProbeScanIsOffline: `check --probe --demo` sends nothing off the
// machine, in-process and through the API servers it starts, where the
// probes resolve by name from the request body like g4f's own providers.
// Every proxy variable names a loopback listener that counts connections
// (none may come); the probes' twins run in the same scan, with the
// verdicts they have without the probes. Where a network namespace can be
// had (unshare -rn: nothing but loopback), the probes run in one too. The
// verdicts are the twins' everywhere.
func TestProbeScanIsOffline(t *testing.T) {
	python := testPython(t)
	proxy, connections := trapProxy(t)
	out := filepath.Join(t.TempDir(), "probe.json")
	code, _, stderr := run(t, offlineEnviron(proxy), "check", "--probe", "--demo", "--python", python, "--api-spawn",
		"--provider", "StreamAsync,RunAsync,EchoSync", "--format", "json", "--output", out)
	if code != exitFailures {
		t.Fatalf("check --probe behind a proxy trap: exit %d, want %d; stderr %s", code, exitFailures, stderr)
	}
	r := readReport(t, out)
	checkProbeCells(t, r, append(inProcessModes, "api-json", "api-sse"))
	want := goldenCells(t, "demo-matrix.golden")
	api := goldenCells(t, "api-demo-matrix.golden")
	twins := 0
	for _, c := range r.Cells {
		if isProbe(c.Provider) {
			continue
		}
		twins++
		key := c.Provider + " " + c.Mode + " " + c.Loop
		got, exp := c.Verdict+" "+c.Signature, want[key]
		if strings.HasPrefix(c.Mode, "api-") {
			got, exp = c.Signature, strings.Fields(api[key] + " -")[1]
		}
		if got != exp {
			t.Errorf("%s = %s beside the probes, %s without", key, got, exp)
		}
	}
	if twins != 3*7*3 {
		t.Errorf("%d cells of the twins, want %d", twins, 3*7*3)
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("the scan opened %d connection(s) to the proxy: it tried to reach the network", n)
	}

	if err := exec.Command("unshare", "-rn", "true").Run(); err != nil {
		t.Logf("no network namespace here (unshare -rn: %v): proxy trap only", err)
		return
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		// The probes' loopback upstream and the API servers listen on
		// 127.0.0.1, which is down in a fresh namespace until ip brings it up.
		t.Logf("no ip to bring loopback up in a network namespace (%v): proxy trap only", err)
		return
	}
	bin := buildBinary(t)
	// Loopback up, so the upstream and the API servers can listen: still no way out.
	args := []string{"-rn", "sh", "-c", ip + ` link set lo up && exec "$@"`, "sh",
		bin, "check", "--probe", "--demo", "--python", python, "--format", "json", "--output", out, "--api-spawn"}
	modes := slices.Concat(inProcessModes, []string{"api-json", "api-sse"})
	cmd := exec.Command("unshare", args...)
	cmd.Env = os.Environ()
	output, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailures {
		t.Fatalf("check --probe in a network namespace: %v, want exit %d\n%s", err, exitFailures, output)
	}
	checkProbeCells(t, readReport(t, out), modes)
}

func readReport(t *testing.T, path string) reportJSON {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reportJSON
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPromptNotice: a scan of an installed g4f says once on stderr that it
// prompts third-party providers; one of g4fdiag's own targets (--demo) or
// of probes only does not, nor does --quiet.
func TestPromptNotice(t *testing.T) {
	python := testPython(t)
	// The miniature as if installed: on PYTHONPATH, without --demo.
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	installed := append(os.Environ(), "PYTHONPATH="+dir)
	one := []string{"--python", python, "--modes", "baseline", "--loops", "asyncio"}
	notice := "g4fdiag: note: this scan sends a short prompt"
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    int // notices on stderr
	}{
		{"installed g4f", installed, []string{"--provider", "EchoSync,StreamAsync"}, 1},
		{"needs auth: not run, not counted", installed, []string{"--provider", "AuthNeeded"}, 0},
		{"quiet", installed, []string{"--provider", "EchoSync", "--quiet"}, 0},
		{"probes only", installed, []string{"--probe"}, 0},
		{"probes and a provider", installed, []string{"--probe", "--provider", "EchoSync"}, 1},
		{"demo", os.Environ(), []string{"--demo", "--provider", "EchoSync"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.environ, append(append([]string{"check"}, one...), tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d; stderr %s", code, stderr)
			}
			if n := strings.Count(stderr, notice); n != tc.want {
				t.Errorf("%d notice(s), want %d; stderr:\n%s", n, tc.want, stderr)
			}
			if tc.want == 1 && !strings.Contains(stderr, fmt.Sprintf("%q", defaultPrompt())) {
				t.Errorf("the notice does not quote the prompt: %s", stderr)
			}
		})
	}
}

// TestProbesListedAndRepro: providers marks the probes; repro runs one by
// name without --probe.
func TestProbesListedAndRepro(t *testing.T) {
	python := testPython(t)
	code, table, stderr := run(t, os.Environ(), "providers", "--demo", "--python", python)
	if code != 0 || !strings.Contains(table, "ProbeAsyncGenerator (probe)") || !regexp.MustCompile(`\n10 providers\n\d+ probes: `).MatchString(table) {
		t.Errorf("providers (exit %d, stderr %s):\n%s", code, stderr, table)
	}
	r := scanReport(t, exitFailures, "repro", "--demo", "--python", python, "--provider", "ProbeAsyncGenerator", "--modes", "sync", "--loops", "uvloop")
	if len(r.Cells) != 1 || r.Cells[0].Verdict != "loop-reentry" || r.Cells[0].Signature != "reentry-uvloop" {
		t.Errorf("repro ProbeAsyncGenerator sync/uvloop: %+v", r.Cells)
	}
}

// TestProbeOnAMissingBase: a g4f without the sync base class (the
// miniature, with AbstractProvider taken out of it once its providers are
// built) has no ProbeSync: its cells end unavailable with the reason, not
// as errors, and the other probes run.
func TestProbeOnAMissingBase(t *testing.T) {
	python := testPython(t)
	dir, err := providers.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "g4f", "Provider", "__init__.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nfrom ..providers import base_provider as _base\ndel _base.AbstractProvider\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "PYTHONPATH="+dir)
	out := filepath.Join(t.TempDir(), "probe.json")
	code, _, stderr := run(t, environ, "check", "--probe", "--python", python, "--modes", "baseline,async", "--loops", "asyncio",
		"--format", "json", "--output", out)
	if code != exitOK {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitOK, stderr)
	}
	r := readReport(t, out)
	cells := 0
	for _, c := range r.Cells {
		if _, ok := probeTwin[c.Provider]; !ok {
			continue // a probe that needs what this test does not give it
		}
		cells++
		want := "ok"
		if c.Provider == "ProbeSync" {
			want = "unavailable"
			if c.End != "unavailable" || !strings.Contains(c.Evidence, "no AbstractProvider base class") {
				t.Errorf("ProbeSync %s: end %s, evidence %q", c.Mode, c.End, c.Evidence)
			}
		}
		if c.Verdict != want {
			t.Errorf("%s %s = %s, want %s (%s)", c.Provider, c.Mode, c.Verdict, want, c.Evidence)
		}
	}
	if want := 2 * len(probeTwin); cells != want {
		t.Errorf("%d cells of the %d probes, want %d", cells, len(probeTwin), want)
	}
	code, table, _ := run(t, environ, "providers", "--python", python)
	if code != exitOK || !strings.Contains(table, "ProbeSync unavailable: this g4f has no AbstractProvider base class") {
		t.Errorf("providers (exit %d):\n%s", code, table)
	}
}
