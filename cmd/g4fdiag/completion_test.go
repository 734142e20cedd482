package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
			if shell == "fish" {
				seen := map[string]bool{}
				for _, line := range strings.Split(script, "\n") {
					if strings.HasPrefix(line, "complete ") && seen[line] {
						t.Errorf("repeated line: %s", line)
					}
					seen[line] = true
				}
				for _, want := range []string{"-a 'check'", "-l provider", "-a 'completion'"} {
					if !strings.Contains(script, want) {
						t.Errorf("fish script lacks %q", want)
					}
				}
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
