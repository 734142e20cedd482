package scale

import (
	"fmt"
	"sort"
)

// Shape is the method a provider class implements, which decides how g4f's
// sync client reaches it.
type Shape string

// The shapes the fixture uses. create_async providers (sync callers go
// through asyncio.run) are left out on purpose: they break under uvloop
// without going through to_sync_generator, and would blur the count of
// providers that break the documented way.
const (
	// AsyncGenerator: create_async_generator. The sync client drives it
	// through to_sync_generator, which re-enters a running loop.
	AsyncGenerator Shape = "async-generator"
	// Sync: create_completion, a sync generator called as it is.
	Sync Shape = "sync"
)

// Outcome is what one direct call of a provider does, by the provider's own
// code: alone in a process, from a thread with no running loop, on the
// stdlib loop, with no api_key. g4f's own working check is left out of it:
// through g4f, a provider marked working = False is refused before its
// code runs.
type Outcome string

// The outcomes.
const (
	OK                  Outcome = "ok"
	Network             Outcome = "network"              // connection refused on a closed loopback port
	Auth                Outcome = "auth"                 // MissingAuthError: no api_key
	MissingRequirements Outcome = "missing-requirements" // MissingRequirementsError: an optional package is absent
	NotWorking          Outcome = "not-working"          // ProviderNotWorkingError raised by the provider itself
	Hang                Outcome = "hang"                 // waits forever, with no timeout of its own
	ProviderError       Outcome = "provider-error"       // any other exception
)

// Sharing is what a provider's class-level state does to a call when
// another call of the same provider ran before it, or runs beside it, in
// the same process. Cells that share a process see it; isolated cells
// never do.
type Sharing string

// The ways state can leak.
const (
	// Harmless: the state is reused and nothing changes (a model list, cookies).
	Harmless Sharing = ""
	// FailsAfter: a call fails once an earlier call in the process has
	// bound the state to its event loop and that loop is gone.
	FailsAfter Sharing = "after"
	// FailsTogether: a call fails while another call of the provider is in
	// flight in the process.
	FailsTogether Sharing = "together"
)

// Kind is one row of the fixture's table: a kind of provider, how many of
// it there are, and what each one does. The generated Python follows the
// row's template; the counts of g4f 0.3.5.8's mix are sums over rows.
type Kind struct {
	ID        string // short name of the row
	Prefix    string // class names: Prefix01, Prefix02, ...; Prefix alone when Count is 1
	Count     int
	Working   bool // the class attribute working
	NeedsAuth bool // the class attribute needs_auth
	Shape     Shape
	Outcome   Outcome // a direct call, as Outcome says
	// UnderUvloop is the outcome of the same call when the loops the
	// provider makes are uvloop's, where it differs from Outcome.
	UnderUvloop Outcome
	State       string // the class-level state it keeps across calls, "" for none
	Sharing     Sharing
	Summary     string // one line for the docs
	template    string // the template that writes its module
	requirement string // the optional package a missing-requirements kind asks for; "" for the rotation
}

