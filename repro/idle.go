package repro

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Idle detection: --jobs bounds the cells that use the CPU. A cell whose
// process has used none for idleAfter — blocked in epoll on a hang, waiting
// for a stream or a lock — gives its job slot back, so one provider that
// hangs in ten cells does not hold the scan for ten deadlines in a row.
const (
	idleSample = 50 * time.Millisecond
	idleAfter  = 200 * time.Millisecond
	// idleCPU is the CPU a process may use in idleAfter and still count as
	// waiting: one tick of the kernel's 10 ms accounting, for the heartbeat
	// and the watchdog, which wake every 50 ms.
	idleCPU = 10 * time.Millisecond
)

// idleWatch samples one process's CPU time and calls yield once, when it
// has stayed flat for idleAfter. Without yield, or without /proc, it does
// nothing: the cell keeps its slot to the end.
type idleWatch struct {
	yield func()
	once  sync.Once
	done  chan struct{}
}

func newIdleWatch(yield func()) *idleWatch {
	return &idleWatch{yield: yield, done: make(chan struct{})}
}

func (iw *idleWatch) watch(pid int) {
	if iw.yield == nil {
		return
	}
	if _, ok := processCPU(pid); !ok {
		return
	}
	go iw.run(pid)
}

func (iw *idleWatch) run(pid int) {
	t := time.NewTicker(idleSample)
	defer t.Stop()
	last, _ := processCPU(pid)
	since := time.Now()
	for {
		select {
		case <-iw.done:
			return
		case now := <-t.C:
			cpu, ok := processCPU(pid)
			if !ok {
				return
			}
			if cpu-last > idleCPU {
				last, since = cpu, now
				continue
			}
			if now.Sub(since) >= idleAfter {
				iw.yield()
				return
			}
		}
	}
}

func (iw *idleWatch) stop() { iw.once.Do(func() { close(iw.done) }) }

// WatchIdle calls yield once, when process pid has used no CPU for a while
// (see idleAfter), for drivers whose cells run in a process of their own,
// such as an API server started for the cell. stop ends the watch; yield
// may be nil.
func WatchIdle(pid int, yield func()) (stop func()) {
	iw := newIdleWatch(yield)
	iw.watch(pid)
	return iw.stop
}

// processCPU is the user+system CPU a process has used, all its threads
// together, from /proc (ticks of 10 ms: Linux's USER_HZ is 100).
func processCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}
