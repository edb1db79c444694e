package bnovo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/simclock"
	"github.com/hotelsync/syncd/retry"
)

var moscow = time.FixedZone("MSK", 3*3600)

var fastRetry = retry.Policy{
	Initial:       5 * time.Millisecond,
	Max:           20 * time.Millisecond,
	MaxElapsed:    3 * time.Second,
	MaxRetryAfter: 100 * time.Millisecond,
}

func newServer(t *testing.T, opts bnovotest.Options) *bnovotest.Server {
	t.Helper()
	if opts.Location == nil {
		opts.Location = moscow
	}
	srv := bnovotest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T, srv *bnovotest.Server, edit func(*bnovo.Config)) *bnovo.Client {
	t.Helper()
	cfg := bnovo.Config{
		BaseURL:        srv.URL,
		AccountID:      1,
		APIKey:         "test-key",
		Location:       moscow,
		RequestTimeout: 2 * time.Second,
		Retry:          fastRetry,
		Logger:         zerolog.Nop(),
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := bnovo.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// putStays stores n checked-out bookings departing on day, ids first, first+1, ...
func putStays(srv *bnovotest.Server, first int64, n int, day time.Time) {
	for i := range n {
		id := first + int64(i)
		srv.PutBooking(bnovo.Booking{
			ID: id, Number: fmt.Sprintf("N%d", id), StatusID: 5, StatusName: "Выехал",
			Customer:   &bnovo.Customer{ID: 1000 + id, Name: "Гость", Phone: "+7 916 000-00-00"},
			CreateDate: day.AddDate(0, 0, -10), Arrival: day.AddDate(0, 0, -2), Departure: day,
			Amount: 1000000 + id,
		})
	}
}

var june24 = time.Date(2026, 6, 24, 12, 0, 0, 0, moscow)

var june = bnovo.ListQuery{
	DataType: bnovo.ByDeparture,
	From:     time.Date(2026, 6, 1, 0, 0, 0, 0, moscow),
	To:       time.Date(2026, 6, 30, 0, 0, 0, 0, moscow),
}

type memTokens struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	saves   int
}

func (m *memTokens) LoadToken() (string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token, m.expires, nil
}

func (m *memTokens) SaveToken(token string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token, m.expires = token, expires
	m.saves++
	return nil
}

type countingLimiter struct {
	mu          sync.Mutex
	auth, other int
	wait        time.Duration // every Wait takes this long, as when the budget is spent
	blocks      []time.Time   // Block(false, until) calls
}

func (l *countingLimiter) Block(auth bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !auth {
		l.blocks = append(l.blocks, until)
	}
}

func (l *countingLimiter) Wait(ctx context.Context, auth bool) error {
	time.Sleep(l.wait)
	l.mu.Lock()
	defer l.mu.Unlock()
	if auth {
		l.auth++
	} else {
		l.other++
	}
	return ctx.Err()
}

func TestNewValidates(t *testing.T) {
	good := bnovo.Config{BaseURL: "https://api.pms.bnovo.ru", AccountID: 1, APIKey: "k"}
	if _, err := bnovo.New(good); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	tests := []struct {
		name string
		edit func(*bnovo.Config)
	}{
		{"relative URL", func(c *bnovo.Config) { c.BaseURL = "api.pms.bnovo.ru" }},
		{"ftp scheme", func(c *bnovo.Config) { c.BaseURL = "ftp://api.pms.bnovo.ru" }},
		{"path", func(c *bnovo.Config) { c.BaseURL = "https://api.pms.bnovo.ru/api/v1" }},
		{"credentials", func(c *bnovo.Config) { c.BaseURL = "https://user:secret@api.pms.bnovo.ru" }},
		{"query", func(c *bnovo.Config) { c.BaseURL = "https://api.pms.bnovo.ru?x=1" }},
		{"no account", func(c *bnovo.Config) { c.AccountID = 0 }},
		{"no key", func(c *bnovo.Config) { c.APIKey = "" }},
		{"insecure TLS", func(c *bnovo.Config) {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig.InsecureSkipVerify = true
			c.HTTPClient = &http.Client{Transport: tr}
		}},
	}
	for _, tt := range tests {
		cfg := good
		tt.edit(&cfg)
		_, err := bnovo.New(cfg)
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks the URL's password: %v", tt.name, err)
		}
	}
}

