package pytext

import (
	"reflect"
	"slices"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestChainMarker(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		"The above exception was the direct cause of the following exception:":  "cause",
		"During handling of the above exception, another exception occurred:":   "context",
		"During handling of the above exception":                                "",
		"  During handling of the above exception, another exception occurred:": "", // trimmed by the caller
	} {
		rel, ok := ChainMarker(line)
		if rel != want || ok != (want != "") {
			t.Errorf("ChainMarker(%q) = %q, %v", line, rel, ok)
		}
	}
}

func TestStripCarets(t *testing.T) {
	t.Parallel()
	tb := "  File \"/srv/a.py\", line 3, in f\n    return g()\n           ^^^\n    x = y[0]\n        ~~~^^^\n  ^ not only carets\n"
	want := "  File \"/srv/a.py\", line 3, in f\n    return g()\n    x = y[0]\n  ^ not only carets\n"
	if got := StripCarets(tb); got != want {
		t.Errorf("StripCarets =\n%q\nwant\n%q", got, want)
	}
}

func TestStripGroupMargin(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		"  | Traceback (most recent call last):":                 "Traceback (most recent call last):",
		"  + Exception Group Traceback (most recent call last):": "Exception Group Traceback (most recent call last):",
		"  +-+---------------- 1 ----------------":               "",
		"    | RuntimeError: boom":                               "RuntimeError: boom",
		"    |   | nested":                                       "nested",
		"    +---------------- ... ----------------":             "",
		"    | ":                     "",
		"  File \"x\", line 1, in f": "  File \"x\", line 1, in f",
		"+1 more":                    "+1 more",
	} {
		if got := StripGroupMargin(line); got != want {
			t.Errorf("StripGroupMargin(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestParseIPythonLine(t *testing.T) {
	t.Parallel()
	if !IsIPythonHead("RuntimeError                              Traceback (most recent call last)") ||
		IsIPythonHead("Traceback (most recent call last):") || !IsIPythonRule("---------------------------------------------------------------------------") {
		t.Error("IPython head and rule")
	}
	for _, tt := range []struct {
		body string
		kind IPythonLine
		f    scan.Frame
	}{
		// IPython 8, IPython 7, and the cell frames of both
		{"File ~/.venv/lib/python3.11/site-packages/g4f/__init__.py:16, in ChatCompletion.create(model, messages, provider, stream, **kwargs)", IPyFrame,
			scan.Frame{File: "~/.venv/lib/python3.11/site-packages/g4f/__init__.py", Line: 16, Func: "create"}},
		{"~/.local/lib/python3.8/site-packages/g4f/client/__init__.py in create(self, messages, model)", IPyFrame,
			scan.Frame{File: "~/.local/lib/python3.8/site-packages/g4f/client/__init__.py", Func: "create"}},
		{"Cell In[3], line 3", IPyFrame, scan.Frame{File: "Cell In[3]", Line: 3, Func: "<cell>"}},
		{"Input In [3], in <cell line: 3>()", IPyFrame, scan.Frame{File: "Cell In[3]", Line: 3, Func: "<cell>"}},
		{"<ipython-input-4-6a1c2f1c7b1e> in <module>", IPyFrame, scan.Frame{File: "<ipython-input-4-6a1c2f1c7b1e>", Func: "<cell>"}},
		{"--> 238             return asyncio.run(async_concat_chunks(response))", IPyArrow,
			scan.Frame{Line: 238, Code: "return asyncio.run(async_concat_chunks(response))"}},
		{"----> 3 response = g4f.ChatCompletion.create(", IPyArrow, scan.Frame{Line: 3, Code: "response = g4f.ChatCompletion.create("}},
		{"     14 provider = provider or ProviderUtils.default", IPySource, scan.Frame{}},
		{"240 ", IPySource, scan.Frame{}},
		{"RuntimeError: asyncio.run() cannot be called from a running event loop", IPyOther, scan.Frame{}},
		{"", IPyOther, scan.Frame{}},
	} {
		kind, f := ParseIPythonLine(tt.body)
		if kind != tt.kind || f != tt.f {
			t.Errorf("ParseIPythonLine(%q) = %d, %+v; want %d, %+v", tt.body, kind, f, tt.kind, tt.f)
		}
	}
}

func TestWalkOrder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, idx int
		w      Walk
		want   []int
	}{
		{3, 2, WalkNearest, []int{2, 1, 0}},
		{3, 2, WalkMatchedThenRaised, []int{2, 0, 1}},
		{4, 1, WalkNearest, []int{1, 0, 2, 3}},
		{4, 1, WalkMatchedThenRaised, []int{1, 0, 2, 3}},
		{2, -1, WalkNearest, []int{0, 1}},
		{2, 5, WalkMatchedThenRaised, []int{0, 1}},
		{0, 0, WalkNearest, nil},
	} {
		if got := slices.Collect(WalkOrder(tt.n, tt.idx, tt.w)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("WalkOrder(%d, %d, %d) = %v, want %v", tt.n, tt.idx, tt.w, got, tt.want)
		}
		for range WalkOrder(tt.n, tt.idx, tt.w) {
			break // a stop is heard
		}
	}
}

