package probonus_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/internal/deadport"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/retry"
)

const testToken = "s3cret-T0ken-value"

var fastRetry = retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 500 * time.Millisecond, MaxRetryAfter: 20 * time.Millisecond}

func newPair(t *testing.T, opts probonustest.Options, adjust func(*probonus.Config)) (*probonustest.Server, *probonus.Client) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	srv := probonustest.NewServer(opts)
	t.Cleanup(srv.Close)
	cfg := probonus.Config{BaseURL: srv.URL, Token: opts.Token, TokenHeader: opts.TokenHeader, Retry: fastRetry, RequestTimeout: 2 * time.Second}
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := probonus.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv, c
}

func asError(t *testing.T, err error) *probonus.Error {
	t.Helper()
	var e *probonus.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *probonus.Error", err, err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("error text contains the token: %v", err)
	}
	return e
}

func anna() probonus.Account {
	return probonus.Account{FirstName: "Анна", LastName: "Петрова", Email: "anna@example.ru", Phones: []string{"79161234567"}, AccountGroupID: 1}
}

func TestFindAccount(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	ctx := context.Background()

	for _, ident := range []string{"79161234567", "anna@example.ru"} {
		got, err := c.FindAccount(ctx, ident)
		if err != nil {
			t.Fatalf("find %q: %v", ident, err)
		}
		if got.ID != id || got.FirstName != "Анна" || got.Card() == "" {
			t.Fatalf("find %q: got %+v, want account %d with a card", ident, got, id)
		}
	}
	// The server compares exactly: other spellings of the same phone or e-mail are not found.
	for _, ident := range []string{"9161234567", "+79161234567", "Anna@example.ru", ""} {
		_, err := c.FindAccount(ctx, ident)
		if !errors.Is(err, probonus.ErrNotFound) || !probonus.IsNotFound(err) {
			t.Fatalf("find %q: got %v, want ErrNotFound", ident, err)
		}
		e := asError(t, err)
		if e.Kind != probonus.Permanent || e.Status != 404 || e.Detail == "" {
			t.Fatalf("find %q: %+v, want a Permanent 404 with detail", ident, e)
		}
		if ident != "" && strings.Contains(err.Error(), ident) {
			t.Fatalf("error text names the guest's identifier: %v", err)
		}
	}
}

func TestCreateAccount(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	ctx := context.Background()
	got, err := c.CreateAccount(ctx, probonus.NewAccount{FirstName: "Иван", LastName: "Иванов", Email: "Ivan@Example.RU", Phones: []string{"79031112233"}, AccountGroupID: 1})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got.ID == 0 || got.Email != "ivan@example.ru" || got.Balance != 0 || got.DiscountLevelName == "" || !strings.HasPrefix(got.Card(), "20000000") {
		t.Fatalf("created %+v: want an id, lower-cased e-mail, balance 0, a level and a 20000000… card", got)
	}
	stored, ok := srv.Account(got.ID)
	if !ok || stored.Card() != got.Card() || stored.Phones[0] != "79031112233" {
		t.Fatalf("server holds %+v (found %v), client saw %+v", stored, ok, got)
	}
	if found, err := c.FindAccount(ctx, "ivan@example.ru"); err != nil || found.ID != got.ID {
		t.Fatalf("find by stored e-mail: %+v, %v", found, err)
	}

	// Same phone again: 400 with the server's text, never retried, not an unknown outcome.
	before := c.Calls()
	_, err = c.CreateAccount(ctx, probonus.NewAccount{FirstName: "Другой", Phones: []string{"79031112233"}, AccountGroupID: 1})
	e := asError(t, err)
	if e.Kind != probonus.Permanent || e.Status != 400 || e.Detail == "" || probonus.IsOutcomeUnknown(err) || probonus.KindOf(err) == probonus.Transient {
		t.Fatalf("duplicate create: %+v", e)
	}
	if n := c.Calls() - before; n != 1 {
		t.Fatalf("duplicate create made %d calls, want 1", n)
	}
	if n := len(srv.Accounts()); n != 1 {
		t.Fatalf("%d accounts after a rejected duplicate, want 1", n)
	}
}