func TestTokenCachedAndPersisted(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	store := &memTokens{}
	first := newClient(t, srv, func(c *bnovo.Config) { c.Tokens = store })
	for range 3 {
		if _, err := first.Booking(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Stats().AuthCalls; got != 1 {
		t.Fatalf("3 calls logged in %d times, want 1", got)
	}
	if store.saves != 1 || store.token == "" || time.Until(store.expires) < 23*time.Hour {
		t.Fatalf("store after login: saves=%d token set=%v expires in %v", store.saves, store.token != "", time.Until(store.expires))
	}

	second := newClient(t, srv, func(c *bnovo.Config) { c.Tokens = store })
	if _, err := second.Booking(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().AuthCalls; got != 1 {
		t.Fatalf("a second client with the stored token logged in again (auth calls %d)", got)
	}
	if second.Calls() != 1 {
		t.Fatalf("second client sent %d requests, want 1", second.Calls())
	}
}

func TestStoredTokenNearExpiryIsNotUsed(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	store := &memTokens{token: "old", expires: time.Now().Add(4 * time.Minute)}
	c := newClient(t, srv, func(c *bnovo.Config) { c.Tokens = store })
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if srv.Stats().AuthCalls != 1 || store.token == "old" {
		t.Fatalf("a token expiring within 5 minutes was used: auth calls %d", srv.Stats().AuthCalls)
	}
}

func TestReauthOnceOn401(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	store := &memTokens{}
	c := newClient(t, srv, func(c *bnovo.Config) { c.Tokens = store })
	if _, err := c.Guests(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	oldToken := store.token
	srv.ExpireTokens()
	guests, err := c.Guests(t.Context(), 100)
	if err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if len(guests) != 1 || guests[0].ID != 1100 {
		t.Fatalf("guests %+v", guests)
	}
	st := srv.Stats()
	if st.AuthCalls != 2 || st.Calls != 3 {
		t.Fatalf("auth calls %d, API calls %d; want 2 and 3 (call, refused call, resent call)", st.AuthCalls, st.Calls)
	}
	if store.token == oldToken || store.saves != 2 {
		t.Fatalf("the new token was not persisted (saves %d)", store.saves)
	}
}

func TestPersistent401IsAuthError(t *testing.T) {
	var logins, calls int
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/api/v1/auth" {
			logins++
			fmt.Fprintf(w, `{"data": {"access_token": "tok-%d", "token_type": "bearer", "expires_in": 86400}}`, logins)
			return
		}
		calls++
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message": "token %s revoked"}`, r.Header.Get("Authorization"))
	}))
	defer ts.Close()
	c, err := bnovo.New(bnovo.Config{BaseURL: ts.URL, AccountID: 1, APIKey: "k-secret", Retry: fastRetry, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Payments(t.Context(), 5)
	if bnovo.KindOf(err) != bnovo.Auth {
		t.Fatalf("err %v (kind %v), want Auth", err, bnovo.KindOf(err))
	}
	if logins != 2 || calls != 2 {
		t.Fatalf("logins %d, calls %d; want exactly one re-auth and one resend", logins, calls)
	}
	if strings.Contains(err.Error(), "tok-") {
		t.Fatalf("error text leaks the token: %v", err)
	}
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: 1500050, PaymentTypeID: 2, PaymentTypeName: "Банковская карта"})
	c := newClient(t, srv, nil)
	srv.FailNext(2, http.StatusInternalServerError)
	payments, err := c.Payments(t.Context(), 100)
	if err != nil {
		t.Fatalf("after two 500s: %v", err)
	}
	if len(payments) != 1 || payments[0].Amount != 1500050 || payments[0].PaymentTypeName != "Банковская карта" ||
		payments[0].Type != bnovo.PaymentIn || payments[0].BookingID != 100 {
		t.Fatalf("payments %+v", payments)
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings/{id}/payments"]; got != 3 {
		t.Fatalf("payments endpoint called %d times, want 3", got)
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	c := newClient(t, srv, func(c *bnovo.Config) {
		c.Retry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	srv.FailNext(1000, http.StatusServiceUnavailable)
	_, err := c.Booking(t.Context(), 1)
	var e *bnovo.Error
	if !errors.As(err, &e) || e.Kind != bnovo.Transient || e.Status != 503 {
		t.Fatalf("err %v, want a Transient 503", err)
	}
	if !strings.Contains(e.Message, "simulated failure") {
		t.Fatalf("plain-text body not kept as the message: %q", e.Message)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, func(c *bnovo.Config) { c.RequestTimeout = 100 * time.Millisecond })
	srv.HangNext(1, 5*time.Second)
	b, err := c.Booking(t.Context(), 100)
	if err != nil || b.ID != 100 {
		t.Fatalf("after one hung call: %+v, %v", b, err)
	}
	if got := srv.Stats().Calls; got != 2 {
		t.Fatalf("API calls %d, want 2", got)
	}
}

func TestClientErrorsArePermanent(t *testing.T) {
	srv := newServer(t, bnovotest.Options{MaxPageSize: 20, ReadOnly: true})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, nil)

	err := c.ListBookings(t.Context(), june, 0, func(bnovo.Page) error { return nil })
	var e *bnovo.Error
	if !errors.As(err, &e) || e.Kind != bnovo.Permanent || e.Status != http.StatusNotAcceptable {
		t.Fatalf("limit 50 over a cap of 20: %v, want a Permanent 406", err)
	}
	if !strings.Contains(e.Message, "limit") || e.Op != "GET /bookings" {
		t.Fatalf("error %+v lacks the server's field message or op", e)
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings"]; got != 1 {
		t.Fatalf("406 was retried: %d listing calls", got)
	}

	_, err = c.Booking(t.Context(), 999)
	if !bnovo.IsNotFound(err) || bnovo.KindOf(err) != bnovo.Permanent {
		t.Fatalf("unknown booking: %v, want not found", err)
	}

	_, err = c.UpdateGuest(t.Context(), 100, 1100, "ProBonus: карта 1")
	if !bnovo.IsForbidden(err) || bnovo.IsNotFound(err) || bnovo.KindOf(err) == bnovo.Transient {
		t.Fatalf("write on a read-only account: %v, want Forbidden", err)
	}
	if got := srv.Stats().ByPath["PUT /api/v1/bookings/{id}/guests/{guestID}"]; got != 1 {
		t.Fatalf("403 was retried: %d calls", got)
	}
}

func TestLoginRefused(t *testing.T) {
	srv := newServer(t, bnovotest.Options{APIKey: "right-key"})
	c := newClient(t, srv, func(c *bnovo.Config) { c.APIKey = "wrong-key-s3cr3t" })
	_, err := c.Booking(t.Context(), 1)
	if bnovo.KindOf(err) != bnovo.Auth || bnovo.IsNotFound(err) {
		t.Fatalf("wrong key: %v, want Auth (and not 'not found')", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks the key: %v", err)
	}
	if st := srv.Stats(); st.AuthCalls != 1 || st.Calls != 0 {
		t.Fatalf("refused login retried or followed by calls: %+v", st)
	}
}

func TestNoSecretsInErrors(t *testing.T) {
	const key = "k-9f8e7d6c5b4a"
	const token = "tok-0123456789abcdef"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := string(body) + " " + r.Header.Get("Authorization")
		switch {
		case r.URL.Path == "/api/v1/auth":
			fmt.Fprintf(w, `{"data": {"access_token": %q, "expires_in": 86400}}`, token)
		case strings.HasSuffix(r.URL.Path, "/payments"):
			http.Error(w, "boom "+echo, http.StatusInternalServerError)
		case strings.HasSuffix(r.URL.Path, "/guests/2"):
			w.WriteHeader(http.StatusNotAcceptable)
			fmt.Fprintf(w, `{"message": %q, "errors": {"key": %q}}`, "bad "+echo, key)
		default:
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"message": %q}`, echo)
		}
	}))
	defer ts.Close()
	c, err := bnovo.New(bnovo.Config{
		BaseURL: ts.URL, AccountID: 7, APIKey: key, Logger: zerolog.Nop(),
		Retry: retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	_, err = c.Payments(t.Context(), 1)
	errs = append(errs, err)
	_, err = c.UpdateGuest(t.Context(), 1, 2, "x")
	errs = append(errs, err)
	_, err = c.Booking(t.Context(), 1)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		text := err.Error()
		if strings.Contains(text, key) || strings.Contains(text, token) {
			t.Errorf("error text leaks a secret: %s", text)
		}
		if !strings.Contains(text, "[redacted]") {
			t.Errorf("echoed secret not visibly redacted: %s", text)
		}
	}
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	srv := newServer(t, bnovotest.Options{Windows: []bnovotest.Window{{Limit: 3, Per: 100 * time.Millisecond}}})
	putStays(srv, 100, 1, june24)
	var logs bytes.Buffer
	c := newClient(t, srv, func(c *bnovo.Config) { c.Logger = zerolog.New(zerolog.SyncWriter(&logs)) })
	for i := range 5 {
		if _, err := c.Booking(t.Context(), 100); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.TooMany == 0 {
		t.Fatal("the server never answered 429; the test proves nothing")
	}
	// Retry-After is 1 s (whole seconds, rounded up) capped by the policy at 100 ms; the
	// exponential schedule alone would have waited a few milliseconds.
	waits := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry struct {
			Message string `json:"message"`
			Wait    string `json:"retry_in"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && strings.Contains(entry.Message, "retry") {
			waits++
			if entry.Wait != "100ms" {
				t.Errorf("waited %q after a 429, want the capped Retry-After of 100ms (a duration with its unit)", entry.Wait)
			}
		}
	}
	if waits != st.TooMany {
		t.Errorf("%d retries logged for %d 429 answers", waits, st.TooMany)
	}
}

func TestLimiterWaitsBeforeEveryRequest(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 3, june24)
	lim := &countingLimiter{}
	c := newClient(t, srv, func(c *bnovo.Config) { c.Limiter = lim })
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, http.StatusBadGateway)
	if _, err := c.Payments(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	if _, err := c.Guests(t.Context(), 101); err != nil {
		t.Fatal(err)
	}
	if err := c.ListBookings(t.Context(), june, 0, func(bnovo.Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if lim.auth != st.AuthCalls || lim.other != st.Calls || int64(lim.auth+lim.other) != c.Calls() {
		t.Fatalf("limiter saw %d auth + %d other; server saw %d + %d; client sent %d", lim.auth, lim.other, st.AuthCalls, st.Calls, c.Calls())
	}
	if st.AuthCalls != 2 || st.Calls != 6 {
		t.Fatalf("unexpected traffic: %d auth, %d calls", st.AuthCalls, st.Calls)
	}
}

func TestLimiterErrorStopsTheCall(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	c := newClient(t, srv, func(c *bnovo.Config) { c.Limiter = refusingLimiter{} })
	_, err := c.Booking(t.Context(), 1)
	if !errors.Is(err, errNoBudget) || bnovo.KindOf(err) != 0 || c.Calls() != 0 {
		t.Fatalf("err %v, calls %d: want the limiter's error and nothing sent", err, c.Calls())
	}
}

var errNoBudget = errors.New("no budget")

type refusingLimiter struct{}

func (refusingLimiter) Wait(context.Context, bool) error { return errNoBudget }
func (refusingLimiter) Block(bool, time.Time)            {}

func TestCancelledContextIsNotAnAPIError(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, nil)
	srv.HangNext(1, 5*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Booking(ctx, 100)
	if !errors.Is(err, context.DeadlineExceeded) || bnovo.KindOf(err) != 0 {
		t.Fatalf("err %v (kind %v), want the context's error and no kind", err, bnovo.KindOf(err))
	}
}

func collect(t *testing.T, c *bnovo.Client, q bnovo.ListQuery, each func(bnovo.Page)) ([]bnovo.Page, map[int64]int) {
	t.Helper()
	var pages []bnovo.Page
	delivered := map[int64]int{}
	err := c.ListBookings(t.Context(), q, 0, func(p bnovo.Page) error {
		pages = append(pages, p)
		for _, b := range p.Bookings {
			delivered[b.ID]++
		}
		if each != nil {
			each(p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListBookings: %v", err)
	}
	return pages, delivered
}

func TestListPagesUntilTotal(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 137, june24)
	putStays(srv, 5000, 5, june24.AddDate(0, 1, 0)) // July: outside the range
	c := newClient(t, srv, nil)
	pages, delivered := collect(t, c, june, nil)
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	for i, want := range []struct{ offset, next, n int }{{0, 50, 50}, {50, 100, 50}, {100, 137, 37}} {
		p := pages[i]
		if p.Offset != want.offset || p.Next != want.next || len(p.Bookings) != want.n || p.Total != 137 {
			t.Errorf("page %d: offset %d next %d bookings %d total %d", i, p.Offset, p.Next, len(p.Bookings), p.Total)
		}
	}
	if len(delivered) != 137 {
		t.Fatalf("%d distinct bookings delivered, want 137", len(delivered))
	}
	for id, n := range delivered {
		if n != 1 || id < 1000 || id >= 1137 {
			t.Fatalf("booking %d delivered %d times", id, n)
		}
	}
	if pages[0].Bookings[0].Amount != 1001000 || pages[0].Bookings[0].Customer == nil {
		t.Fatalf("first booking decoded as %+v", pages[0].Bookings[0])
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings"]; got != 3 {
		t.Fatalf("%d listing calls, want 3", got)
	}
}

func TestListStartOffsetAndEmpty(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 60, june24)
	c := newClient(t, srv, nil)
	var offsets []int
	err := c.ListBookings(t.Context(), june, 50, func(p bnovo.Page) error {
		offsets = append(offsets, p.Offset)
		if len(p.Bookings) != 10 || p.Bookings[0].ID != 1050 {
			t.Errorf("page at 50: %d bookings", len(p.Bookings))
		}
		return nil
	})
	if err != nil || len(offsets) != 1 {
		t.Fatalf("from offset 50: %v, pages at %v", err, offsets)
	}

	calls := 0
	empty := bnovo.ListQuery{DataType: bnovo.ByDeparture, From: time.Date(2025, 1, 1, 0, 0, 0, 0, moscow), To: time.Date(2025, 1, 2, 0, 0, 0, 0, moscow)}
	err = c.ListBookings(t.Context(), empty, 0, func(p bnovo.Page) error {
		calls++
		if p.Total != 0 || len(p.Bookings) != 0 {
			t.Errorf("empty listing page %+v", p)
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("empty listing: %v, fn called %d times", err, calls)
	}
}

func TestListRestartsWhenTotalChanges(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 120, june24)
	c := newClient(t, srv, nil)
	inserted := false
	pages, delivered := collect(t, c, june, func(p bnovo.Page) {
		if !inserted {
			inserted = true
			// A booking at the end: no offset shifts, so only meta.total tells; without the
			// restart the listing would stop at the old total and miss it.
			putStays(srv, 9000, 1, june24)
		}
	})
	if len(delivered) != 121 {
		t.Fatalf("%d distinct bookings, want 121", len(delivered))
	}
	for id, n := range delivered {
		if n != 1 {
			t.Fatalf("booking %d delivered %d times", id, n)
		}
	}
	if delivered[9000] != 1 {
		t.Fatal("the booking added mid-listing was lost")
	}
	// page 0, page 50 (total changed → restart), then 0, 50, 100 again.
	if len(pages) != 5 || pages[2].Offset != 0 {
		t.Fatalf("pages at %v, want a restart from 0 after the second page", pageOffsets(pages))
	}
}

func TestListRestartsWhenAPageRepeatsAnID(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 120, june24)
	c := newClient(t, srv, nil)
	moved := false
	_, delivered := collect(t, c, june, func(p bnovo.Page) {
		if !moved {
			moved = true
			// Same total, offsets shifted forward: a low id joins, the highest leaves the range.
			putStays(srv, 10, 1, june24)
			b, _ := srv.Booking(1119)
			b.Departure = june24.AddDate(0, 2, 0)
			srv.PutBooking(b)
		}
	})
	if len(delivered) != 120 || delivered[10] != 1 || delivered[1119] != 0 {
		t.Fatalf("%d distinct bookings delivered (10: %d, 1119: %d), want 120 with 10 and without 1119", len(delivered), delivered[10], delivered[1119])
	}
	for id, n := range delivered {
		if n != 1 {
			t.Fatalf("booking %d delivered %d times", id, n)
		}
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings"]; got != 5 {
		t.Fatalf("%d listing calls, want 5 (two, then a restart of three)", got)
	}
}

func TestListGivesUpAfterMaxRestarts(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 60, june24)
	c := newClient(t, srv, func(c *bnovo.Config) { c.MaxListRestarts = 2 })
	next := int64(10)
	seen := map[int64]int{}
	err := c.ListBookings(t.Context(), june, 0, func(p bnovo.Page) error {
		for _, b := range p.Bookings {
			seen[b.ID]++
		}
		putStays(srv, next, 1, june24) // the listing never holds still
		next++
		return nil
	})
	if !errors.Is(err, bnovo.ErrListingUnstable) {
		t.Fatalf("err %v, want ErrListingUnstable", err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("booking %d delivered %d times", id, n)
		}
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings"]; got != 6 {
		t.Fatalf("%d listing calls, want 6 (3 passes of 2 pages)", got)
	}
}

func TestListStopsOnCallbackError(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 120, june24)
	c := newClient(t, srv, nil)
	stop := errors.New("disk full")
	err := c.ListBookings(t.Context(), june, 0, func(bnovo.Page) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err %v, want the callback's error", err)
	}
	if got := srv.Stats().ByPath["GET /api/v1/bookings"]; got != 1 {
		t.Fatalf("%d listing calls after the callback failed, want 1", got)
	}
}

func TestListMalformedBookingBecomesBadRecord(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 1000, 60, june24)
	srv.PutRawBooking(1005, `{"id": 1005, "dates": {"departure": "вчера"}}`)
	srv.PutRawBooking(1052, `{"id": "no id", "number": "X"}`)
	srv.PutRawBooking(1070, `{"id": 1070, "amount": 10.999}`)
	// With no offsets, in the hotel's zone: served as is, decoded as a normal booking.
	srv.PutRawBooking(1071, `{"id": 1071, "status": {"id": 5, "name": "Выехал"}, "amount": "100.5",
		"dates": {"departure": "2026-06-24 12:00:00", "update_date": "2026-06-24 13:00:00+03", "cancel_date": ""}}`)
	c := newClient(t, srv, nil)

	var bad []bnovo.BadRecord
	var good []bnovo.Booking
	err := c.ListBookings(t.Context(), june, 0, func(p bnovo.Page) error {
		bad = append(bad, p.Bad...)
		good = append(good, p.Bookings...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != 59 {
		t.Fatalf("%d good bookings, want 59 (60 stays, 2 of them replaced by bad records, plus 1071)", len(good))
	}
	want := []struct {
		id       int64
		position int
	}{{1005, 5}, {0, 52}, {1070, 60}}
	if len(bad) != len(want) {
		t.Fatalf("bad records %+v, want %d", bad, len(want))
	}
	for i, w := range want {
		if bad[i].ID != w.id || bad[i].Position != w.position || bad[i].Err == nil {
			t.Errorf("bad record %d = %+v, want id %d at position %d with an error", i, bad[i], w.id, w.position)
		}
	}
	last := good[len(good)-1]
	if last.ID != 1071 || last.Amount != 10050 || !last.Departure.Equal(june24) || !last.CancelDate.IsZero() {
		t.Fatalf("booking with offset-less timestamps decoded as %+v", last)
	}
}

func TestBookingPaymentsGuestsAndUpdate(t *testing.T) {
	clk := simclock.New(time.Now())
	srv := newServer(t, bnovotest.Options{Now: clk.Now})
	putStays(srv, 100, 1, june24)
	srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: 2250000, PaymentTypeID: 2, PaymentTypeName: "Банковская карта", Date: june24})
	srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentOut, Amount: 50050, PaymentTypeID: 1, PaymentTypeName: "Наличные", Date: june24})
	c := newClient(t, srv, nil)

	b, err := c.Booking(t.Context(), 100)
	if err != nil || b.ID != 100 || b.Number != "N100" || b.StatusName != "Выехал" || !b.Departure.Equal(june24) {
		t.Fatalf("Booking: %+v, %v", b, err)
	}
	payments, err := c.Payments(t.Context(), 100)
	if err != nil || len(payments) != 2 || payments[1].Type != bnovo.PaymentOut || payments[1].Amount != 50050 || !payments[0].Date.Equal(june24) {
		t.Fatalf("Payments: %+v, %v", payments, err)
	}

	before, _ := srv.Booking(100)
	clk.Advance(time.Minute) // timestamps on the wire have whole seconds
	notes := "Поздний заезд\r\nProBonus: карта 2000000000123, баланс 1 125 бонусов, уровень Серебро"
	g, err := c.UpdateGuest(t.Context(), 100, 1100, notes)
	if err != nil || g.ID != 1100 || g.Notes != notes {
		t.Fatalf("UpdateGuest: %+v, %v", g, err)
	}
	guests, err := c.Guests(t.Context(), 100)
	if err != nil || len(guests) != 1 || guests[0].Notes != notes {
		t.Fatalf("Guests after update: %+v, %v", guests, err)
	}
	after, err := c.Booking(t.Context(), 100)
	if err != nil || !after.UpdateDate.After(before.UpdateDate) || after.Customer.Notes != notes {
		t.Fatalf("update_date not bumped by the guest write: before %v, after %v (%v)", before.UpdateDate, after.UpdateDate, err)
	}
	if srv.Stats().GuestWrites != 1 {
		t.Fatalf("guest writes %d, want 1", srv.Stats().GuestWrites)
	}

	_, err = c.UpdateGuest(t.Context(), 100, 4242, "x")
	if !bnovo.IsNotFound(err) {
		t.Fatalf("unknown guest: %v, want not found", err)
	}
}