func TestRepresentative(t *testing.T) {
	t.Parallel()
	frames := []scan.Frame{{File: "/srv/g4f/a.py", Line: 3, Func: "f"}}
	chain := []scan.PyException{
		{Type: "RetryProviderError", Traceback: "Traceback (most recent call last):\n  File \"/srv/g4f/r.py\", line 9, in create\n"},
		{Type: "RuntimeError", Frames: frames, Relation: "cause"},
		{Type: "socket.gaierror", Traceback: " \n", Relation: "context"},
	}
	for _, tt := range []struct {
		idx int
		typ string
		tb  string
	}{
		{0, "RetryProviderError", chain[0].Traceback},
		{1, "RuntimeError", FormatTraceback(frames)},
		{2, "RetryProviderError", chain[0].Traceback}, // shows nothing: the raised one's
	} {
		e, tb := Representative(chain, tt.idx)
		if e.Type != tt.typ || tb != tt.tb {
			t.Errorf("Representative(%d) = %s, %q", tt.idx, e.Type, tb)
		}
	}
	if got := ExceptionFrames(chain[0]); !reflect.DeepEqual(got, []scan.Frame{{File: "/srv/g4f/r.py", Line: 9, Func: "create"}}) {
		t.Errorf("ExceptionFrames from the text: %+v", got)
	}
	if got := ExceptionFrames(chain[1]); !reflect.DeepEqual(got, frames) {
		t.Errorf("ExceptionFrames: %+v", got)
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	if SlashPath(`C:\srv\g4f\a.py`) != "C:/srv/g4f/a.py" || FileBase("/srv/g4f/a.py") != "a.py" || FileBase("a.py") != "a.py" {
		t.Error("SlashPath, FileBase")
	}
}

// TestParseIPythonCellFrames: a notebook cell's frame keeps the cell as its
// file and, inside a function the cell defines, that function's name.
func TestParseIPythonCellFrames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want scan.Frame
	}{
		{"Cell In[3], line 3", scan.Frame{File: "Cell In[3]", Line: 3, Func: "<cell>"}},
		{"Cell In[7], line 12, in ask(prompt, model)", scan.Frame{File: "Cell In[7]", Line: 12, Func: "ask"}},
		{"Cell In[7], line 5, in Bot.reply(self, text)", scan.Frame{File: "Cell In[7]", Line: 5, Func: "reply"}},
		{"Input In [4], in <cell line: 2>()", scan.Frame{File: "Cell In[4]", Line: 2, Func: "<cell>"}},
		{"Input In [4], in ask(prompt)", scan.Frame{File: "Cell In[4]", Func: "ask"}},
		{"<ipython-input-2-9f0c1d2e3a4b> in <module>", scan.Frame{File: "<ipython-input-2-9f0c1d2e3a4b>", Func: "<cell>"}},
		{"<ipython-input-2-9f0c1d2e3a4b> in ask(prompt)", scan.Frame{File: "<ipython-input-2-9f0c1d2e3a4b>", Func: "ask"}},
	} {
		kind, f := ParseIPythonLine(tc.line)
		if kind != IPyFrame || f != tc.want {
			t.Errorf("ParseIPythonLine(%q) = %v %+v, want a frame %+v", tc.line, kind, f, tc.want)
		}
	}
}
