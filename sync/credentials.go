package sync

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
)

// CredentialsError is an API refusing syncd's credentials. Every later call would be refused
// too, so the run stops at the end of the page and says which config keys a person must fix,
// instead of queueing every booking behind a warning of its own.
type CredentialsError struct {
	API  string // "Bnovo" or "ProBonus"
	Keys string // the config keys (and credential files) to check
	Err  error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("%s refused syncd's credentials: check %s, then restart syncd: %v", e.API, e.Keys, e.Err)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// refusedCredentials returns the CredentialsError err amounts to, or nil.
func refusedCredentials(err error) *CredentialsError {
	switch {
	case err == nil:
		return nil
	case probonus.KindOf(err) == probonus.Auth:
		return &CredentialsError{API: "ProBonus", Keys: "probonus.token (credential probonus_token, or SYNCD_PROBONUS_TOKEN) and probonus.token_header", Err: err}
	case bnovo.KindOf(err) == bnovo.Auth:
		keys := "bnovo.api_key (credential bnovo_api_key, or SYNCD_BNOVO_API_KEY) and bnovo.account_id"
		var bnovoErr *bnovo.Error
		if errors.As(err, &bnovoErr) && bnovoErr.Status == http.StatusNotFound {
			// Bnovo answers a wrong key with 404, and so does any host that is not its API.
			keys += ", or bnovo.base_url if the answer below is not Bnovo's (any other host answers 404 too; the API's origin is like https://api.pms.bnovo.ru)"
		}
		return &CredentialsError{API: "Bnovo", Keys: keys, Err: err}
	}
	return nil
}

// UnreachableError is an API syncd cannot reach at all: its name does not resolve, nothing
// listens at its address, or TLS fails. Like refused credentials it is nobody's booking's
// fault and every later call would fail the same way, so the run stops with one error naming
// the address to check; the bookings stay queued.
type UnreachableError struct {
	API string // "Bnovo" or "ProBonus"
	Key string // the config key of its address
	Err error  // the client's error, which names the origin and the cause
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s is unreachable (check %s and the network): %v", e.API, e.Key, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable returns the UnreachableError err amounts to, or nil.
func unreachable(err error) *UnreachableError {
	switch {
	case err == nil:
		return nil
	case probonus.IsUnreachable(err):
		return &UnreachableError{API: "ProBonus", Key: "probonus.base_url", Err: err}
	case bnovo.IsUnreachable(err):
		return &UnreachableError{API: "Bnovo", Key: "bnovo.base_url", Err: err}
	}
	return nil
}

// stopping returns the error that ends a run for err (refused credentials, an unreachable
// API), or nil when err concerns only the booking at hand.
func stopping(err error) error {
	if ce := refusedCredentials(err); ce != nil {
		return ce
	}
	if ue := unreachable(err); ue != nil {
		return ue
	}
	return nil
}

// isStopping reports whether err already is (or wraps) the error that ends a run.
func isStopping(err error) bool {
	var ce *CredentialsError
	var ue *UnreachableError
	return errors.As(err, &ce) || errors.As(err, &ue)
}

// refusal is the first credentials refusal among a page's plans.
func refusal(plans []*plan) error {
	for _, p := range plans {
		if p.refused != nil {
			return p.refused
		}
	}
	return nil
}

// StopError returns, for an error of either client, the error a run would end with (a
// *CredentialsError or an *UnreachableError naming the keys to check), or nil when err is
// neither.
func StopError(err error) error { return stopping(err) }
