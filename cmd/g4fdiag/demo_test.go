package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/reprotest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testPython is the interpreter the tests scan with: Debian's, which
// scripts/setup.sh gives uvloop and nest_asyncio — not whatever python3 is
// first on PATH.
func testPython(t testing.TB) string {
	t.Helper()
	return reprotest.Python(t)
}

// cellJSON is the part of a JSON report cell the tests read.
type cellJSON struct {
	Provider   string  `json:"provider"`
	Mode       string  `json:"mode"`
	Loop       string  `json:"loop"`
	End        string  `json:"end"`
	Verdict    string  `json:"verdict"`
	Signature  string  `json:"signature"`
	Evidence   string  `json:"evidence"`
	DurationMS float64 `json:"duration_ms"`
	Calls      []struct {
		Outcome string `json:"outcome"`
		Chunks  int    `json:"chunks"`
	} `json:"calls"`
	Stacks *struct {
		LoopThread string  `json:"loop_thread"`
		Threads    string  `json:"threads"`
		BlockedMS  float64 `json:"blocked_ms"`
	} `json:"stacks"`
}

type reportJSON struct {
	Cells       []cellJSON `json:"cells"`
	Interrupted bool       `json:"interrupted"`
	Summary     struct {
		LoopFailures int `json:"loop_failures"`
	} `json:"summary"`
	Providers []struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		Working   bool   `json:"working"`
		NeedsAuth bool   `json:"needs_auth"`
	} `json:"providers"`
}

// demoScan is one full scan of the miniature g4f, shared by the tests that
// only read it.
var demoScan struct {
	once   sync.Once
	code   int
	stderr string
	report reportJSON
	raw    []byte
	err    error
}

func fullDemoScan(t *testing.T) reportJSON {
	t.Helper()
	python := testPython(t)
	demoScan.once.Do(func() {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("g4fdiag-test-%d.json", os.Getpid()))
		defer os.Remove(out)
		demoScan.code, _, demoScan.stderr = run(t, os.Environ(), "check", "--demo", "--python", python,
			"--format", "json", "--output", out)
		demoScan.raw, demoScan.err = os.ReadFile(out)
		if demoScan.err == nil {
			demoScan.err = json.Unmarshal(demoScan.raw, &demoScan.report)
		}
	})
	if demoScan.err != nil {
		t.Fatalf("demo scan (exit %d, stderr %s): %v", demoScan.code, demoScan.stderr, demoScan.err)
	}
	return demoScan.report
}

func cellOf(r reportJSON, provider, mode, loop string) cellJSON {
	for _, c := range r.Cells {
		if c.Provider == provider && c.Mode == mode && c.Loop == loop {
			return c
		}
	}
	return cellJSON{}
}

// TestDemoMatrix pins the verdict of every cell of the demo scan, run for
// real under all three loops, and the exit code.
func TestDemoMatrix(t *testing.T) {
	r := fullDemoScan(t)
	if demoScan.code != exitFailures {
		t.Errorf("exit code = %d, want %d (stderr %s)", demoScan.code, exitFailures, demoScan.stderr)
	}
	checkGolden(t, "demo-matrix.golden", matrixLines(r))
}

// scanReport runs args with a JSON report to a temp file, checks the exit
// code and returns the report.
func scanReport(t *testing.T, wantCode int, args ...string) reportJSON {
	t.Helper()
	out := filepath.Join(t.TempDir(), "scan.json")
	code, _, stderr := run(t, os.Environ(), append(args, "--format", "json", "--output", out)...)
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stderr %s", code, wantCode, stderr)
	}
	return readReport(t, out)
}

// savedReport reads a report check wrote, reclassified as report does.
func savedReport(t *testing.T, path string) report.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// matrixLines is a demo scan as the golden holds it: a cell a line, its
// verdict and signature.
func matrixLines(r reportJSON) []string {
	var lines []string
	for _, c := range r.Cells {
		lines = append(lines, fmt.Sprintf("%-12s %-12s %-7s %-14s %s", c.Provider, c.Mode, c.Loop, c.Verdict, c.Signature))
	}
	return lines
}

// TestDemoMatrixWhateverTheJobs: the same verdict in every cell with one
// job, a dozen, or more jobs than cells to run — cells never share a
// process, so how many run at once changes nothing. (The golden is the
// default scan's, at --jobs = the CPU count; the order the cells run in is
// shuffled by repro's TestVerdictsDoNotDependOnOrder.)
func TestDemoMatrixWhateverTheJobs(t *testing.T) {
	python := testPython(t)
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo-matrix.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []string{"1", "12", "64"} {
		t.Run("jobs="+jobs, func(t *testing.T) {
			r := scanReport(t, exitFailures, "check", "--demo", "--python", python, "--jobs", jobs)
			if got := strings.Join(matrixLines(r), "\n") + "\n"; got != string(want) {
				t.Errorf("--jobs %s changes verdicts:\n%s", jobs, reprotest.LineDiff(string(want), got))
			}
		})
	}
}

