package probonustest

import (
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/hotelsync/syncd/internal/capture"
)

// Hostile is an answer the server can give instead of the API's: what a proxy, a maintenance
// page or a half-broken deploy sends with a success status. A client must take none of them for
// "no operations", "no account" or account 0.
type Hostile int

const (
	// WrongShape is 200 {"detail": "temporarily unavailable"}: FastAPI's error body with a
	// success status, as a proxy in front may answer.
	WrongShape Hostile = iota + 1
	// SuccessFalse is 200 {"success": false, "error": "..."}.
	SuccessFalse
	// HTMLPage is 200 with a text/html maintenance page.
	HTMLPage
	// EmptyObject is 200 {}.
	EmptyObject
	// NotFoundPage is 404 with a text/html page, as a proxy answers for a route it does not
	// know: not the API saying the record does not exist.
	NotFoundPage
	// FirstAccount answers 200 with the account of the lowest id, whatever was asked: a caching
	// proxy that ignores the query string. Meant for "find".
	FirstAccount
	// EmptyPage answers an operations page with no items and the account's true total, as a
	// backend that lost its rows would. Meant for "operations".
	EmptyPage
	// Redirect is a redirect (302 for GET, 307 otherwise, so the body follows) to another
	// origin: the capture server, whose requests Captured returns.
	Redirect
)

// HostileNext makes the next n requests to endpoint (see FailNext for the names) get answer h
// without doing anything. HostileAfterCommit does the same after executing the request.
func (s *Server) HostileNext(endpoint string, n int, h Hostile) {
	s.queueHostile(endpoint, n, h, false)
}

// HostileAfterCommit makes the next n requests to endpoint execute (a deposit IS committed) and
// then get answer h instead of the API's answer.
func (s *Server) HostileAfterCommit(endpoint string, n int, h Hostile) {
	s.queueHostile(endpoint, n, h, true)
}

func (s *Server) queueHostile(endpoint string, n int, h Hostile, commit bool) {
	if h == Redirect {
		s.mu.Lock()
		if s.capture == nil {
			s.capture = capture.New()
		}
		s.mu.Unlock()
	}
	s.queueFault(endpoint, n, fault{kind: faultHostile, hostile: h, commit: commit})
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

// writeHostile gives the hostile answer of f, executing the request first when f says so.
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, f fault, handle http.HandlerFunc) {
	if f.commit {
		handle(httptest.NewRecorder(), r)
	}
	switch f.hostile {
	case WrongShape:
		writeDetail(w, http.StatusOK, "temporarily unavailable")
	case SuccessFalse:
		writeJSON(w, http.StatusOK, map[string]any{"success": false, "error": "internal error"})
	case EmptyObject:
		writeJSON(w, http.StatusOK, map[string]any{})
	case HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>" +
			"<body><h1>Сервис временно недоступен</h1><p>nginx</p></body></html>\n"))
	case NotFoundPage:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\n"))
	case FirstAccount:
		s.mu.Lock()
		ids := s.accountIDsLocked()
		var first jsonAccount
		if len(ids) > 0 {
			first = accountJSON(*s.accounts[ids[0]])
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, first)
	case EmptyPage:
		total := 0
		if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil {
			s.mu.Lock()
			total = len(s.opsOf[id])
			s.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, operationsPage{Items: []jsonOperation{}, Total: total})
	case Redirect:
		s.mu.Lock()
		c := s.capture
		s.mu.Unlock()
		c.Redirect(w, r)
	}
}
