// Package apiserver starts g4f's API server (`g4f api`, FastAPI under
// uvicorn) for scans with --api-spawn: a fresh server for every cell, so
// no cell meets a server another cell has changed. nest_asyncio patches
// asyncio process-wide at a server's first re-entry, and a hung stream
// stops a server for good; a server shared by cells makes their verdicts
// depend on their order.
//
// A fresh server must be cheap, so each loop variant has a fork server: a
// harness process that sets the variant up, imports uvicorn, g4f and
// g4f.api and builds the app once, before any thread or event loop exists,
// and then forks a child per server. Each child binds a free loopback port,
// is a process group of its own (so stopping it ends whatever it started),
// dies with the fork server, and writes its log to a pipe of its own, so a
// cell's evidence holds only what its server logged. Where the harness
// cannot fork (no os.fork, threads alive after the imports, G4FDIAG_FORK=0)
// every server is a process of its own, started the same way a fork server
// is, and the loop's LoopInfo says why.
//
// A server is stopped with SIGKILL of its process group once its cell is
// done: its state is of no further use, and a hung uvicorn ignores SIGTERM
// anyway. Stop ends every server and fork server; nothing outlives the Set.
//
// It knows nothing of requests or verdicts: the HTTP driver sends the
// requests, diag judges them.
package apiserver
