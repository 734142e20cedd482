package scan

import "time"

// Remedy is a known fix for a loop-class failure, tried by --verify-fixes
// and offered by the emitted script (--remedy NAME).
type Remedy string

// The remedies, in the order they are usually advised.
const (
	RemedyNoUvloop Remedy = "uvloop-removed" // the same cell with uvloop unimportable (server on the stdlib loop)
	RemedyAsync    Remedy = "async"          // the same call through AsyncClient
	RemedyNest     Remedy = "nest-asyncio"   // nest_asyncio importable, where it can patch the loop
	RemedyToThread Remedy = "to-thread"      // the sync call run off the loop thread with asyncio.to_thread
)

// RemedySpec is one row of the remedy table: what a remedy changes, the
// cells it does not apply to and why, and how a cell is run with it.
// --verify-fixes plans its re-runs from it (PlanRemedies) and the emitted
// script carries it as data (EmitScript), so the two cannot disagree.
type RemedySpec struct {
	Remedy Remedy
	// Does says what the remedy changes, in one line.
	Does string
	// Skip lists the cells the remedy does not apply to, with why; the first
	// rule a cell matches decides, and a cell none matches gets the remedy.
	Skip []RemedySkip
	// Mode maps a cell's mode to the mode the remedy runs; a mode not in it
	// runs as it is.
	Mode map[Mode]Mode
	// Loop is the loop the remedy runs on, "" for the cell's own. Else is
	// taken when Loop cannot be had here; with no Else the remedy is then
	// not run.
	Loop, Else Loop
	// OffLoopThread runs the cell's sync call with await asyncio.to_thread(...).
	OffLoopThread bool
}

// RemedySkip is a rule of RemedySpec.Skip: it matches a cell whose mode is
// one of Modes and whose loop is one of Loops, an empty list matching any.
type RemedySkip struct {
	Modes []Mode
	Loops []Loop
	Why   string
}

var (
	httpModes     = []Mode{ModeAPIJSON, ModeAPISSE}
	asyncModes    = []Mode{ModeAsync, ModeAsyncStream}
	offLoopModes  = []Mode{ModeBaseline, ModeAsync, ModeAsyncStream}
	notUvloop     = []Loop{LoopAsyncio, LoopNest}
	serverLoop    = []Loop{LoopServer}
	noServerLoops = "the server's loop is not g4fdiag's to change"
)

// Remedies is the remedy table, in report order (AllRemedies).
//
// nest_asyncio patches the stdlib loop and cannot patch uvloop, so
// nest-asyncio applies to every cell on the stdlib loop without it —
// baseline too: its call runs on a plain thread, but g4f runs a loop of its
// own there, which providers re-enter (0.3.5.8's Cloudflare calls
// asyncio.run from get_models inside it, DESIGN §2). Whether it helps is
// measured, not assumed.
var Remedies = []RemedySpec{
	{
		Remedy: RemedyNoUvloop,
		Does:   "uvloop hidden before g4f is imported: the stdlib loop",
		Skip: []RemedySkip{
			{Loops: serverLoop, Why: noServerLoops + " (use --api-spawn)"},
			{Loops: notUvloop, Why: "the cell does not run on uvloop"},
		},
		// The stdlib loop as the user would have it: with nest_asyncio when installed.
		Loop: LoopNest, Else: LoopAsyncio,
	},
	{
		Remedy: RemedyAsync,
		Does:   "the same call through AsyncClient",
		Skip: []RemedySkip{
			{Modes: asyncModes, Why: "the call already goes through AsyncClient"},
			{Modes: httpModes, Why: "the API server's code decides how it calls g4f"},
		},
		Mode: map[Mode]Mode{ModeBaseline: ModeAsync, ModeSync: ModeAsync, ModeSyncStream: ModeAsyncStream},
	},
	{
		Remedy: RemedyNest,
		Does:   "nest_asyncio importable, as g4f expects",
		Skip: []RemedySkip{
			{Loops: []Loop{LoopUvloop}, Why: "nest_asyncio cannot patch uvloop (not run)"},
			{Loops: []Loop{LoopNest}, Why: "nest_asyncio is already importable in this cell"},
			{Loops: serverLoop, Why: noServerLoops},
		},
		Loop: LoopNest,
	},
	{
		Remedy: RemedyToThread,
		Does:   "the sync call run with await asyncio.to_thread(...)",
		Skip: []RemedySkip{
			{Modes: httpModes, Why: "the API server's code decides where its sync calls run"},
			{Modes: offLoopModes, Why: "the call does not run on the loop thread"},
		},
		OffLoopThread: true,
	},
}

// AllRemedies lists the remedies in report order.
var AllRemedies = func() []Remedy {
	out := make([]Remedy, len(Remedies))
	for i, s := range Remedies {
		out[i] = s.Remedy
	}
	return out
}()

// RemedyOf returns the row of r in the remedy table.
func RemedyOf(r Remedy) (RemedySpec, bool) {
	for _, s := range Remedies {
		if s.Remedy == r {
			return s, true
		}
	}
	return RemedySpec{}, false
}

// Skips returns why the remedy does not apply to c, or "" when it does.
func (s RemedySpec) Skips(c Cell) string {
	for _, k := range s.Skip {
		if (len(k.Modes) == 0 || remedyMatches(k.Modes, c.Mode)) && (len(k.Loops) == 0 || remedyMatches(k.Loops, c.Loop)) {
			return k.Why
		}
	}
	return ""
}

// Apply returns the cell c is re-run as under the remedy, env saying which
// loops can be had, or why it is not run.
func (s RemedySpec) Apply(c Cell, env Environment) (Cell, string) {
	if why := s.Skips(c); why != "" {
		return Cell{}, why
	}
	rc := c
	rc.Remedy, rc.Of = s.Remedy, c.Key()
	if m, ok := s.Mode[c.Mode]; ok {
		rc.Mode = m
	}
	if s.Loop != "" {
		rc.Loop = s.Loop
		if li, known := env.Loop(rc.Loop); s.Else != "" && !(known && li.Available) {
			rc.Loop = s.Else
		}
	}
	if li, known := env.Loop(rc.Loop); known && !li.Available {
		return Cell{}, "the " + string(rc.Loop) + " loop is not available here: " + li.Reason
	}
	return rc, ""
}

func remedyMatches[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// RemedyPlan is how one remedy is tried for a failing cell: the cell to run,
// or why it is not run.
type RemedyPlan struct {
	Remedy Remedy
	Cell   *Cell  // nil when the remedy does not apply
	Note   string // why it is not run, when Cell is nil
}

// PlanRemedies returns, for a cell that failed with a loop-class verdict,
// one plan per remedy of the table, in its order. env says which loop
// variants can be had: a remedy needing one that is unavailable is not run.
func PlanRemedies(c Cell, env Environment) []RemedyPlan {
	plans := make([]RemedyPlan, 0, len(Remedies))
	for _, s := range Remedies {
		rc, why := s.Apply(c, env)
		if why != "" {
			plans = append(plans, RemedyPlan{Remedy: s.Remedy, Note: why})
			continue
		}
		plans = append(plans, RemedyPlan{Remedy: s.Remedy, Cell: &rc})
	}
	return plans
}

// NotRun is the observation of a remedy that was not run, so a saved scan
// keeps why.
func (p RemedyPlan) NotRun(of Cell) Observation {
	c := of
	c.Remedy, c.Of = p.Remedy, of.Key()
	return Observation{Cell: c, Started: time.Now(), End: EndSkipped, SkipReason: p.Note}
}
