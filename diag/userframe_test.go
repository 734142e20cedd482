package diag

import (
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag/pytext"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// TestIsUserFile: the user's code is what is left once g4f, the standard
// library, installed packages, the frameworks around the call and
// g4fdiag's harness are set aside, on every platform and in every dump.
func TestIsUserFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		user bool
	}{
		{"/home/sam/gptbot/bot.py", true},
		{"bot.py", true},
		{"/app/bot.py", true},
		{`C:\Users\dev\projects\chatbot\app.py`, true},
		{`D:\work\chat-tool\src\assistant\service.py`, true},
		{"Cell In[3]", true},
		{"<ipython-input-4-6a1c2f1c7b1e>", true},
		{"<stdin>", true},
		{"/services/gpt.py", true}, // py-spy's relative path of the user's module
		{"/home/user/telegram/bot.py", true},

		{"/home/user/.venv/lib/python3.11/site-packages/g4f/providers/asyncio.py", false},
		{"/app/g4f/api/__init__.py", false},
		{`C:\Users\dev\AppData\Local\Programs\Python\Python312\Lib\asyncio\runners.py`, false},
		{`C:\Program Files\Python312\Lib\asyncio\base_events.py`, false},
		{`D:\work\chat-tool\.venv\Lib\site-packages\discord\client.py`, false},
		{"/usr/lib/python3.11/asyncio/base_events.py", false},
		{"/usr/lib/python3/dist-packages/uvicorn/server.py", false},
		{"~/miniconda3/envs/nb/lib/python3.11/site-packages/g4f/client/__init__.py", false},
		{"/home/ana/.local/lib/python3.10/site-packages/requests/api.py", false},
		{"<frozen runpy>", false},
		{"<string>", false},
		{"uvloop/loop.pyx", false},
		{"/asyncio/events.py", false},       // py-spy
		{"/threading.py", false},            // py-spy
		{"/starlette/routing.py", false},    // py-spy
		{"/discord/client.py", false},       // py-spy
		{"/http/client.py", false},          // py-spy
		{"/home/user/.venv/bin/g4f", false}, // a console script's wrapper
		{`C:\venv\Scripts\g4f.exe\__main__.py`, false},
		{"/tmp/g4fdiag-3148276411/harness.py", false},
		{"/tmp/g4fdiag-doctor-12/doctor.py", false},
		{"/src/g4fdiag/repro/harness/harness.py", false},
		{"", false},
	} {
		if got := IsUserFile(tc.file); got != tc.user {
			t.Errorf("IsUserFile(%q) = %v, want %v", tc.file, got, tc.user)
		}
	}
}

// TestUserCodeInnermost: the user frame is the one closest to the failure,
// read from a traceback, a faulthandler dump and a py-spy dump alike.
func TestUserCodeInnermost(t *testing.T) {
	t.Parallel()
	tb := `Traceback (most recent call last):
  File "/home/sam/bot.py", line 71, in <module>
    client.run(TOKEN)
  File "/home/sam/.venv/lib/python3.11/site-packages/discord/client.py", line 449, in _run_event
    await coro(*args, **kwargs)
  File "/home/sam/bot.py", line 42, in on_message
    reply = client.chat.completions.create(
  File "/home/sam/.venv/lib/python3.11/site-packages/g4f/client/__init__.py", line 32, in create
    return response if stream else next(response)
RuntimeError: This event loop is already running
`
	fault := `Thread 0x00007f3a22b41740 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait
  File "/home/sam/bot.py", line 42 in on_message
  File "/home/sam/.venv/lib/python3.11/site-packages/discord/client.py", line 449 in _run_event
  File "/home/sam/bot.py", line 71 in <module>
`
	for name, frames := range map[string][]scan.Frame{
		"traceback":    pytext.ParseStack(tb),
		"faulthandler": pytext.ParseStack(fault),
	} {
		f, ok := UserCode(frames)
		if !ok || f.Line != 42 || f.Func != "on_message" || NewCodeFrame(f).String() != "bot.py:42 in on_message" {
			t.Errorf("%s: UserCode = %+v, %v; want bot.py:42 in on_message", name, f, ok)
		}
	}
	var spy []scan.Frame
	for _, l := range []string{"    recv_into (ssl.py:1315)", "    post (requests/api.py:115)", "    on_message (bot.py:42)",
		"    _run_event (discord/client.py:449)", "    _run (asyncio/events.py:84)", "    <module> (bot.py:71)"} {
		f, ok := pytext.ParsePySpyFrame(l)
		if !ok {
			t.Fatalf("not a py-spy frame: %q", l)
		}
		spy = append(spy, f)
	}
	pytext.Reverse(spy)
	if f, ok := UserCode(spy); !ok || f.Line != 42 {
		t.Errorf("py-spy: UserCode = %+v, %v; want bot.py:42", f, ok)
	}
	if f, ok := UserCode(pytext.ParseStack(`  File "/usr/lib/python3.11/asyncio/runners.py", line 190, in run
  File "/tmp/g4fdiag-1/harness.py", line 230, in main
  File "/tmp/g4fdiag-demo/g4f/client/__init__.py", line 88, in create
`)); ok {
		t.Errorf("a harness-run stack has user code %+v", f)
	}
}

