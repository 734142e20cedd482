package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report/schematest"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func loadSchemas(t *testing.T) *schematest.Schemas {
	t.Helper()
	s, err := schematest.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaDef is a definition of one of the schemas: "report.schema.json#plan".
func schemaDef(t *testing.T, s *schematest.Schemas, ref string) map[string]any {
	t.Helper()
	file, name, _ := strings.Cut(ref, "#")
	doc, ok := s.Docs[file].(map[string]any)
	if !ok {
		t.Fatalf("no schema %s", file)
	}
	if name == "" {
		return doc
	}
	def, ok := doc["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("%s has no $defs/%s", file, name)
	}
	return def
}

// schemaEnum is the enum of a definition, in its order.
func schemaEnum(t *testing.T, s *schematest.Schemas, ref string) []string {
	t.Helper()
	var out []string
	for _, v := range schemaDef(t, s, ref)["enum"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

func stringsOf[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// constsOf lists, in declaration order, the string constants of a package's
// non-test files whose type is typeName, or, with typeName "", whose name
// starts with prefix: the values of a Go enum that has no table.
func constsOf(t *testing.T, dir, typeName, prefix string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ, _ := vs.Type.(*ast.Ident)
				for i, name := range vs.Names {
					match := typeName != "" && typ != nil && typ.Name == typeName ||
						typeName == "" && vs.Type == nil && strings.HasPrefix(name.Name, prefix)
					if !match || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: constant %s is not a string literal", path, name.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, v)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no constants of type %q / prefix %q in %s", typeName, prefix, dir)
	}
	return out
}

// TestSchemaEnumsAreTheTables: every enum of the schemas is the Go table
// (or, for an enum with no table, the constants of its type) in the same
// order, so a new class, mode, loop, end or outcome cannot go undocumented.
func TestSchemaEnumsAreTheTables(t *testing.T) {
	s := loadSchemas(t)
	const rep = schematest.ReportFile + "#"
	tests := []struct {
		def  string
		want []string
	}{
		{rep + "class", stringsOf(diag.Classes)},
		{rep + "mode", stringsOf(Modes)},
		{rep + "loop", stringsOf(Loops)},
		{rep + "remedy", stringsOf(scan.AllRemedies)},
		{rep + "end", constsOf(t, filepath.Join("..", "..", "repro", "scan"), "End", "")},
		{rep + "outcome", constsOf(t, filepath.Join("..", "..", "repro", "scan"), "Outcome", "")},
		{rep + "providerKind", constsOf(t, filepath.Join("..", "..", "providers"), "Kind", "")},
		{rep + "remedyOutcome", constsOf(t, "..", "", "Outcome")},
		{schematest.JSONLFile + "", []string{RecordHeader, RecordObservation, RecordEnd}},
	}
	for _, tc := range tests {
		def := tc.def
		var got []string
		if def == schematest.JSONLFile {
			for _, v := range schemaDef(t, s, def)["properties"].(map[string]any)["record"].(map[string]any)["enum"].([]any) {
				got = append(got, v.(string))
			}
		} else {
			got = schemaEnum(t, s, def)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s enum = %q,\nthe Go table is %q", def, got, tc.want)
		}
	}
	if v := fmt.Sprint(schemaDef(t, s, rep+"schemaVersion")["const"]); v != strconv.Itoa(SchemaVersion) {
		t.Errorf("schema_version const = %s, SchemaVersion = %d: a new schema_version needs its schema", v, SchemaVersion)
	}
}

// jsonFields lists the JSON names of a struct's encoded fields, flattening
// embedded structs as encoding/json does, and says which are always written
// (no omitempty).
func jsonFields(t *testing.T, typ reflect.Type) (all, always []string) {
	t.Helper()
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			a, w := jsonFields(t, f.Type)
			all, always = append(all, a...), append(always, w...)
			continue
		}
		if name == "" {
			t.Fatalf("%s.%s has no json name", typ, f.Name)
		}
		all = append(all, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			always = append(always, name)
		}
	}
	return all, always
}

// planFields encodes a plan with every field set and one with none: Plan
// has its own encoding (durations as strings).
func planFields(t *testing.T) (all, always []string) {
	t.Helper()
	var full scan.Plan
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeFor[scan.Shard]():
			sh, err := scan.ParseShard("1/2")
			if err != nil {
				t.Fatal(err)
			}
			f.Set(reflect.ValueOf(sh))
		case f.Kind() == reflect.String:
			f.SetString("x")
		case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
			f.SetInt(2)
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			s.Index(0).SetString("x")
			f.Set(s)
		default:
			t.Fatalf("plan field %s: set it here", v.Type().Field(i).Name)
		}
	}
	keys := func(p scan.Plan) []string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	return keys(full), keys(scan.Plan{})
}

