package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// hostileCase is one server behaviour and what `check --api` must make of it.
type hostileCase struct {
	b    behaviour
	key  string // --api-key; "" means strongKey
	code int    // the exit code
	// want is the verdict of each API mode (any of those listed); nil when
	// the scan cannot start (the catalog itself is hostile).
	want map[scan.Mode][]diag.Class
	// stderr must hold each of these.
	stderr []string
	// secrets must appear in no output (the key always does not).
	secrets []string
	// password is put in the --api URL's userinfo.
	password string
	// evidence runs repro too, whose table prints every failing call's
	// evidence (for the cases that answer at once).
	evidence bool
	// reproShows is what repro's evidence must hold.
	reproShows []string
}

const strongKey = "sk-hostile-0123456789abcdefXYZ"

// memoryBound is how much the peak RSS of the test process may grow over
// one case, in kB: generous, and more under the race detector, whose
// shadow memory multiplies the heap.
const memoryBound = 200 << 10 * raceFactor

func both(c ...diag.Class) map[scan.Mode][]diag.Class {
	return map[scan.Mode][]diag.Class{scan.ModeAPIJSON: c, scan.ModeAPISSE: c}
}

var hostileCases = []hostileCase{
	{b: healthy, code: exitOK, want: both(diag.ClassOK)},
	{b: slowloris, code: exitOK, want: both(diag.ClassTimeout)},
	// a stream still sending at the deadline is no stall (api-json's body
	// trickles too: no answer, a timeout)
	{b: steadyStream, code: exitOK, want: both(diag.ClassTimeout)},
	// a stream that never ends stops at the client's body limit or at the
	// deadline, whichever comes first on the machine (-race is slow): the
	// calls of one cell may split between the two
	{b: endlessStream, code: exitOK, want: both(diag.ClassProtocol, diag.ClassTimeout, diag.ClassFlaky)},
	{b: hugeLine, code: exitOK, want: both(diag.ClassProtocol)},
	{b: gzipBomb, code: exitOK, want: both(diag.ClassProtocol)},
	{b: gzipBombCatalog, code: exitEnv, stderr: []string{"does not answer like a g4f API"}},
	{b: redirectOffHost, evidence: true, code: exitOK, want: both(diag.ClassProtocol)},
	{b: redirectCatalog, code: exitEnv, stderr: []string{"redirects to another host", "pass --api http://"}},
	{b: redirectLoop, code: exitOK, want: both(diag.ClassProtocol)},
	{b: echoKey, evidence: true, reproShows: []string{"Invalid G4F API key: [REDACTED] (Authorization: Bearer [REDACTED])"}, code: exitOK, want: both(diag.ClassAuth)},
	{b: echoKeyCatalog, code: exitEnv, stderr: []string{"refused the API key (HTTP 401: Invalid G4F API key: [REDACTED]"}},
	{b: malformedStatus, evidence: true, code: exitOK, want: both(diag.ClassProtocol)},
	{b: malformedCatalog, code: exitEnv, stderr: []string{"not HTTP: malformed HTTP status code"}},
	{b: htmlOK, evidence: true, code: exitOK, want: both(diag.ClassProtocol)},
	{b: cutChunk, evidence: true, code: exitOK, want: both(diag.ClassProtocol)},
	{b: invalidUTF8, evidence: true, code: exitFailures, want: both(diag.ClassLoopReentry)},
	{b: controlSequences, evidence: true, reproShows: []string{"Evil", "[REDACTED]", "this event loop is already running."}, code: exitFailures, want: both(diag.ClassLoopReentry)},
	// a key that is a word of the message: classified on what the server
	// said, cut where it stands as the key
	{b: loopError, key: "loop", evidence: true, reproShows: []string{"this event loop is already running. (api key: [REDACTED])"}, code: exitFailures, want: both(diag.ClassLoopReentry),
		stderr: []string{"warning: the API key is short or a plain word"}, secrets: []string{"key: loop", "Bearer loop"}},
	// a password in the URL is used, and shown nowhere
	{b: healthy, key: "-", password: "hunter2-hostile-pw", evidence: true, code: exitOK, want: both(diag.ClassOK)},
}

// TestHostileServers runs `check --api` in both API modes against each
// known-bad server, in process, and checks the verdict, the time, the
// memory, and every output: no key, no password, no terminal control
// sequence, valid UTF-8.
func TestHostileServers(t *testing.T) {
	runHostile(t, hostileCases)
}