// TestDemoDoneWhen states the acceptance points one by one, so a
// golden refresh cannot quietly drop one.
func TestDemoDoneWhen(t *testing.T) {
	r := fullDemoScan(t)
	for _, loop := range []string{"asyncio", "nest", "uvloop"} {
		for _, mode := range []string{"baseline", "sync", "sync-stream", "async", "async-stream"} {
			c := cellOf(r, "StreamAsync", mode, loop)
			want := "ok"
			if (mode == "sync" || mode == "sync-stream") && loop != "nest" {
				want = "loop-reentry"
			}
			if c.Verdict != want {
				t.Errorf("StreamAsync %s/%s = %q (%s), want %s", mode, loop, c.Verdict, c.Evidence, want)
			}
			if n := cellOf(r, "NetFail", mode, loop); n.Verdict != "network" {
				t.Errorf("NetFail %s/%s = %q (%s), want network", mode, loop, n.Verdict, n.Evidence)
			}
		}
		for _, mode := range []string{"sync", "sync-stream"} {
			c := cellOf(r, "DeadlockLoop", mode, loop)
			if c.Verdict != "loop-blocked" && c.Verdict != "deadlock" {
				t.Errorf("DeadlockLoop %s/%s = %q, want loop-blocked or deadlock", mode, loop, c.Verdict)
			}
			// Found by the heartbeat, not by the cell deadline.
			if c.End != "blocked" || c.Stacks == nil || c.Stacks.LoopThread == "" {
				t.Errorf("DeadlockLoop %s/%s ended %q without the loop thread's stack", mode, loop, c.End)
			}
			if c.Stacks != nil && !strings.Contains(c.Stacks.Threads, "Thread") {
				t.Errorf("DeadlockLoop %s/%s has no all-thread dump", mode, loop)
			}
		}
	}
	if c := cellOf(r, "StreamAsync", "sync", "uvloop"); !strings.Contains(c.Evidence, "this event loop is already running") {
		t.Errorf("uvloop evidence %q lacks uvloop's message", c.Evidence)
	}
	if c := cellOf(r, "StreamAsync", "sync", "asyncio"); !strings.Contains(c.Evidence, "This event loop is already running") {
		t.Errorf("asyncio evidence %q lacks CPython's message", c.Evidence)
	}
	kinds := map[string]string{}
	for _, p := range r.Providers {
		kinds[p.Name] = p.Kind
	}
	for name, kind := range map[string]string{"EchoSync": "sync", "StreamAsync": "async-generator", "RunAsync": "async"} {
		if kinds[name] != kind {
			t.Errorf("provider %s kind = %q, want %q", name, kinds[name], kind)
		}
	}
	if r.Summary.LoopFailures == 0 {
		t.Error("summary counts no loop failures")
	}
}

// numbers matches what changes between two scans of the same target: times,
// sizes, addresses, process ids.
var numbers = regexp.MustCompile(`0x[0-9a-f]+|\d+(\.\d+)?`)

// TestReportReplaysJSONL checks that a jsonl scan re-rendered by `report`
// prints the table `check` prints, times aside.
func TestReportReplaysJSONL(t *testing.T) {
	python := testPython(t)
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "s.jsonl")
	code, _, stderr := run(t, os.Environ(), "check", "--demo", "--python", python, "--format", "jsonl", "--output", jsonl)
	if code != exitFailures {
		t.Fatalf("check --format jsonl: exit %d, stderr %s", code, stderr)
	}
	code, replayed, stderr := run(t, os.Environ(), "report", jsonl)
	if code != exitFailures {
		t.Fatalf("report: exit %d, stderr %s", code, stderr)
	}
	code, direct, stderr := run(t, os.Environ(), "check", "--demo", "--python", python)
	if code != exitFailures {
		t.Fatalf("check: exit %d, stderr %s", code, stderr)
	}
	if strings.Contains(direct, "\x1b[") {
		t.Error("table written to a non-terminal carries escape codes")
	}
	a := numbers.ReplaceAllString(replayed, "N")
	b := numbers.ReplaceAllString(direct, "N")
	if a != b {
		t.Errorf("report of the jsonl scan differs from check's table:\n%s", reprotest.LineDiff(b, a))
	}
}

