// Package scan holds the data a scan is made of, shared by the engine
// (repro and its drivers) and by everything that judges or shows a scan
// (diag and its packages): the Plan and its Cells, the tables of modes and
// loops (cell.go), the Observation of one cell with its Calls, exception
// chains and stacks, the Environment the workers report, the remedy table
// (remedy.go), the kinds of protocol break (protocolkind.go) and shards.
//
// It runs nothing and judges nothing: no process, no network, no verdict.
// diag depends on it and not on the engine, so reading, merging and
// rendering a saved scan never pulls in the code that starts processes.
//
// Modes and loops are tables: modeTable says for each mode how the harness
// calls g4f (sync or async client, streaming, on the cell's loop or not;
// the run request carries it, harness.py keeps no list of modes), loopTable
// each loop's short name and meaning. A new mode is a row of modeTable,
// plus a call in harness.py when no existing call has its shape. The remedy
// table (Remedies) says how a fix is run and which cells it applies to;
// whether it fixed anything is diag's.
package scan
