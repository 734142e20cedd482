package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionShells are the shells `g4fdiag completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

// bashCompletion is built on urfave/cli's autocomplete/bash_autocomplete
// (MIT), bound to g4fdiag: it asks `g4fdiag WORDS... CUR
// --generate-bash-completion` for the candidates (completeWords), and
// leaves file names to bash when there are none. A completed word gets its
// trailing space, but FORMAT= of --output. Without the bash-completion
// package it reads COMP_WORDS itself instead of failing.
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
    # The words before the cursor, then the word being completed (maybe
    # empty): g4fdiag prints the candidates, one a line.
    local IFS=$'\n'
    opts=($("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null))
    COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
    # FORMAT=FILE: no space after "json=", the file name follows.
    if [[ ${#COMPREPLY[@]} -eq 1 && "${COMPREPLY[0]}" == *= ]]; then
      compopt -o nospace 2>/dev/null
    fi
    return 0
  fi
}

complete -o bashdefault -o default -F _g4fdiag_bash_autocomplete g4fdiag
`

// fishCompletion asks the binary too (completeWords), so fish offers the
// same commands, flags and values as bash and zsh; file names where the
// binary offers nothing.
const fishCompletion = `# fish completion for g4fdiag: g4fdiag completion fish > ~/.config/fish/completions/g4fdiag.fish

function __g4fdiag_complete
    set -l words (commandline -opc)
    set -l cands (g4fdiag $words[2..-1] (commandline -ct) --generate-bash-completion 2>/dev/null)
    if test (count $cands) -gt 0
        printf '%s\n' $cands
    else
        __fish_complete_path (commandline -ct)
    end
end

complete -c g4fdiag -f -a '(__g4fdiag_complete)'
`

// zshCompletion is urfave/cli's autocomplete/zsh_autocomplete (MIT), bound
// to g4fdiag.
const zshCompletion = `#compdef g4fdiag
# zsh completion for g4fdiag: source <(g4fdiag completion zsh), after compinit

_g4fdiag_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  opts=("${(@f)$(${words[@]:0:#words[@]-1} "$cur" --generate-bash-completion)}")

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
		script = fishCompletion
	default:
		return usagef("unknown shell %q for completion; use %s", shell, strings.Join(completionShells, ", "))
	}
	_, err := io.WriteString(w, script)
	return err
}

// manCommand writes the man page, made from the command definitions: the
// same text as --help, so the two cannot disagree.
func manCommand(stdio IO) *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the man page (roff), made from the commands' own help",
		UsageText: "g4fdiag man > g4fdiag.1; man ./g4fdiag.1",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("man takes no arguments, got %q", c.Args().First())
			}
			page, err := c.App.ToManWithSection(1)
			if err != nil {
				return fmt.Errorf("writing the man page: %w", err)
			}
			_, err = io.WriteString(stdio.Out, roffASCII(page))
			return err
		},
	}
}

// roffASCII writes the characters past ASCII (×, —, →) as roff's \[uXXXX]
// escapes, so any troff typesets the page, whatever its input encoding.
func roffASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "\\[u%04X]", r)
		}
	}
	return b.String()
}
