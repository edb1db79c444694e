package probonustest

import (
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/hotelsync/syncd/internal/hostile"
)

// HostileNext makes the next n requests to endpoint (see FailNext for the names) get answer h
// without doing anything: hostile.WrongShape, SuccessFalse, HTMLPage, EmptyObject, NotFoundPage,
// FirstAccount ("find"), EmptyPage ("operations") or Redirect (302 for a GET, 307 otherwise, to
// the capture server whose requests Captured returns). HostileAfterCommit does the same after executing the request.
func (s *Server) HostileNext(endpoint string, n int, h hostile.Answer) {
	s.queueHostile(endpoint, n, h, false)
}

// HostileAfterCommit makes the next n requests to endpoint execute (a deposit IS committed) and
// then get answer h instead of the API's answer.
func (s *Server) HostileAfterCommit(endpoint string, n int, h hostile.Answer) {
	s.queueHostile(endpoint, n, h, true)
}

func (s *Server) queueHostile(endpoint string, n int, h hostile.Answer, commit bool) {
	if h == hostile.Redirect {
		s.mu.Lock()
		if s.capture == nil {
			s.capture = hostile.NewCapture()
		}
		s.mu.Unlock()
	}
	s.queueFault(endpoint, n, fault{kind: faultHostile, hostile: h, commit: commit})
}

// Captured returns the requests that reached the capture server a Redirect points to: any at
// all means a client followed a redirect off the API's origin.
func (s *Server) Captured() []hostile.Request {
	s.mu.Lock()
	c := s.capture
	s.mu.Unlock()
	return c.Requests()
}

// writeHostile gives the hostile answer of f, executing the request first when f says so.
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, f fault, handle http.HandlerFunc) {
	if f.commit {
		handle(httptest.NewRecorder(), r)
	}
	s.mu.Lock()
	c := s.capture
	s.mu.Unlock()
	if hostile.Write(w, r, f.hostile, c) {
		return
	}
	switch f.hostile {
	case hostile.FirstAccount:
		s.mu.Lock()
		ids := s.accountIDsLocked()
		var first jsonAccount
		if len(ids) > 0 {
			first = accountJSON(*s.accounts[ids[0]])
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, first)
	case hostile.EmptyPage:
		total := 0
		if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil {
			s.mu.Lock()
			total = len(s.opsOf[id])
			s.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, operationsPage{Items: []jsonOperation{}, Total: total})
	}
}
