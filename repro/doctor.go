package repro

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

//go:embed harness/doctor.py
var doctorPy []byte

// doctorPrefix starts the one stdout line of doctor.py that holds its report.
const doctorPrefix = "g4fdiag-doctor "

// ImportError is the environment error of a doctor run whose g4f cannot be
// imported, nil when it can. doctor still reports everything else first:
// the interpreter could be inspected, only g4f could not.
func ImportError(d scan.Doctor) error {
	if d.G4F.Importable {
		return nil
	}
	msg := d.G4F.Error
	if msg == "" {
		msg = "unknown error"
	}
	return envErrorf("install g4f for it, put a g4f checkout on PYTHONPATH, pass --python, or try --demo",
		"g4f is not importable with %s (%s)", d.Python, oneLine(msg))
}

// RunDoctor runs the embedded doctor.py with t's interpreter and environment
// and returns its report, without exposures: diag.Exposures judges them. It fails with an
// *EnvError when the interpreter cannot run the script or the script gives
// no usable report; a g4f that cannot be imported is not an error here (see
// Doctor.ImportError). The script's process group is killed before
// RunDoctor returns, whatever g4f started on import.
func RunDoctor(ctx context.Context, t Target) (scan.Doctor, error) {
	dir, err := os.MkdirTemp("", "g4fdiag-doctor-")
	if err != nil {
		return scan.Doctor{}, err
	}
	defer os.RemoveAll(dir)
	script, err := writeScript(dir, "doctor.py", doctorPy)
	if err != nil {
		return scan.Doctor{}, err
	}

	cmd := exec.Command(t.Python, append([]string{"-u", script}, scan.DoctorPackages...)...)
	cmd.Env = t.Env
	cmd.Dir = dir
	cmd.SysProcAttr = ProcAttr()
	stdout := newTailBuffer(4 << 20)
	stderr := newTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A child g4f started may hold the pipes after the script exits: stop
	// reading soon after, and kill the group below.
	cmd.WaitDelay = 500 * time.Millisecond
	if err := StartContained(cmd); err != nil {
		return scan.Doctor{}, envErrorf("pass --python with the path of a Python 3 interpreter",
			"cannot start Python %q: %v", t.Python, unwrapExec(err))
	}
	defer ReapAdopted() // once it is reaped: what g4f started outside its group
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(t.startTimeout())
	defer timer.Stop()
	var waitErr error
	select {
	case waitErr = <-done:
		KillGroup(pgid) // children g4f left behind
	case <-timer.C:
		KillGroup(pgid)
		<-done
		return scan.Doctor{}, envErrorf("check that `"+t.Python+" -c 'import g4f'` finishes",
			"inspecting %s did not finish within %s (importing g4f hangs?)", t.Python, t.startTimeout())
	case <-ctx.Done():
		KillGroup(pgid)
		<-done
		return scan.Doctor{}, ctx.Err()
	}

	d, err := parseDoctor(stdout.String())
	if err != nil {
		status := "exit status 0"
		if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
			status = waitErr.Error()
		}
		return scan.Doctor{}, envErrorf("check the interpreter with `"+t.Python+" -c 'import sys; print(sys.version)'`",
			"cannot inspect %s: %v (%s): %s", t.Python, err, status, oneLine(lastLine(stderr.String())))
	}
	d.Demo = t.Demo
	d.Exposures = []scan.Exposure{}
	return d, nil
}

// parseDoctor finds the last report line in doctor.py's stdout.
func parseDoctor(stdout string) (scan.Doctor, error) {
	var last string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); strings.HasPrefix(line, doctorPrefix) {
			last = line
		}
	}
	if last == "" {
		return scan.Doctor{}, errors.New("no report from the doctor script")
	}
	var d scan.Doctor
	if err := json.Unmarshal([]byte(strings.TrimPrefix(last, doctorPrefix)), &d); err != nil {
		return scan.Doctor{}, fmt.Errorf("unreadable report from the doctor script: %v", err)
	}
	if d.Python == "" || d.PythonVersion == "" {
		return scan.Doctor{}, errors.New("the doctor script's report names no interpreter")
	}
	return d, nil
}

// oneLine keeps untrusted text to one printable line: an error message goes
// to a terminal as is.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
