package httpapi

// Real g4f API answers, verbatim from the project's shared samples (g4f-api-error-bodies.md)
// (g4f 0.3.5.8 server, offline, captured with curl).
const (
	// POST stream true under uvloop: HTTP 200 text/event-stream, whole body.
	sampleSSELoop = "data: {\"error\": {\"message\": \"RuntimeError: this event loop is already running.\"}, \"model\": \"gpt-4o-mini\", \"provider\": \"Blackbox\"}\n" +
		"\n" +
		"data: [DONE]\n" +
		"\n"
	// The same with stream false: HTTP 500 application/json.
	sampleJSONLoop = `{"error": {"message": "RuntimeError: this event loop is already running."}, "model": "gpt-4o-mini", "provider": "Blackbox"}`
	// A provider failure that is no loop fault, stream true, HTTP 200.
	sampleSSENetwork = "data: {\"error\": {\"message\": \"ClientConnectorError: Cannot connect to host www.blackbox.ai:443 ssl:default [Name or service not known]\"}, \"model\": \"gpt-4o-mini\", \"provider\": \"Blackbox\"}\n" +
		"\n" +
		"data: [DONE]\n" +
		"\n"
	// Stream false, HTTP 500.
	sampleJSONRequirements = `{"error": {"message": "MissingRequirementsError: Install or update \"curl_cffi\" package | pip install -U curl_cffi"}, "model": "", "provider": "Copilot"}`
	sampleJSONNoStream     = `{"error": {"message": "StreamNotSupportedError: GizAI does not support \"stream\" argument"}, "model": "", "provider": "GizAI"}`
)