func TestEnvironmentErrors(t *testing.T) {
	python := testPython(t)
	t.Run("python without g4f", func(t *testing.T) {
		environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PYTHONPATH=" + t.TempDir()}
		code, _, stderr := run(t, environ, "check", "--python", python)
		if code != exitEnv {
			t.Errorf("exit code = %d, want %d", code, exitEnv)
		}
		want := "g4fdiag: g4f is not importable with " + python
		if !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "--demo") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("stderr = %q, want one line starting %q and naming the fix", stderr, want)
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		code, _, stderr := run(t, os.Environ(), "check", "--demo", "--python", python, "--provider", "StreamAsink")
		if code != exitUsage {
			t.Errorf("exit code = %d, want %d", code, exitUsage)
		}
		want := `g4fdiag: unknown provider "StreamAsink"; did you mean "StreamAsync"? (run ` + "`g4fdiag providers`" + ` to list them)` + "\n"
		if stderr != want {
			t.Errorf("stderr:\n got %q\nwant %q", stderr, want)
		}
	})
}

func TestProvidersCommand(t *testing.T) {
	python := testPython(t)
	code, out, stderr := run(t, os.Environ(), "providers", "--demo", "--python", python, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list []struct {
		Name, Kind string
		Working    bool
		NeedsAuth  bool `json:"needs_auth"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, p := range list {
		found[p.Name] = true
		if p.Name == "Retired" && p.Working {
			t.Error("Retired is listed as working")
		}
		if p.Name == "AuthNeeded" && !p.NeedsAuth {
			t.Error("AuthNeeded is listed without needs_auth")
		}
	}
	for _, name := range []string{"EchoSync", "StreamAsync", "RunAsync", "DeadlockLoop", "ThreadLoop", "StallStream", "NetFail", "AuthNeeded", "Crowded", "Retired"} {
		if !found[name] {
			t.Errorf("providers --demo lacks %s", name)
		}
	}
	code, table, _ := run(t, os.Environ(), "providers", "--demo", "--python", python)
	if code != 0 || !strings.Contains(table, "StreamAsync") || !strings.Contains(table, "async-generator") {
		t.Errorf("providers table (exit %d):\n%s", code, table)
	}
}

// TestInterrupt signals a real scan like Ctrl-C does and checks the exit
// code, that no worker outlives g4fdiag and that finished cells are kept.
func TestInterrupt(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	out := filepath.Join(t.TempDir(), "partial.json")
	cmd := exec.Command(bin, "check", "--demo", "--python", python, "--format", "json", "--output", out, "--timeout", "60s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the workers run, and a hanging cell holds the scan.
	var workers []int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		workers = descendants(cmd.Process.Pid)
		if len(workers) >= 3 {
			break
		}
	}
	if len(workers) < 3 {
		cmd.Process.Kill()
		t.Fatalf("workers did not start; stderr: %s", stderr.String())
	}
	time.Sleep(3 * time.Second) // fast cells finish, slow ones hang
	workers = descendants(cmd.Process.Pid)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	t.Logf("exit %v %s after SIGINT", err, took)
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d; stderr: %s", code, exitInterrupted, stderr.String())
	}
	if took > 2*time.Second {
		t.Errorf("exit took %s after SIGINT, want at most 2s", took)
	}
	for _, pid := range workers {
		if alive(pid) {
			t.Errorf("worker %d outlived g4fdiag", pid)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no --output after an interrupt: %v", err)
	}
	var r reportJSON
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("--output after an interrupt: %v\n%s", err, data)
	}
	if !r.Interrupted || len(r.Cells) == 0 {
		t.Errorf("--output after an interrupt: interrupted=%v with %d cells", r.Interrupted, len(r.Cells))
	}
	if len(r.Cells) >= 150 {
		t.Errorf("interrupted scan holds all %d cells", len(r.Cells))
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "g4fdiag")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := ppid(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func ppid(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields resume after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(fields[1])
	return p
}

// alive reports whether pid is still a process that is not a zombie,
// waiting up to a second for the kernel to finish with it.
func alive(pid int) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z") {
			return false
		}
	}
	return true
}

// checkGolden compares lines with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name string, lines []string) {
	t.Helper()
	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("..", "..", "testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd/g4fdiag -run %s -update to accept):\n%s", golden, t.Name(), reprotest.LineDiff(string(want), got))
	}
}

// TestDemoConcurrency runs two calls at once per cell: Crowded's shared
// private loop is re-entered by the overlapping call, and in a process that
// nest_asyncio has not patched yet the second sync call meets "Cannot enter
// into task" and never ends.
func TestDemoConcurrency(t *testing.T) {
	python := testPython(t)
	r := scanReport(t, exitFailures, "check", "--demo", "--python", python, "--provider", "Crowded,StreamAsync",
		"--concurrency", "2", "--modes", "baseline,sync,async", "--loops", "nest,uvloop", "--timeout", "3s")
	tests := []struct {
		provider, mode, loop, verdict, evidence string
	}{
		{"Crowded", "baseline", "uvloop", "flaky", "1 ok, 1 loop-reentry of 2 calls: RuntimeError: this event loop is already running."},
		{"Crowded", "async", "nest", "flaky", "1 ok, 1 loop-reentry of 2 calls: RuntimeError: This event loop is already running"},
		{"Crowded", "sync", "uvloop", "ok", ""},
		{"StreamAsync", "sync", "nest", "flaky", "1 ok, 1 loop-reentry of 2 calls: hung after the worker logged RuntimeError: Cannot enter into task"},
		{"StreamAsync", "async", "uvloop", "ok", ""},
	}
	for _, tt := range tests {
		c := cellOf(r, tt.provider, tt.mode, tt.loop)
		if c.Verdict != tt.verdict || !strings.HasPrefix(c.Evidence, tt.evidence) {
			t.Errorf("%s %s/%s = %s: %s\nwant %s: %s…", tt.provider, tt.mode, tt.loop, c.Verdict, c.Evidence, tt.verdict, tt.evidence)
		}
	}
}

// TestAPIDemoMatrix scans the demo's API servers, started by g4fdiag on each
// loop, and pins every verdict.
func TestAPIDemoMatrix(t *testing.T) {
	python := testPython(t)
	out := filepath.Join(t.TempDir(), "api.json")
	code, _, stderr := run(t, os.Environ(), "check", "--demo", "--api", "--python", python, "--format", "json", "--output", out)
	if code != exitFailures {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Cells []struct {
			cellJSON
			Calls []struct {
				HTTPStatus int    `json:"http_status"`
				ServerLog  string `json:"server_log"`
			} `json:"calls"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range r.Cells {
		lines = append(lines, fmt.Sprintf("%-12s %-9s %-7s %-14s %s", c.Provider, c.Mode, c.Loop, c.Verdict, c.Signature))
		status := 0
		if len(c.Calls) > 0 {
			status = c.Calls[0].HTTPStatus
		}
		switch {
		case c.Provider == "StreamAsync" && c.Loop == "uvloop" && c.Mode == "api-sse":
			if c.Verdict != "loop-reentry" || status != 200 {
				t.Errorf("StreamAsync api-sse/uvloop: %s with HTTP %d, want loop-reentry inside HTTP 200", c.Verdict, status)
			}
			if !strings.Contains(c.Calls[0].ServerLog, "this event loop is already running") {
				t.Errorf("StreamAsync api-sse/uvloop carries no server log: %q", c.Calls[0].ServerLog)
			}
		case c.Provider == "StreamAsync" && c.Loop == "uvloop" && c.Mode == "api-json":
			if c.Verdict != "loop-reentry" || status != 500 {
				t.Errorf("StreamAsync api-json/uvloop: %s with HTTP %d, want loop-reentry with HTTP 500", c.Verdict, status)
			}
		case c.Provider == "NetFail" && c.Verdict != "network":
			t.Errorf("NetFail %s/%s = %s", c.Mode, c.Loop, c.Verdict)
		case c.Provider == "EchoSync" && c.Verdict != "ok":
			t.Errorf("EchoSync %s/%s = %s (%s)", c.Mode, c.Loop, c.Verdict, c.Evidence)
		}
	}
	checkGolden(t, "api-demo-matrix.golden", lines)
}

func TestAPIUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, _, stderr := run(t, os.Environ(), "check", "--api", "http://"+addr)
	if code != exitEnv {
		t.Errorf("exit code = %d, want %d", code, exitEnv)
	}
	if !strings.HasPrefix(stderr, "g4fdiag: cannot reach the g4f API at http://"+addr) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming the server", stderr)
	}
}

// TestInterruptSpawnedScan: Ctrl-C during a scan of servers g4fdiag started
// leaves no server behind, the hung ones included.
func TestInterruptSpawnedScan(t *testing.T) {
	python := testPython(t)
	bin := buildBinary(t)
	cmd := exec.Command(bin, "check", "--demo", "--api", "--python", python, "--provider", "StallStream,DeadlockLoop", "--timeout", "60s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var procs []int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		procs = descendants(cmd.Process.Pid)
		if len(procs) >= 6 { // three workers and three servers
			break
		}
	}
	time.Sleep(2 * time.Second) // requests hang on the servers
	procs = descendants(cmd.Process.Pid)
	if len(procs) < 6 {
		cmd.Process.Kill()
		t.Fatalf("only %d processes started; stderr: %s", len(procs), stderr.String())
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	took := time.Since(sent)
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d; stderr: %s", code, exitInterrupted, stderr.String())
	}
	t.Logf("exit %s after SIGINT, %d processes below g4fdiag", took, len(procs))
	if took > 2*time.Second {
		t.Errorf("exit took %s after SIGINT, want at most 2s", took)
	}
	for _, pid := range procs {
		if alive(pid) {
			t.Errorf("process %d outlived g4fdiag", pid)
		}
	}
}
