// Package deadport gives tests a loopback address that refuses connections for as long as the
// test runs. Listening on port 0 and closing the listener frees the port: under load another
// test's server can take it a moment later and answer, and "connection refused" becomes a 401.
// A socket that is bound but never listens keeps the port from everyone and answers every
// connection with a reset.
package deadport

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// Addr returns "127.0.0.1:port" where nothing can listen until the test ends.
func Addr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("deadport: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("deadport: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("deadport: getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("deadport: bound to %T, want an IPv4 address", sa)
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(in4.Port))
}

// Origin returns "http://" + Addr(t).
func Origin(t testing.TB) string { return "http://" + Addr(t) }
