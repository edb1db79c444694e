package bnovotest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

// receiver records webhook bodies, answering status.
func receiver(t *testing.T, status int) (*httptest.Server, <-chan string) {
	t.Helper()
	got := make(chan string, 64)
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/hook/abc" || r.Header.Get("Content-Type") != "application/json" {
			got <- "unexpected " + r.Method + " " + r.URL.Path
		} else {
			got <- string(b)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rs.Close)
	return rs, got
}

func waitBody(t *testing.T, got <-chan string) string {
	t.Helper()
	select {
	case b := <-got:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered within 5s")
		return ""
	}
}

func waitStats(t *testing.T, s *Server, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookOnEveryChange(t *testing.T) {
	s := start(t, Options{})
	rs, got := receiver(t, http.StatusOK)

	s.PutBooking(bnovo.Booking{ID: 1}) // before SetWebhook: nothing sent
	s.SetWebhook(rs.URL + "/hook/abc")
	customer := &bnovo.Customer{ID: 77, Name: "Анна"}
	changes := []struct {
		name   string
		change func()
		id     int64
	}{
		{"PutBooking", func() { s.PutBooking(bnovo.Booking{ID: 10, Customer: customer}) }, 10},
		{"AddPayment", func() { s.AddPayment(bnovo.Payment{BookingID: 10, Type: bnovo.PaymentIn, Amount: 100}) }, 10},
		{"SetStatus", func() { s.SetStatus(10, StatusCheckedOut, StatusNames[StatusCheckedOut]) }, 10},
		{"PutRawBooking", func() { s.PutRawBooking(11, `{"id": 11}`) }, 11},
		{"guest PUT", func() {
			token := login(t, s)
			if a := send(t, s, "PUT", "/api/v1/bookings/10/guests/77", token, `{"notes": "x"}`); a.status != 200 {
				t.Fatalf("guest PUT: %d %s", a.status, a.body)
			}
		}, 10},
	}
	for _, c := range changes {
		c.change()
		want := `{"data":{"booking_ids":[` + strconv.FormatInt(c.id, 10) + `]}}`
		if b := waitBody(t, got); b != want {
			t.Errorf("%s: delivered %s, want %s", c.name, b, want)
		}
	}

	// No change, no delivery: unknown bookings and reads send nothing.
	s.SetStatus(999, StatusCheckedOut, "Выехал")
	s.AddPayment(bnovo.Payment{BookingID: 999, Type: bnovo.PaymentIn, Amount: 100})
	s.SetWebhook("")
	s.SetStatus(10, StatusCancelled, StatusNames[StatusCancelled])
	select {
	case b := <-got:
		t.Errorf("unexpected delivery %s", b)
	case <-time.After(100 * time.Millisecond):
	}
	if st := s.Stats(); st.WebhookDeliveries != len(changes) || st.WebhookFailures != 0 {
		t.Errorf("stats deliveries %d failures %d, want %d and 0", st.WebhookDeliveries, st.WebhookFailures, len(changes))
	}
	if st := s.Stats(); st.Calls != 1 || st.AuthCalls != 1 {
		t.Errorf("webhooks must not count as API calls: %+v", st)
	}
}

func TestWebhookFailuresCounted(t *testing.T) {
	s := start(t, Options{})
	rs, got := receiver(t, http.StatusServiceUnavailable)
	s.PutBooking(bnovo.Booking{ID: 5})
	s.SetWebhook(rs.URL + "/hook/abc")
	s.SetStatus(5, StatusCheckedOut, "Выехал")
	waitBody(t, got)

	// A receiver that is not there at all.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	s.SetWebhook(deadURL + "/hook/abc")
	s.SetStatus(5, StatusCancelled, "Отменен")

	st := waitStats(t, s, func(st Stats) bool { return st.WebhookFailures >= 2 })
	if st.WebhookFailures != 2 || st.WebhookDeliveries != 0 {
		t.Errorf("failures %d deliveries %d, want 2 and 0", st.WebhookFailures, st.WebhookDeliveries)
	}
}

func TestWebhookBurstIsBoundedAndCloseStops(t *testing.T) {
	s := NewServer(Options{Location: msk})
	var received atomic.Int64
	stop := make(chan struct{})
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		// The body must be read to the end before net/http notices the client leaving.
		_, _ = io.Copy(io.Discard, r.Body)
		select { // a receiver that never answers
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer rs.Close()
	defer close(stop)
	s.PutBooking(bnovo.Booking{ID: 5})
	s.SetWebhook(rs.URL)
	const extra = 50
	for range webhookQueueSize + extra {
		s.SetStatus(5, StatusCheckedOut, "Выехал")
	}
	// The worker holds at most one delivery, the queue is full, the rest were dropped and counted.
	if st := s.Stats(); st.WebhookFailures < extra-1 || st.WebhookFailures > extra {
		t.Errorf("dropped %d, want %d or %d", st.WebhookFailures, extra-1, extra)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a delivery in flight")
	}
	if n := received.Load(); n > 1 {
		t.Errorf("receiver got %d deliveries while the first was stalled, want at most 1", n)
	}
}
