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
}
