package bnovotest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/internal/simclock"
)

var msk = time.FixedZone("MSK", 3*3600)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Location == nil {
		opts.Location = msk
	}
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, s *Server, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func login(t *testing.T, s *Server) string {
	t.Helper()
	a := send(t, s, "POST", "/api/v1/auth", "", `{"id": 1, "password": "test-key"}`)
	var env struct {
		Data struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int64  `json:"expires_in"`
		} `json:"data"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &env) != nil || env.Data.AccessToken == "" {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	if env.Data.TokenType != "bearer" || env.Data.ExpiresIn <= 0 {
		t.Fatalf("login answer %s", a.body)
	}
	return env.Data.AccessToken
}

func TestAuth(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		body string
		want int
	}{
		{`{"id": 1, "password": "test-key"}`, 200},
		{`{"id": "1", "password": "test-key"}`, 406},
		{`{"id": 1.5, "password": "test-key"}`, 406},
		{`{"password": "test-key"}`, 406},
		{`not json`, 406},
		{`{"id": 2, "password": "test-key"}`, 404},
		{`{"id": 1, "password": "wrong"}`, 404},
	}
	for _, tt := range tests {
		if a := send(t, s, "POST", "/api/v1/auth", "", tt.body); a.status != tt.want {
			t.Errorf("auth %s: %d %s, want %d", tt.body, a.status, a.body, tt.want)
		} else if tt.want == 200 && !strings.Contains(a.body, `"expires_in":86400`) {
			t.Errorf("default token lifetime: %s", a.body)
		}
	}
	if st := s.Stats(); st.AuthCalls != len(tests) || st.Calls != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTokenRequired(t *testing.T) {
	clk := simclock.New(time.Date(2026, 6, 1, 10, 0, 0, 0, msk))
	s := start(t, Options{Now: clk.Now, TokenTTL: time.Hour})
	s.PutBooking(bnovo.Booking{ID: 5})
	token := login(t, s)
	for _, tok := range []string{"", "made-up"} {
		if a := send(t, s, "GET", "/api/v1/bookings/5", tok, ""); a.status != 401 {
			t.Errorf("token %q: %d, want 401", tok, a.status)
		}
	}
	if a := send(t, s, "GET", "/api/v1/bookings/5", token, ""); a.status != 200 {
		t.Fatalf("valid token: %d %s", a.status, a.body)
	}
	clk.Advance(time.Hour)
	if a := send(t, s, "GET", "/api/v1/bookings/5", token, ""); a.status != 401 {
		t.Errorf("expired token: %d, want 401", a.status)
	}
	if st := s.Stats(); st.Calls != 4 {
		t.Errorf("calls %d, want 4: refused calls count too", st.Calls)
	}
}

func TestListValidation(t *testing.T) {
	s := start(t, Options{MaxPageSize: 30})
	token := login(t, s)
	tests := []struct {
		query string
		want  int
		field string
	}{
		{"date_from=2026-06-01&date_to=2026-06-30", 200, ""},
		{"date_from=2026-06-01&date_to=2026-06-30&limit=30&offset=0&data_type=checkedOut", 200, ""},
		{"date_from=2026-06-01&date_to=2026-06-30&limit=31", 406, "limit"},
		{"date_from=2026-06-01&date_to=2026-06-30&limit=0", 406, "limit"},
		{"date_from=2026-06-01&date_to=2026-06-30&offset=-1", 406, "offset"},
		{"date_to=2026-06-30", 406, "date_from"},
		{"date_from=01.06.2026&date_to=2026-06-30", 406, "date_from"},
		{"date_from=2026-06-01&date_to=2026-06-31", 406, "date_to"},
		{"date_from=2026-06-01&date_to=2026-06-30&data_type=paid", 406, "data_type"},
		{"date_from=2026-06-01&date_to=2026-06-30&status=5", 406, "status"},
	}
	for _, tt := range tests {
		a := send(t, s, "GET", "/api/v1/bookings?"+tt.query, token, "")
		if a.status != tt.want || (tt.field != "" && !strings.Contains(a.body, `"`+tt.field+`"`)) {
			t.Errorf("%s: %d %s, want %d naming %q", tt.query, a.status, a.body, tt.want, tt.field)
		}
	}
}

type listed struct {
	Data struct {
		Bookings []json.RawMessage                  `json:"bookings"`
		Meta     struct{ Total, Limit, Offset int } `json:"meta"`
	} `json:"data"`
}

func list(t *testing.T, s *Server, token, query string) listed {
	t.Helper()
	a := send(t, s, "GET", "/api/v1/bookings?"+query, token, "")
	var l listed
	if a.status != 200 || json.Unmarshal([]byte(a.body), &l) != nil {
		t.Fatalf("list %s: %d %s", query, a.status, a.body)
	}
	return l
}

func listedIDs(t *testing.T, l listed) []int64 {
	t.Helper()
	var ids []int64
	for _, raw := range l.Data.Bookings {
		var b struct{ ID int64 }
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("booking %s: %v", raw, err)
		}
		ids = append(ids, b.ID)
	}
	return ids
}

func TestListFiltersByDateInHotelZone(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	at := func(day, hour int) time.Time { return time.Date(2026, 6, day, hour, 0, 0, 0, msk) }
	s.PutBooking(bnovo.Booking{
		ID: 1, CreateDate: at(1, 10), UpdateDate: at(9, 0), Arrival: at(5, 14),
		// 00:30 in Moscow is still the 7th in UTC: the hotel's zone decides the date.
		Departure: time.Date(2026, 6, 8, 0, 30, 0, 0, msk),
	})
	s.PutBooking(bnovo.Booking{ID: 2, CreateDate: at(2, 10), UpdateDate: at(3, 0), Arrival: at(10, 14), Departure: at(12, 12), CancelDate: at(3, 0)})
	tests := []struct {
		dataType, from, to string
		want               []int64
	}{
		{"new", "2026-06-01", "2026-06-01", []int64{1}},
		{"", "2026-06-01", "2026-06-02", []int64{1, 2}},
		{"changed", "2026-06-09", "2026-06-30", []int64{1}},
		{"checkedIn", "2026-06-05", "2026-06-05", []int64{1}},
		{"checkedOut", "2026-06-08", "2026-06-08", []int64{1}},
		{"checkedOut", "2026-06-07", "2026-06-07", nil},
		{"cancelled", "2026-06-01", "2026-06-30", []int64{2}},
		{"checkmate", "2026-06-08", "2026-06-10", []int64{1, 2}},
		{"checkmate", "2026-06-09", "2026-06-09", nil},
		{"checkmate", "2026-06-13", "2026-06-20", nil},
	}
	for _, tt := range tests {
		q := "date_from=" + tt.from + "&date_to=" + tt.to
		if tt.dataType != "" {
			q += "&data_type=" + tt.dataType
		}
		l := list(t, s, token, q)
		if got := listedIDs(t, l); !reflect.DeepEqual(got, tt.want) || l.Data.Meta.Total != len(tt.want) {
			t.Errorf("%s: ids %v total %d, want %v", q, got, l.Data.Meta.Total, tt.want)
		}
	}
}

func TestListPagesInIDOrder(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	for _, id := range []int64{30, 10, 50, 20, 40} {
		s.PutBooking(bnovo.Booking{ID: id, CreateDate: time.Date(2026, 6, 1, 12, 0, 0, 0, msk), Amount: 123456})
	}
	q := "date_from=2026-06-01&date_to=2026-06-01"
	if l := list(t, s, token, q); l.Data.Meta.Limit != 20 || len(l.Data.Bookings) != 5 {
		t.Errorf("without limit: meta %+v, %d bookings; want the default of 20", l.Data.Meta, len(l.Data.Bookings))
	}
	l := list(t, s, token, q+"&limit=2&offset=2")
	if got := listedIDs(t, l); !reflect.DeepEqual(got, []int64{30, 40}) || l.Data.Meta.Total != 5 || l.Data.Meta.Offset != 2 {
		t.Errorf("page: ids %v meta %+v", got, l.Data.Meta)
	}
	if l := list(t, s, token, q+"&limit=2&offset=9"); len(l.Data.Bookings) != 0 || l.Data.Meta.Total != 5 {
		t.Errorf("past the end: %+v", l)
	}
}

// A listing is cached between pages; every kind of change must still show in the next one.
func TestListFollowsChanges(t *testing.T) {
	clk := simclock.New(time.Date(2026, 6, 10, 10, 0, 0, 0, msk))
	s := start(t, Options{Now: clk.Now})
	token := login(t, s)
	old := time.Date(2026, 6, 1, 12, 0, 0, 0, msk)
	for _, id := range []int64{10, 20, 30, 40} {
		s.PutBooking(bnovo.Booking{ID: id, CreateDate: old, UpdateDate: old, Customer: &bnovo.Customer{ID: id * 100}})
	}
	changed := func(want ...int64) {
		t.Helper()
		l := list(t, s, token, "data_type=changed&date_from=2026-06-10&date_to=2026-06-10&limit=2")
		rest := list(t, s, token, "data_type=changed&date_from=2026-06-10&date_to=2026-06-10&limit=2&offset=2")
		got := append(listedIDs(t, l), listedIDs(t, rest)...)
		if !reflect.DeepEqual(got, want) || l.Data.Meta.Total != len(want) {
			t.Errorf("changed today: %v (total %d), want %v", got, l.Data.Meta.Total, want)
		}
	}
	changed()
	s.AddPayment(bnovo.Payment{BookingID: 30, Type: "in", Amount: 100})
	changed(30)
	s.SetStatus(10, StatusCancelled, "Отменен")
	changed(10, 30)
	if a := send(t, s, "PUT", "/api/v1/bookings/40/guests/4000", token, `{"notes": "x"}`); a.status != 200 {
		t.Fatalf("guest write: %d %s", a.status, a.body)
	}
	changed(10, 30, 40)
	s.PutBooking(bnovo.Booking{ID: 30, CreateDate: old, UpdateDate: old}) // replaced: changed long ago
	s.PutBooking(bnovo.Booking{ID: 25})                                   // new: changed now
	changed(10, 25, 40)
	s.PutRawBooking(5, `{"id": 5}`) // raw records are in every listing
	changed(5, 10, 25, 40)
	if ids := s.BookingIDs(); !reflect.DeepEqual(ids, []int64{5, 10, 20, 25, 30, 40}) {
		t.Errorf("BookingIDs: %v", ids)
	}
}

func TestMoneyOnTheWire(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 14, Amount: 2250050})
	s.PutBooking(bnovo.Booking{ID: 15, Amount: 2250000})
	s.AddPayment(bnovo.Payment{BookingID: 15, Type: "in", Amount: 1500000})
	s.AddPayment(bnovo.Payment{BookingID: 15, Type: "out", Amount: 1})
	if a := send(t, s, "GET", "/api/v1/bookings/14", token, ""); !strings.Contains(a.body, `"amount":"22500.50"`) {
		t.Errorf("every 7th booking's amount should be a string: %s", a.body)
	}
	a := send(t, s, "GET", "/api/v1/bookings/15", token, "")
	if !strings.Contains(a.body, `"amount":22500.00`) || !strings.Contains(a.body, `"payments_total":14999.99`) {
		t.Errorf("amounts as numbers with 2 decimals: %s", a.body)
	}
	if a := send(t, s, "GET", "/api/v1/bookings/15/payments", token, ""); !strings.Contains(a.body, `"amount":15000.00`) || !strings.Contains(a.body, `"type":"out"`) {
		t.Errorf("payments: %s", a.body)
	}
	if a := send(t, s, "GET", "/api/v1/bookings/16/payments", token, ""); a.status != 404 {
		t.Errorf("payments of an unknown booking: %d", a.status)
	}
}

func TestStalePaymentsKeepTheTrueTotal(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 15})
	s.AddPayment(bnovo.Payment{BookingID: 15, Type: "in", Amount: 1000000})
	s.AddPayment(bnovo.Payment{BookingID: 15, Type: "in", Amount: 500000})
	payments := func() string { return send(t, s, "GET", "/api/v1/bookings/15/payments", token, "").body }
	booking := func() string { return send(t, s, "GET", "/api/v1/bookings/15", token, "").body }

	s.StalePayments(15, 1)
	if body := payments(); !strings.Contains(body, "10000.00") || strings.Contains(body, "5000.00") {
		t.Errorf("stale by the newest payment: %s", body)
	}
	s.StalePayments(15, 0)
	if body := payments(); !strings.Contains(body, `"payments":[]`) {
		t.Errorf("stale to nothing: %s", body)
	}
	if body := booking(); !strings.Contains(body, `"payments_total":15000.00`) {
		t.Errorf("the booking's total must stay true: %s", body)
	}
	s.StalePayments(15, -1)
	if body := payments(); !strings.Contains(body, "5000.00") {
		t.Errorf("current again: %s", body)
	}
	s.OmitPaymentsTotal(true)
	if body := booking(); strings.Contains(body, "payments_total") {
		t.Errorf("payments_total omitted: %s", body)
	}
}

func TestRateLimitWindows(t *testing.T) {
	clk := simclock.New(time.Date(2026, 6, 1, 10, 0, 0, 0, msk))
	s := start(t, Options{
		Now:        clk.Now,
		Windows:    []Window{{Limit: 2, Per: 10 * time.Second}, {Limit: 3, Per: time.Minute}},
		AuthWindow: Window{Limit: 1, Per: time.Minute},
	})
	token := login(t, s)
	if a := send(t, s, "POST", "/api/v1/auth", "", `{"id": 1, "password": "test-key"}`); a.status != 429 || a.header.Get("Retry-After") != "60" {
		t.Errorf("second login in a minute: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	s.PutBooking(bnovo.Booking{ID: 5})
	get := func() answer { return send(t, s, "GET", "/api/v1/bookings/5", token, "") }
	for call := range 2 {
		if a := get(); a.status != 200 {
			t.Fatalf("call %d of 2 within the limit refused: %d", call+1, a.status)
		}
	}
	a := get()
	if a.status != 429 || a.header.Get("Retry-After") != "10" {
		t.Fatalf("third call in 10 s: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	clk.Advance(10 * time.Second) // the two successes leave the 10 s window; the 429 is still in it
	if a := get(); a.status != 429 || a.header.Get("Retry-After") != "50" {
		// 4 calls in the minute: two more must leave it before a fifth fits under 3.
		t.Fatalf("fourth call: %d Retry-After %q, want the minute window's 50 s", a.status, a.header.Get("Retry-After"))
	}
	clk.Advance(50 * time.Second)
	if a := get(); a.status != 200 {
		t.Fatalf("after waiting: %d %s", a.status, a.body)
	}
	st := s.Stats()
	if st.Calls != 5 || st.AuthCalls != 2 || st.TooMany != 3 || st.MaxAuthInWindow != 2 || !reflect.DeepEqual(st.MaxInWindow, []int{3, 4}) {
		t.Fatalf("stats %+v", st)
	}
	if st.ByPath["GET /api/v1/bookings/{id}"] != 5 || st.ByPath["POST /api/v1/auth"] != 2 {
		t.Fatalf("by path %v", st.ByPath)
	}
	if got := st.MaxInWindowByPath["GET /api/v1/bookings/{id}"]; !reflect.DeepEqual(got, []int{3, 4}) {
		t.Fatalf("by path in window %v, want [3 4] for the one route called", st.MaxInWindowByPath)
	}
}

func TestFaults(t *testing.T) {
	s := start(t, Options{})
	s.PutBooking(bnovo.Booking{ID: 5})
	token := login(t, s)
	s.FailNext(2, 503)
	if a := send(t, s, "POST", "/api/v1/auth", "", `{"id": 1, "password": "test-key"}`); a.status != 200 {
		t.Errorf("FailNext must spare logins: %d", a.status)
	}
	for i := range 2 {
		a := send(t, s, "GET", "/api/v1/bookings/5", token, "")
		if a.status != 503 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
			t.Errorf("failure %d: %d %q", i, a.status, a.header.Get("Content-Type"))
		}
	}
	if a := send(t, s, "GET", "/api/v1/bookings/5", token, ""); a.status != 200 {
		t.Errorf("after the failures: %d", a.status)
	}

	s.HangNext(1, time.Hour)
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/bookings/5", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a hung call answered")
	}
	if a := send(t, s, "GET", "/api/v1/bookings/5", token, ""); a.status != 200 {
		t.Errorf("after the hang: %d", a.status)
	}
}

func TestGuests(t *testing.T) {
	clk := simclock.New(time.Date(2026, 6, 1, 10, 0, 0, 0, msk))
	s := start(t, Options{Now: clk.Now})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 5, Customer: &bnovo.Customer{ID: 77, Name: "Анна", Phone: "8 916 123 45 67", Notes: "VIP"}})
	s.PutBooking(bnovo.Booking{ID: 6})
	if a := send(t, s, "GET", "/api/v1/bookings/5/guests", token, ""); !strings.Contains(a.body, `"guests":[{"id":77,"name":"Анна"`) || !strings.Contains(a.body, `"notes":"VIP"`) {
		t.Errorf("guests: %s", a.body)
	}
	if a := send(t, s, "GET", "/api/v1/bookings/6/guests", token, ""); a.body != `{"data":{"guests":[]}}` {
		t.Errorf("booking without customer: %s", a.body)
	}
	clk.Advance(time.Hour)
	tests := []struct {
		path, body string
		want       int
	}{
		{"/api/v1/bookings/5/guests/77", `{"notes": "VIP\r\nProBonus: карта 1"}`, 200},
		{"/api/v1/bookings/5/guests/78", `{"notes": "x"}`, 404},
		{"/api/v1/bookings/9/guests/77", `{"notes": "x"}`, 404},
		{"/api/v1/bookings/5/guests/77", `{"notes": 5}`, 406},
		{"/api/v1/bookings/5/guests/77", `{"status": "x"}`, 406},
		{"/api/v1/bookings/5/guests/77", `[]`, 406},
	}
	for _, tt := range tests {
		if a := send(t, s, "PUT", tt.path, token, tt.body); a.status != tt.want {
			t.Errorf("PUT %s %s: %d %s, want %d", tt.path, tt.body, a.status, a.body, tt.want)
		}
	}
	b, _ := s.Booking(5)
	if b.Customer.Notes != "VIP\r\nProBonus: карта 1" || !b.UpdateDate.Equal(clk.Now()) || s.Stats().GuestWrites != 1 {
		t.Fatalf("after the write: notes %q update %v writes %d", b.Customer.Notes, b.UpdateDate, s.Stats().GuestWrites)
	}
	if g := s.Guests(5); len(g) != 1 || g[0].ID != 77 || g[0].Notes != b.Customer.Notes {
		t.Fatalf("Guests(5) = %+v", g)
	}

	ro := start(t, Options{ReadOnly: true})
	ro.PutBooking(bnovo.Booking{ID: 5, Customer: &bnovo.Customer{ID: 77}})
	if a := send(t, ro, "PUT", "/api/v1/bookings/5/guests/77", login(t, ro), `{"notes": "x"}`); a.status != 403 || ro.Stats().GuestWrites != 0 {
		t.Errorf("read-only write: %d", a.status)
	}
}

// The guest-write answer switches change only the answer: the write is stored every time.
func TestGuestWriteAnswers(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 5, Customer: &bnovo.Customer{ID: 77, Notes: "VIP"}})
	s.AnswerGuestWritesWithNullNotes(true)
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "VIP\nA"}`); a.status != 200 || !strings.Contains(a.body, `"notes":null`) {
		t.Errorf("null notes: %d %s", a.status, a.body)
	}
	s.AnswerGuestWritesAsBefore(true)
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "VIP\nB"}`); a.status != 200 || !strings.Contains(a.body, `"notes":"VIP\nA"`) {
		t.Errorf("as before: %d %s", a.status, a.body)
	}
	s.AnswerGuestWritesAsBefore(false)
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "VIP\nC"}`); a.status != 200 || !strings.Contains(a.body, `"notes":"VIP\nC"`) {
		t.Errorf("as stored: %d %s", a.status, a.body)
	}
	if g := s.Guests(5); g[0].Notes != "VIP\nC" || s.Stats().GuestWrites != 3 {
		t.Fatalf("stored %q after %d writes", g[0].Notes, s.Stats().GuestWrites)
	}
}

