package diag

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// CodeFrame is a frame of the user's own code: the line the user must
// change. File is the path as the text wrote it.
type CodeFrame struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Func string `json:"func,omitempty"`
}

// String is "bot.py:42 in on_message": the file's base name, which the
// user knows their file by (the whole path, with its home directory, stays
// in File).
func (c CodeFrame) String() string { return codeAt(c.File, c.Line, c.Func) }

func codeAt(file string, line int, fn string) string {
	s := pytext.FileBase(pytext.SlashPath(file)) + ":" + strconv.Itoa(line)
	if fn != "" {
		s += " in " + fn
	}
	return s
}

// YourCode is the "your code: bot.py:42 in on_message" line every format
// prints for a verdict that has a user frame; "" for none.
func YourCode(c *CodeFrame) string {
	if c == nil {
		return ""
	}
	return "your code: " + SingleLine(c.String())
}

// NewCodeFrame makes a frame the user's, cleaned for output.
func NewCodeFrame(f scan.Frame) *CodeFrame {
	return &CodeFrame{File: OneLine(f.File), Line: f.Line, Func: OneLine(f.Func)}
}

// UserCode is the first frame of the user's own code counted from the
// failure: the innermost frame that is not g4f, not the Python standard
// library (asyncio included), not an installed package (site-packages,
// dist-packages), not a loop, server or bot framework the call runs in
// (uvloop, nest_asyncio, uvicorn, starlette, anyio, aiohttp, ...) and not
// g4fdiag's own harness. Frames are outermost first, as pytext reads them
// from tracebacks, faulthandler and py-spy dumps and IPython tracebacks.
func UserCode(frames []scan.Frame) (scan.Frame, bool) {
	for i := len(frames) - 1; i >= 0; i-- {
		if IsUserFile(frames[i].File) {
			return frames[i], true
		}
	}
	return scan.Frame{}, false
}

// ChainUserCode is the user frame of an exception chain (raised first): in
// the traceback of the matched exception at idx, else of the exceptions
// nearest it, in ChainFrame's order.
func ChainUserCode(chain []scan.PyException, idx int) (scan.Frame, bool) {
	for i := range pytext.WalkOrder(len(chain), idx, pytext.WalkNearest) {
		if f, ok := UserCode(pytext.ExceptionFrames(chain[i])); ok {
			return f, true
		}
	}
	return scan.Frame{}, false
}

// notUserPackage is the first component of a module-relative path (py-spy
// prints "uvicorn/server.py", "asyncio/events.py") or a directory anywhere
// in a path that holds code the user did not write.
var (
	notUserTop = regexp.MustCompile(`^/?(?:asyncio|concurrent|importlib|multiprocessing|http|email|json|logging|unittest|urllib|wsgiref|xmlrpc|` +
		`uvloop|nest_asyncio2?|uvicorn|h11|httptools|starlette|fastapi|anyio|sniffio|aiohttp|httpx|httpcore|requests|urllib3|curl_cffi|` +
		`discord|telegram|aiogram|pyrogram|telethon|ipykernel|IPython|tornado|zmq|gunicorn|hypercorn|waitress|werkzeug|flask|quart|django|asgiref|trio)/`)
	notUserDir = regexp.MustCompile(`/(?:site-packages|dist-packages|\.?venv/lib|[^/]*\.egg|nest_asyncio2?|uvloop)/|` +
		// an installed command's wrapper: .venv/bin/g4f, Scripts\g4f.exe\__main__.py
		`/(?:bin|Scripts)/[^/.]+$|/Scripts/[^/]+\.exe/`)
	// stdlibModule are the standard library's top-level modules a py-spy
	// dump prints without a directory ("threading.py").
	stdlibModule = map[string]bool{"threading.py": true, "queue.py": true, "selectors.py": true, "socket.py": true, "ssl.py": true,
		"runpy.py": true, "contextlib.py": true, "functools.py": true, "subprocess.py": true, "socketserver.py": true}
)

// IsUserFile reports whether a frame's file is the user's own code (see
// UserCode). Pseudo-files count only when they are a notebook cell or the
// interactive prompt.
func IsUserFile(file string) bool {
	p := pytext.SlashPath(strings.TrimSpace(file))
	switch {
	case p == "":
		return false
	case strings.HasPrefix(p, "<") || strings.HasPrefix(p, "Cell In") || strings.HasPrefix(p, "Input In"):
		return strings.HasPrefix(p, "<ipython-input-") || strings.HasPrefix(p, "<cell") || p == "<stdin>" ||
			p == "<console>" || strings.HasPrefix(p, "Cell In") || strings.HasPrefix(p, "Input In")
	}
	if _, ok := g4fPath(p); ok {
		return false
	}
	if isStdlib(p) || notUserDir.MatchString(p) || notUserTop.MatchString(p) || g4fdiagFile(p) {
		return false
	}
	if strings.Count(p, "/") <= 1 && stdlibModule[pytext.FileBase(p)] {
		return false
	}
	return true
}

// g4fdiagFile reports whether a path is one of g4fdiag's own Python files:
// the harness and its modules in the private temp dir ("g4fdiag-…") a
// worker or doctor runs from, or in the source tree.
func g4fdiagFile(p string) bool {
	dir := p[:max(strings.LastIndexByte(p, '/'), 0)]
	return strings.HasPrefix(pytext.FileBase(dir), "g4fdiag-") || strings.Contains(p, "/repro/harness/")
}

// ownReentry phrases the remedy when the user's line itself starts a loop
// (asyncio.run, run_until_complete) inside the running one.
const ownReentry = "this call in %s starts an event loop inside the running one: await the coroutine there instead"

// RemedyAt is the signature's remedy phrased for the user's line: the
// signature's RemedyAt sentence (or, for a re-entry whose line itself
// starts a loop, ownReentry) with the line in it, then the signature's own
// remedy. Without a user frame, or for a signature with no RemedyAt, it is
// the signature's remedy.
func RemedyAt(s Signature, user scan.Frame, have bool) string {
	if !have || s.RemedyAt == "" {
		return s.Remedy
	}
	at := OneLine(codeAt(user.File, user.Line, ""))
	phrase := fmt.Sprintf(s.RemedyAt, at)
	if s.Class == ClassLoopReentry && StartsLoop.MatchString(user.Code) && !strings.Contains(user.Code, "to_sync_generator") {
		phrase = fmt.Sprintf(ownReentry, at)
	}
	phrase = strings.ToUpper(phrase[:1]) + phrase[1:]
	if s.Remedy == "" {
		return phrase + "."
	}
	return phrase + ". " + s.Remedy
}

// WithUser sets a verdict's user frame and phrases its remedy for it.
func (v Verdict) WithUser(f scan.Frame) Verdict {
	s, ok := Lookup(SignatureID(v.Signature))
	if !ok {
		return v
	}
	v.User = NewCodeFrame(f)
	v.Remedy = RemedyAt(s, f, true)
	return v
}
