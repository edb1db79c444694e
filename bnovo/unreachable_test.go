package bnovo_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/retry"
)

// deadOrigin is an http origin where nothing listens.
func deadOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// A Bnovo syncd has never reached is not retried for minutes: the first call fails at once,
// naming the origin and the cause, even under the production retry policy (15 minutes).
func TestUnreachableBeforeFirstAnswerFailsFast(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tests := []struct{ name, origin, cause string }{
		{"refused", deadOrigin(t), "connection refused"},
		{"TLS with an unknown authority", tlsSrv.URL, "TLS: the server's certificate is signed by an unknown authority"},
		{"TLS to a plain HTTP port", strings.Replace(deadOriginServing(t), "http://", "https://", 1), "TLS: "},
		{"DNS", "http://no-such-host.invalid", "DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := bnovo.New(bnovo.Config{BaseURL: tt.origin, AccountID: 1, APIKey: "test-key", Retry: retry.DefaultPolicy, RequestTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			_, err = c.Booking(ctx, 1)
			if !bnovo.IsUnreachable(err) || bnovo.IsTransient(err) {
				t.Fatalf("err = %v, want Unreachable (not Transient)", err)
			}
			if want := "cannot reach " + tt.origin + ": " + tt.cause; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to say %q", err, want)
			}
			if c.Calls() != 1 {
				t.Errorf("%d calls, want 1: an origin never reached is not retried", c.Calls())
			}
		})
	}
}

// deadOriginServing is an origin where a plain HTTP server answers.
func deadOriginServing(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// Once Bnovo has answered, a refused connection is a restart or a blip: retried for a while.
func TestUnreachableAfterAnAnswerIsRetriedBriefly(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, func(c *bnovo.Config) {
		c.Retry = retry.Policy{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, MaxElapsed: 200 * time.Millisecond}
	})
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	before := c.Calls()
	_, err := c.Booking(t.Context(), 100)
	if !bnovo.IsUnreachable(err) {
		t.Fatalf("err = %v, want Unreachable", err)
	}
	if c.Calls()-before < 2 {
		t.Errorf("%d calls after the server went away, want retries", c.Calls()-before)
	}
}
