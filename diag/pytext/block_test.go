package pytext

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// testLog frames blocks the way a plain log does: Markdown fences, records
// starting with a time, a container's "name | " prefix, a "HH:MM:SS host
// app: " stamp.
var (
	testTime  = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}\b`)
	testStamp = regexp.MustCompile(`^\d{2}:\d{2}:\d{2} \S+ \S+: `)
	testLog   = LogFrame{
		Fence:       func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "```") },
		RecordStart: testTime.MatchString,
		Timed:       testTime.MatchString,
		LinePrefix:  regexp.MustCompile(`^(?:[a-z0-9-]+ *\| ?|(?:> ?)+)$`).MatchString,
		Stamp: func(l string) int {
			if loc := testStamp.FindStringIndex(l); loc != nil {
				return loc[1]
			}
			return -1
		},
	}
	testBounds = BlockOptions{Log: testLog, MaxFrames: 4, MaxSections: 3, MaxMessageLines: 2, MaxMessageBytes: 80}
)

// readBlock reads the block starting at text's first line and returns its
// chain and the first line it did not take.
func readBlock(t *testing.T, o BlockOptions, ipython bool, text string) ([]scan.PyException, string) {
	t.Helper()
	b := NewBlockReader(o)
	lines := strings.Split(text, "\n")
	b.Start(lines[0], ipython)
	rest := ""
	for _, l := range lines[1:] {
		consumed, ended := b.Feed(StripGroupMargin(l))
		if !consumed {
			rest = l
		}
		if ended || !b.Active() {
			break
		}
	}
	chain, _ := b.Finish()
	if b.Active() || b.Held() != 0 {
		t.Error("the block is held after Finish")
	}
	return chain, rest
}

func TestBlockReaderChain(t *testing.T) {
	t.Parallel()
	text := strings.Join([]string{
		"api-1  | Traceback (most recent call last):",
		`api-1  |   File "/srv/g4f/Provider/Blackbox.py", line 40, in create_async_generator`,
		"api-1  |     async with session.post(url) as response:",
		"api-1  | aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host",
		"api-1  | ",
		"api-1  | The above exception was the direct cause of the following exception:",
		"api-1  |",
		"api-1  | Traceback (most recent call last):",
		`api-1  |   File "/srv/g4f/providers/retry_provider.py", line 60, in create_completion`,
		"api-1  |     raise RetryProviderError(\"RetryProvider failed:\\n\" + \"\\n\".join(errors)) from e",
		"api-1  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
		"api-1  | g4f.errors.RetryProviderError: RetryProvider failed:",
		"api-1  | Blackbox: ClientConnectorError: Cannot connect to host",
		"api-1  | 09:14:03 INFO done",
	}, "\n")
	chain, rest := readBlock(t, testBounds, false, text)
	want := []scan.PyException{
		{Type: "g4f.errors.RetryProviderError", Message: "RetryProvider failed:\nBlackbox: ClientConnectorError: Cannot connect to host",
			Frames: []scan.Frame{{File: "/srv/g4f/providers/retry_provider.py", Line: 60, Func: "create_completion",
				Code: `raise RetryProviderError("RetryProvider failed:\n" + "\n".join(errors)) from e`}}},
		{Type: "aiohttp.client_exceptions.ClientConnectorError", Message: "Cannot connect to host", Relation: "cause",
			Frames: []scan.Frame{{File: "/srv/g4f/Provider/Blackbox.py", Line: 40, Func: "create_async_generator", Code: "async with session.post(url) as response:"}}},
	}
	if !reflect.DeepEqual(chain, want) {
		t.Errorf("chain:\n%+v\nwant\n%+v", chain, want)
	}
	if rest != "api-1  | 09:14:03 INFO done" {
		t.Errorf("the block ended before %q", rest)
	}
}

func TestBlockReaderPrefixes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, head, prefix string }{
		{"indented", "    Traceback (most recent call last):", "    "},
		{"Markdown quote", "> Traceback (most recent call last):", "> "},
		{"stamped", "09:14:02 host g4f[812]: Traceback (most recent call last):", "09:14:05 host g4f[812]: "},
		// a prefix that is neither is kept raw: the lines are read as they are
		{"after a log message", "ERROR:root:Traceback (most recent call last):", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.head + "\n" + tt.prefix + `  File "/srv/bot/main.py", line 12, in <module>` + "\n" +
				tt.prefix + "KeyboardInterrupt\n" + tt.prefix + "\n" + tt.prefix + "\n" + tt.prefix + "\n" + tt.prefix + "After three blanks"
			chain, rest := readBlock(t, testBounds, false, text)
			if len(chain) != 1 || chain[0].Type != "KeyboardInterrupt" || len(chain[0].Frames) != 1 {
				t.Errorf("chain %+v", chain)
			}
			if rest != tt.prefix+"" {
				t.Errorf("ended before %q", rest)
			}
		})
	}
}

func TestBlockReaderIPython(t *testing.T) {
	t.Parallel()
	text := strings.Join([]string{
		"RuntimeError                              Traceback (most recent call last)",
		"Cell In[3], line 3",
		"      1 messages = []",
		"----> 3 response = g4f.ChatCompletion.create(",
		"",
		"File ~/.venv/lib/python3.11/site-packages/g4f/__init__.py:16, in ChatCompletion.create(model, messages)",
		"---> 16 return result if stream else \"\".join([str(chunk) for chunk in result])",
		"",
		"RuntimeError: This event loop is already running",
	}, "\n")
	chain, _ := readBlock(t, testBounds, true, text)
	want := []scan.Frame{
		{File: "Cell In[3]", Line: 3, Func: "<cell>", Code: "response = g4f.ChatCompletion.create("},
		{File: "~/.venv/lib/python3.11/site-packages/g4f/__init__.py", Line: 16, Func: "create", Code: `return result if stream else "".join([str(chunk) for chunk in result])`},
	}
	if len(chain) != 1 || chain[0].Message != "This event loop is already running" || !reflect.DeepEqual(chain[0].Frames, want) {
		t.Errorf("chain %+v", chain)
	}
}

func TestBlockReaderBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for i := range 20 {
		b.WriteString(`  File "/srv/g4f/x.py", line ` + strconv.Itoa(i+1) + ", in f\n    f()\n    [Previous line repeated 3 more times]\n")
	}
	b.WriteString("RecursionError: maximum recursion depth exceeded\nline 2\nline 3\nline 4\n")
	for _, typ := range []string{"ValueError", "KeyError", "TypeError", "OSError"} {
		b.WriteString("\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n" +
			`  File "/srv/a.py", line 1, in g` + "\n" + typ + ": again\n")
	}
	chain, _ := readBlock(t, testBounds, false, b.String())
	// the raised one replaced the ones after the root cause's first
	if len(chain) != 3 || chain[0].Type != "OSError" || chain[1].Type != "ValueError" || chain[2].Type != "RecursionError" {
		t.Fatalf("chain %+v", chain)
	}
	root := chain[2]
	// past 2*4 frames the innermost 4 stay: 20 frames leave 16 to 20
	if len(root.Frames) != 5 || root.Frames[0].Line != 16 || root.Frames[4].Line != 20 || root.Frames[4].Code != "f()" {
		t.Errorf("root frames %+v", root.Frames)
	}
	if root.Message != "maximum recursion depth exceeded\nline 2\nline 3" {
		t.Errorf("root message %q", root.Message)
	}
}

func TestBlockReaderFences(t *testing.T) {
	t.Parallel()
	// a fence inside the frames is skipped; after the exception line it ends the block
	text := "Traceback (most recent call last):\n```\n  File \"/srv/a.py\", line 1, in g\nValueError: x\n```\nnot read"
	b := NewBlockReader(testBounds)
	lines := strings.Split(text, "\n")
	b.Start(lines[0], false)
	var ends []bool
	for _, l := range lines[1:5] {
		consumed, ended := b.Feed(l)
		if !consumed {
			t.Errorf("%q not consumed", l)
		}
		ends = append(ends, ended)
	}
	if !reflect.DeepEqual(ends, []bool{false, false, false, true}) || b.Active() {
		t.Errorf("ends %v, active %v", ends, b.Active())
	}
	if chain, ok := b.Finish(); !ok || len(chain) != 1 || chain[0].Type != "ValueError" {
		t.Errorf("chain %+v", chain)
	}
	if _, ok := b.Finish(); ok {
		t.Error("a second Finish reads a chain")
	}
}

// A block cut before its exception line hands on its frames and the type
// its head names; one that ended on its exception line has no cut.
func TestBlockReaderCut(t *testing.T) {
	t.Parallel()
	read := func(ipython bool, lines ...string) ([]scan.PyException, *Cut, bool) {
		b := NewBlockReader(testBounds)
		b.Start(lines[0], ipython)
		for _, l := range lines[1:] {
			if _, ended := b.Feed(l); ended {
				break
			}
		}
		return b.FinishCut()
	}
	frame := scan.Frame{File: "~/.venv/lib/python3.11/site-packages/g4f/__init__.py", Line: 16, Func: "create", Code: "return x"}
	chain, cut, ok := read(true, "RuntimeError                              Traceback (most recent call last)",
		"File ~/.venv/lib/python3.11/site-packages/g4f/__init__.py:16, in ChatCompletion.create(model, messages)",
		"---> 16 return x")
	if ok || chain != nil || cut == nil || cut.HeadType != "RuntimeError" || cut.Chained || !reflect.DeepEqual(cut.Frames, []scan.Frame{frame}) {
		t.Errorf("IPython cut: chain %+v ok %v cut %+v", chain, ok, cut)
	}
	_, cut, ok = read(false, "Traceback (most recent call last):", `  File "a.py", line 1, in f`, "    g()")
	if ok || cut == nil || cut.HeadType != "" || len(cut.Frames) != 1 || cut.Frames[0].Code != "g()" {
		t.Errorf("Python cut: ok %v cut %+v", ok, cut)
	}
	// a chain whose raised traceback was cut: the chain before it, and the cut
	chain, cut, ok = read(false, "Traceback (most recent call last):", `  File "a.py", line 1, in f`, "KeyError: 'x'", "",
		"During handling of the above exception, another exception occurred:", "",
		"Traceback (most recent call last):", `  File "a.py", line 3, in f`)
	if !ok || len(chain) != 1 || chain[0].Type != "KeyError" || cut == nil || !cut.Chained || cut.HeadType != "" || len(cut.Frames) != 1 {
		t.Errorf("cut chain: chain %+v ok %v cut %+v", chain, ok, cut)
	}
	if _, cut, ok = read(false, "Traceback (most recent call last):", `  File "a.py", line 1, in f`, "KeyError: 'x'"); !ok || cut != nil {
		t.Errorf("whole block: ok %v cut %+v", ok, cut)
	}
	if _, cut, ok = read(false, "Traceback (most recent call last):"); ok || cut != nil {
		t.Errorf("a head alone: ok %v cut %+v", ok, cut)
	}
	if got := IPythonHeadType("KeyError                                  Traceback (most recent call last)"); got != "KeyError" {
		t.Errorf("IPythonHeadType = %q", got)
	}
	if got := IPythonHeadType("Traceback (most recent call last):"); got != "" {
		t.Errorf("IPythonHeadType of Python's head = %q", got)
	}
}
