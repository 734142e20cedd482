package repro

// Process containment: nothing a provider starts outlives the scan, whatever
// session or process group it moves to.
//
// Ending a cell's process group is not enough: a provider may start a
// process that leaves the group and the session (setsid, a double fork: a
// browser, a web driver), and that process's parent then dies with the
// cell. The kernel gives such an orphan to the nearest living ancestor that
// is a child subreaper (PR_SET_CHILD_SUBREAPER), else to init. So:
//
//   - every Python process that runs provider code, and every fork server,
//     is a subreaper, and kills what it adopted when a cell ends (the
//     harness: kill_descendants);
//   - g4fdiag is one too, from its first StartContained on: what a process
//     killed by SIGKILL (a fork server, a worker per cell, an API server)
//     had adopted comes here, and ReapAdopted kills it.
//
// ReapAdopted tells what is its to kill by a mark: StartContained puts
// containMark in the environment of the processes it starts, and every
// process below them inherits it. A process g4fdiag did not start for a
// scan (a test's helper adopted by the test binary) is never marked, and
// one os/exec waits for is never killed: os/exec reaps it.
//
// Not contained: a process that a daemon starts on a provider's behalf
// (systemd-run, a D-Bus service, a container runtime) is no descendant of
// g4fdiag at all; a descendant that replaced its whole environment and was
// adopted by g4fdiag directly is left alone too (the harness's subreapers
// still kill it when a cell ends normally or at its deadline). On systems
// other than Linux only process groups are ended.