// defFields lists the properties a definition declares, its own and those
// of the definitions its allOf refers to, and those it requires.
func defFields(t *testing.T, s *schematest.Schemas, file string, def map[string]any) (props, required []string) {
	t.Helper()
	for name := range def["properties"].(map[string]any) {
		props = append(props, name)
	}
	req, _ := def["required"].([]any)
	for _, r := range req {
		required = append(required, r.(string))
	}
	if all, ok := def["allOf"].([]any); ok {
		for _, sub := range all {
			ref := sub.(map[string]any)["$ref"].(string)
			refFile, name, _ := strings.Cut(ref, "#/$defs/")
			if refFile == "" {
				refFile = file
			}
			p, r := defFields(t, s, refFile, schemaDef(t, s, refFile+"#"+name))
			props, required = append(props, p...), append(required, r...)
		}
	}
	return props, required
}

func sorted(xs []string) []string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return slices.Compact(xs)
}

// TestSchemaFieldsAreTheTypes: every object of the schemas declares the
// fields its Go type encodes, and requires those it always writes (no
// omitempty), so a field added to a type without its line in the schema,
// or one that goes away, fails here.
func TestSchemaFieldsAreTheTypes(t *testing.T) {
	s := loadSchemas(t)
	const rep, line = schematest.ReportFile, schematest.JSONLFile
	tests := []struct {
		file, def string
		typ       reflect.Type
		// alsoRequired are written always though tagged omitempty.
		alsoRequired []string
	}{
		{rep, "", reflect.TypeFor[Report](), nil},
		{rep, "summary", reflect.TypeFor[Summary](), nil},
		{rep, "environment", reflect.TypeFor[scan.Environment](), nil},
		{rep, "loopInfo", reflect.TypeFor[scan.LoopInfo](), nil},
		{rep, "provider", reflect.TypeFor[providers.Provider](), nil},
		{rep, "frame", reflect.TypeFor[scan.Frame](), nil},
		{rep, "pyException", reflect.TypeFor[scan.PyException](), nil},
		{rep, "call", reflect.TypeFor[scan.Call](), nil},
		{rep, "stacks", reflect.TypeFor[scan.Stacks](), nil},
		{rep, "worker", reflect.TypeFor[scan.WorkerInfo](), nil},
		{rep, "observation", reflect.TypeFor[scan.Observation](), nil},
		{rep, "codeFrame", reflect.TypeFor[diag.CodeFrame](), nil},
		{rep, "verdict", reflect.TypeFor[diag.Verdict](), nil},
		{rep, "remedyResult", reflect.TypeFor[diag.RemedyResult](), nil},
		{rep, "cell", reflect.TypeFor[diag.CellReport](), nil},
		{line, "header", reflect.TypeFor[headerRecord](), nil},
		{line, "observation", reflect.TypeFor[observationRecord](), nil},
		// The writer always counts the observations; the field is
		// omitempty for streams written before the count existed.
		{line, "end", reflect.TypeFor[endRecord](), []string{"observations"}},
	}
	check := func(name string, def map[string]any, file string, all, always []string) {
		props, required := defFields(t, s, file, def)
		if got, want := sorted(props), sorted(all); !slices.Equal(got, want) {
			t.Errorf("%s declares %q,\nthe Go type encodes %q", name, got, want)
		}
		if got, want := sorted(required), sorted(always); !slices.Equal(got, want) {
			t.Errorf("%s requires %q,\nthe Go type always writes %q", name, got, want)
		}
	}
	for _, tc := range tests {
		name := tc.file + "#" + tc.def
		all, always := jsonFields(t, tc.typ)
		check(name, schemaDef(t, s, name), tc.file, all, append(always, tc.alsoRequired...))
	}
	all, always := planFields(t)
	check(rep+"#plan", schemaDef(t, s, rep+"#plan"), rep, all, always)
}

// sampleObservations is a scan with a bit of everything the schemas
// describe: calls with chains and frames, stacks, a crashed worker, a
// flaky split, a remedy tried and one not run, an HTTP call.
func sampleObservations() (Header, []scan.Observation) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := Header{Tool: "g4fdiag", Version: "0.1.0-test", Command: "g4fdiag check --demo --verify-fixes",
		Plan: scan.Plan{Providers: []string{"StreamAsync"}, Modes: []scan.Mode{scan.ModeSync, scan.ModeAPISSE},
			Loops: []scan.Loop{scan.LoopUvloop}, Concurrency: 2, Repeat: 1, Jobs: 2, Timeout: 5 * time.Second,
			BlockThreshold: 1500 * time.Millisecond},
		Environment: scan.Environment{Python: "python3", PythonVersion: "3.11.2",
			Loops: []scan.LoopInfo{{Loop: scan.LoopUvloop, Available: true, Package: "uvloop", Version: "0.17.0"}}},
		Providers: []providers.Provider{{Name: "StreamAsync", Kind: providers.KindAsyncGenerator, Working: true,
			SupportsStream: true, DefaultModel: "m"}}}
	cell := scan.Cell{Provider: "StreamAsync", Mode: scan.ModeSync, Loop: scan.LoopUvloop, Model: "m", Concurrency: 2, Repeat: 1}
	reentry := scan.Call{Index: 0, Outcome: scan.OutcomeError, DurationMS: 3, Chain: []scan.PyException{{
		Type: "RuntimeError", Message: "this event loop is already running.",
		Frames: []scan.Frame{{File: "g4f/providers/asyncio.py", Line: 57, Func: "to_sync_generator",
			Code: "loop.run_until_complete(gen.__anext__())"}},
		Traceback: "Traceback (most recent call last):\n  ...\nRuntimeError: this event loop is already running.\n"}}}
	obs := []scan.Observation{
		{Cell: cell, End: scan.EndCompleted, Started: start, DurationMS: 5,
			Calls: []scan.Call{reentry, {Index: 1, Outcome: scan.OutcomeOK, Chunks: 2, FirstChunkMS: 1, MaxGapMS: 1,
				LastChunkMS: 2, DurationMS: 2, Text: "hi"}},
			Worker: &scan.WorkerInfo{PID: 42}},
		{Cell: scan.Cell{Provider: "StreamAsync", Mode: scan.ModeAPISSE, Loop: scan.LoopUvloop, Concurrency: 2, Repeat: 1},
			End: scan.EndDeadline, Started: start, DurationMS: 5000,
			Calls: []scan.Call{{Outcome: scan.OutcomePending, HTTPStatus: 200, FirstByteMS: 3, Frames: 1,
				ServerLog: "Traceback ..."}},
			Stacks: &scan.Stacks{Threads: "Thread 0x1 (most recent call first):", BlockedMS: 1200},
			Worker: &scan.WorkerInfo{PID: 43, ExitStatus: "signal: killed", StderrTail: "Killed"}},
	}
	fixed := cell
	fixed.Remedy, fixed.Of, fixed.Loop = scan.RemedyNoUvloop, cell.Key(), scan.LoopNest
	obs = append(obs, scan.Observation{Cell: fixed, End: scan.EndCompleted, Started: start, DurationMS: 4,
		Calls: []scan.Call{{Outcome: scan.OutcomeOK, DurationMS: 4, Text: "hi"}}})
	obs = append(obs, scan.RemedyPlan{Remedy: scan.RemedyNest, Note: "nest_asyncio cannot patch uvloop (not run)"}.NotRun(cell))
	return h, obs
}

// TestWrittenReportsValidate: what WriteJSON and WriteJSONL write, for a
// scan with a bit of everything, an interrupted one, an empty one and a
// bare list of observations read back, validates against the schemas.
func TestWrittenReportsValidate(t *testing.T) {
	s := loadSchemas(t)
	h, obs := sampleObservations()
	bare, err := ReadReport(strings.NewReader(func() string {
		var b strings.Builder
		for _, o := range obs {
			line, _ := json.Marshal(o)
			b.Write(append(line, '\n'))
		}
		return b.String()
	}()))
	if err != nil {
		t.Fatal(err)
	}
	reports := map[string]Report{
		"sample":      Build(h, obs, false),
		"interrupted": Build(h, obs[:1], true),
		"empty":       Build(Header{}, nil, false),
		"headerless":  bare,
	}
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			var js, jl bytes.Buffer
			if err := WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			if err := s.ValidateJSON(js.Bytes()); err != nil {
				t.Errorf("json: %v\n%s", err, js.Bytes())
			}
			if err := WriteJSONL(&jl, r); err != nil {
				t.Fatal(err)
			}
			if err := s.ValidateJSONL(jl.Bytes(), true); err != nil {
				t.Errorf("jsonl: %v\n%s", err, jl.Bytes())
			}
		})
	}
	if r := reports["sample"]; len(r.Cells) != 2 || len(r.Cells[0].Remedies) != 2 {
		t.Errorf("the sample lost its remedies: %d cells, %+v", len(r.Cells), r.Cells)
	}
}
