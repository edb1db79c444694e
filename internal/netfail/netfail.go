// Package netfail tells the network failures that waiting does not heal — a name that does not
// resolve, a port where nothing listens, a TLS handshake that fails — from passing trouble (a
// timeout, a dropped connection, a 5xx), and says in a few words what went wrong. Both API
// clients use it, so a wrong base URL or a missing route ends a run in seconds with its cause
// instead of being retried for minutes.
package netfail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
)

// Cause reports whether err is a failure to reach the server at all and, if so, its cause in
// words ("DNS: no such host", "connection refused", "TLS: ..."). Such an error never carried a
// request to the server.
func Cause(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "DNS: no such host " + dnsErr.Name, true
		}
		return "DNS lookup of " + dnsErr.Name + " failed: " + dnsErr.Err, true
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens at that address and port)", true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host", true
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable", true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout() {
		// Nothing answered the connection attempt at all: a firewall dropping it, or an
		// address where no host is.
		return "connection attempt timed out (no host answers at that address)", true
	}
	if cause, ok := tlsCause(err); ok {
		return "TLS: " + cause, true
	}
	return "", false
}

func tlsCause(err error) (string, bool) {
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &unknownAuthority):
		return "the server's certificate is signed by an unknown authority", true
	case errors.As(err, &hostname):
		return hostname.Error(), true
	case errors.As(err, &invalid):
		return invalid.Error(), true
	case errors.As(err, &certErr):
		return certErr.Error(), true
	case errors.As(err, &record):
		return "the server does not speak TLS at that port (is the URL http://, not https://?)", true
	case errors.As(err, &alert):
		return "the server refused the TLS handshake: " + alert.Error(), true
	}
	// net/http reports an https:// URL pointing at a plain-HTTP server only in words.
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "the server answered plain HTTP to https:// (is the URL http://?)", true
	}
	return "", false
}

// connectTimeoutCause is the cause of a request that timed out before it had a connection.
const connectTimeoutCause = "no connection within the request timeout (a firewall dropping it, or no host at that address)"

// Trace follows one request far enough to tell a server that never accepted the connection
// from one that accepted it and was slow to answer. Its hooks run on the transport's
// goroutines, hence atomics.
type Trace struct {
	asked atomic.Bool // the transport reports traces: it asked for a connection
	got   atomic.Bool // it got one
}

// Hooks are the httptrace hooks to put in the request's context.
func (t *Trace) Hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { t.asked.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { t.got.Store(true) },
	}
}

// Connected reports whether the request may have had a connection: true unless the transport
// said it asked for one and never got it.
func (t *Trace) Connected() bool { return t.got.Load() || !t.asked.Load() }

// ConnectTimeout reports a request that timed out while it had no connection yet (connected
// false): a host that drops the connection attempt, which waiting does not heal either.
func ConnectTimeout(err error, connected bool) (string, bool) {
	if connected || err == nil {
		return "", false
	}
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &timeout) && timeout.Timeout()) {
		return connectTimeoutCause, true
	}
	return "", false
}