// LimitNotes refuses a guest write whose notes are too long with 406, storing nothing.
func TestLimitNotes(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 5, Customer: &bnovo.Customer{ID: 77, Notes: "VIP"}})
	s.LimitNotes(5)
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "ПятьБ"}`); a.status != 200 {
		t.Errorf("notes at the limit: %d %s", a.status, a.body)
	}
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "ШестьБ"}`); a.status != 406 || !strings.Contains(a.body, `"notes"`) {
		t.Errorf("notes over the limit: %d %s", a.status, a.body)
	}
	s.LimitNotes(0)
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/77", token, `{"notes": "ШестьБ"}`); a.status != 200 {
		t.Errorf("limit lifted: %d %s", a.status, a.body)
	}
	if g := s.Guests(5); g[0].Notes != "ШестьБ" || s.Stats().GuestWrites != 2 {
		t.Fatalf("stored %q after %d writes", g[0].Notes, s.Stats().GuestWrites)
	}
}

// A booking's companions are listed with its main guest (before it when asked) and written
// apart from it.
func TestCompanions(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 5, Customer: &bnovo.Customer{ID: 77, Notes: "VIP"}})
	s.AddCompanion(5, bnovo.Guest{ID: 78, Name: "Борис", Notes: "спутник"}, false)
	if g := s.Guests(5); len(g) != 2 || g[0].ID != 77 || g[1].ID != 78 {
		t.Fatalf("Guests(5) = %+v", g)
	}
	if a := send(t, s, "PUT", "/api/v1/bookings/5/guests/78", token, `{"notes": "спутник, поздний заезд"}`); a.status != 200 || !strings.Contains(a.body, `"id":78`) {
		t.Errorf("companion write: %d %s", a.status, a.body)
	}
	s.AddCompanion(5, bnovo.Guest{ID: 79}, true)
	g := s.Guests(5)
	if len(g) != 3 || g[2].ID != 77 || g[0].Notes != "спутник, поздний заезд" || g[2].Notes != "VIP" {
		t.Fatalf("Guests(5) = %+v: want the companions first, the main guest's notes untouched", g)
	}
	if a := send(t, s, "GET", "/api/v1/bookings/5/guests", token, ""); !strings.Contains(a.body, `"guests":[{"id":78`) {
		t.Errorf("guests: %s", a.body)
	}
}

