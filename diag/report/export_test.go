package report

// For the external tests (package report_test), which may import the
// renderers: render imports report, so report's own tests cannot.
var (
	ShardsOf       = shardsOf
	RoundTrip      = roundTrip
	MarkdownSample = markdownSample
)
