package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/explain"
	"github.com/g4fdiag/g4fdiag/diag/render"
	"github.com/g4fdiag/g4fdiag/repro"
	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// completionFlag is what the shell scripts append to ask for candidates.
const completionFlag = "--generate-bash-completion"

// completeWords answers a shell's completion request: args are the words
// typed before the one being completed, then that one (maybe empty), as
// the scripts send them. It prints one candidate a line: the commands, a
// command's flags, the values of the flag before the cursor (formats,
// modes, loops, classes, colours, shells, the catalog's providers), or
// nothing, which leaves the shell to complete file names. It runs before
// urfave/cli parses anything, so "--" and half-typed flags do not end up
// as arguments.
func completeWords(w io.Writer, app *cli.App, args []string, stdio IO) {
	if len(args) == 0 {
		args = []string{""}
	}
	words, cur := args[:len(args)-1], args[len(args)-1]
	var cmd *cli.Command
	positional := 0
	for i, a := range words {
		switch {
		case strings.HasPrefix(a, "-"):
		case cmd == nil:
			cmd = app.Command(a)
		case i == 0 || valueFlag(cmd, words[i-1]) == "":
			positional++
		}
	}
	prev := ""
	if len(words) > 0 {
		prev = words[len(words)-1]
	}
	var cands []string
	switch {
	case strings.HasPrefix(cur, "-") && cmd == nil:
		cands = flagNames(app.Flags)
	case strings.HasPrefix(cur, "-"):
		cands = flagNames(cmd.Flags)
	case cmd == nil:
		cands = commandNames(app)
	case valueFlag(cmd, prev) != "":
		cands = valuesOf(cmd, valueFlag(cmd, prev), words, stdio)
	case cmd.Name == "completion" && positional == 0:
		cands = completionShells
	}
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(w, c)
		}
	}
}

// flagNames are the long names of flags, as typed: --name.
func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) > 1 {
				out = append(out, "--"+n)
			}
		}
	}
	return out
}

// valueFlag is the name of cmd's flag word names when that flag takes a
// value (the word after it is its value), else "".
func valueFlag(cmd *cli.Command, word string) string {
	name := strings.TrimLeft(word, "-")
	if name == "" || name == word {
		return ""
	}
	for _, f := range cmd.Flags {
		if !hasName(f, name) {
			continue
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			return ""
		}
		return f.Names()[0]
	}
	return ""
}

// valuesOf are the values flag takes in cmd, where they are known.
func valuesOf(cmd *cli.Command, flag string, args []string, stdio IO) []string {
	switch flag {
	case "format":
		switch cmd.Name {
		case "explain":
			return explain.Formats()
		case "doctor", "providers":
			return []string{"table", "json"}
		}
		return render.Formats()
	case "output":
		if cmd.Name == "explain" || cmd.Name == "doctor" {
			return nil
		}
		var out []string
		for _, f := range render.Formats() {
			out = append(out, f+"=")
		}
		return out
	case "modes":
		return strings.Split(joinModes(knownModes), ",")
	case "loops":
		return strings.Split(joinLoops(scan.AllLoops), ",")
	case "color":
		return colorModes
	case "fail-on":
		out := []string{"loop", "any"}
		for _, c := range diag.Classes {
			if c != diag.ClassOK {
				out = append(out, string(c))
			}
		}
		return out
	case "provider":
		return catalogNames(args, stdio)
	}
	return nil
}

// catalogNames are the providers of the g4f the command line points at
// (--demo, --demo-scale, --python, else the default interpreter), within a
// few seconds; none when it cannot be read.
func catalogNames(args []string, stdio IO) []string {
	var o targetOptions
	for i, a := range args {
		switch {
		case a == "--demo":
			o.Demo = true
		case a == "--demo-scale":
			o.DemoScale = true
		case a == "--probe":
			o.Probes = true
		case a == "--python" && i+1 < len(args):
			o.Python = args[i+1]
		case strings.HasPrefix(a, "--python="):
			o.Python = strings.TrimPrefix(a, "--python=")
		}
	}
	dir, err := os.MkdirTemp("", "g4fdiag-complete-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	t, err := o.target(stdio, func() (string, error) { return dir, nil })
	if err != nil {
		return nil
	}
	pool, err := repro.NewPool(t, repro.PoolOptions{})
	if err != nil {
		return nil
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, catalog, err := pool.Start(ctx, []scan.Loop{scan.LoopAsyncio})
	if err != nil {
		return nil
	}
	var out []string
	for _, pr := range catalog {
		if pr.Unavailable == "" {
			out = append(out, pr.Name)
		}
	}
	return out
}