func TestDataChangesBumpUpdateDate(t *testing.T) {
	clk := simclock.New(time.Date(2026, 6, 1, 10, 0, 0, 0, msk))
	s := start(t, Options{Now: clk.Now})
	s.PutBooking(bnovo.Booking{ID: 5, StatusID: 5, StatusName: "Выехал"})
	if b, _ := s.Booking(5); !b.UpdateDate.Equal(clk.Now()) {
		t.Fatalf("zero update_date not set to now: %v", b.UpdateDate)
	}
	clk.Advance(time.Hour)
	id := s.AddPayment(bnovo.Payment{BookingID: 5, Type: "out", Amount: 100})
	if b, _ := s.Booking(5); !b.UpdateDate.Equal(clk.Now()) || id == 0 || s.Payments(5)[0].ID != id {
		t.Fatalf("payment: update %v id %d payments %+v", b.UpdateDate, id, s.Payments(5))
	}
	clk.Advance(time.Hour)
	s.SetStatus(5, StatusCancelled, "Отменен")
	b, _ := s.Booking(5)
	if !b.UpdateDate.Equal(clk.Now()) || !b.CancelDate.Equal(clk.Now()) || b.StatusID != 2 {
		t.Fatalf("cancel: %+v", b)
	}
	b.Customer = &bnovo.Customer{ID: 1}
	b2, _ := s.Booking(5)
	if b2.Customer != nil {
		t.Fatal("Booking returned shared memory")
	}
}

