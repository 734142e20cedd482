//go:build linux

package repro

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// reapBudget bounds one ReapAdopted: a process in uninterruptible sleep
	// cannot die at once, and a fork bomb must not hold g4fdiag.
	reapBudget = 2 * time.Second
	// reapSettle is how long ReapAdopted waits for a process whose mark it
	// cannot read yet (one dying: its memory is gone, its children not yet
	// given away) before it leaves it alone.
	reapSettle = 250 * time.Millisecond
)

// containMark is the environment entry of every process started for a
// scan, and so of everything they start; its value is this process's own.
var containMark = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "G4FDIAG_CONTAIN=" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}()

var contain struct {
	once      sync.Once
	subreaper atomic.Bool // this process is one: orphans come to it
	// starting is held for reading across each StartContained, for writing
	// by ReapAdopted: a process just forked and not yet registered is
	// never taken for an orphan.
	starting sync.RWMutex
	mu       sync.Mutex
	own      map[int]uint64 // pid -> start time (0: unknown): the processes os/exec waits for
}

// StartContained starts cmd as a process that runs provider code: its
// environment gets containMark, and g4fdiag becomes a child subreaper (once)
// so that what the process leaves when it is killed comes back to it.
func StartContained(cmd *exec.Cmd) error {
	contain.once.Do(func() {
		contain.subreaper.Store(unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == nil)
	})
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env[:len(env):len(env)], containMark)
	contain.starting.RLock()
	defer contain.starting.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	start := uint64(0)
	if p, ok := readProc(cmd.Process.Pid); ok {
		start = p.start
	}
	contain.mu.Lock()
	if contain.own == nil {
		contain.own = make(map[int]uint64)
	}
	contain.own[cmd.Process.Pid] = start
	contain.mu.Unlock()
	return nil
}

// ReapAdopted kills every process that g4fdiag adopted from the processes
// it started (marked, and not one os/exec waits for), with whatever is
// below it, and reaps the ones that become its children. It returns how
// many it killed. Owners of processes call it when they end them (Pool
// Close, Set Stop) and when a process of theirs is seen dead.
func ReapAdopted() int {
	if !contain.subreaper.Load() {
		return 0
	}
	contain.starting.Lock()
	defer contain.starting.Unlock()
	me := os.Getpid()
	begun := time.Now()
	killed := map[int]bool{}
	for {
		table := readProcs()
		below := map[int][]int{}
		for pid, p := range table {
			below[p.ppid] = append(below[p.ppid], pid)
		}
		acted, pending := false, false
		seen := map[int]bool{} // /proc is read one file at a time: pids move
		var walk func(pid int, marked bool)
		walk = func(pid int, marked bool) {
			if seen[pid] {
				return
			}
			seen[pid] = true
			p := table[pid]
			if p.zombie {
				if killed[pid] && p.ppid == me {
					var ws syscall.WaitStatus
					if n, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); n == pid {
						acted = true
					}
				}
				return
			}
			if !marked {
				var readable bool
				marked, readable = hasMark(pid)
				pending = pending || !readable
			}
			if marked {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed[pid], acted = true, true
			}
			for _, c := range below[pid] {
				walk(c, marked)
			}
		}
		for _, pid := range below[me] {
			if !isOwn(pid, table[pid]) {
				walk(pid, false)
			}
		}
		if !acted && (!pending || time.Since(begun) > reapSettle) || time.Since(begun) > reapBudget {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	forgetGone(me)
	return len(killed)
}

// isOwn says whether pid is a process StartContained started (os/exec
// reaps it): the same pid, started at the same time.
func isOwn(pid int, p procStat) bool {
	contain.mu.Lock()
	defer contain.mu.Unlock()
	start, ok := contain.own[pid]
	return ok && (start == p.start || start == 0)
}

// forgetGone drops the registered processes that are no longer children of
// this process: os/exec has reaped them, and their pids may come back.
func forgetGone(me int) {
	contain.mu.Lock()
	defer contain.mu.Unlock()
	for pid, start := range contain.own {
		if p, ok := readProc(pid); !ok || p.ppid != me || start != 0 && p.start != start {
			delete(contain.own, pid)
		}
	}
}

// hasMark reads a process's environment (as it was at exec). readable is
// false when there is none to read: a process that is dying, or one that
// is not this user's.
func hasMark(pid int) (marked, readable bool) {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(env) == 0 {
		return false, false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == containMark {
			return true, true
		}
	}
	return false, true
}

// procStat is what ReapAdopted needs of /proc/PID/stat.
type procStat struct {
	ppid   int
	zombie bool
	start  uint64 // clock ticks after boot
}

func readProcs() map[int]procStat {
	table := map[int]procStat{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return table
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			table[pid] = p
		}
	}
	return table
}

func readProc(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{ppid: ppid, zombie: f[0][0] == 'Z', start: start}, true
}