func pageOffsets(pages []bnovo.Page) []int {
	var out []int
	for _, p := range pages {
		out = append(out, p.Offset)
	}
	return out
}

func TestSeededHotelDecodesCleanly(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, moscow)
	// A frozen clock never lets calls leave a window: lift the limits for this test.
	srv := newServer(t, bnovotest.Options{Now: func() time.Time { return now }, Windows: []bnovotest.Window{{Limit: 1000, Per: time.Hour}}})
	ids := srv.Seed(120, 7, june.From, june.To)
	c := newClient(t, srv, nil)
	got := map[int64]bnovo.Booking{}
	err := c.ListBookings(t.Context(), june, 0, func(p bnovo.Page) error {
		if len(p.Bad) > 0 {
			t.Errorf("bad records in a seeded hotel: %+v", p.Bad)
		}
		for _, b := range p.Bookings {
			got[b.ID] = b
		}
		return nil
	})
	if err != nil || len(got) != len(ids) {
		t.Fatalf("listed %d of %d seeded bookings: %v", len(got), len(ids), err)
	}
	for _, id := range ids[:30] {
		want, _ := srv.Booking(id)
		if b := got[id]; b.Amount != want.Amount || !b.UpdateDate.Equal(want.UpdateDate) || *b.Customer != *want.Customer {
			t.Fatalf("booking %d decoded as %+v, stored as %+v", id, b, want)
		}
		payments, err := c.Payments(t.Context(), id)
		if err != nil {
			t.Fatalf("payments of %d: %v", id, err)
		}
		stored := srv.Payments(id)
		if len(payments) != len(stored) {
			t.Fatalf("booking %d: %d payments, stored %d", id, len(payments), len(stored))
		}
		for i := range stored {
			if payments[i].Amount != stored[i].Amount || payments[i].PaymentTypeName != stored[i].PaymentTypeName || !payments[i].Date.Equal(stored[i].Date) {
				t.Fatalf("payment %+v decoded as %+v", stored[i], payments[i])
			}
		}
	}
}