func TestValidationDetailRendered(t *testing.T) {
	_, c := newPair(t, probonustest.Options{}, nil)
	_, err := c.CreateAccount(context.Background(), probonus.NewAccount{FirstName: " ", Phones: []string{"79161234567", "+7 916"}, AccountGroupID: 1})
	e := asError(t, err)
	want := "body.firstName: String should have at least 1 character; body.phones.1: Value error, телефон должен состоять из 10–15 цифр"
	if e.Status != 422 || e.Kind != probonus.Permanent || e.Detail != want {
		t.Fatalf("got status %d kind %v detail %q, want 422 Permanent %q", e.Status, e.Kind, e.Detail, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error text %q lacks the detail", err)
	}
}

func TestTokenHeader(t *testing.T) {
	cases := []struct {
		name          string
		serverHeader  string
		clientHeader  string
		clientToken   string
		wantAuthError bool
	}{
		{name: "bearer default", serverHeader: "", clientHeader: "", clientToken: testToken},
		{name: "custom header raw token", serverHeader: "X-API-Key", clientHeader: "X-API-Key", clientToken: testToken},
		{name: "custom header, case differs", serverHeader: "X-API-Key", clientHeader: "x-api-key", clientToken: testToken},
		{name: "wrong token", serverHeader: "", clientHeader: "", clientToken: "other-token", wantAuthError: true},
		{name: "bearer sent, raw expected", serverHeader: "X-API-Key", clientHeader: "", clientToken: testToken, wantAuthError: true},
		{name: "raw sent, bearer expected", serverHeader: "", clientHeader: "X-API-Key", clientToken: testToken, wantAuthError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{TokenHeader: tc.serverHeader}, func(cfg *probonus.Config) {
				cfg.TokenHeader = tc.clientHeader
				cfg.Token = tc.clientToken
			})
			id := srv.AddAccount(anna())
			_, err := c.Account(context.Background(), id)
			if !tc.wantAuthError {
				if err != nil {
					t.Fatalf("account: %v", err)
				}
				return
			}
			e := asError(t, err)
			if e.Kind != probonus.Auth || e.Status != 401 || e.Detail != "Not authenticated" {
				t.Fatalf("got %+v, want Auth 401 Not authenticated", e)
			}
			if c.Calls() != 1 {
				t.Fatalf("%d calls: an auth failure must not be retried", c.Calls())
			}
		})
	}
}

func TestForbiddenIsAuth(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	srv.FailNext("find", 1, 403)
	_, err := c.FindAccount(context.Background(), "79161234567")
	if probonus.KindOf(err) != probonus.Auth || probonus.IsNotFound(err) || c.Calls() != 1 {
		t.Fatalf("403: got %v (kind %v) after %d calls, want Auth, one call", err, probonus.KindOf(err), c.Calls())
	}
}

