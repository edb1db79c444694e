package probonus_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/retry"
)

// A ProBonus that never accepts the connection (a firewall dropping it, a host that is down)
// is unreachable: a read fails at once instead of being retried for minutes, and a deposit is
// known not to have been sent.
func TestConnectTimeoutIsUnreachable(t *testing.T) {
	t.Parallel() // waits out timeouts and limiter waits: overlaps with the other waiting tests
	blackhole := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
	c, err := probonus.New(probonus.Config{BaseURL: "http://192.0.2.1:6896", Token: testToken, HTTPClient: blackhole,
		Retry: retry.DefaultPolicy, RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindAccount(t.Context(), "79161234567")
	if !probonus.IsUnreachable(err) || !strings.Contains(err.Error(), "cannot reach http://192.0.2.1:6896: no connection within the request timeout") || c.Calls() != 1 {
		t.Fatalf("find: %v after %d calls, want Unreachable after 1", err, c.Calls())
	}
	_, err = c.Deposit(t.Context(), 1, 5000, "x")
	if !probonus.IsUnreachable(err) || probonus.IsOutcomeUnknown(err) {
		t.Fatalf("deposit: %v, want Unreachable with a known outcome (not sent)", err)
	}
}