// TestRemedyAt: the remedy names the user's line for the signatures that
// say where to fix, keeps the table's remedy after it, and is the table's
// remedy alone without a user frame or a place.
func TestRemedyAt(t *testing.T) {
	t.Parallel()
	uv, _ := Lookup(SigReentryUvloop)
	call := scan.Frame{File: "/home/sam/bot.py", Line: 42, Func: "on_message", Code: "reply = client.chat.completions.create("}
	got := RemedyAt(uv, call, true)
	want := "This call in bot.py:42 runs the sync client inside the running loop: await AsyncClient there. " + uv.Remedy
	if got != want {
		t.Errorf("RemedyAt = %q, want %q", got, want)
	}
	if got := RemedyAt(uv, scan.Frame{}, false); got != uv.Remedy {
		t.Errorf("without a user frame: %q", got)
	}
	run, _ := Lookup(SigReentryAsyncioRun)
	own := scan.Frame{File: "Cell In[5]", Line: 9, Func: "<cell>", Code: "asyncio.run(main())"}
	if got := RemedyAt(run, own, true); !strings.HasPrefix(got, "This call in Cell In[5]:9 starts an event loop inside the running one") {
		t.Errorf("the user's own asyncio.run: %q", got)
	}
	net, _ := Lookup(SigNetworkAiohttp)
	if got := RemedyAt(net, call, true); got != net.Remedy {
		t.Errorf("a network error's remedy changed: %q", got)
	}
	v := Verdict{Class: uv.Class, Signature: string(uv.ID), Remedy: uv.Remedy}.WithUser(call)
	if v.User == nil || *v.User != (CodeFrame{File: "/home/sam/bot.py", Line: 42, Func: "on_message"}) || v.Remedy != want {
		t.Errorf("WithUser = %+v", v)
	}
}

// TestRemedyAtTable audits the RemedyAt column: one %s each, lower case
// (RemedyAt capitalises it), no full stop (one follows it), and only for
// the loop classes, whose fix is a change at a place in the user's code.
func TestRemedyAtTable(t *testing.T) {
	t.Parallel()
	n := 0
	for _, list := range [][]Signature{Signatures, StateSignatures} {
		for _, s := range list {
			if s.RemedyAt == "" {
				continue
			}
			n++
			if strings.Count(s.RemedyAt, "%") != 1 || !strings.Contains(s.RemedyAt, "%s") {
				t.Errorf("%s: RemedyAt %q wants exactly one %%s", s.ID, s.RemedyAt)
			}
			if s.RemedyAt[0] < 'a' || s.RemedyAt[0] > 'z' || strings.HasSuffix(s.RemedyAt, ".") {
				t.Errorf("%s: RemedyAt %q: lower case first, no full stop", s.ID, s.RemedyAt)
			}
			if !s.Class.IsLoop() {
				t.Errorf("%s: RemedyAt on class %s", s.ID, s.Class)
			}
		}
	}
	if n == 0 {
		t.Fatal("no signature has a RemedyAt")
	}
}

// TestScanVerdictsNameNoUserCode: a scan's call runs from g4fdiag's
// harness; its verdict names no user code, whatever its traceback holds.
func TestScanVerdictsNameNoUserCode(t *testing.T) {
	t.Parallel()
	c := scan.Call{Outcome: scan.OutcomeError, Chain: []scan.PyException{{Type: "RuntimeError",
		Message: "this event loop is already running.", Frames: []scan.Frame{
			{File: "/tmp/g4fdiag-1/harness.py", Line: 210, Func: "run_call", Code: "result = client.chat.completions.create(**kwargs)"},
			{File: "/home/ci/probe/bot.py", Line: 3, Func: "helper"},
			{File: "/tmp/g4fdiag-demo/g4f/providers/asyncio.py", Line: 57, Func: "to_sync_generator"},
		}}}}
	v := ClassifyCall(scan.Observation{}, c)
	if v.Class != ClassLoopReentry || v.User != nil {
		t.Errorf("verdict %+v (user %+v)", v, v.User)
	}
}
