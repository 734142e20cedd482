package repro

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// A cell cut short by ctx comes back ended EndInterrupted, with the
// process that ran it and its time so far, and with ctx's error.
func TestPoolCellInterrupted(t *testing.T) {
	p := demoPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(1500*time.Millisecond, cancel) // StallStream's stream never ends
	c := scan.Cell{Provider: "StallStream", Mode: scan.ModeAsyncStream, Loop: scan.LoopAsyncio, Concurrency: 1, Repeat: 1}
	obs, err := p.RunCell(ctx, c, 2*time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if obs.End != scan.EndInterrupted || obs.Cell.Key() != c.Key() || obs.Worker == nil || obs.Worker.PID == 0 {
		t.Errorf("end %q, cell %s, worker %+v; want interrupted, with the process that ran it", obs.End, obs.Cell.Key(), obs.Worker)
	}
	if obs.DurationMS < 1000 {
		t.Errorf("the cell ran %.0f ms by its observation, want its time until the cancel", obs.DurationMS)
	}
}
