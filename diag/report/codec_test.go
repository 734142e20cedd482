package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestReadReportErrors(t *testing.T) {
	t.Parallel()
	header := `{"record":"header","tool":"g4fdiag","version":"1","command":"c","plan":{"providers":["P"]},"environment":{},"providers":[]}`
	good := `{"provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed","started":"2026-03-01T12:00:00Z","duration_ms":3}`
	cases := []struct {
		name, in, want string
	}{
		{"empty", "  \n", "diag: reading report: empty input"},
		{"not an object", "\n\n[1,2]", "diag: reading report: line 3: not a g4fdiag report (want a JSON object or JSON lines)"},
		{"bad jsonl line", header + "\n" + good + "\n{\"provider\": \n", "diag: reading jsonl: line 3: invalid JSON"},
		{"wrong type", header + "\n" + `{"provider":"P","end":"completed","calls":"many"}`, `diag: reading jsonl: line 2: field "calls"`},
		{"header twice", header + "\n" + header, "diag: reading jsonl: line 2: header record must come first, once"},
		{"header after observation", good + "\n" + header, "diag: reading jsonl: line 2: header record must come first, once"},
		{"record after end", header + "\n" + `{"record":"end"}` + "\n" + good, "diag: reading jsonl: line 3: record after the end record"},
		{"observation without provider", header + "\n\n" + `{"mode":"sync"}`, "diag: reading jsonl: line 3: observation without provider or end"},
		{"json report syntax", "{\n  \"tool\": \"g4fdiag\",\n  \"cells\": [\n    {\"provider\": \"P\",, }\n  ]\n}\n", "diag: reading report: line 4: invalid character ','"},
		{"json report type", "{\n  \"tool\": \"g4fdiag\",\n  \"cells\": [\n    {\"provider\": 3}\n  ]\n}\n", "diag: reading report: line 4: field"},
		{"json report cut short", "{\n  \"tool\": \"g4fdiag\",\n  \"cells\": [\n", "diag: reading report: line 4: report ends early"},
		{"json report trailing data", "{\n  \"cells\": []\n}\n\n{}", "diag: reading report: line 5: unexpected data after the report"},
		{"json object that is no report", "{\n  \"name\": 1\n}", `diag: reading report: line 1: not a g4fdiag report (no "cells")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReport(strings.NewReader(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant prefix %s", err, tc.want)
			}
		})
	}
}

// A torn last line (the writer killed mid-line), records of a kind this
// version does not know, and a newer schema are read past, each with a
// warning; a line that is not JSON before the last is still an error.
func TestReadReportTolerates(t *testing.T) {
	t.Parallel()
	header := `{"record":"header","schema_version":1,"tool":"g4fdiag","plan":{"providers":["P"]},"environment":{},"providers":[]}`
	good := `{"record":"observation","provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed","started":"2026-03-01T12:00:00Z","duration_ms":3,"verdict":"ok","signature":"ok"}`
	end := `{"record":"end","observations":1}`
	for _, tc := range []struct {
		name, in string
		cells    int
		cut      bool
		warning  string
	}{
		{"torn last line", header + "\n" + good + "\n" + good[:40], 1, true, "line 3: a torn last line (the scan was cut mid-write), left out"},
		{"unknown record", header + "\n" + `{"record":"footnote","x":1}` + "\n" + good + "\n" + `{"record":"footnote"}` + "\n" + end + "\n", 1, false,
			`records of kind "footnote", which this g4fdiag does not know, left out (first at line 2)`},
		{"newer schema", strings.Replace(header, `"schema_version":1`, `"schema_version":7`, 1) + "\n" + good + "\n" + end + "\n", 1, false,
			"written with report schema 7, newer than this g4fdiag's 1"},
		{"newer json report", `{"schema_version":7,"tool":"g4fdiag","cells":[` + good + `]}`, 1, false,
			"written with report schema 7, newer than this g4fdiag's 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, info, err := ReadReportInfo(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Cells) != tc.cells || info.CutShort != tc.cut || r.Interrupted != tc.cut {
				t.Errorf("%d cells, cut short %v, interrupted %v; want %d, %v", len(r.Cells), info.CutShort, r.Interrupted, tc.cells, tc.cut)
			}
			if len(info.Warnings) != 1 || !strings.HasPrefix(info.Warnings[0], tc.warning) {
				t.Errorf("warnings %q, want one starting %q", info.Warnings, tc.warning)
			}
		})
	}
	if _, err := ReadReport(strings.NewReader(header + "\n" + good[:40] + "\n" + good + "\n")); err == nil ||
		!strings.HasPrefix(err.Error(), "diag: reading jsonl: line 2: invalid JSON") {
		t.Errorf("a broken line before the last: %v", err)
	}
}

// Every jsonl line says its record kind; observations carry their verdict
// and signature, and the header the schema version.
func TestJSONLRecords(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, line := range lines {
		var rec struct {
			Record        string `json:"record"`
			SchemaVersion *int   `json:"schema_version"`
			Verdict       string `json:"verdict"`
			Signature     string `json:"signature"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		want := RecordObservation
		switch i {
		case 0:
			want = RecordHeader
			if rec.SchemaVersion == nil || *rec.SchemaVersion != SchemaVersion {
				t.Errorf("header schema_version %v", rec.SchemaVersion)
			}
		case len(lines) - 1:
			want = RecordEnd
		default:
			if rec.Verdict == "" || rec.Signature == "" {
				t.Errorf("line %d: observation without verdict or signature: %.200s", i+1, line)
			}
		}
		if rec.Record != want {
			t.Errorf("line %d: record %q, want %q", i+1, rec.Record, want)
		}
	}
}

func TestReadReportForms(t *testing.T) {
	t.Parallel()
	good := `{"provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed","calls":[{"index":0,"round":0,"outcome":"error","chain":[{"type":"RuntimeError","message":"this event loop is already running."}],"chunks":0,"duration_ms":2}],"started":"2026-03-01T12:00:00Z","duration_ms":3}`
	for name, in := range map[string]string{
		"headerless jsonl":        good + "\n",
		"jsonl with BOM and CRLF": "\xef\xbb\xbf" + `{"record":"header","tool":"g4fdiag","plan":{"providers":["P"]}}` + "\r\n" + good + "\r\n" + `{"record":"end","interrupted":true}` + "\r\n",
		"compact json report":     `{"tool":"g4fdiag","cells":[` + good + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := ReadReport(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Cells) != 1 || r.Cells[0].Class != diag.ClassLoopReentry || r.Summary.Conflict != 1 {
				t.Errorf("got %+v", r.Cells)
			}
		})
	}
}