// TestGuestWriteAnswerShowsWhetherItHasNotes: an answer without the notes key does not read as
// empty notes, so it can never be taken as the verification of a write.
func TestGuestWriteAnswerShowsWhetherItHasNotes(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, nil)
	guests, err := c.Guests(t.Context(), 100)
	if err != nil || len(guests) == 0 || !guests[0].NotesShown {
		t.Fatalf("guests %+v, %v: want the notes shown", guests, err)
	}
	g, err := c.UpdateGuest(t.Context(), 100, guests[0].ID, "VIP\nProBonus: карта 1")
	if err != nil || !g.NotesShown || g.Notes != "VIP\nProBonus: карта 1" {
		t.Fatalf("write answered %+v, %v: want the stored notes", g, err)
	}
	srv.AnswerGuestWritesWithoutNotes(true)
	g, err = c.UpdateGuest(t.Context(), 100, guests[0].ID, "")
	if err != nil || g.NotesShown {
		t.Fatalf("write answered %+v, %v: want notes not shown", g, err)
	}
}

// A 429's Retry-After blocks the limiter every worker shares, not only the retry of the call
// that got it (capped like the retry's wait).
func TestRetryAfterBlocksTheSharedLimiter(t *testing.T) {
	srv := newServer(t, bnovotest.Options{Windows: []bnovotest.Window{{Limit: 1, Per: time.Minute}}})
	putStays(srv, 100, 1, june24)
	lim := &countingLimiter{}
	c := newClient(t, srv, func(c *bnovo.Config) {
		c.Limiter = lim
		c.Retry = retry.Policy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond, MaxRetryAfter: 20 * time.Millisecond}
	})
	start := time.Now()
	for range 2 {
		_, _ = c.Booking(t.Context(), 100)
	}
	if srv.Stats().TooMany == 0 {
		t.Fatal("the server never answered 429; the test proves nothing")
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if len(lim.blocks) == 0 {
		t.Fatal("a 429 with Retry-After did not block the shared limiter")
	}
	for _, until := range lim.blocks {
		if until.Before(start) || until.After(time.Now().Add(20*time.Millisecond)) {
			t.Errorf("blocked until %v: want a moment within the capped Retry-After", until)
		}
	}
}

