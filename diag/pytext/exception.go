package pytext

import (
	"iter"
	"regexp"
	"strconv"
	"strings"
)

// The exception-line readers differ on purpose: loose inside a traceback,
// where the line's place says it is one; strict in free text, where a type
// must look like an error to count.
var (
	// exceptionHead (inside a traceback): any dotted identifier, then
	// ":" and an optional blank, then the message.
	exceptionHead = regexp.MustCompile(`^((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)(?::[ \t]?(.*))?$`)
	// inlineError (in a log line): a type ending in Error or Exception
	// (or socket's gaierror, herror) after a non-identifier character, then
	// ":" and blanks.
	inlineError = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])((?:[A-Za-z_][A-Za-z0-9_]*\.)*(?:[A-Z][A-Za-z0-9_]*(?:Error|Exception)|gaierror|herror)):[ \t]+(.*)$`)
	// reprError: an exception's repr, as asyncio's "Task exception was
	// never retrieved" prints it: exception=RuntimeError('...').
	reprError = regexp.MustCompile(`\b((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Z][A-Za-z0-9_]*(?:Error|Exception))\((?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")`)
	// quotedError (in another exception's message): "Type: message" at a
	// line start, optionally after "Name: "; the type ends in Error,
	// Exception or Warning, or is gaierror, herror or timeout.
	quotedError = regexp.MustCompile(`(?m)^[ \t]*(?:([A-Za-z0-9_.\-]+):[ \t]+)?` +
		`((?:[A-Za-z_][A-Za-z0-9_]*\.)*(?:[A-Z][A-Za-z0-9_]*(?:Error|Exception|Warning)|gaierror|herror|timeout)):[ \t]*([^\n]*)`)
)

// ParseExceptionLine reads the exception line that ends a traceback
// ("Type: message", "Type", "pkg.mod.Type:message") from a line without
// its indentation. Any dotted identifier is a type: inside a traceback a
// bare KeyboardInterrupt or KeyError counts.
func ParseExceptionLine(body string) (typ, msg string, ok bool) {
	m := exceptionHead.FindStringSubmatch(strings.TrimRight(body, " \t"))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// FindInlineException finds "Type: message" inside a log line ("... failed:
// RuntimeError: ..."): the type must end in Error or Exception. at is where
// the type starts in line.
func FindInlineException(line string) (at int, typ, msg string, ok bool) {
	loc := inlineError.FindStringSubmatchIndex(line)
	if loc == nil {
		return 0, "", "", false
	}
	return loc[2], line[loc[2]:loc[3]], line[loc[4]:loc[5]], true
}

// FindReprException finds an exception in its repr, Type('msg') or
// Type("msg"), and unquotes the message.
func FindReprException(line string) (typ, msg string, ok bool) {
	m := reprError.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	msg = m[2] + m[3]
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(msg, `"`, `\"`) + `"`); err == nil {
		msg = u
	}
	return m[1], msg, true
}

// QuotedExceptions yields the type and message of up to n exceptions
// quoted as "Type: message" at the start of a line of msg, optionally after
// a name: g4f's RetryProviderError lists one "Provider: Type: message" line
// per provider it tried. Quotes inside a line (a remote server's JSON body)
// are not read. n < 0 reads them all.
func QuotedExceptions(msg string, n int) iter.Seq2[string, string] {
	return func(yield func(typ, msg string) bool) {
		for _, q := range quotedError.FindAllStringSubmatch(msg, n) {
			if !yield(q[2], q[3]) {
				return
			}
		}
	}
}

// Quoted is one exception another one's message quotes at a line start:
// Name is what stands before it ("Blackbox" in g4f's "Blackbox:
// RuntimeError: ..."), "" when nothing does.
type Quoted struct {
	Name, Type, Message string
}

// NamedQuotes is QuotedExceptions with the name each quote stands after:
// g4f's RetryProviderError names the provider of every line.
func NamedQuotes(msg string, n int) iter.Seq[Quoted] {
	return func(yield func(Quoted) bool) {
		for _, q := range quotedError.FindAllStringSubmatch(msg, n) {
			if !yield(Quoted{Name: q[1], Type: q[2], Message: q[3]}) {
				return
			}
		}
	}
}

// ShortType is the last component of a qualified type name.
func ShortType(typ string) string {
	typ = strings.TrimSpace(typ)
	if i := strings.LastIndexByte(typ, '.'); i >= 0 && i < len(typ)-1 {
		return typ[i+1:]
	}
	return typ
}

// FirstLine is the first line of s, trimmed.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// LineStyle is how FormatExceptionLine writes an exception.
type LineStyle int

const (
	// LineEvidence is "ShortType: first line", trimmed; the type alone
	// for an empty message, the message alone for an empty type (verdict
	// evidence).
	LineEvidence LineStyle = iota
	// LineFull is "Type: message", whole (a report's chain list).
	LineFull
	// LineScript is the first line of "Type: message", untrimmed, with the
	// full type: what an emitted script's last error line reads.
	LineScript
)

// FormatExceptionLine writes an exception's line in the style.
func FormatExceptionLine(typ, msg string, s LineStyle) string {
	switch s {
	case LineFull:
		return typ + ": " + msg
	case LineScript:
		line, _, _ := strings.Cut(typ+": "+msg, "\n")
		return line
	}
	t := ShortType(typ)
	first := FirstLine(msg)
	switch {
	case t == "":
		return first
	case first == "":
		return t
	}
	return t + ": " + first
}