func TestDepositAndWithdraw(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	ctx := context.Background()

	dep, err := c.Deposit(ctx, id, 112500, "Проживание (bnovo:1#1)")
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	if dep.ID == 0 || dep.AccountID != id || dep.Type != probonus.OpDeposit || dep.Sum != 112500 || dep.Balance != 112500 || dep.Reason != "Проживание (bnovo:1#1)" || dep.CreatedAt.IsZero() {
		t.Fatalf("deposit returned %+v", dep)
	}
	wd, err := c.Withdraw(ctx, id, 12500, "Возврат (bnovo:1#2)")
	if err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	if wd.Type != probonus.OpWithdraw || wd.Sum != 12500 || wd.Balance != 100000 {
		t.Fatalf("withdraw returned %+v", wd)
	}
	acct, err := c.Account(ctx, id)
	if err != nil || acct.Balance != 100000 {
		t.Fatalf("account after ops: %+v, %v; want balance 100000", acct, err)
	}
	server := srv.Operations(id)
	if len(server) != 2 || server[0] != dep || server[1] != wd {
		t.Fatalf("server operations %+v, want exactly what the client was told: %+v, %+v", server, dep, wd)
	}

	// Above the balance: rejected, nothing changes.
	_, err = c.Withdraw(ctx, id, 100001, "Возврат (bnovo:1#3)")
	e := asError(t, err)
	if e.Kind != probonus.Permanent || e.Status != 400 || e.Detail != "Недостаточно бонусов" || probonus.IsOutcomeUnknown(err) {
		t.Fatalf("withdraw above balance: %+v", e)
	}
	if a, _ := srv.Account(id); a.Balance != 100000 || len(srv.Operations(id)) != 2 {
		t.Fatalf("after a refused withdrawal: balance %d, %d ops; want 100000 and 2", a.Balance, len(srv.Operations(id)))
	}

	// Missing account: 404, not an unknown outcome.
	_, err = c.Deposit(ctx, id+100, 100, "x")
	if !probonus.IsNotFound(err) || probonus.IsOutcomeUnknown(err) {
		t.Fatalf("deposit to a missing account: %v", err)
	}

	// A non-positive sum never leaves the process.
	calls := c.Calls()
	for _, sum := range []int64{0, -100} {
		if _, err := c.Deposit(ctx, id, sum, "x"); err == nil || probonus.IsOutcomeUnknown(err) || probonus.KindOf(err) != 0 {
			t.Fatalf("deposit of %d: %v", sum, err)
		}
	}
	if c.Calls() != calls {
		t.Fatal("a non-positive sum was sent")
	}
}

func TestNoDeduplication(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	for range 2 {
		if _, err := c.Deposit(context.Background(), id, 5000, "same (bnovo:7#1)"); err != nil {
			t.Fatalf("deposit: %v", err)
		}
	}
	if ops := srv.Operations(id); len(ops) != 2 || ops[0].ID == ops[1].ID {
		t.Fatalf("two identical deposits gave %+v, want two distinct operations", ops)
	}
	if a, _ := srv.Account(id); a.Balance != 10000 {
		t.Fatalf("balance %d, want 10000", a.Balance)
	}
}

func TestWriteFailures(t *testing.T) {
	cases := []struct {
		name        string
		inject      func(*probonustest.Server)
		wantOps     int
		wantUnknown bool
		wantKind    probonus.ErrorKind
		wantStatus  int
	}{
		{name: "500 before commit", inject: func(s *probonustest.Server) { s.FailNext("deposit", 1, 500) }, wantOps: 0, wantUnknown: true, wantKind: probonus.Transient, wantStatus: 500},
		{name: "commit then 500", inject: func(s *probonustest.Server) { s.CommitThenFail("deposit", 1) }, wantOps: 1, wantUnknown: true, wantKind: probonus.Transient, wantStatus: 500},
		{name: "commit then drop", inject: func(s *probonustest.Server) { s.CommitThenDrop("deposit", 1) }, wantOps: 1, wantUnknown: true, wantKind: probonus.Transient},
		{name: "429", inject: func(s *probonustest.Server) { s.FailNext("deposit", 1, 429) }, wantOps: 0, wantUnknown: false, wantKind: probonus.RateLimited, wantStatus: 429},
		{name: "503", inject: func(s *probonustest.Server) { s.FailNext("deposit", 1, 503) }, wantOps: 0, wantUnknown: true, wantKind: probonus.Transient, wantStatus: 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{}, nil)
			id := srv.AddAccount(anna())
			tc.inject(srv)
			_, err := c.Deposit(context.Background(), id, 5000, "Проживание (bnovo:9#1)")
			e := asError(t, err)
			if probonus.IsOutcomeUnknown(err) != tc.wantUnknown || e.Kind != tc.wantKind || e.Status != tc.wantStatus || !e.Sent {
				t.Fatalf("got %+v (unknown %v), want kind %v status %d unknown %v", e, probonus.IsOutcomeUnknown(err), tc.wantKind, tc.wantStatus, tc.wantUnknown)
			}
			if c.Calls() != 1 || srv.Stats().ByEndpoint["deposit"] != 1 {
				t.Fatalf("client made %d calls, server saw %d deposits: a write must never be retried", c.Calls(), srv.Stats().ByEndpoint["deposit"])
			}
			if ops := srv.Operations(id); len(ops) != tc.wantOps {
				t.Fatalf("%d operations committed, want %d", len(ops), tc.wantOps)
			}
		})
	}
}

