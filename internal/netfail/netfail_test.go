package netfail

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestCause(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		cause string // "" = passing trouble, not "unreachable"
	}{
		{"no such host", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "pms.example", IsNotFound: true}}, "DNS: no such host pms.example"},
		{"resolver down", &net.DNSError{Err: "server misbehaving", Name: "pms.example"}, "DNS lookup of pms.example failed: server misbehaving"},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused (nothing listens at that address and port)"},
		{"no route", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "no route to host"},
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, "connection attempt timed out (no host answers at that address)"},
		{"unknown authority", x509.UnknownAuthorityError{}, "TLS: the server's certificate is signed by an unknown authority"},
		{"plain HTTP to https", errors.New(`http: server gave HTTP response to HTTPS client`), "TLS: the server answered plain HTTP to https:// (is the URL http://?)"},
		{"read timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, ""},
		{"reset mid-answer", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ""},
		{"EOF", io.ErrUnexpectedEOF, ""},
		{"cancelled", context.Canceled, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause, ok := Cause(tt.err)
			if ok != (tt.cause != "") || cause != tt.cause {
				t.Errorf("Cause = %q, %v; want %q", cause, ok, tt.cause)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	timeout := &net.OpError{Op: "read", Err: timeoutErr{}}
	if _, ok := ConnectTimeout(timeout, true); ok {
		t.Error("a timeout on a connection is passing trouble")
	}
	if cause, ok := ConnectTimeout(timeout, false); !ok || cause != connectTimeoutCause {
		t.Errorf("a timeout without a connection: %q, %v", cause, ok)
	}
	if _, ok := ConnectTimeout(context.Canceled, false); ok {
		t.Error("a cancel is not a timeout")
	}
	var tr Trace
	if !tr.Connected() {
		t.Error("a transport that reports no traces is taken as connected")
	}
	tr.Hooks().GetConn("host:443")
	if tr.Connected() {
		t.Error("asked for a connection and got none: not connected")
	}
}