// flushCounter is a writer with a Flush, like bufio.Writer, counting flushes.
type flushCounter struct {
	*bufio.Writer
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return f.Writer.Flush() }

func TestJSONLWriterConcurrent(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	fc := &flushCounter{Writer: bufio.NewWriter(&out)}
	jw := NewJSONLWriter(fc)
	if err := jw.WriteObservation(scan.Observation{}); err == nil {
		t.Error("an observation before the header must fail")
	}
	if err := jw.WriteHeader(sampleHeader()); err != nil {
		t.Fatal(err)
	}
	if err := jw.WriteHeader(sampleHeader()); err == nil {
		t.Error("a second header must fail")
	}
	obs := sample.Observations()
	var wg sync.WaitGroup
	for _, o := range obs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := jw.WriteObservation(o); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := jw.WriteEnd(false); err != nil {
		t.Fatal(err)
	}
	if err := jw.WriteObservation(obs[0]); err == nil {
		t.Error("an observation after the end must fail")
	}
	if fc.flushes != len(obs)+2 {
		t.Errorf("%d flushes, want one per line (%d)", fc.flushes, len(obs)+2)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(obs)+2 {
		t.Fatalf("%d lines, want %d", len(lines), len(obs)+2)
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("line %d is not JSON: %s", i+1, l)
		}
	}
	if !strings.HasPrefix(lines[0], `{"record":"header",`) || lines[len(lines)-1] != fmt.Sprintf(`{"record":"end","observations":%d}`, len(obs)) {
		t.Errorf("first %s\nlast %s", lines[0], lines[len(lines)-1])
	}
	r, err := ReadReport(&out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, r), jsonOf(t, sampleReport()); got != want {
		t.Error("a streamed scan renders differently from the built one")
	}
}

