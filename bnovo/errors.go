package bnovo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrorKind says what a caller should do about a failed call.
type ErrorKind int

const (
	Transient   ErrorKind = iota + 1 // 5xx, timeout, connection error: retry later
	Permanent                        // 4xx other than 401/403/429: the record or request is bad
	Auth                             // login refused (404/406 on /auth) or 401 persisting after one re-auth
	RateLimited                      // 429
	Forbidden                        // 403: read-only (v1) account on a write
	// Unreachable: the name does not resolve, nothing listens, or TLS fails. Waiting rarely
	// heals it (a wrong bnovo.base_url, no route out): see IsUnreachable.
	Unreachable
)

func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Auth:
		return "auth"
	case RateLimited:
		return "rate limited"
	case Forbidden:
		return "forbidden"
	case Unreachable:
		return "unreachable"
	default:
		return fmt.Sprintf("ErrorKind(%d)", int(k))
	}
}

// ErrListingUnstable is returned (wrapped) by ListBookings when offsets kept shifting under the
// listing more often than Config.MaxListRestarts allows. Trying again later is the remedy.
var ErrListingUnstable = errors.New("bnovo: listing kept changing while paging")

// ErrUnexpectedAnswer is wrapped by the Transient *Error of a 2xx answer that is not the
// documented one: an error object, success:false, a proxy's HTML page, {}, a list without its
// key. Such an answer is a passing failure of the call; it never means "no payments" or "no
// bookings".
var ErrUnexpectedAnswer = errors.New("bnovo: the answer is not the documented one")

// Error is a failed API call.
type Error struct {
	Op         string // e.g. "GET /bookings/48211734/payments" (never a token or key)
	Status     int    // HTTP status, 0 for transport errors
	Kind       ErrorKind
	Message    string        // server's message, verbatim
	RetryAfter time.Duration // from Retry-After on 429 or 503, 0 if absent
	Err        error         // underlying transport error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bnovo ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the *Error that err is or wraps; 0 when there is none (for example
// context.Canceled, or a Limiter's own error).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsUnreachable reports that Bnovo could not be reached at all (DNS, refused connection, TLS):
// no request got to it. The client retries that only briefly, and only once it has reached
// Bnovo before, so a wrong address ends a run at its first call.
func IsUnreachable(err error) bool { return KindOf(err) == Unreachable }

// IsForbidden reports a 403: the account may not write (API v1, read-only).
func IsForbidden(err error) bool { return KindOf(err) == Forbidden }

// IsNotFound reports a 404 on a call other than the login (a 404 there means bad credentials).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound && e.Kind == Permanent
}

// kindOfReply classifies a failed reply. A 404 without the API's own error body comes from
// something in front of the API (a proxy's page, a wrong route): it says nothing about the
// booking, so it is Transient, never "the booking no longer exists". Likewise a 403 without it
// is not Forbidden.
func kindOfReply(status int, body []byte) ErrorKind {
	if status == http.StatusNotFound && !isAPIError(body) {
		return Transient
	}
	if status == http.StatusForbidden && !isAPIError(body) {
		// A firewall's page refusing this request, not Bnovo refusing a read-only account's
		// writes (which turns write-back off for the process): a refusal of this record.
		return Permanent
	}
	return kindOfStatus(status)
}

// kindOfStatus classifies an HTTP failure of a non-auth call.
func kindOfStatus(status int) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusForbidden:
		return Forbidden
	case status == http.StatusUnauthorized:
		return Auth
	case status >= 500, status == http.StatusRequestTimeout:
		return Transient
	default:
		return Permanent
	}
}
