// Package capture runs a loopback HTTP server that records every request reaching it and
// answers 200 with a plausible body. The simulators redirect to it to stand for a host that
// credentials must never reach: a test asserts that it received nothing.
package capture

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Request is what reached the capture server.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// Server is a running capture server. Its methods are safe for concurrent use.
type Server struct {
	URL string // origin, e.g. http://127.0.0.1:40123

	ts       *httptest.Server
	mu       sync.Mutex
	requests []Request
}

// New starts a capture server on 127.0.0.1; Close stops it.
func New() *Server {
	s := &Server{}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		s.mu.Unlock()
		// A friendly answer, so a client that followed the redirect would take it for success.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"payments":[],"bookings":[],"meta":{"total":0}},"items":[],"total":0}`)
	}))
	s.URL = s.ts.URL
	return s
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Redirect answers r with a redirect to the same path and query on the capture server: 302 for a
// GET, 307 otherwise, so a client that followed it would send the same request, body and
// credentials included, to the capture server.
func (s *Server) Redirect(w http.ResponseWriter, r *http.Request) {
	status := http.StatusFound
	if r.Method != http.MethodGet {
		status = http.StatusTemporaryRedirect
	}
	http.Redirect(w, r, s.URL+r.URL.RequestURI(), status)
}
