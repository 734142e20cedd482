// Package scale owns the scale fixture: a generated g4f of real g4f
// 0.3.5.8's size and mix, for measuring the engine on a scan of realistic
// size (`g4fdiag check --demo-scale`, BenchmarkScaleMatrix). Write lays the
// demo's miniature g4f down (providers.WriteDemo: the same client, bridges
// and API app) and replaces its ten providers with 110 generated modules and
// a generated g4f/Provider/__init__.py (__providers__, __map__,
// ProviderUtils.convert), from the table Kinds and the templates under
// python/. The output is the same bytes on every run.
//
// The table, a row per kind (outcome: what a direct call of the provider's
// own code does, alone in a process, off any loop, on the stdlib loop, with
// no api_key):
//
//	kind             count  working  auth  shape            outcome               class-level state
//	stream              21  yes      no    async generator  ok                    -
//	stream-models        2  yes      no    async generator  ok                    model list filled on the first call
//	stream-cookies       2  yes      no    async generator  ok                    cookies cached on the first call
//	stream-args          1  yes      no    async generator  ok                    request args cached on the first call
//	stream-session       1  yes      no    async generator  ok                    a session bound to its first loop (*)
//	stream-auth         18  yes      yes   async generator  auth                  -
//	hang                 1  yes      no    sync             hang; uvloop: error   -
//	shared-loop          1  yes      no    sync             ok                    one private loop for every call (*)
//	sync-auth            4  yes      yes   sync             auth                  -
//	sync-network         2  yes      no    sync             network               -
//	sync-missing         1  yes      no    sync             missing-requirements  -
//	sync                 1  yes      no    sync             ok                    -
//	retired-network     20  no       no    async generator  network               -
//	retired-missing     11  no       no    async generator  missing-requirements  -
//	retired             24  no       no    sync             not-working           -
//
// (*) the state changes the outcome when calls share a process: a call
// after another one fails on a closed or foreign loop (stream-session), a
// call beside another one finds the shared loop running (shared-loop).
// Isolated cells never see either; a scan in which they do has leaked.
//
// The rows add up to g4f 0.3.5.8's figures (G4F0358): 110 providers; 55
// with working = False; 45 that break under uvloop — the working async
// generators, which g4f's sync client reaches through to_sync_generator —
// 18 of them among the 22 that need auth; 22 that fail on the network; 12
// missing a requirement; one that hangs. Network and missing-requirement
// failures sit mostly with the not-working providers, as in real g4f, where
// providers whose hosts went away are marked not working; g4f refuses those
// before their code runs, so a scan reports them not-working.
//
// What a scan reports, cell by cell, follows from the mechanisms (every
// cell alone in its process, concurrency 1):
//
//   - working async generators: loop-reentry in sync and sync-stream on the
//     asyncio and uvloop loops (nest_asyncio is absent or cannot patch the
//     loop), their outcome in every other cell;
//   - hang: on asyncio and nest, timeout in baseline, async and
//     async-stream, and loop-blocked in sync and sync-stream (the hung sync
//     call holds the loop thread); provider-error in every uvloop cell
//     (uvloop does not implement loop.sock_recvfrom);
//   - the other sync providers: their outcome in every cell;
//   - working = False: not-working everywhere.
//
// Every socket is on 127.0.0.1. Missing requirements are looked up under a
// module prefix nothing installs, so they are missing on every machine. The
// package knows nothing of how providers are run (repro) or judged (diag).
package scale
