package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCompletionScripts: each shell gets a script for g4fdiag that its shell
// parses; zsh and fish are checked when installed.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range completionShells {
		t.Run(shell, func(t *testing.T) {
			code, script, stderr := run(t, os.Environ(), "completion", shell)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(script, "g4fdiag") {
				t.Fatalf("the %s script does not mention g4fdiag:\n%s", shell, script)
			}
			sh, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed; the script is not parsed", shell)
			}
			path := filepath.Join(t.TempDir(), "g4fdiag."+shell)
			if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestBashCompletes sources the bash script in a real bash, as a user's
// ~/.bashrc does, and completes partial command lines through the real
// binary.
func TestBashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	bin := buildBinary(t)
	code, script, stderr := run(t, os.Environ(), "completion", "bash")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tests := []struct {
		words []string // the command line; the last word is being completed
		want  string   // COMPREPLY, space-separated
	}{
		{[]string{"g4fdiag", "ch"}, "check"},
		{[]string{"g4fdiag", "check", "--prov"}, "--provider"},
		{[]string{"g4fdiag", "completion", ""}, "bash zsh fish"},
		// "--" ends flags for a parser: the completion reads it as a prefix.
		{[]string{"g4fdiag", "doctor", "--"}, "--python --demo --demo-scale --format --output --no-probe --color"},
		{[]string{"g4fdiag", "report", ""}, ""}, // files, left to bash; never "help h"
		{[]string{"g4fdiag", "check", "--format", ""}, "table json jsonl markdown junit github"},
		{[]string{"g4fdiag", "check", "--demo", "--loops", "uv"}, "uvloop"},
		{[]string{"g4fdiag", "check", "--color", ""}, "auto always never"},
		{[]string{"g4fdiag", "check", "--demo", "--provider", "Stal"}, "StallStream"},
		{[]string{"g4fdiag", "explain", "--format", ""}, "table text json markdown"},
		{[]string{"g4fdiag", "check", "-o", "ju"}, "junit="},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.words, " "), func(t *testing.T) {
			var words []string
			for _, w := range tc.words {
				words = append(words, shellQuote(w))
			}
			prog := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\n" +
				"COMP_CWORD=" + strconv.Itoa(len(tc.words)-1) + "\n" +
				"_g4fdiag_bash_autocomplete\n" +
				`echo "${COMPREPLY[*]}"` + "\n"
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("COMPREPLY = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompletionErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"completion", "tcsh"}, `g4fdiag: unknown shell "tcsh" for completion; use bash, zsh, fish`},
		{[]string{"completion"}, `g4fdiag: completion needs one shell: bash, zsh, fish`},
		{[]string{"completion", "bash", "zsh"}, `g4fdiag: completion needs one shell: bash, zsh, fish`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, stderr := run(t, os.Environ(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if stderr != tc.msg+"\n" {
				t.Errorf("stderr = %q, want %q", stderr, tc.msg+"\n")
			}
		})
	}
}

// TestBashCompletesInTmux types into a real interactive bash in tmux, with
// the completion script sourced as ~/.bashrc would: a completed flag or
// value gets its trailing space, FORMAT= of --output does not.
func TestBashCompletesInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (scripts/setup.sh installs it)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	_, script, _ := run(t, os.Environ(), "completion", "bash")
	rc := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(rc, []byte("PS1='$ '\n"+script), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	env := "PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	tm("new-session", "-d", "-x", "200", "-y", "20", "env", env, bash, "--noprofile", "--rcfile", rc, "-i")
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", sock, "kill-server").Run() })
	line := func() string {
		lines := strings.Split(strings.TrimRight(tm("capture-pane", "-p"), "\n"), "\n")
		return lines[len(lines)-1]
	}
	// The pane's text drops trailing spaces: the cursor's column tells
	// whether a space followed the completion.
	cursor := func() int {
		n, _ := strconv.Atoi(strings.TrimSpace(tm("display-message", "-p", "#{cursor_x}")))
		return n
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for line() != strings.TrimRight(want, " ") || cursor() != len(want) {
			if time.Now().After(deadline) {
				t.Fatalf("the prompt line is %q with the cursor at %d, want %q (cursor at %d)", line(), cursor(), want, len(want))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("$ ")
	for _, step := range []struct{ keys, want string }{
		{"g4fdiag chec", "$ g4fdiag check "},
		{"--form", "$ g4fdiag check --format "},
		{"jsonl", "$ g4fdiag check --format jsonl "},
		{"-o jun", "$ g4fdiag check --format jsonl -o junit="},
	} {
		tm("send-keys", "-l", "--", step.keys)
		tm("send-keys", "Tab")
		waitFor(step.want)
	}
}

// TestManPage: the man page names every command and their flags, and groff
// reads it without a warning where it is installed.
func TestManPage(t *testing.T) {
	code, page, stderr := run(t, os.Environ(), "man")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{".TH g4fdiag 1", ".SH check", ".SH explain", ".SH doctor", "--probe", "--color", "--fail-on", "--no-probe"} {
		if !strings.Contains(page, want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
	nroff, err := exec.LookPath("nroff")
	if err != nil {
		t.Skip("nroff is not installed; the page is not typeset")
	}
	cmd := exec.Command(nroff, "-man", "-ww")
	cmd.Stdin = strings.NewReader(page)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil || errOut.Len() > 0 {
		t.Errorf("nroff: %v\n%s", err, errOut.String())
	}
}

// TestFishAndZshComplete runs the fish and zsh scripts in the real shells:
// both ask the binary, as bash does, and get the same candidates.
func TestFishAndZshComplete(t *testing.T) {
	bin := buildBinary(t)
	path := "PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	script := func(shell string) string {
		_, s, _ := run(t, os.Environ(), "completion", shell)
		p := filepath.Join(t.TempDir(), "g4fdiag."+shell)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ line, want string }{
		{"g4fdiag ch", "check"},
		{"g4fdiag check --form", "--format"},
		{"g4fdiag check --format j", "json jsonl junit"},
		{"g4fdiag check --demo --provider Stal", "StallStream"},
	}
	t.Run("fish", func(t *testing.T) {
		fish, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("fish is not installed (scripts/setup.sh installs it)")
		}
		src := script("fish")
		for _, tc := range tests {
			cmd := exec.Command(fish, "--no-config", "-c", "source "+shellQuote(src)+"; complete -C "+shellQuote(tc.line))
			cmd.Env = append(os.Environ(), path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			if got := strings.Join(strings.Fields(string(out)), " "); got != tc.want {
				t.Errorf("fish completes %q to %q, want %q", tc.line, got, tc.want)
			}
		}
	})
	t.Run("zsh", func(t *testing.T) {
		zsh, err := exec.LookPath("zsh")
		if err != nil {
			t.Skip("zsh is not installed (scripts/setup.sh installs it)")
		}
		src := script("zsh")
		for _, tc := range tests {
			// compsys's functions stand in for the test: _describe prints the
			// candidates the script hands it.
			words := strings.Fields(tc.line)
			prog := "compdef(){}; _files(){ print FILES }; _describe(){ print -l -- ${(P)2} }; source " + shellQuote(src) +
				"; words=(" + strings.Join(words, " ") + "); _g4fdiag_zsh_autocomplete"
			cmd := exec.Command(zsh, "-f", "-c", prog)
			cmd.Env = append(os.Environ(), path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("zsh: %v\n%s", err, out)
			}
			var got []string
			for _, c := range strings.Fields(string(out)) {
				if strings.HasPrefix(c, words[len(words)-1]) {
					got = append(got, c)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("zsh completes %q to %q, want %q", tc.line, strings.Join(got, " "), tc.want)
			}
		}
	})
}
