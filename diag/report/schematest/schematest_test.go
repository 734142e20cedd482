package schematest

import (
	"encoding/json"
	"strings"
	"testing"
)

// A minimal valid report and stream, which the cases below break one way
// each.
const (
	validReport = `{"schema_version":1,"tool":"g4fdiag","version":"0.1.0","command":"g4fdiag check",
"plan":{"providers":["P"],"modes":["sync"],"loops":["uvloop"],"concurrency":1,"repeat":1,"jobs":1,"timeout":"20s","block_threshold":"1.5s"},
"environment":{"python":"python3","python_version":"3.11.2"},
"providers":[{"name":"P","kind":"async-generator","working":true,"needs_auth":false,"supports_stream":true}],
"cells":[{"provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed",
 "calls":[{"index":0,"round":0,"outcome":"error","chunks":0,"duration_ms":3,"chain":[{"type":"RuntimeError","message":"m","relation":"cause"}]}],
 "started":"2026-03-01T12:00:00Z","duration_ms":3,"verdict":"loop-reentry","signature":"reentry-uvloop","evidence":"e",
 "remedies":[{"remedy":"async","outcome":"not-run","note":"n"}]}],
"summary":{"cells":1,"counts":{"loop-reentry":1},"loop_failures":1,"conflict":1,"likely_cause":"c"}}`
	validHeader = `{"record":"header","schema_version":1,"tool":"g4fdiag","version":"0.1.0","command":"g4fdiag check","plan":{"providers":["P"],"modes":["sync"],"loops":["uvloop"],"concurrency":1,"repeat":1,"jobs":1,"timeout":"20s","block_threshold":"1s"},"environment":{"python":"python3","python_version":"3.11.2"},"providers":[]}`
	validObs    = `{"record":"observation","provider":"P","mode":"sync","loop":"uvloop","concurrency":1,"repeat":1,"end":"completed","started":"2026-03-01T12:00:00Z","duration_ms":3,"verdict":"ok","signature":"ok"}`
	validEnd    = `{"record":"end","observations":1}`
)

// edit decodes doc, applies f and encodes it again.
func edit(t *testing.T, doc string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cell0(m map[string]any) map[string]any { return m["cells"].([]any)[0].(map[string]any) }

// TestReportSchemaRejects: the report schema takes the valid report, with
// a field it does not know, and rejects each break of the contract.
func TestReportSchemaRejects(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateJSON([]byte(validReport)); err != nil {
		t.Fatalf("the valid report: %v", err)
	}
	added := edit(t, validReport, func(m map[string]any) { m["new_field"] = 1; cell0(m)["new_field"] = "x" })
	if err := s.ValidateJSON([]byte(added)); err != nil {
		t.Errorf("a field added beside the others is rejected: %v", err)
	}
	cases := []struct {
		name string
		f    func(m map[string]any)
		want string // in the error
	}{
		{"no schema_version (as before the contract)", func(m map[string]any) { delete(m, "schema_version") }, "schema_version"},
		{"schema_version 2", func(m map[string]any) { m["schema_version"] = 2 }, "/schema_version"},
		{"unknown verdict", func(m map[string]any) { cell0(m)["verdict"] = "loop-weird" }, "/cells/0/verdict"},
		{"unknown mode", func(m map[string]any) { cell0(m)["mode"] = "turbo" }, "/cells/0/mode"},
		{"unknown loop", func(m map[string]any) { cell0(m)["loop"] = "trio" }, "/cells/0/loop"},
		{"unknown end", func(m map[string]any) { cell0(m)["end"] = "finished" }, "/cells/0/end"},
		{"unknown outcome", func(m map[string]any) {
			cell0(m)["calls"].([]any)[0].(map[string]any)["outcome"] = "cancelled"
		}, "/cells/0/calls/0/outcome"},
		{"unknown remedy outcome", func(m map[string]any) {
			cell0(m)["remedies"].([]any)[0].(map[string]any)["outcome"] = "maybe"
		}, "/cells/0/remedies/0/outcome"},
		{"unknown class counted", func(m map[string]any) { m["summary"].(map[string]any)["counts"].(map[string]any)["bad"] = 1 }, "propertyName 'bad'"},
		{"cell without verdict", func(m map[string]any) { delete(cell0(m), "verdict") }, "verdict"},
		{"duration as a number", func(m map[string]any) { m["plan"].(map[string]any)["timeout"] = 20 }, "/plan/timeout"},
		{"duration without unit", func(m map[string]any) { m["plan"].(map[string]any)["timeout"] = "20" }, "/plan/timeout"},
		{"started not a time", func(m map[string]any) { cell0(m)["started"] = "yesterday" }, "/cells/0/started"},
		{"null cells", func(m map[string]any) { m["cells"] = nil }, "/cells"},
		{"negative duration_ms", func(m map[string]any) { cell0(m)["duration_ms"] = -1 }, "/cells/0/duration_ms"},
		{"remedy_tried without remedy_for", func(m map[string]any) { cell0(m)["remedy_tried"] = "async" }, "remedy_for"},
	}
	for _, tc := range cases {
		err := s.ValidateJSON([]byte(edit(t, validReport, tc.f)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// TestJSONLSchemaRejects: the line schema and the stream checks take the
// valid stream, with a record kind a newer g4fdiag may add rejected as this
// version's schema does not know it, and reject each break of the contract.
func TestJSONLSchemaRejects(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	stream := func(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }
	if err := s.ValidateJSONL(stream(validHeader, validObs, validEnd), true); err != nil {
		t.Fatalf("the valid stream: %v", err)
	}
	if err := s.ValidateJSONL(stream(validHeader, validObs), false); err != nil {
		t.Errorf("a stream cut short, allowed: %v", err)
	}
	noRecord := edit(t, validObs, func(m map[string]any) { delete(m, "record") })
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"observation without record (as before the contract)", stream(validHeader, noRecord, validEnd), "line 2"},
		{"observation without verdict", stream(validHeader,
			edit(t, validObs, func(m map[string]any) { delete(m, "verdict") }), validEnd), "verdict"},
		{"observation without signature", stream(validHeader,
			edit(t, validObs, func(m map[string]any) { delete(m, "signature") }), validEnd), "signature"},
		{"header without schema_version", stream(edit(t, validHeader, func(m map[string]any) { delete(m, "schema_version") }),
			validObs, validEnd), "schema_version"},
		{"end without count", stream(validHeader, validObs, `{"record":"end"}`), "observations"},
		{"end counting wrong", stream(validHeader, validObs, `{"record":"end","observations":2}`), "counts 2"},
		{"unknown record kind", stream(validHeader, `{"record":"progress"}`, validObs, validEnd), "line 2"},
		{"header not first", stream(validObs, validHeader, validEnd), "line 1"},
		{"record after end", stream(validHeader, `{"record":"end","observations":0}`, validObs), "after the end"},
		{"no end record", stream(validHeader, validObs), "cut short"},
		{"torn line", append(stream(validHeader), validObs[:40]...), "not JSON"},
	}
	for _, tc := range cases {
		err := s.ValidateJSONL(tc.data, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}
