package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

// broken ends a call whose request or body read failed: pending when the
// call's context ended (the deadline, a stall), else the failure.
func (d *Driver) broken(ctx context.Context, err error) ending {
	if ctx.Err() != nil {
		return endPending
	}
	return failed(transportException(err))
}

// transportException names a transport failure the way a Python client
// would, so diag's network signatures read it; an answer that is not HTTP
// is a protocol break.
func transportException(err error) scan.PyException {
	detail := innerError(err)
	exc := func(typ, prefix string) scan.PyException {
		return scan.PyException{Type: typ, Message: prefix + detail}
	}
	var (
		dnsErr     *net.DNSError
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		recordErr  tls.RecordHeaderError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return exc("ConnectionRefusedError", "[Errno 111] Connect call failed: ")
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return exc("socket.gaierror", "[Errno -2] Name or service not known: ")
		}
		return exc("socket.gaierror", "[Errno -3] Temporary failure in name resolution: ")
	case errors.Is(err, syscall.ECONNRESET):
		return exc("ConnectionResetError", "[Errno 104] Connection reset by peer: ")
	case errors.Is(err, syscall.EPIPE):
		return exc("BrokenPipeError", "[Errno 32] Broken pipe: ")
	case errors.Is(err, syscall.ECONNABORTED):
		return exc("ConnectionAbortedError", "[Errno 103] Software caused connection abort: ")
	case errors.Is(err, syscall.ENETUNREACH):
		return exc("OSError", "[Errno 101] Network is unreachable: ")
	case errors.Is(err, syscall.EHOSTUNREACH):
		return exc("OSError", "[Errno 113] No route to host: ")
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return exc("ssl.SSLCertVerificationError", "certificate verify failed: ")
	case errors.As(err, &recordErr), strings.Contains(detail, "server gave HTTP response to HTTPS client"):
		return exc("ssl.SSLError", "wrong version number (the server does not speak TLS; use http://): ")
	case strings.Contains(detail, "malformed HTTP"):
		return protocolf(scan.ProtocolNotHTTP, "%s", detail[strings.Index(detail, "malformed HTTP"):])
	case strings.Contains(detail, "readLoopPeekFailLocked"):
		// net/http's words for bytes that came before the request was
		// written, as an SSH or SMTP server sends its banner
		return protocolf(scan.ProtocolNotHTTP, "the server sent bytes before the request")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return protocolf(scan.ProtocolTruncatedAnswer, "the connection closed inside the response head (%s)", detail)
	case errors.Is(err, io.EOF):
		return protocolf(scan.ProtocolTruncatedAnswer, "the server closed the connection without an answer (%s)", detail)
	case errors.As(err, &netErr) && netErr.Timeout():
		return exc("TimeoutError", "timed out: ")
	}
	return exc("OSError", "")
}

// innerError is the failure without the url.Error wrapper that repeats the
// method and URL.
func innerError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}