func TestRawBookings(t *testing.T) {
	s := start(t, Options{})
	token := login(t, s)
	s.PutBooking(bnovo.Booking{ID: 5, CreateDate: time.Date(2026, 6, 1, 12, 0, 0, 0, msk)})
	s.PutRawBooking(3, `{"id": 3, "dates": "broken"}`)
	s.PutRawBooking(4, `{not json`)
	l := list(t, s, token, "date_from=2026-06-01&date_to=2026-06-01")
	if l.Data.Meta.Total != 3 || string(l.Data.Bookings[0]) != `{"id":3,"dates":"broken"}` || string(l.Data.Bookings[1]) != `"{not json"` {
		t.Fatalf("raw records: %+v", l)
	}
	if a := send(t, s, "GET", "/api/v1/bookings/3", token, ""); a.status != 200 || !strings.Contains(a.body, `"broken"`) {
		t.Fatalf("single raw booking: %d %s", a.status, a.body)
	}
}

func TestSeed(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, msk)
	from, to := time.Date(2026, 5, 1, 0, 0, 0, 0, msk), time.Date(2026, 6, 29, 0, 0, 0, 0, msk)
	seeded := func(seed int64) (*Server, []int64) {
		s := start(t, Options{Now: func() time.Time { return now }})
		return s, s.Seed(300, seed, from, to)
	}
	a, idsA := seeded(42)
	b, idsB := seeded(42)
	_, idsC := seeded(43)
	if len(idsA) != 300 || !reflect.DeepEqual(idsA, idsB) || reflect.DeepEqual(idsA, idsC) {
		t.Fatalf("seeding is not deterministic per seed")
	}
	statuses := map[string]int{}
	kinds := map[string]int{}
	phones := map[string]bool{}
	customers := map[int64]int{}
	for i, id := range idsA {
		ba, _ := a.Booking(id)
		bb, _ := b.Booking(id)
		if !reflect.DeepEqual(ba, bb) || !reflect.DeepEqual(a.Payments(id), b.Payments(id)) {
			t.Fatalf("booking %d differs between two servers seeded alike", id)
		}
		if i > 0 && id <= idsA[i-1] {
			t.Fatalf("ids not ascending at %d", i)
		}
		day := ba.Departure.In(msk).Format(bnovo.DateLayout)
		if day < "2026-05-01" || day > "2026-06-29" || !ba.Arrival.Before(ba.Departure) || ba.UpdateDate.After(now) {
			t.Fatalf("booking %+v out of shape", ba)
		}
		if ba.StatusName == "Отменен" && ba.CancelDate.IsZero() {
			t.Fatalf("cancelled without cancel_date: %+v", ba)
		}
		statuses[ba.StatusName]++
		customers[ba.Customer.ID]++
		phones[phoneShape(ba.Customer.Phone)] = true
		for _, p := range a.Payments(id) {
			kinds[p.Type+" "+p.PaymentTypeName]++
			if p.Amount <= 0 || p.Date.After(now) {
				t.Fatalf("payment %+v out of shape", p)
			}
		}
	}
	if statuses["Выехал"] < 200 || statuses["Отменен"] == 0 {
		t.Errorf("statuses %v: want mostly Выехал and some Отменен", statuses)
	}
	for _, k := range []string{"in Банковская карта", "in Наличные", "in Бонусы", "out Банковская карта"} {
		if kinds[k] == 0 {
			t.Errorf("no %q payments among %v", k, kinds)
		}
	}
	for _, shape := range []string{"+d (ddd) ddd-dd-dd", "d ddd ddd dd dd", "ddddddddddd", "dddddddddd", "", "other"} {
		if !phones[shape] {
			t.Errorf("no phone shaped %q among %v", shape, phones)
		}
	}
	repeat := 0
	for _, n := range customers {
		if n > 1 {
			repeat++
		}
	}
	if repeat == 0 {
		t.Error("no returning guests")
	}
}

