package repro

import (
	"encoding/json"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// scriptReportPrefix starts the line an emitted script prints last: the
// prefix, then one JSON object, a scriptReport. The lines above it say the
// same for a person; g4fdiag reads only this one.
const scriptReportPrefix = "G4FDIAG-RESULT "

// The statuses of a scriptReport.
const (
	scriptOK      = "OK"      // the calls answered (exit 0)
	scriptFailed  = "FAILED"  // a call raised (exit 1)
	scriptBlocked = "BLOCKED" // the loop thread missed its heartbeat (exit 2)
	scriptTimeout = "TIMEOUT" // no answer within --timeout (exit 3)
	scriptRefused = "REFUSED" // --remedy does not apply; nothing was run (exit 1)
)

// scriptReport is what an emitted script says about its run, version 1.
type scriptReport struct {
	Version int    `json:"version"`
	Status  string `json:"status"`
	// Detail is the RESULT line's text: the answer's start (OK), "Type:
	// message" (FAILED), what stopped (BLOCKED, TIMEOUT) or why the remedy
	// does not apply (REFUSED).
	Detail string      `json:"detail"`
	Mode   scan.Mode   `json:"mode"` // as run: a remedy may change it
	Loop   scan.Loop   `json:"loop"`
	Remedy scan.Remedy `json:"remedy"`

	CallS       float64  `json:"call_s"`
	Chunks      int      `json:"chunks"`
	FirstChunkS *float64 `json:"first_chunk_s"`
	LastChunkS  *float64 `json:"last_chunk_s"`
	BlockedS    float64  `json:"blocked_s"` // BLOCKED: the heartbeat's silence
	// Exception is the raised exception (FAILED), with the frames of its own
	// traceback, outermost first.
	Exception *scan.PyException `json:"exception"`
	// Stacks are the loop thread's (BLOCKED) or every thread's, as
	// faulthandler writes them (TIMEOUT).
	Stacks string `json:"stacks"`
	// FirstLine is the first line the script printed for its outcome: what
	// it printed before that line is the provider's output, the log.
	FirstLine string `json:"first_line"`
}

// parseScriptOutput reads the report of a script's run from what it printed:
// the last line that starts with scriptReportPrefix, and the output before
// the outcome the report names (log). Output before the report is the
// provider's, untrusted: only the last report line counts, and only when it
// is a sound version-1 report.
func parseScriptOutput(text string) (r scriptReport, log string, ok bool) {
	at := strings.LastIndex("\n"+text, "\n"+scriptReportPrefix)
	if at < 0 {
		return r, "", false
	}
	line, _, _ := strings.Cut(text[at+len(scriptReportPrefix):], "\n")
	if err := json.Unmarshal([]byte(strings.TrimSuffix(line, "\r")), &r); err != nil || !r.sound() {
		return scriptReport{}, "", false
	}
	log = text[:at]
	if r.FirstLine != "" {
		if i := strings.LastIndex("\n"+log, "\n"+r.FirstLine+"\n"); i >= 0 {
			log = log[:i]
		}
	}
	if r.Exception != nil {
		r.Exception.Traceback = scriptTail(r.Exception.Traceback, 8<<10)
		r.Exception.Relation = ""
	}
	return r, log, true
}

// sound says whether a decoded report is one a script of this g4fdiag
// writes: version 1, a known status, mode and loop, figures that are not
// negative, and an exception exactly when a call failed.
func (r scriptReport) sound() bool {
	if r.Version != 1 || scriptModeNotes[r.Mode] == "" || scriptLoopNotes[r.Loop] == "" {
		return false
	}
	if r.Remedy != "" {
		if _, ok := scan.RemedyOf(r.Remedy); !ok {
			return false
		}
	}
	switch r.Status {
	case scriptOK, scriptBlocked, scriptTimeout, scriptRefused:
		if r.Exception != nil {
			return false
		}
	case scriptFailed:
		if r.Exception == nil || r.Exception.Type == "" {
			return false
		}
	default:
		return false
	}
	for _, f := range []*float64{&r.CallS, &r.BlockedS, r.FirstChunkS, r.LastChunkS} {
		if f != nil && *f < 0 {
			return false
		}
	}
	return r.Chunks >= 0
}

// call is the one call record of the run: a script reports its calls as one.
func (r scriptReport) call() scan.Call {
	c := scan.Call{DurationMS: r.CallS * 1000, Chunks: r.Chunks}
	if r.FirstChunkS != nil {
		c.FirstChunkMS = *r.FirstChunkS * 1000
	}
	if r.LastChunkS != nil {
		c.LastChunkMS = *r.LastChunkS * 1000
	}
	switch r.Status {
	case scriptOK:
		c.Outcome, c.Text = scan.OutcomeOK, scriptCut(r.Detail, 200)
	case scriptFailed:
		c.Outcome, c.Chain = scan.OutcomeError, []scan.PyException{*r.Exception}
	default:
		c.Outcome = scan.OutcomePending
	}
	return c
}
