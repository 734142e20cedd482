package scan

import (
	"encoding/json"
	"strings"
	"testing"
)

// A protocol error's kind is written into its message's first words and
// read back from them: no kind's words may begin another's, and every kind
// survives an encoding.
func TestProtocolKindRoundTrip(t *testing.T) {
	t.Parallel()
	for i, a := range protocolKinds {
		for j, b := range protocolKinds {
			if i != j && a.prefix != "" && b.prefix != "" && strings.HasPrefix(b.prefix, a.prefix) {
				t.Errorf("%s's prefix %q begins %s's %q", a.kind, a.prefix, b.kind, b.prefix)
			}
		}
	}
	for _, kind := range ProtocolKinds() {
		call := Call{Outcome: OutcomeError, Chain: []PyException{NewProtocolError(kind, "%d frames", 3)}}
		b, err := json.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), string(kind)+`"`) {
			t.Errorf("%s: the kind is a field of the JSON: %s", kind, b)
		}
		var back Call
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := back.Chain[0].Protocol; got != kind {
			t.Errorf("%s: decoded as %q from %s", kind, got, b)
		}
	}
	var e PyException
	if err := json.Unmarshal([]byte(`{"type":"RuntimeError","message":"not HTTP: x"}`), &e); err != nil || e.Protocol != "" {
		t.Errorf("a Python exception decoded with kind %q (%v)", e.Protocol, err)
	}
}
