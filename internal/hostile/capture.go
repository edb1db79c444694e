// Package hostile is what both simulators (bnovo/bnovotest, probonus/probonustest) need to
// answer as a hostile network would: the answers a proxy, a maintenance page or a half-broken
// deploy gives in place of an API's, and a capture server standing for the host a redirect
// leads to.
//
// The capture server runs on loopback, records every request reaching it and answers 200 with a
// plausible body. The simulators redirect to it to stand for a host that credentials must never
// reach: a test asserts that it received nothing.
package hostile

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

// Capture is a running capture server. Its methods are safe for concurrent use.
type Capture struct {
	URL string // origin, e.g. http://127.0.0.1:40123

	ts       *httptest.Server
	mu       sync.Mutex
	requests []Request
}

// NewCapture starts a capture server on 127.0.0.1; Close stops it.
func NewCapture() *Capture {
	s := &Capture{}
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

// Requests returns a copy of every request received so far; a nil Capture (a simulator that
// never started one) received none.
func (s *Capture) Requests() []Request {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Close stops the server.
func (s *Capture) Close() { s.ts.Close() }

// Redirect answers r with a redirect to the same path and query on the capture server: 302 for a
// GET, 307 otherwise, so a client that followed it would send the same request, body and
// credentials included, to the capture server.
func (s *Capture) Redirect(w http.ResponseWriter, r *http.Request) {
	status := http.StatusFound
	if r.Method != http.MethodGet {
		status = http.StatusTemporaryRedirect
	}
	http.Redirect(w, r, s.URL+r.URL.RequestURI(), status)
}