func TestTimeoutAfterSendIsOutcomeUnknown(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) { cfg.RequestTimeout = 50 * time.Millisecond })
	id := srv.AddAccount(anna())
	srv.HangNext("withdraw", 1, 100*time.Millisecond)
	srv.SetBalance(id, 10000)
	_, err := c.Withdraw(context.Background(), id, 4000, "Возврат (bnovo:3#2)")
	e := asError(t, err)
	if !probonus.IsOutcomeUnknown(err) || e.Status != 0 || !e.Sent {
		t.Fatalf("timed-out withdrawal: %+v, want outcome unknown", e)
	}
	if c.RequestTimeout() != 50*time.Millisecond {
		t.Fatalf("RequestTimeout() = %v", c.RequestTimeout())
	}
	// The server finishes the work the client gave up on.
	deadline := time.Now().Add(2 * time.Second)
	for len(srv.Operations(id)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hung withdrawal was never committed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a, _ := srv.Account(id); a.Balance != 6000 {
		t.Fatalf("balance %d after the late commit, want 6000", a.Balance)
	}
}

func TestDialFailureIsNotOutcomeUnknown(t *testing.T) {
	origin := deadport.Origin(t)
	quick := retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	c, err := probonus.New(probonus.Config{BaseURL: origin, Token: testToken, Retry: quick, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Deposit(context.Background(), 1, 5000, "x")
	e := asError(t, err)
	if probonus.IsOutcomeUnknown(err) || e.Sent || e.Kind != probonus.Unreachable || !probonus.IsUnreachable(err) ||
		!strings.Contains(err.Error(), "cannot reach "+origin+": connection refused") {
		t.Fatalf("dial refused: %+v, want Unreachable naming the origin and the cause, not sent, outcome known", e)
	}

	// A read to the same dead port reports the same, without the identifier, and is not
	// retried: the client never reached ProBonus, so waiting would not help.
	_, err = c.FindAccount(context.Background(), "79161234567")
	e = asError(t, err)
	if e.Sent || !probonus.IsUnreachable(err) || strings.Contains(err.Error(), "79161234567") || c.Calls() != 2 {
		t.Fatalf("find on a dead port: %v after %d calls, want unreachable after 2", err, c.Calls())
	}
}

func TestCancelledContextIsNotSent(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Deposit(ctx, id, 100, "x")
	if !errors.Is(err, context.Canceled) || probonus.IsOutcomeUnknown(err) || len(srv.Operations(id)) != 0 {
		t.Fatalf("deposit with a cancelled context: %v", err)
	}
}

func TestReadsRetried(t *testing.T) {
	cases := []struct {
		endpoint string
		status   int
		call     func(*probonus.Client, int64) error
	}{
		{"account", 500, func(c *probonus.Client, id int64) error { _, err := c.Account(context.Background(), id); return err }},
		{"find", 502, func(c *probonus.Client, _ int64) error {
			_, err := c.FindAccount(context.Background(), "anna@example.ru")
			return err
		}},
		{"operations", 429, func(c *probonus.Client, id int64) error {
			_, _, err := c.Operations(context.Background(), id, 0, 10)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{}, nil)
			id := srv.AddAccount(anna())
			srv.FailNext(tc.endpoint, 2, tc.status)
			if err := tc.call(c, id); err != nil {
				t.Fatalf("after two %d answers: %v", tc.status, err)
			}
			if c.Calls() != 3 || srv.Stats().ByEndpoint[tc.endpoint] != 3 {
				t.Fatalf("client %d calls, server %d: want 3", c.Calls(), srv.Stats().ByEndpoint[tc.endpoint])
			}
		})
	}
}

func TestReadGivesUpAfterPolicy(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 50 * time.Millisecond}
	})
	id := srv.AddAccount(anna())
	srv.FailNext("account", 1000, 500)
	_, err := c.Account(context.Background(), id)
	if probonus.KindOf(err) != probonus.Transient || c.Calls() < 2 {
		t.Fatalf("got %v after %d calls", err, c.Calls())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"detail":"Too Many Requests"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":5,"firstName":"Анна","balance":100}`))
	}))
	defer ts.Close()
	// Backoff alone would wait at least 5s, past the context; Retry-After (capped at 20ms by
	// the policy) must win.
	c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: testToken, Retry: retry.Policy{Initial: 10 * time.Second, Max: 10 * time.Second, MaxElapsed: -1, MaxRetryAfter: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	a, err := c.Account(ctx, 5)
	if err != nil || a.ID != 5 || hits.Load() != 2 {
		t.Fatalf("got %+v, %v after %d hits", a, err, hits.Load())
	}
}

