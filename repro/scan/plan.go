package scan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

// MaxConcurrency is the most calls at once a cell may make. Each call of a
// cell is a thread (baseline) or a task on one loop, with a thread of the
// harness's executor when the call goes to a thread: past a thousand, a cell
// measures the machine (thread limits, one loop iteration running every
// task) more than the provider. A healthy provider is still healthy in
// every mode and loop at this number (TestHealthyAtMaxConcurrency).
const MaxConcurrency = 1000

// Plan is what a scan runs: which providers, modes and loops, and how hard.
type Plan struct {
	Providers   []string // selected names, in report order
	Modes       []Mode
	Loops       []Loop
	Model       string // overrides each provider's default model
	Concurrency int
	// APIConcurrency is the calls at once of each HTTP cell (api-json,
	// api-sse); 0 means Concurrency. Requests that overlap find what one
	// request at a time does not: nest_asyncio's task-switch hang.
	APIConcurrency int
	Repeat         int
	Jobs           int
	Timeout        time.Duration // per cell
	BlockThreshold time.Duration // heartbeat silence that means a blocked loop
	// IncludeNotWorking runs providers marked working = False instead of
	// reporting them not-working unrun; IncludeAuth runs needs_auth ones.
	IncludeNotWorking bool
	IncludeAuth       bool
	// API is the base URL of an API server g4fdiag did not start (--api).
	// Its HTTP cells run on LoopServer; with servers g4fdiag starts, they
	// run on each of Loops.
	API string
	// Shard is the share of the cells this scan runs (--shard i/n); the zero
	// value and 1/1 mean all of them.
	Shard Shard
}

// Cells expands the plan into cells in report order: provider, then mode,
// then loop; with a Shard, only that shard's share of them. catalog supplies
// each provider's default model.
func (p Plan) Cells(catalog []providers.Provider) []Cell {
	byName := make(map[string]providers.Provider, len(catalog))
	for _, pr := range catalog {
		byName[pr.Name] = pr
	}
	cells := make([]Cell, 0, len(p.Providers)*len(p.Modes)*len(p.Loops))
	for _, name := range p.Providers {
		model := p.Model
		if model == "" {
			model = byName[name].DefaultModel
		}
		for _, m := range p.Modes {
			loops := p.Loops
			if m.OverHTTP() && p.API != "" {
				loops = []Loop{LoopServer}
			}
			for _, l := range loops {
				cells = append(cells, Cell{Provider: name, Mode: m, Loop: l, Model: model,
					Concurrency: p.concurrency(m), Repeat: p.Repeat})
			}
		}
	}
	if !p.Shard.Whole() {
		cells = p.Shard.Take(cells)
	}
	return cells
}

// concurrency is the calls at once of a cell of mode m.
func (p Plan) concurrency(m Mode) int {
	if m.OverHTTP() && p.APIConcurrency > 0 {
		return p.APIConcurrency
	}
	return p.Concurrency
}

// planJSON is Plan as encoded: durations as strings such as "20s", which a
// reader of a saved report can read.
type planJSON struct {
	Providers         []string `json:"providers"`
	Modes             []Mode   `json:"modes"`
	Loops             []Loop   `json:"loops"`
	Model             string   `json:"model,omitempty"`
	Concurrency       int      `json:"concurrency"`
	APIConcurrency    int      `json:"api_concurrency,omitempty"`
	Repeat            int      `json:"repeat"`
	Jobs              int      `json:"jobs"`
	Timeout           string   `json:"timeout"`
	BlockThreshold    string   `json:"block_threshold"`
	IncludeNotWorking bool     `json:"include_not_working,omitempty"`
	IncludeAuth       bool     `json:"include_auth,omitempty"`
	API               string   `json:"api,omitempty"`
	Shard             string   `json:"shard,omitempty"`
}

// MarshalJSON encodes durations as Go duration strings.
func (p Plan) MarshalJSON() ([]byte, error) {
	return json.Marshal(planJSON{
		Providers: p.Providers, Modes: p.Modes, Loops: p.Loops, Model: p.Model,
		Concurrency: p.Concurrency, APIConcurrency: p.APIConcurrency, Repeat: p.Repeat, Jobs: p.Jobs,
		Timeout: p.Timeout.String(), BlockThreshold: p.BlockThreshold.String(),
		IncludeNotWorking: p.IncludeNotWorking, IncludeAuth: p.IncludeAuth, API: p.API,
		Shard: p.shardString(),
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Plan) UnmarshalJSON(data []byte) error {
	var j planJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*p = Plan{Providers: j.Providers, Modes: j.Modes, Loops: j.Loops, Model: j.Model,
		Concurrency: j.Concurrency, APIConcurrency: j.APIConcurrency, Repeat: j.Repeat, Jobs: j.Jobs,
		IncludeNotWorking: j.IncludeNotWorking, IncludeAuth: j.IncludeAuth, API: j.API}
	var err error
	if j.Shard != "" {
		if p.Shard, err = ParseShard(j.Shard); err != nil {
			return fmt.Errorf("plan shard %q: %v", j.Shard, err)
		}
	}
	if p.Timeout, err = parseDuration("timeout", j.Timeout); err != nil {
		return err
	}
	p.BlockThreshold, err = parseDuration("block_threshold", j.BlockThreshold)
	return err
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("plan %s: %v", field, err)
	}
	return d, nil
}

// shardString is the plan's shard as encoded: "" for the whole scan.
func (p Plan) shardString() string {
	if p.Shard.Whole() {
		return ""
	}
	return p.Shard.String()
}
