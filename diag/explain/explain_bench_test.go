package explain

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"
)

var logProviders = []string{"Blackbox", "DDG", "PollinationsAI", "Copilot"}

// writeServerLog writes about size bytes of a g4f API server log under
// uvicorn with uvloop: access lines, loop re-entry tracebacks through
// to_sync_generator, network errors, Cloudflare blocks and SSE error bodies,
// with timestamps and provider names; g4f's retry lines, now and then a
// faulthandler dump of a deadlocked loop thread and a gunicorn WORKER
// TIMEOUT.
func writeServerLog(w io.Writer, size int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	sec := 9*3600 + 14*60
	for i := 0; n < size; i++ {
		p := logProviders[i%len(logProviders)]
		ts := fmt.Sprintf("2025-03-01 %02d:%02d:%02d,%03d", sec/3600%24, sec/60%60, sec%60, i%1000)
		sec++
		var k int
		switch i % 10 {
		case 0, 1, 2, 3:
			k, _ = fmt.Fprintf(bw, `%s ERROR g4f.api: Exception in streaming response provider=%s
Traceback (most recent call last):
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/api/__init__.py", line 310, in streaming
    async for chunk in response:
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/client/__init__.py", line 71, in iter_response
    for chunk in response:
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/providers/base_provider.py", line 214, in create_completion
    yield from to_sync_generator(cls.create_async_generator(model, messages, **kwargs))
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/providers/asyncio.py", line 57, in to_sync_generator
    yield loop.run_until_complete(await_callback(gen.__anext__))
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "uvloop/loop.pyx", line 1512, in uvloop.loop.Loop.run_until_complete
  File "uvloop/loop.pyx", line 1505, in uvloop.loop.Loop.run_until_complete
  File "uvloop/loop.pyx", line 1379, in uvloop.loop.Loop.run_forever
RuntimeError: this event loop is already running.
`, ts, p)
		case 4:
			k, _ = fmt.Fprintf(bw, "%s ERROR g4f.api: provider=%s ClientConnectorError: Cannot connect to host %s.example:443 ssl:default [Name or service not known]\n", ts, p, p)
		case 5:
			k, _ = fmt.Fprintf(bw, `%s ERROR g4f.api: Exception in provider=%s
Traceback (most recent call last):
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/providers/asyncio.py", line 57, in to_sync_generator
    yield loop.run_until_complete(await_callback(gen.__anext__))
  File "/usr/lib/python3.12/asyncio/base_events.py", line 687, in run_until_complete
    return future.result()
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/Provider/%s.py", line 140, in create_async_generator
    await raise_for_status(response)
g4f.errors.CloudflareError: Response 403: Cloudflare detected
`, ts, p, p)
		case 6:
			k, _ = fmt.Fprintf(bw, `%s INFO g4f.api: data: {"error": {"message": "RuntimeError: this event loop is already running."}, "model": "gpt-4o-mini", "provider": "%s"}`+"\n", ts, p)
		case 7:
			switch {
			case i%200 == 7:
				k, _ = fmt.Fprintf(bw, `Timeout (0:00:30)!
Current thread 0x00007f3b2b9a2740 (most recent call first):
  File "/usr/lib/python3.12/threading.py", line 355 in wait
  File "/usr/lib/python3.12/concurrent/futures/_base.py", line 451 in result
  File "/opt/g4f/.venv/lib/python3.12/site-packages/g4f/Provider/%s.py", line 88 in create_completion
  File "/usr/lib/python3.12/asyncio/events.py", line 88 in _run
  File "/usr/lib/python3.12/asyncio/base_events.py", line 1987 in _run_once
  File "/usr/lib/python3.12/asyncio/base_events.py", line 641 in run_forever
  File "/usr/lib/python3.12/asyncio/runners.py", line 118 in run

`, p)
			case i%100 == 17:
				k, _ = fmt.Fprintf(bw, "[%s +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:%d)\n", ts, 9+i%50)
			default:
				k, _ = fmt.Fprintf(bw, "Using %s provider (attempt %d)\n", p, 1+i%3)
			}
		default:
			k, _ = fmt.Fprintf(bw, "INFO:     127.0.0.1:%d - \"POST /v1/chat/completions HTTP/1.1\" 200 OK\n", 40000+i%20000)
		}
		n += int64(k)
	}
	return bw.Flush()
}

func BenchmarkExplainLog5MB(b *testing.B) {
	var buf bytes.Buffer
	if err := writeServerLog(&buf, 5<<20); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var e Explanation
	for b.Loop() {
		var err error
		e, err = Explain(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	if e.Summary.Loop == 0 || len(e.Findings) == 0 {
		b.Fatalf("nothing found: %+v", e.Summary)
	}
}
