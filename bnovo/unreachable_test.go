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
	"github.com/hotelsync/syncd/internal/deadport"
	"github.com/hotelsync/syncd/retry"
)

// A Bnovo syncd has never reached is not retried for minutes: the first call fails at once,
// naming the origin and the cause, even under the production retry policy (15 minutes).
func TestUnreachableBeforeFirstAnswerFailsFast(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tests := []struct{ name, origin, cause string }{
		{"refused", deadport.Origin(t), "connection refused"},
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
			if !bnovo.IsUnreachable(err) || bnovo.KindOf(err) == bnovo.Transient {
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
		c.Retry = retry.Policy{Initial: 2 * time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 50 * time.Millisecond}
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

// blackholeClient connects nowhere: every dial hangs until the request gives up, as when a
// firewall drops the packets or no host has the address.
func blackholeClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
}

// A request that times out before it ever had a connection is unreachable too; one that had
// a connection and timed out waiting for the answer stays passing trouble.
func TestConnectTimeoutIsUnreachable(t *testing.T) {
	t.Parallel() // waits out timeouts and limiter waits: overlaps with the other waiting tests
	c, err := bnovo.New(bnovo.Config{BaseURL: "http://192.0.2.1", AccountID: 1, APIKey: "test-key", HTTPClient: blackholeClient(),
		Retry: retry.DefaultPolicy, RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Booking(t.Context(), 1)
	if !bnovo.IsUnreachable(err) || !strings.Contains(err.Error(), "cannot reach http://192.0.2.1: no connection within the request timeout") || c.Calls() != 1 {
		t.Fatalf("err = %v after %d calls, want Unreachable after 1", err, c.Calls())
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(200 * time.Millisecond):
		}
	}))
	t.Cleanup(slow.Close)
	c, err = bnovo.New(bnovo.Config{BaseURL: slow.URL, AccountID: 1, APIKey: "test-key",
		Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 60 * time.Millisecond}, RequestTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Booking(t.Context(), 1)
	if bnovo.IsUnreachable(err) || bnovo.KindOf(err) != bnovo.Transient {
		t.Fatalf("a slow answer: err = %v, want Transient", err)
	}
}

// A login answered 401 or 403 is refused credentials (Auth), never a read-only account or
// passing trouble, and is not retried.
func TestLoginRefusedIsAuth(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(status)
		}))
		c, err := bnovo.New(bnovo.Config{BaseURL: srv.URL, AccountID: 1, APIKey: "test-key", Retry: retry.DefaultPolicy})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(t.Context())
		srv.Close()
		if bnovo.KindOf(err) != bnovo.Auth || calls != 1 {
			t.Errorf("login answered %d: %v after %d calls, want Auth after 1", status, err, calls)
		}
	}
}
