package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionShells are the shells `g4fdiag completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

// bashCompletion is urfave/cli's autocomplete/bash_autocomplete (MIT), bound
// to g4fdiag: it asks `g4fdiag ... --generate-bash-completion` for the
// candidates. Without the bash-completion package it reads COMP_WORDS
// itself instead of failing.
const bashCompletion = `# bash completion for g4fdiag: source <(g4fdiag completion bash)

_g4fdiag_init_completion() {
  COMPREPLY=()
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref "$@" cur prev words cword
  else
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
}

_g4fdiag_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur prev opts words cword requestComp
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _g4fdiag_init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _g4fdiag_bash_autocomplete g4fdiag
`

// zshCompletion is urfave/cli's autocomplete/zsh_autocomplete (MIT), bound
// to g4fdiag.
const zshCompletion = `#compdef g4fdiag
# zsh completion for g4fdiag: source <(g4fdiag completion zsh), after compinit

_g4fdiag_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _g4fdiag_zsh_autocomplete g4fdiag
`

func completionCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print a shell completion script for bash, zsh or fish",
		UsageText: `g4fdiag completion bash|zsh|fish

   source <(g4fdiag completion bash)         # in ~/.bashrc
   source <(g4fdiag completion zsh)          # in ~/.zshrc, after compinit
   g4fdiag completion fish > ~/.config/fish/completions/g4fdiag.fish`,
		OnUsageError: commandUsageError,
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				fmt.Fprintln(c.App.Writer, strings.Join(completionShells, "\n"))
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: %s", strings.Join(completionShells, ", "))
			}
			return writeCompletion(stdio.Out, c.App, c.Args().First())
		},
	}
}

// writeCompletion writes the completion script of shell for app.
func writeCompletion(w io.Writer, app *cli.App, shell string) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		var err error
		if script, err = app.ToFishCompletion(); err != nil {
			return fmt.Errorf("writing the fish completion: %w", err)
		}
		script = dropRepeatedCompletions(script)
	default:
		return usagef("unknown shell %q for completion; use %s", shell, strings.Join(completionShells, ", "))
	}
	_, err := io.WriteString(w, script)
	return err
}

// dropRepeatedCompletions removes the second of two identical `complete`
// lines: urfave/cli's fish template adds --help and --version once more
// after the app's visible flags, which already hold them.
func dropRepeatedCompletions(script string) string {
	seen := map[string]bool{}
	var b strings.Builder
	for _, line := range strings.SplitAfter(script, "\n") {
		if strings.HasPrefix(line, "complete ") {
			key := strings.TrimSuffix(line, "\n")
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		b.WriteString(line)
	}
	return b.String()
}
