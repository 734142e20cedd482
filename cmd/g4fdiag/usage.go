package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/g4fdiag/g4fdiag/providers"
	"github.com/urfave/cli/v2"
)

// closest is the option nearest to name by edit distance, when it is near
// enough to be a slip of the keyboard (a third of the word, at least one
// edit), or an option name begins with; "" when none is.
func closest(name string, options []string) string {
	best, bestD := "", -1
	for _, o := range options {
		d := providers.EditDistance(strings.ToLower(name), strings.ToLower(o))
		if bestD < 0 || d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" && bestD <= max(1, len([]rune(name))/3) {
		return best
	}
	for _, o := range options {
		if len(name) >= 3 && strings.HasPrefix(o, name) {
			return o
		}
	}
	return ""
}

// didYouMean is " (did you mean X?)" for the closest option, or "".
func didYouMean(name string, options []string) string {
	if c := closest(name, options); c != "" {
		return fmt.Sprintf(" (did you mean %s?)", c)
	}
	return ""
}

// commandNames are the app's commands and their aliases.
func commandNames(app *cli.App) []string {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

// unknownCommand is the app's action: reached only with an argument that is
// no command (a bare g4fdiag shows the help).
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	return usagef("unknown command %q%s; g4fdiag --help lists them", name, didYouMean(name, commandNames(c.App)))
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print g4fdiag's version, revision and Go version",
		UsageText: "g4fdiag version",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("version takes no arguments, got %q", c.Args().First())
			}
			_, err := fmt.Fprintln(c.App.Writer, "g4fdiag "+versionString())
			return err
		},
	}
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	badFlagValue  = regexp.MustCompile(`^invalid value "(.*)" for flag -+([\w-]+): `)
	bareNumber    = regexp.MustCompile(`^\d+(\.\d+)?$`)
)

// usageProblem words one of flag's parse errors for a person: the flag that
// was meant for an unknown one, the unit a duration lacks.
func usageProblem(flags []cli.Flag, err error) error {
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					names = append(names, n)
				}
			}
		}
		hint := ""
		if c := closest(m[1], names); c != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", c)
		}
		return usagef("unknown flag -%s%s; see --help", dashes(m[1]), hint)
	}
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		for _, f := range flags {
			if _, ok := f.(*cli.DurationFlag); ok && hasName(f, m[2]) {
				if bareNumber.MatchString(m[1]) {
					return usagef("--%s %s: a duration needs a unit; use %ss (or ms, m)", m[2], m[1], m[1])
				}
				return usagef("--%s %q is not a duration; use a number and a unit, such as 20s, 500ms or 2m", m[2], m[1])
			}
		}
		return usagef("--%s %q: %s (see --help)", m[2], m[1], strings.TrimPrefix(msg, m[0]))
	}
	return usagef("%v (see --help)", err)
}

// dashes is the second dash of a long flag name, as the user typed it.
func dashes(name string) string {
	if len(name) > 1 {
		return "-" + name
	}
	return name
}

func hasName(f cli.Flag, name string) bool {
	for _, n := range f.Names() {
		if n == name {
			return true
		}
	}
	return false
}
