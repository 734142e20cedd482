package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// Header is what a report says about the scan before its first cell; it is
// the first record of a JSON-lines stream.
type Header struct {
	Tool        string               `json:"tool"`
	Version     string               `json:"version"`
	Command     string               `json:"command"`
	Plan        scan.Plan            `json:"plan"`
	Environment scan.Environment     `json:"environment"`
	Providers   []providers.Provider `json:"providers"`
}

// SchemaVersion is the version of the shape of the reports g4fdiag writes,
// json and jsonl (docs/report.schema.json, docs/report-jsonl.schema.json).
// It grows when a field changes meaning or goes away; fields added beside
// the others do not change it, and readers ignore the ones they do not know.
const SchemaVersion = 1

// Summary aggregates the verdicts of a report.
type Summary struct {
	Cells  int                `json:"cells"`
	Counts map[diag.Class]int `json:"counts"`
	// LoopFailures counts cells that fail like the documented conflict: a
	// loop class, or flaky with a loop class among its calls.
	LoopFailures int `json:"loop_failures"`
	// Conflict counts cells that reproduce the documented conflict itself:
	// loop-reentry, or flaky with loop-reentry among its calls.
	Conflict    int    `json:"conflict"`
	LikelyCause string `json:"likely_cause"`
	// Interrupted counts cells the scan's interruption cut short while
	// they ran (End scan.EndInterrupted); counted under skipped too.
	Interrupted int `json:"interrupted,omitempty"`
}

// interruptedNote says that an interrupted scan stopped early, and how many
// cells it cut short.
func (s Summary) InterruptedNote() string {
	note := "the scan stopped before every cell ran"
	switch {
	case s.Interrupted == 1:
		note += "; 1 cell cut short is marked interrupted"
	case s.Interrupted > 1:
		note += fmt.Sprintf("; %d cells cut short are marked interrupted", s.Interrupted)
	}
	return note
}

// Report is a classified scan: what ran, where, and what every cell did.
type Report struct {
	// SchemaVersion is the version of the report's shape
	// (docs/report.schema.json): SchemaVersion when g4fdiag writes it.
	SchemaVersion int                  `json:"schema_version"`
	Tool          string               `json:"tool"`
	Version       string               `json:"version"`
	Command       string               `json:"command"`
	Plan          scan.Plan            `json:"plan"`
	Environment   scan.Environment     `json:"environment"`
	Providers     []providers.Provider `json:"providers"`
	Cells         []diag.CellReport    `json:"cells"`
	Summary       Summary              `json:"summary"`
	Interrupted   bool                 `json:"interrupted,omitempty"`
	// Gate is what fails this run (--fail-on, --baseline), set by the
	// command once the report is complete and before it is rendered; nil
	// until then. It belongs to the run, not to the scan: a saved report
	// does not carry it, and a report read back is gated anew.
	Gate *Gate `json:"-"`
}

// Header returns the report's header fields.
func (r Report) Header() Header {
	return Header{Tool: r.Tool, Version: r.Version, Command: r.Command, Plan: r.Plan,
		Environment: r.Environment, Providers: r.Providers}
}

// Observations returns the observations of the report's cells, in report order.
func (r Report) Observations() []scan.Observation {
	obs := make([]scan.Observation, 0, len(r.Cells))
	for _, c := range r.Cells {
		obs = append(obs, c.Observation)
		for _, rem := range c.Remedies {
			if rem.Cell != nil {
				obs = append(obs, rem.Cell.Observation)
			} else {
				obs = append(obs, scan.RemedyPlan{Remedy: rem.Remedy, Note: rem.Note}.NotRun(c.Cell))
			}
		}
	}
	return obs
}

// Build classifies every observation and assembles the report, cells in
// report order: providers in plan order (unknown ones after, by name), then
// modes in scan.AllModes order, then loops in scan.AllLoops order.
func Build(h Header, obs []scan.Observation, interrupted bool) Report {
	cells := make([]diag.CellReport, len(obs))
	for i, o := range obs {
		cells[i] = diag.CellReport{Observation: o, Verdict: diag.Classify(o)}
	}
	cells = diag.AttachRemedies(cells)
	order := newCellOrder(h.Plan)
	sort.SliceStable(cells, func(i, j int) bool { return order.less(cells[i].Cell, cells[j].Cell) })
	r := Report{SchemaVersion: SchemaVersion, Tool: h.Tool, Version: h.Version, Command: h.Command, Plan: h.Plan,
		Environment: h.Environment, Providers: h.Providers, Cells: cells, Interrupted: interrupted}
	r.Summary = summarize(r)
	return r
}

