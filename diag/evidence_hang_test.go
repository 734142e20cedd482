package diag_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/diag/report"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestEvidenceHangBlock(t *testing.T) {
	t.Parallel()
	r := report.Build(report.Header{Plan: sample.Plan(), Environment: sample.Environment(), Providers: sample.Providers}, []scan.Observation{
		diag.HungCell("SlowNetwork", scan.ModeSyncStream, scan.LoopNest, scan.EndDeadline, 0,
			&scan.Stacks{Threads: diag.NetworkDump, Tasks: diag.NetworkTasks}).Observation,
	}, false)
	var buf bytes.Buffer
	if err := render.Evidence(&buf, r, render.Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := "hang:\n" +
		"  Network hang: the loop is idle in select while a call waits for a socket.\n" +
		"  loop thread: thread 0x00007f3a1c7fe640\n" +
		"  waits on:    socket recv / selectors.select (network I/O), from g4f/Provider/SlowNetwork.py:27 in create_async_generator\n" +
		"  re-entered:  g4f/providers/asyncio.py:57 in to_sync_generator\n" +
		"pending asyncio tasks:\n"
	if !strings.Contains(out, want) {
		t.Errorf("evidence has no hang block before the stacks:\n%s", out)
	}
}
