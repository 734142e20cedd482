package diag

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// g4fPath is the file path from the g4f package directory on, and whether
// the path is inside one.
func g4fPath(file string) (string, bool) {
	p := pytext.SlashPath(file)
	if i := strings.LastIndex(p, "/g4f/"); i >= 0 {
		return p[i+1:], true
	}
	if strings.HasPrefix(p, "g4f/") {
		return p, true
	}
	return "", false
}

// innermostG4F is the innermost frame in a g4f package directory.
func InnermostG4F(frames []scan.Frame) (scan.Frame, bool) {
	for i := len(frames) - 1; i >= 0; i-- {
		if _, ok := g4fPath(frames[i].File); ok {
			return frames[i], true
		}
	}
	return scan.Frame{}, false
}

// formatFrame prints a frame as "g4f/providers/asyncio.py:57 in
// to_sync_generator", with the path cut to the g4f directory (or to its last
// three components outside g4f).
func FormatFrame(f scan.Frame) string {
	p, ok := g4fPath(f.File)
	if !ok {
		p = pytext.SlashPath(f.File)
		parts := strings.Split(p, "/")
		if len(parts) > 3 {
			p = strings.Join(parts[len(parts)-3:], "/")
		}
	}
	s := p + ":" + strconv.Itoa(f.Line)
	if f.Func != "" {
		s += " in " + f.Func
	}
	return s
}

// isStdlib reports whether a frame's file belongs to Python's standard library.
func isStdlib(file string) bool {
	p := pytext.SlashPath(file)
	if strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/") {
		return false
	}
	if _, ok := g4fPath(p); ok {
		return false
	}
	if strings.HasPrefix(p, "<frozen") || strings.Contains(p, "/lib/python") || strings.Contains(p, "/Lib/") {
		return true
	}
	for _, dir := range []string{"/asyncio/", "/concurrent/futures/"} {
		if strings.Contains(p, dir) {
			return true
		}
	}
	switch pytext.FileBase(p) {
	case "threading.py", "queue.py", "selectors.py", "socket.py", "ssl.py":
		return true
	}
	return false
}

// blameFrame is the frame a blocked loop thread is blamed on: the innermost
// g4f frame, else the innermost frame outside the stdlib, else the innermost.
func BlameFrame(frames []scan.Frame) (scan.Frame, bool) {
	if f, ok := InnermostG4F(frames); ok {
		return f, true
	}
	for i := len(frames) - 1; i >= 0; i-- {
		if !isStdlib(frames[i].File) {
			return frames[i], true
		}
	}
	if len(frames) > 0 {
		return frames[len(frames)-1], true
	}
	return scan.Frame{}, false
}

// blockingCode is a call that waits on another thread or on the loop itself.
var blockingCode = regexp.MustCompile(`\.(?:result|acquire|wait)\(|\bqueue\w*\.get\(|\bq\.get\(`)

// waitsForever reports whether a blocked loop thread is waiting on something
// that only another party can release (a future's result, a lock, an event, a
// condition, a queue): run on the loop thread, that wait is a deadlock when
// the other party needs the loop. A sleep or a slow socket read is not.
func WaitsForever(frames []scan.Frame) bool {
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		p := pytext.SlashPath(f.File)
		base := pytext.FileBase(p)
		switch {
		case strings.HasSuffix(p, "concurrent/futures/_base.py") && (f.Func == "result" || f.Func == "wait" || f.Func == "__get_result"):
			return true
		case base == "threading.py" && (f.Func == "wait" || f.Func == "acquire" || f.Func == "wait_for"):
			return true
		case base == "queue.py" && (f.Func == "get" || f.Func == "put"):
			return true
		}
		if !isStdlib(f.File) {
			// the innermost frame outside the stdlib decides by what it calls
			return blockingCode.MatchString(f.Code)
		}
	}
	return false
}

// runsLoop reports whether a thread's stack runs an event loop: asyncio's
// runner or run_forever, uvloop, or uvicorn's server.
func runsLoop(frames []scan.Frame) bool {
	for _, f := range frames {
		p := pytext.SlashPath(f.File)
		switch {
		case strings.HasSuffix(p, "asyncio/runners.py"),
			strings.HasSuffix(p, "asyncio/base_events.py") && (f.Func == "run_forever" || f.Func == "run_until_complete"),
			strings.Contains(p, "uvloop"),
			strings.HasSuffix(p, "uvicorn/server.py"):
			return true
		}
	}
	return false
}

// stuckLoopThread finds, in an all-thread dump, a thread that runs an event
// loop and waits in a wait only another party can end, and returns its frames.
func stuckLoopThread(dump string) ([]scan.Frame, bool) {
	for _, th := range pytext.SplitThreads(dump, pytext.HeaderSplit) {
		frames := pytext.ParseStack(th)
		if runsLoop(frames) && WaitsForever(frames) {
			return frames, true
		}
	}
	return nil, false
}
