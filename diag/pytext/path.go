package pytext

import "strings"

// SlashPath writes a Windows path with forward slashes, so that one set of
// path tests reads every platform's tracebacks.
func SlashPath(p string) string { return strings.ReplaceAll(p, `\`, "/") }

// FileBase is the last element of a slash path.
func FileBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }
