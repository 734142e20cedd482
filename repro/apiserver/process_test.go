package apiserver

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveInGroup lists the processes of group pgid that still run: an orphan
// killed with its group stays a zombie until init reaps it, which is no
// concern of the group's owner.
func liveInGroup(pgid int) []int {
	var live []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			live = append(live, pid)
		}
	}
	return live
}

func startShell(t *testing.T, script string) *process {
	t.Helper()
	started := make(chan struct{}, 1)
	p, err := startCommand(exec.Command("sh", "-c", script), func(line string) {
		if line == "started" {
			started <- struct{}{}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(0) })
	<-started
	return p
}

// A process that exits and leaves a child in its group, holding its output
// pipe: stop kills the child too, and the output ends.
func TestStopKillsWhatTheLeaderLeft(t *testing.T) {
	p := startShell(t, "sleep 300 & echo started")
	<-p.exited
	if len(liveInGroup(p.pid)) != 1 {
		t.Fatalf("group %d: %v, want the child left behind", p.pid, liveInGroup(p.pid))
	}
	p.stop(0)
	// killed, it may still be on its way out when its pipe closes
	waitFor(t, "the end of the child left in the group", func() bool { return len(liveInGroup(p.pid)) == 0 })
	if p.status != "exit status 0" || p.code != 0 {
		t.Errorf("ended %q (%d)", p.status, p.code)
	}
}

// A group that ignores SIGTERM is killed after the grace.
func TestStopEscalates(t *testing.T) {
	p := startShell(t, `trap "" TERM; echo started; sleep 300`)
	p.stop(50 * time.Millisecond)
	waitFor(t, "the end of the group", func() bool { return len(liveInGroup(p.pid)) == 0 })
	if !strings.Contains(p.status, "killed") || p.code != -1 {
		t.Errorf("ended %q (%d), want killed", p.status, p.code)
	}
	if tail := p.log.Tail(1); tail != "started\n" {
		t.Errorf("log %q", tail)
	}
}
