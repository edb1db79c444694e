package hostile

import (
	"fmt"
	"html"
	"net/http"
)

// Answer is an answer a simulator can give instead of the API's. Each simulator says which
// apply to it; Write gives those whose form is the same for both APIs.
type Answer int

const (
	// WrongShape is 200 with an error object of another service: {"detail": "..."}.
	WrongShape Answer = iota + 1
	// SuccessFalse is 200 {"success": false, "message": "..."}.
	SuccessFalse
	// HTMLPage is 200 with a text/html maintenance page.
	HTMLPage
	// EmptyObject is 200 {}.
	EmptyObject
	// NotFoundPage is 404 with a text/html page, as a proxy answers for a route it does not
	// know: not the API saying the record does not exist.
	NotFoundPage
	// Redirect is a redirect to another origin, the simulator's capture server (see
	// Capture.Redirect).
	Redirect
	// EmptyData (Bnovo) is 200 {"data": {}}: the envelope without the keys the contract promises.
	EmptyData
	// FirstAccount (ProBonus "find") is 200 with the account of the lowest id, whatever was
	// asked: a caching proxy that ignores the query string.
	FirstAccount
	// EmptyPage (ProBonus "operations") is a page with no items and the account's true total, as
	// a backend that lost its rows would answer.
	EmptyPage
	// URLErrorPage is 502 with a text/html page quoting the URL asked for, query string and all,
	// as a caching proxy (Squid's "The requested URL could not be retrieved") answers.
	URLErrorPage
	// ForbiddenPage is 403 with a text/html page, as a web application firewall in front of the
	// API answers a request it blocks: not the API refusing the account.
	ForbiddenPage
)

// Write gives answer a when its form does not depend on the API, redirecting to c, and reports
// whether it did; the simulator writes the others itself.
func Write(w http.ResponseWriter, r *http.Request, a Answer, c *Capture) bool {
	switch a {
	case WrongShape:
		writeJSON(w, `{"detail":"temporarily unavailable"}`)
	case SuccessFalse:
		writeJSON(w, `{"success":false,"message":"Внутренняя ошибка сервера"}`)
	case EmptyObject:
		writeJSON(w, `{}`)
	case HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Технические работы</title></head>" +
			"<body><h1>Сервис временно недоступен</h1><p>Ведутся технические работы.</p></body></html>\n"))
	case NotFoundPage:
		writeNginxPage(w, http.StatusNotFound)
	case URLErrorPage:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><head><title>ERROR: The requested URL could not be retrieved</title></head><body>" +
			"<h2>The requested URL could not be retrieved</h2><p>While trying to retrieve the URL: <a href=\"http://" +
			html.EscapeString(r.Host+r.URL.RequestURI()) + "\">http://" + html.EscapeString(r.Host+r.URL.RequestURI()) +
			"</a></p><p>The following error was encountered: Connection to upstream failed.</p></body></html>\n"))
	case ForbiddenPage:
		writeNginxPage(w, http.StatusForbidden)
	case Redirect:
		c.Redirect(w, r)
	default:
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

// writeNginxPage answers status with the error page nginx serves for it, as a proxy in front of
// the API would.
func writeNginxPage(w http.ResponseWriter, status int) {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<html><head><title>" + title + "</title></head><body><center><h1>" + title + "</h1></center>" +
		"<hr><center>nginx</center></body></html>\n"))
}