// Time spent waiting for the budget is not time spent failing: a call whose every try waits
// longer than the retry policy's MaxElapsed still gets its retries.
func TestLimiterWaitDoesNotUseUpRetries(t *testing.T) {
	t.Parallel() // waits out timeouts and limiter waits: overlaps with the other waiting tests
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	lim := &countingLimiter{wait: 40 * time.Millisecond}
	c := newClient(t, srv, func(c *bnovo.Config) {
		c.Limiter = lim
		c.Retry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	if _, err := c.Booking(t.Context(), 100); err != nil { // logs in first
		t.Fatal(err)
	}
	srv.FailNext(2, http.StatusInternalServerError)
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatalf("two 500s, each retry after a budget wait longer than MaxElapsed: %v", err)
	}
}

// A 503 that says when to come back (maintenance) is waited out like a 429's Retry-After, by
// every worker: Bnovo counts each call it receives, so retrying on the short exponential
// schedule would spend the budget on answers known in advance to be 503s.
func TestUnavailableWithRetryAfterIsWaitedOutByEveryWorker(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	lim := &countingLimiter{}
	const retryAfterCap = 150 * time.Millisecond
	c := newClient(t, srv, func(c *bnovo.Config) {
		c.Limiter = lim
		c.Retry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 3 * time.Second, MaxRetryAfter: retryAfterCap}
	})
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.FailNextWithRetryAfter(1, http.StatusServiceUnavailable, "120")
	start := time.Now()
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatalf("one 503 with Retry-After, then served: %v", err)
	}
	if took := time.Since(start); took < retryAfterCap {
		t.Errorf("retried after %v: want the capped Retry-After of %v", took, retryAfterCap)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if len(lim.blocks) != 1 || lim.blocks[0].Before(start.Add(retryAfterCap)) || lim.blocks[0].After(time.Now().Add(retryAfterCap)) {
		t.Errorf("shared limiter blocked until %v: want one block for the capped Retry-After", lim.blocks)
	}
}

