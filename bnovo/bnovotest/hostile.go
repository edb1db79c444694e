package bnovotest

import (
	"net/http"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/capture"
)

// Hostile is an answer the server can give instead of the API's: what a proxy, a maintenance
// page or a half-broken deploy sends with a success status. A client must take none of them for
// "no payments" or "no bookings".
type Hostile int

const (
	// WrongShape is 200 with an error object of another service: {"detail": "..."}.
	WrongShape Hostile = iota + 1
	// SuccessFalse is 200 {"success": false, "message": "..."}.
	SuccessFalse
	// HTMLPage is 200 with a text/html maintenance page.
	HTMLPage
	// EmptyObject is 200 {}.
	EmptyObject
	// EmptyData is 200 {"data": {}}: the envelope without the keys the contract promises.
	EmptyData
	// NotFoundPage is 404 with a text/html page, as a proxy answers for a route it does not
	// know: not the API saying the record does not exist.
	NotFoundPage
	// Redirect is a redirect (302 for GET, 307 otherwise, so the body follows) to another
	// origin: the capture server, whose requests Captured returns.
	Redirect
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
// being counted against the limits, as a proxy in front of the API would. Answers queue per
// endpoint in the order they were set; n ≤ 0 clears the endpoint's queue.
func (s *Server) HostileNext(endpoint string, n int, h Hostile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostile == nil {
		s.hostile = make(map[string][]Hostile)
	}
	if n <= 0 {
		delete(s.hostile, endpoint)
		return
	}
	if h == Redirect && s.capture == nil {
		s.capture = capture.New()
	}
	for range n {
		s.hostile[endpoint] = append(s.hostile[endpoint], h)
	}
}

// Captured returns the requests that reached the capture server a Redirect points to: any at
// all means a client followed a redirect off the API's origin.
func (s *Server) Captured() []capture.Request {
	s.mu.Lock()
	c := s.capture
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Requests()
}

// takeHostileLocked pops the next hostile answer queued for endpoint.
func (s *Server) takeHostileLocked(endpoint string) (Hostile, bool) {
	queue := s.hostile[endpoint]
	if len(queue) == 0 {
		return 0, false
	}
	s.hostile[endpoint] = queue[1:]
	return queue[0], true
}

// writeHostile gives a hostile answer. Redirects keep the path and query, so a client that
// followed one would send the same request, credentials included, to the capture server.
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, h Hostile) {
	body := map[Hostile]string{
		WrongShape:   `{"detail":"temporarily unavailable"}`,
		SuccessFalse: `{"success":false,"message":"Внутренняя ошибка сервера"}`,
		EmptyObject:  `{}`,
		EmptyData:    `{"data":{}}`,
	}
	switch h {
	case HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Технические работы</title></head>" +
			"<body><h1>Сервис временно недоступен</h1><p>Ведутся технические работы.</p></body></html>\n"))
	case NotFoundPage:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\n"))
	case Redirect:
		s.mu.Lock()
		c := s.capture
		s.mu.Unlock()
		c.Redirect(w, r)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body[h]))
	}
}
