package scan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

func TestPlanJSONRoundTrip(t *testing.T) {
	t.Parallel()
	p := Plan{Providers: []string{"A"}, Modes: []Mode{ModeSync}, Loops: []Loop{LoopUvloop},
		Concurrency: 2, APIConcurrency: 3, Repeat: 3, Jobs: 4, Timeout: 20 * time.Second, BlockThreshold: 1500 * time.Millisecond,
		IncludeAuth: true}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"timeout":"20s"`) || !strings.Contains(string(data), `"block_threshold":"1.5s"`) {
		t.Errorf("durations not readable: %s", data)
	}
	var back Plan
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, back) {
		t.Errorf("round trip: %+v, want %+v", back, p)
	}
	if err := json.Unmarshal([]byte(`{"timeout":"soon"}`), &back); err == nil {
		t.Error("a bad duration was accepted")
	}
}

// HTTP cells take APIConcurrency when it is set; in-process cells never do.
func TestPlanAPIConcurrency(t *testing.T) {
	t.Parallel()
	p := Plan{Providers: []string{"A"}, Modes: []Mode{ModeSync, ModeAPIJSON, ModeAPISSE}, Loops: []Loop{LoopNest},
		Concurrency: 1, APIConcurrency: 2, Repeat: 1}
	var got []string
	for _, c := range p.Cells(nil) {
		got = append(got, fmt.Sprintf("%s:%d", c.Mode, c.Concurrency))
	}
	if want := "sync:1 api-json:2 api-sse:2"; strings.Join(got, " ") != want {
		t.Errorf("cells %q, want %q", got, want)
	}
	p.APIConcurrency = 0
	if c := p.Cells(nil)[2]; c.Concurrency != 1 {
		t.Errorf("APIConcurrency 0 gives %s cells concurrency %d, want Concurrency's 1", c.Mode, c.Concurrency)
	}
}

func TestPlanCells(t *testing.T) {
	t.Parallel()
	p := Plan{Providers: []string{"B", "A"}, Modes: []Mode{ModeSync, ModeAsync}, Loops: []Loop{LoopAsyncio, LoopUvloop},
		Concurrency: 1, Repeat: 1}
	cells := p.Cells([]providers.Provider{{Name: "A", DefaultModel: "a-1"}, {Name: "B"}})
	var keys []string
	for _, c := range cells {
		keys = append(keys, c.Key()+"|"+c.Model)
	}
	want := []string{
		"B|sync|asyncio|", "B|sync|uvloop|", "B|async|asyncio|", "B|async|uvloop|",
		"A|sync|asyncio|a-1", "A|sync|uvloop|a-1", "A|async|asyncio|a-1", "A|async|uvloop|a-1",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("cells = %q", keys)
	}
	p.Model = "m"
	if c := p.Cells([]providers.Provider{{Name: "A", DefaultModel: "a-1"}})[4]; c.Model != "m" {
		t.Errorf("--model not applied: %+v", c)
	}
}
