package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/render"
)

// TestExplainNamesUserCode: explain names the user's own line in each of
// its formats, and phrases the remedy for it.
func TestExplainNamesUserCode(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/explain/160-discord-on-message-sync-client-py311.txt")
	if err != nil {
		t.Fatal(err)
	}
	e := explainString(t, string(data))
	if e.UserFrame == nil || *e.UserFrame != (diag.CodeFrame{File: "/home/sam/gptbot/bot.py", Line: 42, Func: "on_message"}) {
		t.Fatalf("user frame %+v", e.UserFrame)
	}
	if len(e.Findings) != 1 || e.Findings[0].UserFrame == nil {
		t.Errorf("findings %+v", e.Findings)
	}
	remedy := "This call in bot.py:42 runs the sync client inside the running loop: await AsyncClient there."
	if !strings.HasPrefix(e.Remedy, remedy) {
		t.Errorf("remedy %q, want it to start %q", e.Remedy, remedy)
	}
	for format, want := range map[string][]string{
		"text":     {"your code: bot.py:42 in on_message\n", "Remedy: This call in bot.py:42 runs the sync client"},
		"markdown": {"- Your code: `bot.py:42 in on_message`\n", "**Remedy:** This call in bot.py:42 runs the sync client"},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, format, e, render.Options{}); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s: no %q in\n%s", format, w, buf.String())
			}
		}
	}
	var buf bytes.Buffer
	if err := Render(&buf, "json", e, render.Options{}); err != nil {
		t.Fatal(err)
	}
	var back struct {
		UserFrame diag.CodeFrame `json:"user_frame"`
		Remedy    string         `json:"remedy"`
		Findings  []struct {
			UserFrame *diag.CodeFrame `json:"user_frame"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.UserFrame != *e.UserFrame || !strings.HasPrefix(back.Remedy, remedy) || len(back.Findings) != 1 || back.Findings[0].UserFrame == nil {
		t.Errorf("json: %+v", back)
	}
}

// TestExplainWithoutUserCode: a text whose frames are all g4f's, its
// server's and the stdlib's names no user code and keeps the table's
// remedy.
func TestExplainWithoutUserCode(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/explain/171-g4f-api-docker-source-no-user-code.txt")
	if err != nil {
		t.Fatal(err)
	}
	e := explainString(t, string(data))
	s, _ := diag.Lookup(diag.SignatureID(e.Signature))
	if e.UserFrame != nil || e.Remedy != s.Remedy {
		t.Errorf("user frame %+v, remedy %q", e.UserFrame, e.Remedy)
	}
	var buf bytes.Buffer
	if err := Render(&buf, "text", e, render.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "your code") {
		t.Errorf("names user code:\n%s", buf.String())
	}
}