func runHostile(t *testing.T, cases []hostileCase) {
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		t.Skip("needs Linux /proc to measure memory")
	}
	const timeout = 2 * time.Second
	held, worstRSS, worst := 0, int64(0), behaviour("")
	start := time.Now()
	for _, tc := range cases {
		name := string(tc.b)
		if name == "" {
			name = "healthy"
		}
		if tc.password != "" {
			name += " with a password"
		}
		if tc.key != "" && tc.key != "-" {
			name += " with key " + tc.key
		}
		ok := t.Run(name, func(t *testing.T) {
			key := tc.key
			switch key {
			case "":
				key = strongKey
			case "-":
				key = ""
			}
			srv := startHostile(t, tc.b, key, "")
			if tc.b == redirectOffHost || tc.b == redirectCatalog {
				other := startHostile(t, healthy, key, "[::1]:0") // another host, or another port
				srv.other = other.URL
				defer func() {
					if n, auth := other.seen(); n != 0 || len(auth) != 0 {
						t.Errorf("the other host got %d requests, credentials %q", n, auth)
					}
				}()
			}
			base := srv.URL
			if tc.password != "" {
				base = strings.Replace(base, "http://", "http://me:"+tc.password+"@", 1)
			}
			dir := t.TempDir()
			files := map[string]string{}
			args := []string{"check", "--api", base, "--modes", "api-json,api-sse", "--concurrency", "4",
				"--timeout", timeout.String(), "--jobs", "2", "--format", "table"}
			if key != "" {
				args = append(args, "--api-key", key)
			}
			for _, f := range []string{"json", "jsonl", "junit", "markdown", "github"} {
				files[f] = filepath.Join(dir, "report."+f)
				args = append(args, "-o", f+"="+files[f])
			}

			runtime.GC()
			debug.FreeOSMemory()
			rss := procStatus(t, "VmRSS")
			if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
				t.Skipf("cannot reset the peak RSS: %v", err)
			}
			began := time.Now()
			code, stdout, stderr := run(t, nil, args...)
			took := time.Since(began)
			peak := procStatus(t, "VmHWM")
			t.Logf("exit %d in %s; RSS %d MB before, peak %d MB", code, took.Round(time.Millisecond), rss>>10, peak>>10)
			if peak > worstRSS {
				worstRSS, worst = peak, tc.b
			}

			outputs := map[string]string{"stdout": stdout, "stderr": stderr}
			for f, path := range files {
				b, _ := os.ReadFile(path)
				outputs[f] = string(b)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.evidence {
				// repro prints every failing call's evidence: the server's
				// messages, its log, the exception chain
				rargs := append([]string{"repro", "-p", providerName(tc.b, key)}, args[1:]...)
				rargs = slices.DeleteFunc(rargs, func(a string) bool {
					return strings.HasPrefix(a, "json=") || strings.HasPrefix(a, "jsonl=") ||
						strings.HasPrefix(a, "junit=") || strings.HasPrefix(a, "markdown=") || strings.HasPrefix(a, "github=") || a == "-o"
				})
				rcode, rout, rerr := run(t, nil, rargs...)
				if rcode != tc.code {
					t.Errorf("repro: exit %d, want %d; stderr:\n%s", rcode, tc.code, rerr)
				}
				outputs["repro stdout"], outputs["repro stderr"] = rout, rerr
				for _, want := range tc.reproShows {
					if !strings.Contains(rout, want) {
						t.Errorf("repro's evidence lacks %q:\n%s", want, rout)
					}
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Count(stderr, "\n") > len(tc.stderr)+1 {
				t.Errorf("stderr:\n%s", stderr)
			}
			if took > timeout+8*time.Second {
				t.Errorf("took %s with a %s deadline", took, timeout)
			}
			if grew := peak - rss; grew > memoryBound {
				t.Errorf("peak RSS %d MB, %d MB over the %d MB before", peak>>10, grew>>10, rss>>10)
			}
			secrets := append([]string{}, tc.secrets...)
			if key != "" && !strings.Contains(tc.key, "loop") {
				secrets = append(secrets, key, key[:12])
			}
			if tc.password != "" {
				secrets = append(secrets, tc.password)
			}
			for where, out := range outputs {
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s holds the secret %q:\n%s", where, s, excerptAround(out, s))
					}
				}
				for _, c := range []string{"\x1b", "\x07", "\u009b", "\u009d"} {
					if strings.Contains(out, c) {
						t.Errorf("%s holds the control character %q:\n%s", where, c, excerptAround(out, c))
					}
				}
				if !utf8.ValidString(out) {
					t.Errorf("%s is not valid UTF-8", where)
				}
			}
			if tc.password != "" {
				basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("me:"+tc.password))
				if _, auth := srv.seen(); !slices.Contains(auth, basic) {
					t.Errorf("the server was not sent the URL's credentials: %q", auth)
				}
			}
			if tc.want == nil {
				return
			}
			var r report.Report
			if err := json.Unmarshal([]byte(outputs["json"]), &r); err != nil {
				t.Fatalf("json report: %v\n%s", err, outputs["json"])
			}
			if !strings.Contains(outputs["markdown"], "API server") || strings.Contains(r.Plan.API, "hunter2") {
				t.Errorf("plan.api %q", r.Plan.API)
			}
			got := map[scan.Mode]diag.Class{}
			for _, c := range r.Cells {
				got[c.Mode] = c.Class
			}
			for mode, want := range tc.want {
				if slices.Contains(want, got[mode]) {
					continue
				}
				t.Errorf("%s: verdict %q, want one of %q", mode, got[mode], want)
			}
			if tc.b == echoKey || tc.b == malformedStatus {
				checkEvidenceCut(t, r)
			}
		})
		if ok {
			held++
		}
	}
	t.Logf("%d hostile cases, %d held, in %s; worst peak RSS %d MB (%s)",
		len(cases), held, time.Since(start).Round(time.Millisecond), worstRSS>>10, worst)
}

// checkEvidenceCut: the key the server echoed reaches the report as
// [REDACTED], so the reader still sees that it was echoed.
func checkEvidenceCut(t *testing.T, r report.Report) {
	t.Helper()
	b, _ := json.Marshal(r.Cells)
	if !bytes.Contains(b, []byte("[REDACTED]")) {
		t.Errorf("the echoed key left no [REDACTED] mark: %s", b)
	}
}

// procStatus is a field of /proc/self/status, in kB.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func excerptAround(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		return ""
	}
	return strings.ToValidUTF8(s[max(0, i-200):min(len(s), i+len(sub)+200)], "?")
}
