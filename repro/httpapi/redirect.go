package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// maxRedirects bounds the redirects one request follows on its server.
const maxRedirects = 10

// redirectError is a redirect the driver would not follow: to another
// host, or round in a loop.
type redirectError struct {
	from, to *url.URL
	offHost  bool
	hops     int
	loop     bool // to is a URL already visited
}

func (e *redirectError) Error() string { return e.exception().Message }

// exception is the protocol error a call records for the redirect.
func (e *redirectError) exception() scan.PyException {
	if e.offHost {
		return protocolf(scan.ProtocolRedirectOffHost, "%s sent the request on to %s, another host, and g4fdiag does not follow it "+
			"(the API key would go with it); if that is the g4f API, pass --api %s",
			shownURL(e.from.String()), shownURL(e.to.String()), shownURL(suggestedBase(e.to)))
	}
	if e.loop {
		return protocolf(scan.ProtocolRedirectLoop, "after %d redirects %s sends the request back to %s",
			e.hops, shownURL(e.from.String()), shownURL(e.to.String()))
	}
	return protocolf(scan.ProtocolRedirectLoop, "%s redirected %d times (last to %s); pass --api the URL that answers",
		shownURL(e.from.String()), e.hops, shownURL(e.to.String()))
}

// checkRedirect follows a redirect only on the first request's scheme,
// host and port, and never round a loop.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case !sameOrigin(first, req.URL):
		return &redirectError{from: first, to: req.URL, offHost: true, hops: len(via)}
	case len(via) >= maxRedirects:
		return &redirectError{from: first, to: req.URL, hops: len(via)}
	}
	for _, v := range via {
		if v.URL.String() == req.URL.String() && v.Method == req.Method {
			return &redirectError{from: first, to: req.URL, hops: len(via), loop: true}
		}
	}
	return nil
}

// withRedirectCheck returns c, or a copy of it that checks redirects when
// it has no check of its own.
func withRedirectCheck(c *http.Client) *http.Client {
	if c == nil {
		return newClient()
	}
	if c.CheckRedirect != nil {
		return c
	}
	cc := *c
	cc.CheckRedirect = checkRedirect
	return &cc
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// suggestedBase is the base URL a redirect target stands for: the target
// without the route g4fdiag asked for.
func suggestedBase(u *url.URL) string {
	b := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	for _, route := range []string{chatPath, "/v1/providers", "/v1/models"} {
		if p, ok := strings.CutSuffix(b.Path, route); ok {
			b.Path = p
			break
		}
	}
	return normalizeBase(b.String())
}

// shownURL is a URL fit for an output: without its password.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return hidePassword(raw)
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	return u.Redacted()
}

// hidePassword hides the password of a URL that does not parse.
func hidePassword(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + authority[at:] + path
}

// ShownURL is the --api URL as outputs show it: its password, if any,
// replaced by "xxxxx".
func ShownURL(raw string) string { return shownURL(raw) }

// CheckBaseURL says what is wrong with an --api URL, or nil: it must be
// http or https, name a host, and hold no spaces, query or fragment.
func CheckBaseURL(raw string) error {
	const example = "e.g. --api http://127.0.0.1:1337"
	bad := func(format string, args ...any) error {
		return fmt.Errorf("--api %q is not the base URL of a g4f API server: %s; %s", shownURL(raw), fmt.Sprintf(format, args...), example)
	}
	if raw != strings.TrimSpace(raw) || strings.ContainsAny(raw, " \t\r\n") {
		return bad("it holds spaces")
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return bad("it holds a control character")
		}
	}
	u, err := url.Parse(raw)
	if !strings.Contains(raw, "://") && (err != nil || !httpScheme(u.Scheme)) {
		return bad("it has no scheme: start it with http:// or https://")
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad("%v", err)
	}
	switch {
	case u.Scheme == "":
		return bad("it has no scheme (http:// or https://)")
	case !httpScheme(u.Scheme):
		return bad("scheme %q is not http or https", u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return bad("it names no host")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("a base URL takes no query (?...)")
	case u.Fragment != "":
		return bad("a base URL takes no fragment (#...)")
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n <= 0 || n > 65535 {
			return bad("port %q is not a port number (1-65535)", p)
		}
	}
	return nil
}

func httpScheme(s string) bool { return strings.EqualFold(s, "http") || strings.EqualFold(s, "https") }
