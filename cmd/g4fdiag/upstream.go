package main

import (
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/upstream"
)

// startUpstream starts the loopback upstream the probes call (ProbeOpenAI,
// and real providers that take a base URL), hands its end to onClose, and
// gives its URL (G4FDIAG_UPSTREAM) to every worker and API server started
// from t afterwards. Call it before t goes to repro.NewPool and
// apiserver.StartAll.
func startUpstream(onClose func(func()), t *repro.Target) error {
	srv, err := upstream.Start(upstream.Options{})
	if err != nil {
		return &repro.EnvError{What: "cannot start the loopback upstream for the probes: " + err.Error(),
			Fix: "check that this process may listen on 127.0.0.1", Err: err}
	}
	onClose(func() { srv.Close() })
	t.Env = srv.Env(t.Env)
	return nil
}
