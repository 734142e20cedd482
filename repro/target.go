package repro

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Target is the Python environment a scan runs against.
type Target struct {
	Python string   // interpreter path
	Env    []string // the workers' environment: the caller's, plus PYTHONPATH for --demo
	Demo   bool
	// StartTimeout bounds a worker's start, g4f import included; zero means 60 s.
	StartTimeout time.Duration
}

func (t Target) startTimeout() time.Duration {
	if t.StartTimeout > 0 {
		return t.StartTimeout
	}
	return 60 * time.Second
}

// FindPython resolves the interpreter: the explicit path when given, else
// $VIRTUAL_ENV/bin/python, else python3 on PATH. environ is the caller's
// environment.
func FindPython(explicit string, environ []string) (string, error) {
	if explicit != "" {
		path := explicit
		if !strings.ContainsRune(explicit, filepath.Separator) {
			p, err := exec.LookPath(explicit)
			if err != nil {
				return "", envErrorf("pass --python with the path of a Python 3 interpreter",
					"--python %q: not found on PATH", explicit)
			}
			path = p
		}
		fi, err := os.Stat(path)
		if err != nil {
			return "", envErrorf("pass --python with the path of a Python 3 interpreter",
				"--python %q: %v", explicit, unwrapExec(err))
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", envErrorf("pass --python with the path of a Python 3 interpreter",
				"--python %q is not an executable file", explicit)
		}
		return path, nil
	}
	if venv := lookupEnv(environ, "VIRTUAL_ENV"); venv != "" {
		p := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", envErrorf("install Python 3 or pass --python PATH", "no python3 on PATH")
		}
		return "", envErrorf("pass --python PATH", "python3: %v", err)
	}
	return p, nil
}

func lookupEnv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// WithPythonPath returns environ with dir put first on PYTHONPATH, and
// bytecode writing switched off so the demo tree stays as written.
func WithPythonPath(environ []string, dir string) []string {
	out := make([]string, 0, len(environ)+2)
	old := ""
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH":
			old = v
			continue
		case "PYTHONDONTWRITEBYTECODE":
			continue
		}
		out = append(out, kv)
	}
	pp := dir
	if old != "" {
		pp += string(os.PathListSeparator) + old
	}
	return append(out, "PYTHONPATH="+pp, "PYTHONDONTWRITEBYTECODE=1")
}

// ProbesEnv is the variable that has the harness register g4fdiag's probe
// providers (harness/probes.py) into the g4f under test: "1" registers
// them, in the workers and in the API servers g4fdiag starts.
const ProbesEnv = "G4FDIAG_PROBES"

// WithProbes returns environ with ProbesEnv saying whether the probes are
// registered; whatever value the caller's environment had is replaced, so
// only g4fdiag's flags decide.
func WithProbes(environ []string, on bool) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == ProbesEnv {
			continue
		}
		out = append(out, kv)
	}
	if on {
		out = append(out, ProbesEnv+"=1")
	}
	return out
}