// cellOrder sorts cells in report order.
type cellOrder struct {
	provider map[string]int
	mode     map[scan.Mode]int
	loop     map[scan.Loop]int
}

func newCellOrder(p scan.Plan) cellOrder {
	o := cellOrder{provider: map[string]int{}, mode: map[scan.Mode]int{}, loop: map[scan.Loop]int{}}
	for i, name := range p.Providers {
		if _, dup := o.provider[name]; !dup {
			o.provider[name] = i
		}
	}
	for i, m := range Modes {
		o.mode[m] = i
	}
	for i, l := range Loops {
		o.loop[l] = i
	}
	return o
}

// Modes and Loops are the orders of a report's columns: the
// in-process modes, then the HTTP ones; the loop variants, then an API
// server's own loop.
var (
	Modes = append(append([]scan.Mode{}, scan.AllModes...), scan.APIModes...)
	Loops = append(append([]scan.Loop{}, scan.AllLoops...), scan.LoopServer)
)

// rankOf places known keys by index and unknown ones after them.
func rankOf[K comparable](m map[K]int, k K) (int, bool) {
	if i, ok := m[k]; ok {
		return i, true
	}
	return len(m), false
}

func lessBy[K ~string](m map[K]int, a, b K) (less, equal bool) {
	ia, _ := rankOf(m, a)
	ib, _ := rankOf(m, b)
	if ia != ib {
		return ia < ib, false
	}
	if a != b {
		return a < b, false
	}
	return false, true
}

func (o cellOrder) less(a, b scan.Cell) bool {
	if l, eq := lessBy(o.provider, a.Provider, b.Provider); !eq {
		return l
	}
	if l, eq := lessBy(o.mode, a.Mode, b.Mode); !eq {
		return l
	}
	l, _ := lessBy(o.loop, a.Loop, b.Loop)
	return l
}

func summarize(r Report) Summary {
	s := Summary{Cells: len(r.Cells), Counts: map[diag.Class]int{}}
	for _, c := range r.Cells {
		s.Counts[c.Class]++
		if c.LoopFailure() {
			s.LoopFailures++
		}
		if c.Class == diag.ClassLoopReentry || (c.Class == diag.ClassFlaky && c.Split[diag.ClassLoopReentry] > 0) {
			s.Conflict++
		}
		if c.End == scan.EndInterrupted {
			s.Interrupted++
		}
	}
	s.LikelyCause = likelyCause(r)
	return s
}

// cause is one mechanism behind loop failures, and the cells showing it.
type cause struct {
	key   string
	rank  int
	cells []diag.CellReport
}

// likelyCause names the mechanism behind the report's loop failures on one
// line: the most specific one first (uvloop re-entry, the documented conflict,
// before the others), with its explanation, then the others, most cells first.
func likelyCause(r Report) string {
	byKey := map[string]*cause{}
	var causes []*cause
	for _, c := range r.Cells {
		lc := c.LoopClass()
		if lc == "" {
			continue
		}
		key, rank := causeKey(c, lc)
		cs, ok := byKey[key]
		if !ok {
			cs = &cause{key: key, rank: rank}
			byKey[key] = cs
			causes = append(causes, cs)
		}
		cs.cells = append(cs.cells, c)
	}
	if len(causes) == 0 {
		return "no loop conflict found"
	}
	sort.SliceStable(causes, func(i, j int) bool { return causes[i].rank < causes[j].rank })
	line := describeCause(causes[0], r.Environment)
	rest := causes[1:]
	sort.SliceStable(rest, func(i, j int) bool {
		if len(rest[i].cells) != len(rest[j].cells) {
			return len(rest[i].cells) > len(rest[j].cells)
		}
		return rest[i].rank < rest[j].rank
	})
	if len(rest) > 0 {
		also := make([]string, len(rest))
		for i, cs := range rest {
			also[i] = fmt.Sprintf("%s (%d)", causeTable[cs.rank].name, len(cs.cells))
		}
		line += "; also: " + strings.Join(also, ", ")
	}
	return line
}

