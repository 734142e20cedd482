package providers

// Kind is how a provider class produces its answer, decided by the method the
// class defines (DESIGN.md §2).
type Kind string

// Provider kinds.
const (
	KindSync           Kind = "sync"            // create_completion, a sync generator
	KindAsync          Kind = "async"           // create_async, a coroutine
	KindAsyncGenerator Kind = "async-generator" // create_async_generator
)

// Provider is one entry of the catalog: one g4f provider class and the class
// attributes the scan reads.
type Provider struct {
	Name                  string   `json:"name"`
	Kind                  Kind     `json:"kind"`
	Working               bool     `json:"working"`
	NeedsAuth             bool     `json:"needs_auth"`
	SupportsStream        bool     `json:"supports_stream"`
	SupportsSystemMessage bool     `json:"supports_system_message,omitempty"`
	DefaultModel          string   `json:"default_model,omitempty"`
	Models                []string `json:"models,omitempty"`
	URL                   string   `json:"url,omitempty"`
	Parent                string   `json:"parent,omitempty"`
	// Probe marks one of g4fdiag's own probe providers, registered into
	// the g4f under test (check --probe): no network, no key.
	Probe bool `json:"probe,omitempty"`
	// Unavailable says why a probe could not be registered in this g4f (a
	// base class it lacks): its cells are not run and end unavailable.
	Unavailable string `json:"unavailable,omitempty"`
}

// Probes returns the probe providers of a catalog, in catalog order.
func Probes(catalog []Provider) []Provider {
	var out []Provider
	for _, p := range catalog {
		if p.Probe {
			out = append(out, p)
		}
	}
	return out
}
