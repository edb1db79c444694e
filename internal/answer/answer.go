// Package answer holds the check both API clients make on a success body before believing it
// (spec §5 "Fail closed"): an error body, a proxy's page or {} sent with a 2xx status is not a
// success. It knows neither API; each client's wire.go says which keys its answers must have.
package answer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// marks are what error bodies put where a success body has its fields.
type marks struct {
	Data    json.RawMessage `json:"data"`
	Success *bool           `json:"success"`
	Message json.RawMessage `json:"message"`
	Error   json.RawMessage `json:"error"`
	Errors  json.RawMessage `json:"errors"`
	Detail  json.RawMessage `json:"detail"`
}

// Open checks that body is a JSON object that does not describe a failure, and returns it
// trimmed with its "data" member (nil when absent). A non-empty reason says why the body is not
// a success; it quotes at most a short excerpt of the body.
func Open(body []byte) (object []byte, data json.RawMessage, reason string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil, "empty body"
	}
	if trimmed[0] != '{' {
		return nil, nil, fmt.Sprintf("not a JSON object: %q", Excerpt(trimmed, 120))
	}
	var m marks
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, nil, fmt.Sprintf("not valid JSON: %v", err)
	}
	switch {
	case m.Success != nil && !*m.Success:
		return nil, nil, fmt.Sprintf("success is false (message %q)", Excerpt(m.Message, 200))
	case Present(m.Error):
		return nil, nil, fmt.Sprintf("error %q", Excerpt(m.Error, 120))
	case Present(m.Errors):
		return nil, nil, fmt.Sprintf("errors %q", Excerpt(m.Errors, 120))
	case Present(m.Detail):
		return nil, nil, fmt.Sprintf("detail %q", Excerpt(m.Detail, 120))
	}
	return trimmed, m.Data, ""
}

// Present reports a JSON value that is there and says something: not absent, null, false or empty.
func Present(raw []byte) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false", `""`, "[]", "{}":
		return false
	}
	return true
}

// Excerpt is a one-line piece of b of at most n runes, enough to recognise a proxy's page in a
// log line without flooding it.
func Excerpt(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
