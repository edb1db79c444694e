package probonus_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
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

// A probonus.base_url that names something else (the vendor's website, another service) answers
// every call with its own 404 page or an HTML 200: no answer ever comes in the API's shape. A read
// then fails as Unreachable, naming the origin, after WrongURLAfter — not after the retry
// policy's minutes — so a -once exits naming probonus.base_url in seconds.
func TestBaseURLThatNeverAnswersAsTheAPIIsUnreachable(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"HTML 404": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<html><body>Page not found</body></html>")
		},
		"HTML 200": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Carbis: loyalty for restaurants</body></html>")
		},
	} {
		t.Run(name, func(t *testing.T) {
			site := httptest.NewServer(handler)
			t.Cleanup(site.Close)
			c, err := probonus.New(probonus.Config{BaseURL: site.URL, Token: testToken, WrongURLAfter: 50 * time.Millisecond,
				Retry: retry.Policy{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, MaxElapsed: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			_, err = c.FindAccount(ctx, "79161234567")
			if ctx.Err() != nil {
				t.Fatalf("the lookup was still retried after 20 s: %v", err)
			}
			if !probonus.IsUnreachable(err) || !strings.Contains(err.Error(), "nothing at "+site.URL+" has answered as ProBonus's API") {
				t.Fatalf("err = %v, want Unreachable naming the origin", err)
			}
			if strings.Contains(err.Error(), "79161234567") {
				t.Fatalf("the error shows the guest's phone: %v", err)
			}
		})
	}
}

// Once ProBonus has answered in its API's shape, a foreign answer is a proxy's hiccup: retried
// for the whole policy, never taken for a wrong base URL.
func TestForeignAnswerAfterTheAPIAnsweredIsRetried(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.WrongURLAfter = time.Millisecond
		cfg.Retry = retry.Policy{Initial: 5 * time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 2 * time.Second}
	})
	srv.AddAccount(anna())
	if _, err := c.FindAccount(t.Context(), "79161234567"); err != nil {
		t.Fatal(err)
	}
	srv.HostileNext("find", 4, hostile.NotFoundPage) // 4 retries: at least 20 ms, far past WrongURLAfter
	if a, err := c.FindAccount(t.Context(), "79161234567"); err != nil || a.ID != 1 {
		t.Fatalf("after 4 proxy 404 pages: %+v, %v; want account 1", a, err)
	}
}