func TestSimulatorRateLimit(t *testing.T) {
	now := time.Date(2026, 6, 24, 12, 0, 0, 0, time.UTC)
	srv, c := newPair(t, probonustest.Options{RateLimit: &probonustest.Window{Limit: 2, Per: time.Minute}, Now: func() time.Time { return now }}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond, MaxRetryAfter: time.Millisecond}
	})
	id := srv.AddAccount(anna())
	for range 2 {
		if _, err := c.Account(context.Background(), id); err != nil {
			t.Fatalf("within the limit: %v", err)
		}
	}
	_, err := c.Account(context.Background(), id)
	e := asError(t, err)
	if e.Kind != probonus.RateLimited || e.RetryAfter != time.Minute || srv.Stats().TooMany == 0 {
		t.Fatalf("over the limit: %+v, stats %+v", e, srv.Stats())
	}
	// A write refused by the limiter was never executed.
	_, err = c.Deposit(context.Background(), id, 100, "x")
	if probonus.KindOf(err) != probonus.RateLimited || probonus.IsOutcomeUnknown(err) || len(srv.Operations(id)) != 0 {
		t.Fatalf("deposit over the limit: %v", err)
	}
}

func TestOperationsPaging(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	other := srv.AddAccount(probonus.Account{FirstName: "Пётр"})
	ctx := context.Background()
	for i := int64(1); i <= 5; i++ {
		if _, err := c.Deposit(ctx, id, i*100, "op"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Deposit(ctx, other, 999, "someone else"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		offset, limit int
		want          []int64
	}{
		{0, 2, []int64{500, 400}},
		{2, 2, []int64{300, 200}},
		{4, 2, []int64{100}},
		{5, 2, nil},
		{0, 100, []int64{500, 400, 300, 200, 100}},
	}
	for _, tc := range cases {
		ops, total, err := c.Operations(ctx, id, tc.offset, tc.limit)
		if err != nil {
			t.Fatalf("offset %d limit %d: %v", tc.offset, tc.limit, err)
		}
		var sums []int64
		for _, op := range ops {
			sums = append(sums, op.Sum)
		}
		if total != 5 || len(sums) != len(tc.want) || (len(sums) > 0 && (sums[0] != tc.want[0] || sums[len(sums)-1] != tc.want[len(tc.want)-1])) {
			t.Fatalf("offset %d limit %d: sums %v total %d, want %v total 5", tc.offset, tc.limit, sums, total, tc.want)
		}
	}
	if _, _, err := c.Operations(ctx, id, -1, 10); err == nil {
		t.Fatal("negative offset accepted")
	}
	if _, _, err := c.Operations(ctx, 4242, 0, 10); !probonus.IsNotFound(err) {
		t.Fatalf("operations of a missing account: %v", err)
	}
}

func TestDirectories(t *testing.T) {
	_, c := newPair(t, probonustest.Options{}, nil)
	groups, err := c.AccountGroups(context.Background())
	if err != nil || len(groups) == 0 || groups[0].ID != 1 || groups[0].Name == "" {
		t.Fatalf("account groups %+v, %v", groups, err)
	}
	types, err := c.IdentifierTypes(context.Background())
	if err != nil || len(types) != 3 || types[1].ID != probonus.IdentifierPhone {
		t.Fatalf("identifier types %+v, %v", types, err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	// A misbehaving proxy that echoes request headers into its error page.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"detail":"bad request with headers ` + r.Header.Get("Authorization") + ` ` + r.Header.Get("X-Key") + `"}`))
	}))
	defer ts.Close()
	for _, header := range []string{"", "X-Key"} {
		c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: testToken, TokenHeader: header})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Deposit(context.Background(), 1, 100, "x")
		e := asError(t, err) // fails on the token in the text
		if !strings.Contains(e.Detail, "bad request with headers") {
			t.Fatalf("detail %q lost its text", e.Detail)
		}
	}
}

