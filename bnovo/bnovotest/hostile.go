package bnovotest

import (
	"net/http"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/hostile"
)

// Endpoint names accepted by HostileNext.
const (
	EndpointAuth        = "auth"
	EndpointList        = "list"
	EndpointBooking     = "booking"
	EndpointPayments    = "payments"
	EndpointGuests      = "guests"
	EndpointUpdateGuest = "update_guest"
)

// endpointOf names the route pattern a request matched.
func endpointOf(pattern string) string {
	p := bnovo.APIPrefix
	switch pattern {
	case "POST " + p + "/auth":
		return EndpointAuth
	case "GET " + p + "/bookings":
		return EndpointList
	case "GET " + p + "/bookings/{id}":
		return EndpointBooking
	case "GET " + p + "/bookings/{id}/payments":
		return EndpointPayments
	case "GET " + p + "/bookings/{id}/guests":
		return EndpointGuests
	case "PUT " + p + "/bookings/{id}/guests/{guestID}":
		return EndpointUpdateGuest
	}
	return ""
}

// HostileNext makes the next n calls to endpoint (one of the Endpoint names) give answer h after
// being counted against the limits, as a proxy in front of the API would: hostile.WrongShape,
// SuccessFalse, HTMLPage, EmptyObject, EmptyData, NotFoundPage or Redirect (302 for a GET, 307
// otherwise, to the capture server whose requests Captured returns). Answers queue per endpoint
// in the order they were set; n ≤ 0 clears the endpoint's queue.
func (s *Server) HostileNext(endpoint string, n int, h hostile.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostile == nil {
		s.hostile = make(map[string][]hostileRun)
	}
	if n <= 0 {
		delete(s.hostile, endpoint)
		return
	}
	if h == hostile.Redirect && s.capture == nil {
		s.capture = hostile.NewCapture()
	}
	s.hostile[endpoint] = append(s.hostile[endpoint], hostileRun{answer: h, left: n})
}

// hostileRun is answer for the next left calls: tests queue "every call from now on" as a
// large n, which must cost nothing.
type hostileRun struct {
	answer hostile.Answer
	left   int
}

// Captured returns the requests that reached the capture server a Redirect points to: any at
// all means a client followed a redirect off the API's origin.
func (s *Server) Captured() []hostile.Request {
	s.mu.Lock()
	c := s.capture
	s.mu.Unlock()
	return c.Requests()
}

// takeHostileLocked pops the next hostile answer queued for endpoint.
func (s *Server) takeHostileLocked(endpoint string) (hostile.Answer, bool) {
	queue := s.hostile[endpoint]
	if len(queue) == 0 {
		return 0, false
	}
	h := queue[0].answer
	if queue[0].left--; queue[0].left == 0 {
		s.hostile[endpoint] = queue[1:]
	}
	return h, true
}

// writeHostile gives a hostile answer. Redirects keep the path and query, so a client that
// followed one would send the same request, credentials included, to the capture server.
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, h hostile.Answer) {
	s.mu.Lock()
	c := s.capture
	s.mu.Unlock()
	if hostile.Write(w, r, h, c) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{}}`)) // hostile.EmptyData, and any answer not meant for Bnovo
}

// StalePayments makes the payments answer of one booking stale, as a caching proxy or a Bnovo
// bug could: it lists only the booking's keep oldest payments (0 answers an empty list), while
// the booking's own answer keeps stating the true payments_total. keep < 0 makes the answer
// current again. The booking's update_date is left alone: the stale answer is the only lie.
func (s *Server) StalePayments(bookingID int64, keep int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if keep < 0 {
		delete(s.stalePayments, bookingID)
		return
	}
	if s.stalePayments == nil {
		s.stalePayments = make(map[int64]int)
	}
	s.stalePayments[bookingID] = keep
}

// OmitPaymentsTotal makes the single-booking answer carry no payments_total, as a Bnovo that
// does not state it would (the key is marked likely in the API notes, not certain).
func (s *Server) OmitPaymentsTotal(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noTotals = on
}

// listedPaymentsLocked is the booking's payments as its payments answer lists them.
func (s *Server) listedPaymentsLocked(bookingID int64) []bnovo.Payment {
	list := s.payments[bookingID]
	if keep, stale := s.stalePayments[bookingID]; stale && keep < len(list) {
		list = list[:keep]
	}
	return list
}
