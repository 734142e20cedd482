// Package reprotest provides helpers for the tests of g4fdiag that run real
// Python against a fake g4f: it writes fake g4f packages and the demo
// miniature with extra providers, and finds the processes a test started
// by a mark in their argv or environment. Like net/http/httptest, it is
// used only by tests.
//
// The process helpers read /proc: where there is none (not Linux) they
// find no process.
package reprotest

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/g4fdiag/g4fdiag/providers"
)

// WriteG4F writes a g4f package whose g4f/__init__.py is init into a fresh
// temp dir, with files (paths relative to that dir, contents) beside it,
// and returns the dir: the entry of PYTHONPATH that imports it.
func WriteG4F(tb testing.TB, init string, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	writeFiles(tb, dir, map[string]string{filepath.Join("g4f", "__init__.py"): init})
	writeFiles(tb, dir, files)
	return dir
}

// Bodies of a hostile g4f/__init__.py for WriteG4F.
const (
	// FloodFD3 writes 100 MiB without a newline to fd 3 (the worker's
	// protocol pipe) on import, then hangs.
	FloodFD3 = "import os, time\n" +
		"chunk = b'x' * (1 << 20)\n" +
		"for _ in range(100):\n" +
		"    os.write(3, chunk)\n" +
		"time.sleep(600)\n"
	// TrickleFD3 ignores SIGTERM and writes to fd 3 for ever on import, a
	// little at a time and without a newline: it never gets ready.
	TrickleFD3 = "import os, signal, time\n" +
		"signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" +
		"while True:\n" +
		"    os.write(3, b'x' * 1000)\n" +
		"    time.sleep(0.01)\n"
)

// WriteDemo writes the demo miniature g4f into a fresh temp dir with files
// (names and contents) added to g4f/Provider and initTail appended to
// g4f/Provider/__init__.py, and returns the dir: the entry of PYTHONPATH
// that imports it.
func WriteDemo(tb testing.TB, files map[string]string, initTail string) string {
	tb.Helper()
	dir, err := providers.WriteDemo(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	pkg := filepath.Join(dir, "g4f", "Provider")
	writeFiles(tb, pkg, files)
	init, err := os.OpenFile(filepath.Join(pkg, "__init__.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = init.WriteString(initTail)
	if cerr := init.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// Register is the Python that registers classes of g4f/Provider/module.py
// in the miniature's g4f.Provider, for WriteDemo's initTail.
func Register(module string, classes ...string) string {
	list := strings.Join(classes, ", ")
	return "\nfrom ." + module + " import " + list + "\n" +
		"__providers__ += [" + list + "]\n" +
		"for _cls in (" + list + ",):\n" +
		"    __map__[_cls.__name__] = _cls\n" +
		"    ProviderUtils.convert[_cls.__name__] = _cls\n"
}

//go:embed escapee.py
var escapee string

// EscapeeVar is the environment variable that gives the Escapee providers
// their mark.
const EscapeeVar = "ESCAPEE_MARK"

// Escapee writes the demo miniature with the providers of escapee.py
// (Escapee, EscapeeHang), which leave a process in a session of its own
// (setsid, a double fork), and returns its dir and a fresh mark. Run it
// with EscapeeVar=mark in the environment: the left processes carry mark
// in their argv (mark+"-left" once they have left). Whatever holds mark is
// killed when the test ends, so that a failed test leaves nothing for 300 s.
func Escapee(tb testing.TB) (dir, mark string) {
	tb.Helper()
	dir = WriteDemo(tb, map[string]string{"Escapee.py": escapee}, Register("Escapee", "Escapee", "EscapeeHang"))
	mark = fmt.Sprintf("g4fdiag-escapee-%d-%d", os.Getpid(), time.Now().UnixNano())
	tb.Cleanup(func() {
		for _, pid := range ArgvMarked(mark) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	})
	return dir, mark
}

// ArgvMarked lists the running processes with mark in their argv.
func ArgvMarked(mark string) []int {
	return scan(func(pid string) bool {
		argv, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		return err == nil && strings.Contains(string(argv), mark)
	})
}

// EnvMarked lists the processes, this one aside, with entry (NAME=value)
// in their environment.
func EnvMarked(entry string) []int {
	self := strconv.Itoa(os.Getpid())
	return scan(func(pid string) bool {
		env, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
		if err != nil || pid == self {
			return false
		}
		for kv := range strings.SplitSeq(string(env), "\x00") {
			if kv == entry {
				return true
			}
		}
		return false
	})
}

// scan lists the pids in /proc for which holds is true.
func scan(holds func(pid string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && holds(e.Name()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Await polls list until it finds a process (present) or none (!present),
// for at most within (be generous: seconds over what is expected), and
// says whether that happened.
func Await(list func() []int, present bool, within time.Duration) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if (len(list()) > 0) == present {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// AwaitEscapees waits (15 s) until a process with mark in its argv runs
// (running), or until none does. It fails tb at once if none ever runs
// (the test cannot see containment), and names what is left, as outliving
// what, if some never end.
func AwaitEscapees(tb testing.TB, mark string, running bool, what string) {
	tb.Helper()
	list := func() []int { return ArgvMarked(mark) }
	if Await(list, running, 15*time.Second) {
		return
	}
	if running {
		tb.Fatal("the provider left no process: the test cannot see containment")
	}
	tb.Errorf("processes a provider started outlived %s:%s", what, Describe(list()))
}

// Describe names pids for a failure message: each with its parent and argv.
func Describe(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		status, _ := os.ReadFile(filepath.Join(dir, "status"))
		argv, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		ppid := "?"
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid = strings.TrimSpace(rest)
			}
		}
		fmt.Fprintf(&b, " pid %d (parent %s): %s;", pid, ppid, strings.ReplaceAll(strings.TrimRight(string(argv), "\x00"), "\x00", " "))
	}
	return b.String()
}

// EmptyDir fails tb for every entry left in dir, and at once when dir
// cannot be read.
func EmptyDir(tb testing.TB, dir string) {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		tb.Errorf("left in the temp dir: %s", e.Name())
	}
}
