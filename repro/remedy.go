package repro

import "time"

// RemedyPlan is how one remedy is tried for a failing cell: the cell to run,
// or why it is not run.
type RemedyPlan struct {
	Remedy Remedy
	Cell   *Cell  // nil when the remedy does not apply
	Note   string // why it is not run, when Cell is nil
}

// PlanRemedies returns, for a cell that failed with a loop-class verdict,
// one plan per remedy, in AllRemedies order. env says which loop variants
// can be had: a remedy needing one that is unavailable is not run.
func PlanRemedies(c Cell, env Environment) []RemedyPlan {
	stdlib := LoopAsyncio // the stdlib loop as the user would have it: with nest_asyncio when installed
	if li, ok := env.Loop(LoopNest); ok && li.Available {
		stdlib = LoopNest
	}
	try := func(r Remedy, mode Mode, loop Loop) RemedyPlan {
		rc := c
		rc.Mode, rc.Loop, rc.Remedy, rc.Of = mode, loop, r, c.Key()
		if r == RemedyToThread {
			rc.Mode = c.Mode
		}
		if li, ok := env.Loop(loop); ok && !li.Available {
			return RemedyPlan{Remedy: r, Note: "the " + string(loop) + " loop is not available here: " + li.Reason}
		}
		return RemedyPlan{Remedy: r, Cell: &rc}
	}
	skip := func(r Remedy, note string) RemedyPlan { return RemedyPlan{Remedy: r, Note: note} }
	http := c.Mode.OverHTTP()
	var plans []RemedyPlan

	switch {
	case c.Loop == LoopServer:
		plans = append(plans, skip(RemedyNoUvloop, "the server's loop is not g4fdiag's to change (use --api-spawn)"))
	case c.Loop != LoopUvloop:
		plans = append(plans, skip(RemedyNoUvloop, "the cell does not run on uvloop"))
	default:
		plans = append(plans, try(RemedyNoUvloop, c.Mode, stdlib))
	}

	switch c.Mode {
	case ModeBaseline, ModeSync:
		plans = append(plans, try(RemedyAsync, ModeAsync, c.Loop))
	case ModeSyncStream:
		plans = append(plans, try(RemedyAsync, ModeAsyncStream, c.Loop))
	case ModeAsync, ModeAsyncStream:
		plans = append(plans, skip(RemedyAsync, "the call already goes through AsyncClient"))
	default:
		plans = append(plans, skip(RemedyAsync, "the API server's code decides how it calls g4f"))
	}

	switch c.Loop {
	case LoopUvloop:
		plans = append(plans, skip(RemedyNest, "nest_asyncio cannot patch uvloop (not run)"))
	case LoopNest:
		plans = append(plans, skip(RemedyNest, "nest_asyncio is already importable in this cell"))
	case LoopAsyncio:
		plans = append(plans, try(RemedyNest, c.Mode, LoopNest))
	default:
		plans = append(plans, skip(RemedyNest, "the server's loop is not g4fdiag's to change"))
	}

	switch {
	case http:
		plans = append(plans, skip(RemedyToThread, "the API server's code decides where its sync calls run"))
	case c.Mode == ModeSync || c.Mode == ModeSyncStream:
		plans = append(plans, try(RemedyToThread, c.Mode, c.Loop))
	default:
		plans = append(plans, skip(RemedyToThread, "the call does not run on the loop thread"))
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
