package secret

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// Redacted replaces a secret that was cut.
const Redacted = "[REDACTED]"

// minStrong is the length from which a secret that is not a plain word is
// cut wherever it stands.
const minStrong = 8

// minPrefix is the shortest start of a strong secret cut at the end of a
// text cut short.
const minPrefix = 6

// Weak reports whether s is cut only where it stands as a credential's
// value: it is short, or only letters (a word).
func Weak(s string) bool {
	if len(s) < minStrong {
		return true
	}
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return len(s) < 2*minStrong
}

// label is what comes before a credential's value: the name of one, an
// auth scheme, and the separators between them.
const label = `(?i:\b(?:[a-z0-9]+[_-])*(?:api[_ -]?key|key|token|bearer|basic|authorization|password|passwd|pass|secret|credentials?)s?\b)` +
	`["']?\s*[:=]?\s*["'(\[]?\s*`

// word is a byte that continues a token: a weak secret next to one is part
// of a longer word, not the secret.
func word(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// labelled matches a text that ends with a label: the secret after it
// stands as a credential's value.
var labelled = regexp.MustCompile(label + `$`)

// cutter cuts one secret.
type cutter struct {
	s    string
	weak bool
}

func newCutter(s string) cutter { return cutter{s: s, weak: Weak(s)} }

func (c cutter) cut(text string) string {
	if c.s == "" || text == "" {
		return text
	}
	if !c.weak {
		return cutPrefix(strings.ReplaceAll(text, c.s, Redacted), c.s)
	}
	if strings.TrimSpace(text) == c.s {
		return strings.Replace(text, c.s, Redacted, 1)
	}
	if !strings.Contains(text, c.s) {
		return text
	}
	var b strings.Builder
	last, from := 0, 0
	for {
		i := strings.Index(text[from:], c.s)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(c.s)
		from = end
		if start > 0 && word(text[start-1]) || end < len(text) && word(text[end]) ||
			!labelled.MatchString(text[max(last, start-labelWindow):start]) {
			continue
		}
		b.WriteString(text[last:start])
		b.WriteString(Redacted)
		last = end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// labelWindow is how far before a weak secret its label is looked for.
const labelWindow = 64

// cutPrefix cuts a start of s that ends text, or ends it before an
// ellipsis: a limit on the text split the secret.
func cutPrefix(text, s string) string {
	body, tail := text, ""
	if t, ok := strings.CutSuffix(text, "…"); ok {
		body, tail = t, "…"
	}
	for n := min(len(s)-1, len(body)); n >= minPrefix; n-- {
		if strings.HasSuffix(body, s[:n]) {
			return body[:len(body)-n] + Redacted + tail
		}
	}
	return text
}

// CutOne returns text with s cut out (see the package doc for where).
func CutOne(text, s string) string { return newCutter(s).cut(text) }

var kept struct {
	sync.RWMutex
	cutters []*cutter
}

// Keep registers s as a secret of the process until forget is called; an
// empty s is no secret.
func Keep(s string) (forget func()) {
	if s == "" {
		return func() {}
	}
	c := newCutter(s)
	kept.Lock()
	kept.cutters = append(kept.cutters, &c)
	kept.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			kept.Lock()
			defer kept.Unlock()
			for i, k := range kept.cutters {
				if k == &c {
					kept.cutters = append(kept.cutters[:i:i], kept.cutters[i+1:]...)
					return
				}
			}
		})
	}
}

// Cut returns text with every kept secret cut out.
func Cut(text string) string {
	kept.RLock()
	defer kept.RUnlock()
	for _, c := range kept.cutters {
		text = c.cut(text)
	}
	return text
}