// causeInfo is one mechanism behind loop failures: its key, its short name
// (when it follows the first) and the line that names it when it leads.
type causeInfo struct {
	key  string
	name string
	// line says what the mechanism is, ending in count ("(3 cells)").
	line func(cells []diag.CellReport, env scan.Environment, count string) string
}

// says is a cause line that is one sentence whatever the cells.
func says(s string) func([]diag.CellReport, scan.Environment, string) string {
	return func(_ []diag.CellReport, _ scan.Environment, count string) string { return s + " " + count }
}

// causeTable lists the mechanisms, most specific first: a row's position is
// its rank. A loop class files its failures under its cause column; the
// re-entry signatures below refine loop-reentry's.
var causeTable = []causeInfo{
	{"uvloop", "uvloop re-entry", func(cells []diag.CellReport, _ scan.Environment, count string) string {
		what := "calls"
		if syncWrapped(cells) {
			what = "sync-wrapped calls"
		}
		return "uvloop is installed and g4f's sync wrapper calls run_until_complete inside the running loop: " +
			what + " fail under uvloop " + count
	}},
	{"no-nest", "stdlib loop re-entry without nest_asyncio", func(_ []diag.CellReport, env scan.Environment, count string) string {
		s := "without nest_asyncio the stdlib loop cannot be re-entered by sync calls"
		if env.NestModule != "" {
			s += " (this g4f imports " + env.NestModule + ")"
		}
		return s + " " + count
	}},
	{"nest-task", "nest_asyncio task switch",
		says("nest_asyncio re-enters the loop but asyncio refuses the task switch: sync calls inside the loop break or hang")},
	{"own-loop", "a new event loop inside the running one",
		says("a sync entry point starts its own event loop (asyncio.run or run_until_complete) inside the running loop")},
	{"deadlock", "deadlock on the loop thread",
		says("a sync call on the loop thread waits for work that needs that same loop: deadlock")},
	{"blocked", "blocked loop thread", says("a sync call blocks the loop thread")},
	{"missing", "no event loop on the thread",
		says("code under g4f calls asyncio.get_event_loop() on a thread without an event loop")},
	{"closed", "closed event loop", says("an event loop is used after it was closed")},
	{"mismatch", "futures of another event loop", says("futures or sessions of one event loop are awaited on another")},
	{causeOther, "other loop failures", says("loop failures of another kind")},
}

// causeOther is the mechanism of a loop class the table gives none.
const causeOther = "other"

// reentryCauses refine loop-reentry by signature; a re-entry signature not
// here (and not a reentry-nest-asyncio one) keeps the class's cause.
var reentryCauses = map[diag.SignatureID]string{
	diag.SigReentryNestTask:           "nest-task",
	diag.SigReentryUvloop:             "uvloop",
	diag.SigReentryNestUvloop:         "uvloop",
	diag.SigReentryStdlib:             "no-nest",
	diag.SigReentryNestAsyncioError:   "no-nest",
	diag.SigReentryNestAsyncioInstall: "no-nest",
}

// causeIndex finds a mechanism's row in causeTable.
func causeIndex(key string) int {
	for i, c := range causeTable {
		if c.key == key {
			return i
		}
	}
	return causeIndex(causeOther)
}

// causeKey sorts a loop failure into a mechanism: its key and rank.
func causeKey(c diag.CellReport, lc diag.Class) (string, int) {
	key := lc.Cause()
	if lc == diag.ClassLoopReentry {
		if k, ok := reentryCauses[diag.SignatureID(c.Signature)]; ok {
			key = k
		} else if strings.HasPrefix(c.Signature, "reentry-nest-asyncio") {
			key = "no-nest" // such an ID of another version
		}
	}
	if key == "" {
		key = causeOther
	}
	i := causeIndex(key)
	return causeTable[i].key, i
}

func describeCause(cs *cause, env scan.Environment) string {
	n := len(cs.cells)
	count := fmt.Sprintf("(%d cell%s)", n, diag.Plural(n))
	return causeTable[cs.rank].line(cs.cells, env, count)
}

// syncWrapped reports whether every cell calls g4f through its sync wrapper.
func syncWrapped(cells []diag.CellReport) bool {
	for _, c := range cells {
		if !c.Mode.SyncClient() {
			return false
		}
	}
	return true
}