// Kinds is the fixture, a row per kind of provider. The order of the rows is
// the order of the docs; providers are listed by name.
var Kinds = []Kind{
	{ID: "stream", Prefix: "Stream", Count: 21, Working: true, Shape: AsyncGenerator, Outcome: OK,
		Summary: "healthy async generator: re-enters a running loop when sync-wrapped", template: "stream"},
	{ID: "stream-models", Prefix: "ModelList", Count: 2, Working: true, Shape: AsyncGenerator, Outcome: OK,
		State: "models, filled on the first call", Summary: "healthy async generator with a model list filled on first use", template: "stream"},
	{ID: "stream-cookies", Prefix: "Cookies", Count: 2, Working: true, Shape: AsyncGenerator, Outcome: OK,
		State: "cookies, cached on the first call", Summary: "healthy async generator that caches its cookies", template: "stream"},
	{ID: "stream-args", Prefix: "CachedArgs", Count: 1, Working: true, Shape: AsyncGenerator, Outcome: OK,
		State: "request args, cached on the first call", Summary: "healthy async generator that caches its request arguments", template: "stream"},
	{ID: "stream-session", Prefix: "StickySession", Count: 1, Working: true, Shape: AsyncGenerator, Outcome: OK,
		State: "a session bound to the loop of its first call", Sharing: FailsAfter,
		Summary: "healthy async generator whose shared session keeps the loop it was made on", template: "session"},
	{ID: "stream-auth", Prefix: "KeyStream", Count: 18, Working: true, NeedsAuth: true, Shape: AsyncGenerator, Outcome: Auth,
		Summary: "async generator that needs an api_key", template: "stream_auth"},
	{ID: "hang", Prefix: "NoTimeout", Count: 1, Working: true, Shape: Sync, Outcome: Hang, UnderUvloop: ProviderError,
		Summary: "waits for a UDP answer that never comes, on a loop of its own; uvloop refuses the wait at once", template: "hang"},
	{ID: "shared-loop", Prefix: "SharedLoop", Count: 1, Working: true, Shape: Sync, Outcome: OK,
		State: "one private event loop for every call", Sharing: FailsTogether,
		Summary: "sync provider driving one shared private loop: overlapping calls find it running", template: "shared_loop"},
	{ID: "sync-auth", Prefix: "KeySync", Count: 4, Working: true, NeedsAuth: true, Shape: Sync, Outcome: Auth,
		Summary: "sync provider that needs an api_key", template: "sync_auth"},
	{ID: "sync-network", Prefix: "NetSync", Count: 2, Working: true, Shape: Sync, Outcome: Network,
		Summary: "sync provider whose host refuses the connection", template: "sync_network"},
	{ID: "sync-missing", Prefix: "ReqSync", Count: 1, Working: true, Shape: Sync, Outcome: MissingRequirements,
		Summary: "sync provider missing an optional package", template: "sync_missing", requirement: "curl_cffi"},
	{ID: "sync", Prefix: "Echo", Count: 1, Working: true, Shape: Sync, Outcome: OK,
		Summary: "healthy sync provider", template: "sync"},
	{ID: "retired-network", Prefix: "DeadNet", Count: 20, Shape: AsyncGenerator, Outcome: Network,
		Summary: "working = False; its host refuses the connection", template: "retired_network"},
	{ID: "retired-missing", Prefix: "DeadReq", Count: 11, Shape: AsyncGenerator, Outcome: MissingRequirements,
		Summary: "working = False; missing an optional package", template: "retired_missing"},
	{ID: "retired", Prefix: "Retired", Count: 24, Shape: Sync, Outcome: NotWorking,
		Summary: "working = False; raises ProviderNotWorkingError itself", template: "retired"},
}

// Mix counts a fixture by the categories g4f 0.3.5.8's providers are
// described with. The categories overlap.
type Mix struct {
	Providers  int
	NotWorking int // working = False
	// UvloopBreaking: working async generators. Sync-wrapped inside a
	// running loop, to_sync_generator re-enters it; uvloop cannot be made
	// re-entrant, so they fail there before their own code runs.
	UvloopBreaking     int
	UvloopBreakingAuth int // of those, the ones that need auth
	NeedsAuth          int
	Network            int // a direct call fails on the network
	MissingRequirement int // a direct call raises MissingRequirementsError
	Hang               int // a direct call never ends
	Stateful           int // keep class-level state across calls
	IsolationSensitive int // that state changes an outcome when calls share a process
}

// G4F0358 is g4f 0.3.5.8's mix, which Kinds must add up to. Stateful and
// IsolationSensitive have no figure there: the fixture only needs some.
var G4F0358 = Mix{Providers: 110, NotWorking: 55, UvloopBreaking: 45, UvloopBreakingAuth: 18,
	NeedsAuth: 22, Network: 22, MissingRequirement: 12, Hang: 1}

// Count adds up the rows of a table.
func Count(kinds []Kind) Mix {
	var m Mix
	for _, k := range kinds {
		n := k.Count
		m.Providers += n
		if !k.Working {
			m.NotWorking += n
		}
		if k.NeedsAuth {
			m.NeedsAuth += n
		}
		if k.Working && k.Shape == AsyncGenerator {
			m.UvloopBreaking += n
			if k.NeedsAuth {
				m.UvloopBreakingAuth += n
			}
		}
		switch k.Outcome {
		case Network:
			m.Network += n
		case MissingRequirements:
			m.MissingRequirement += n
		case Hang:
			m.Hang += n
		}
		if k.State != "" {
			m.Stateful += n
		}
		if k.Sharing != Harmless {
			m.IsolationSensitive += n
		}
	}
	return m
}

// Provider is one generated provider class.
type Provider struct {
	Name  string
	Kind  *Kind
	Index int // 1-based within its kind
}

// Providers lists the generated providers by name, the order of
// g4f.Provider.__providers__.
func Providers() []Provider {
	var out []Provider
	for i := range Kinds {
		k := &Kinds[i]
		for n := 1; n <= k.Count; n++ {
			out = append(out, Provider{Name: k.name(n), Kind: k, Index: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// First returns the first provider of each kind, in the order of Kinds: a
// small selection that still shows every mechanism.
func First() []Provider {
	out := make([]Provider, len(Kinds))
	for i := range Kinds {
		out[i] = Provider{Name: Kinds[i].name(1), Kind: &Kinds[i], Index: 1}
	}
	return out
}

func (k *Kind) name(n int) string {
	if k.Count == 1 {
		return k.Prefix
	}
	return fmt.Sprintf("%s%02d", k.Prefix, n)
}