// A token whose whole lifetime is shorter than the renewal margin is still used until close to
// its end: renewed before every call, each call cost a login (a scarce auth call) besides itself.
func TestShortLivedTokenIsUsedForMoreThanOneCall(t *testing.T) {
	srv := newServer(t, bnovotest.Options{TokenTTL: 2 * time.Minute})
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, nil)
	for range 4 {
		if _, err := c.Booking(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Stats().AuthCalls; got != 1 {
		t.Fatalf("4 calls with a 2-minute token logged in %d times, want 1", got)
	}
}

// A 429 without Retry-After (Bnovo may not send one) still holds every worker for a while: the
// other workers' calls would each be spent on a 429 too, and a refused call counts in the window.
func TestTooManyWithoutRetryAfterBlocksTheSharedLimiter(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	lim := &countingLimiter{}
	c := newClient(t, srv, func(c *bnovo.Config) { c.Limiter = lim })
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, http.StatusTooManyRequests)
	start := time.Now()
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatalf("one 429 without Retry-After, then served: %v", err)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if len(lim.blocks) != 1 || !lim.blocks[0].After(start) {
		t.Errorf("shared limiter blocked until %v: want one block after a 429 without Retry-After", lim.blocks)
	}
}

// A listing resumed at a saved offset whose total differs from the one saved has shifted: it
// restarts from offset 0 (the restarting page says Next 0) and so delivers the booking that the
// shift moved before the offset.
func TestResumedListingRestartsWhenTheTotalChangedSinceItWasLeft(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 120, june24)
	c := newClient(t, srv, nil)
	q := june
	q.ResumeTotal = 121 // one booking before offset 50 has left the range since
	var nexts []int
	delivered := map[int64]bool{}
	if err := c.ListBookings(t.Context(), q, 50, func(p bnovo.Page) error {
		nexts = append(nexts, p.Next)
		for _, b := range p.Bookings {
			delivered[b.ID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(delivered) != 120 || nexts[0] != 0 {
		t.Fatalf("delivered %d of 120 bookings, pages' Next %v: want all, the first page saying Next 0", len(delivered), nexts)
	}
}

// A login answer carrying a token whose expires_in is not a JSON integer (a string, a float,
// null) still logs in: the token is there, and a lifetime guessed wrong costs one re-auth on a
// 401. Refused, every retry spent another login of the ten a minute, and none ever succeeded.
func TestLoginWithAnUnreadableLifetimeUsesTheToken(t *testing.T) {
	for _, expires := range []string{`"86400"`, `86400.0`, `null`, `"soon"`, `{}`} {
		var logins atomic.Int32
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/auth" {
				logins.Add(1)
				fmt.Fprintf(w, `{"data": {"access_token": "tok-1", "token_type": "bearer", "expires_in": %s}}`, expires)
				return
			}
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"data": {"guests": []}}`)
		}))
		c, err := bnovo.New(bnovo.Config{BaseURL: ts.URL, AccountID: 7, APIKey: "k", Logger: zerolog.Nop(), Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := c.Guests(t.Context(), 1); err != nil {
				t.Errorf("expires_in %s: %v", expires, err)
			}
		}
		if n := logins.Load(); n != 1 {
			t.Errorf("expires_in %s: %d logins for two calls, want 1", expires, n)
		}
		ts.Close()
	}
}

// Tokens revoked in the middle of a run while several workers call at once cost one login, not
// one per worker, and the fresh token stored is the one every worker then uses.
func TestConcurrent401sLogInOnce(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	store := &memTokens{}
	c := newClient(t, srv, func(c *bnovo.Config) { c.Tokens = store })
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	srv.SetLatency(20 * time.Millisecond) // the workers' calls overlap
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := c.Booking(t.Context(), 100); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := srv.Stats().AuthCalls; got != 2 {
		t.Fatalf("six workers refused at once logged in %d times after the first login, want 1", got-1)
	}
	calls := srv.Stats().Calls
	if _, err := c.Booking(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if srv.Stats().Calls != calls+1 || srv.Stats().AuthCalls != 2 || store.saves != 2 {
		t.Fatalf("after the re-login: %d calls for one booking, %d logins, %d tokens saved", srv.Stats().Calls-calls, srv.Stats().AuthCalls, store.saves)
	}
}
