package sync

import (
	"fmt"

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
		return &CredentialsError{API: "Bnovo", Keys: "bnovo.api_key (credential bnovo_api_key, or SYNCD_BNOVO_API_KEY) and bnovo.account_id", Err: err}
	}
	return nil
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
