package repro

import (
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

// Plan is what a scan runs: which providers, modes and loops, and how hard.
type Plan struct {
	Providers      []string      `json:"providers"` // selected names, in report order
	Modes          []Mode        `json:"modes"`
	Loops          []Loop        `json:"loops"`
	Model          string        `json:"model,omitempty"` // overrides each provider's default model
	Concurrency    int           `json:"concurrency"`
	Repeat         int           `json:"repeat"`
	Jobs           int           `json:"jobs"`
	Timeout        time.Duration `json:"timeout"`         // per cell
	BlockThreshold time.Duration `json:"block_threshold"` // heartbeat silence that means a blocked loop
	// IncludeNotWorking runs providers marked working = False instead of
	// reporting them not-working unrun; IncludeAuth runs needs_auth ones.
	IncludeNotWorking bool `json:"include_not_working,omitempty"`
	IncludeAuth       bool `json:"include_auth,omitempty"`
}

// Cells expands the plan into cells in report order: provider, then mode,
// then loop. catalog supplies each provider's default model.
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
			for _, l := range p.Loops {
				cells = append(cells, Cell{Provider: name, Mode: m, Loop: l, Model: model,
					Concurrency: p.Concurrency, Repeat: p.Repeat})
			}
		}
	}
	return cells
}
