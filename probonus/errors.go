package probonus

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
	Transient   ErrorKind = iota + 1 // 5xx, timeout, connection error
	Permanent                        // 400/404/422 and other 4xx except below
	Auth                             // 401 or 403 (FastAPI versions differ)
	RateLimited                      // 429
	// Unreachable: the name does not resolve, nothing listens, or TLS fails; the request was
	// not sent. Waiting rarely heals it (a wrong probonus.base_url, no route): see IsUnreachable.
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
	case Unreachable:
		return "unreachable"
	default:
		return fmt.Sprintf("ErrorKind(%d)", int(k))
	}
}

// ErrUnexpectedAnswer is wrapped by the Transient *Error of a 2xx answer that is not the
// documented one: {"detail": ...} or another error object, HTML from a proxy, {}, an operations
// page without items or total, an account without an id. It never means "no operations" or
// "no account".
var ErrUnexpectedAnswer = errors.New("probonus: the answer is not the documented one")

// Error is a failed API call.
type Error struct {
	Op     string // e.g. "POST /operations/deposit" (never the token)
	Status int    // 0 for transport errors
	Kind   ErrorKind
	Detail string // FastAPI detail, verbatim (list rendered as text)
	Sent   bool   // the request may have reached the server (false only when it surely did not, e.g. dial refused)
	Err    error
	// RetryAfter is the server's Retry-After on a 429 (or 503), 0 when absent.
	RetryAfter time.Duration
	// foreign: the answer is not in the API's shape (a 404 without FastAPI's detail, a 2xx
	// that is not the documented answer): a proxy's page, or not ProBonus at all.
	foreign bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("probonus ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString(e.Kind.String())
		if e.Sent {
			b.WriteString(" (the request may have reached the server)")
		} else {
			b.WriteString(" (the request was not sent)")
		}
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
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

// Is makes every 404 match ErrNotFound, whatever the call, so errors.Is works through wrapping.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound && e.Kind == Permanent
}

// ErrNotFound is matched (errors.Is) by a 404: no account holds the identifier, or the account
// does not exist.
var ErrNotFound = errors.New("probonus: not found")

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// KindOf returns the kind of the *Error that err is or wraps; 0 when there is none (for example a
// sum rejected before sending).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsOutcomeUnknown reports, for a deposit or withdrawal, that the server may have executed it:
// a timeout or dropped connection after the request may have been written, a 5xx, or a success
// status whose body could not be read. Only reading the account's operations can tell. It is
// false for a 429 (rejected before execution), other 4xx, and failures before sending (dial).
// Check it before KindOf: such an error is Transient but must not simply be sent again.
func IsOutcomeUnknown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Sent && e.Kind == Transient
}

// IsUnreachable reports that ProBonus could not be reached at all (DNS, refused connection,
// TLS); nothing was sent. Reads retry it only briefly, and only once the client has reached
// ProBonus before, so a wrong address ends a run at its first call.
func IsUnreachable(err error) bool { return KindOf(err) == Unreachable }

// kindOfReply classifies a failed reply. A 404 without FastAPI's {"detail": ...} comes from
// something in front of the API (a proxy's page): it is Transient and never ErrNotFound, so it
// cannot lead to creating a second account for a guest who has one. A 403 without it is a
// firewall refusing that request, not ProBonus refusing the token: Permanent for that request,
// never a run stopped with "check probonus.token".
func kindOfReply(status int, body []byte) ErrorKind {
	if status == http.StatusNotFound && !isFastAPIError(body) {
		return Transient
	}
	if status == http.StatusForbidden && !isFastAPIError(body) {
		return Permanent
	}
	return kindOfStatus(status)
}

// kindOfStatus classifies an HTTP failure status.
func kindOfStatus(status int) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return Auth
	case status >= 500, status == http.StatusRequestTimeout:
		return Transient
	default:
		return Permanent
	}
}
