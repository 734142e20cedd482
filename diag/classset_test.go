package diag

import (
	"reflect"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/internal/sample"
)

// A flaky cell with a loop class among its calls fails under "loop" and
// under that class; under "flaky" as a flaky cell.
func TestClassSetFlaky(t *testing.T) {
	t.Parallel()
	var flaky Verdict
	for _, o := range sample.Observations() {
		if v := Classify(o); v.Class == ClassFlaky {
			flaky = v
		}
	}
	if flaky.Split[ClassLoopReentry] == 0 {
		t.Fatalf("sample flaky cell: %+v", flaky)
	}
	for spec, want := range map[string]bool{"": true, "loop": true, "any": true, "loop-reentry": true, "flaky": true,
		"ok": false, "network": false, "deadlock,timeout": false} {
		set, err := ParseClassSet(spec)
		if err != nil {
			if spec == "ok" {
				continue
			}
			t.Fatal(err)
		}
		if got := set.Fails(flaky); got != want {
			t.Errorf("%q fails the flaky cell: %v, want %v", spec, got, want)
		}
	}
	ok := Verdict{Class: ClassOK}
	skipped := Verdict{Class: ClassSkipped}
	anySet, _ := ParseClassSet("any")
	onSkip, _ := ParseClassSet("skipped")
	if anySet.Fails(ok) || anySet.Fails(skipped) || !onSkip.Fails(skipped) || (ClassSet{}).Fails(Verdict{Class: ClassNetwork}) {
		t.Error("ok, skipped or network misjudged")
	}
}

func TestParseClassSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: "loop"},
		{in: "loop", want: "loop"},
		{in: "any", want: "any"},
		{in: " Timeout , LOOP ,", want: "loop,timeout"},
		{in: "network,loop-reentry,any", want: "any,loop-reentry,network"},
		{in: "deadlock,deadlock", want: "deadlock"},
		{in: "loops", err: `diag: unknown class "loops" (want loop, any, loop-reentry, loop-missing, loop-closed, loop-mismatch, loop-blocked, deadlock, timeout, stall, flaky, crashed, protocol, network, auth, rate-limit, provider-error, missing-requirements, provider-not-found, unclassified, not-working, skipped, unavailable)`},
		{in: "loop,ok", err: `diag: class "ok" is not a failure (want loop, any, loop-reentry, loop-missing, loop-closed, loop-mismatch, loop-blocked, deadlock, timeout, stall, flaky, crashed, protocol, network, auth, rate-limit, provider-error, missing-requirements, provider-not-found, unclassified, not-working, skipped, unavailable)`},
	} {
		set, err := ParseClassSet(tc.in)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseClassSet(%q) error %v, want %s", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseClassSet(%q): %v", tc.in, err)
		case set.String() != tc.want:
			t.Errorf("ParseClassSet(%q) = %s, want %s", tc.in, set, tc.want)
		default:
			back, err := ParseClassSet(set.String())
			if err != nil || !reflect.DeepEqual(back, set) {
				t.Errorf("%q does not read back: %v %v", set, back, err)
			}
		}
	}
	if (ClassSet{}).String() != "loop" {
		t.Errorf("zero set is %q", ClassSet{})
	}
}