func phoneShape(p string) string {
	shape := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return 'd'
		}
		return r
	}, p)
	switch shape {
	case "+d (ddd) ddd-dd-dd", "d ddd ddd dd dd", "ddddddddddd", "dddddddddd", "":
		return shape
	}
	return "other"
}

// Tests queue "every call from now on" as a huge n: that must cost nothing to set, and the
// answers queued after it still come in order once it runs out.
func TestHostileAnswerForManyCallsIsOneEntry(t *testing.T) {
	s := start(t, Options{})
	s.PutBooking(bnovo.Booking{ID: 5})
	token := login(t, s)
	allocs := testing.AllocsPerRun(5, func() {
		s.HostileNext(EndpointBooking, 1<<30, hostile.WrongShape)
		s.HostileNext(EndpointBooking, 0, 0)
	})
	if allocs > 2 {
		t.Fatalf("queueing a hostile answer for 2^30 calls allocates %v times", allocs)
	}

	s.HostileNext(EndpointBooking, 2, hostile.NotFoundPage)
	s.HostileNext(EndpointBooking, 1, hostile.HTMLPage)
	for i, want := range []struct {
		status int
		typ    string
	}{{404, "text/html"}, {404, "text/html"}, {200, "text/html"}, {200, "application/json"}} {
		a := send(t, s, "GET", "/api/v1/bookings/5", token, "")
		if a.status != want.status || !strings.HasPrefix(a.header.Get("Content-Type"), want.typ) {
			t.Fatalf("call %d: %d %q, want %d %s", i+1, a.status, a.header.Get("Content-Type"), want.status, want.typ)
		}
	}
}