func TestBuildOrder(t *testing.T) {
	t.Parallel()
	h := Header{Plan: scan.Plan{Providers: []string{"Zeta", "Alpha"}}}
	var in []scan.Observation
	for _, p := range []string{"Alpha", "Unknown2", "Zeta", "Unknown1"} {
		for _, l := range []scan.Loop{scan.LoopUvloop, "other", scan.LoopAsyncio} {
			for _, m := range []scan.Mode{"api-sse", scan.ModeAsync, scan.ModeBaseline} {
				in = append(in, sample.Observation(p, m, l, scan.EndCompleted, sample.OKCall(0, 0, 1)))
			}
		}
	}
	r := Build(h, in, false)
	var got []string
	for _, c := range r.Cells[:9] {
		got = append(got, fmt.Sprintf("%s/%s/%s", c.Provider, c.Mode, c.Loop))
	}
	want := []string{
		"Zeta/baseline/asyncio", "Zeta/baseline/uvloop", "Zeta/baseline/other",
		"Zeta/async/asyncio", "Zeta/async/uvloop", "Zeta/async/other",
		"Zeta/api-sse/asyncio", "Zeta/api-sse/uvloop", "Zeta/api-sse/other",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	var provs []string
	for i := 0; i < len(r.Cells); i += 9 {
		provs = append(provs, r.Cells[i].Provider)
	}
	if strings.Join(provs, " ") != "Zeta Alpha Unknown1 Unknown2" {
		t.Errorf("provider order %v", provs)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	s := r.Summary
	if s.Cells != 165 || s.Counts[diag.ClassOK] != 92 || s.Counts[diag.ClassLoopReentry] != 8 || s.Counts[diag.ClassNetwork] != 15 {
		t.Errorf("counts %+v", s.Counts)
	}
	// 8 loop-reentry + the flaky cell with a loop-reentry call
	if s.Conflict != 9 {
		t.Errorf("conflict %d, want 9", s.Conflict)
	}
	// + 3 loop-missing, 2 loop-blocked, 6 deadlock
	if s.LoopFailures != 20 {
		t.Errorf("loop failures %d, want 20", s.LoopFailures)
	}
	if !strings.HasPrefix(s.LikelyCause, "uvloop is installed and g4f's sync wrapper calls run_until_complete inside the running loop: sync-wrapped calls fail under uvloop (2 cells); also: deadlock on the loop thread (6)") {
		t.Errorf("likely cause %q", s.LikelyCause)
	}
}

func TestLikelyCauseFollowsTheData(t *testing.T) {
	t.Parallel()
	reentry := func(p string, m scan.Mode, l scan.Loop, e scan.PyException) scan.Observation {
		return sample.Observation(p, m, l, scan.EndCompleted, sample.ErrorCall(0, 1, e))
	}
	cases := []struct {
		name string
		obs  []scan.Observation
		want string
	}{
		{"nothing", []scan.Observation{sample.Observation("P", scan.ModeSync, scan.LoopUvloop, scan.EndCompleted, sample.OKCall(0, 0, 1))},
			"no loop conflict found"},
		{"stdlib without nest", []scan.Observation{
			reentry("A", scan.ModeSync, scan.LoopAsyncio, sample.ReentryStdlib),
			reentry("B", scan.ModeSyncStream, scan.LoopAsyncio, scan.PyException{Type: "g4f.errors.NestAsyncioError", Message: `Install "nest_asyncio" package`}),
		}, "without nest_asyncio the stdlib loop cannot be re-entered by sync calls (2 cells)"},
		{"uvloop in every mode", []scan.Observation{
			reentry("A", scan.ModeSync, scan.LoopUvloop, sample.ReentryUvloop),
			reentry("A", scan.ModeAsync, scan.LoopUvloop, sample.ReentryUvloop),
		}, "uvloop is installed and g4f's sync wrapper calls run_until_complete inside the running loop: calls fail under uvloop (2 cells)"},
		{"blocked only", []scan.Observation{func() scan.Observation {
			o := sample.Observation("S", scan.ModeSync, scan.LoopAsyncio, scan.EndBlocked)
			o.Stacks = &scan.Stacks{LoopThread: "  File \"/x/g4f/S.py\", line 3, in f\n    time.sleep(9)\n"}
			return o
		}()}, "a sync call blocks the loop thread (1 cell)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Build(Header{}, tc.obs, false).Summary.LikelyCause; got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A jsonl stream says whether it ended in order: without its end record, or
// with fewer observations than the end counts, it was cut short.
func TestReadReportCutShort(t *testing.T) {
	t.Parallel()
	header := `{"record":"header","tool":"g4fdiag","plan":{"providers":["P"]}}`
	obs := `{"provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed","calls":[{"index":0,"round":0,"outcome":"ok"}]}`
	for _, tc := range []struct {
		name, in         string
		cut, interrupted bool
	}{
		{"ended", header + "\n" + obs + "\n" + `{"record":"end","observations":1}` + "\n", false, false},
		{"ended interrupted", header + "\n" + obs + "\n" + `{"record":"end","observations":1,"interrupted":true}` + "\n", false, true},
		{"no end record", header + "\n" + obs + "\n", true, true},
		{"a line lost", header + "\n" + obs + "\n" + `{"record":"end","observations":2}` + "\n", true, true},
		{"end without a count (older)", header + "\n" + obs + "\n" + `{"record":"end"}`, false, false},
		{"no header: a list of observations", obs + "\n", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, info, err := ReadReportInfo(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !info.JSONL || info.CutShort != tc.cut || r.Interrupted != tc.interrupted {
				t.Errorf("info %+v, interrupted %v; want cut short %v, interrupted %v", info, r.Interrupted, tc.cut, tc.interrupted)
			}
		})
	}
}

// What is no report fails on its first bytes, and a record or report over
// the bounds fails without being read whole.
func TestReadReportBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"zeros", io.LimitReader(zeros{}, 1<<40), "line 1: not a g4fdiag report"},
		{"white space only", io.MultiReader(strings.NewReader("\n\n"), io.LimitReader(spaces{}, 2<<20)), "over 1048576 bytes of white space"},
		{"a long record", io.MultiReader(strings.NewReader(`{"record":"header"}`+"\n"+`{"provider":"`), io.LimitReader(spaces{}, MaxRecordBytes+1)),
			"line 2: a record over 64 MiB"},
		{"a long report", io.MultiReader(strings.NewReader("{\n"), io.LimitReader(spaces{}, MaxReportBytes)), "over 256 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReport(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