func TestRedirectToOtherOriginRefused(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("X-API-Key"), testToken) {
			leaked.Store(true)
		}
	}))
	defer elsewhere.Close()
	ts := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/steal", http.StatusTemporaryRedirect))
	defer ts.Close()
	c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: testToken, TokenHeader: "X-API-Key", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Account(context.Background(), 1)
	if err == nil || leaked.Load() {
		t.Fatalf("redirect to another origin: err %v, token leaked %v", err, leaked.Load())
	}
	// Transient so the booking is retried later rather than parked, but not retried within the
	// call: the server would only redirect again.
	if e := asError(t, err); e.Kind != probonus.Transient || c.Calls() != 1 {
		t.Fatalf("refused redirect: %+v after %d calls, want Transient, not retried", e, c.Calls())
	}
}

func TestNewValidates(t *testing.T) {
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	cases := []struct {
		name string
		cfg  probonus.Config
		ok   bool
	}{
		{"origin", probonus.Config{BaseURL: "http://host:6896", Token: "t"}, true},
		{"origin with slash", probonus.Config{BaseURL: "https://host/", Token: "t"}, true},
		{"token with newline trimmed", probonus.Config{BaseURL: "http://host", Token: "t\n"}, true},
		{"empty url", probonus.Config{Token: "t"}, false},
		{"relative", probonus.Config{BaseURL: "host:6896", Token: "t"}, false},
		{"ftp", probonus.Config{BaseURL: "ftp://host", Token: "t"}, false},
		{"path", probonus.Config{BaseURL: "http://host/api/v0", Token: "t"}, false},
		{"credentials", probonus.Config{BaseURL: "http://u:p@host", Token: "t"}, false},
		{"query", probonus.Config{BaseURL: "http://host?x=1", Token: "t"}, false},
		{"empty token", probonus.Config{BaseURL: "http://host", Token: "  "}, false},
		{"token with control char", probonus.Config{BaseURL: "http://host", Token: "a\x00b"}, false},
		{"bad header name", probonus.Config{BaseURL: "http://host", Token: "t", TokenHeader: "X Key"}, false},
		{"insecure client", probonus.Config{BaseURL: "https://host", Token: "t", HTTPClient: insecure}, false},
	}
	for _, tc := range cases {
		c, err := probonus.New(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: New error %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && tc.cfg.Token != "" && strings.Contains(err.Error(), tc.cfg.Token) && len(tc.cfg.Token) > 2 {
			t.Errorf("%s: error names the token: %v", tc.name, err)
		}
		if err == nil && c.RequestTimeout() != probonus.DefaultRequestTimeout {
			t.Errorf("%s: default timeout %v", tc.name, c.RequestTimeout())
		}
	}
}

func TestConcurrentDeposits(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	id := srv.AddAccount(anna())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.Deposit(context.Background(), id, 100, "parallel"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if a, _ := srv.Account(id); a.Balance != 4000 || len(srv.Operations(id)) != 40 || c.Calls() != 40 {
		t.Fatalf("balance %d, %d ops, %d calls; want 4000, 40, 40", a.Balance, len(srv.Operations(id)), c.Calls())
	}
}
