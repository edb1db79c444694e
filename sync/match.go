package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// noAccount is a guest that cannot be credited: nothing to match on, or no account and
// account creation is off. The booking is parked.
type noAccount struct{ why string }

func (n noAccount) Error() string { return n.why }

// guest is a customer's contacts as matching uses them: normalised phone and e-mail, and the
// account-map keys they make ("phone:…" first, then "email:…").
type guest struct {
	phone, email     string
	phoneOK, emailOK bool
	keys             []string
}

func guestOf(c *bnovo.Customer) guest {
	var g guest
	if c == nil {
		return g
	}
	g.phone, g.phoneOK = contact.Phone(c.Phone)
	g.email, g.emailOK = contact.Email(c.Email)
	if g.phoneOK {
		g.keys = append(g.keys, "phone:"+g.phone)
	}
	if g.emailOK {
		g.keys = append(g.keys, "email:"+g.email)
	}
	return g
}

// match finds (or creates) the ProBonus account of a booking's customer c, whose contacts are
// g: by phone first, then by e-mail (spec §2). Keys learned are added to p.matched for the
// caller to persist. A lookup that fails for any reason but a clean "not found" never leads to
// a creation.
func (e *Engine) match(ctx context.Context, c *bnovo.Customer, g guest, p *plan, sum *Summary) (int64, error) {
	if c == nil {
		return 0, noAccount{"the booking has no customer"}
	}
	phone, phoneOK, email, emailOK, keys := g.phone, g.phoneOK, g.email, g.emailOK, g.keys
	var identifiers []string
	if phoneOK {
		identifiers = append(identifiers, phone)
	}
	if emailOK {
		identifiers = append(identifiers, email)
	}
	if len(keys) == 0 {
		return 0, noAccount{"the guest has no usable phone or e-mail"}
	}

	if id, ok := e.knownAccount(keys); ok {
		p.matched = e.remember(keys, id)
		sum.AccountsMatched++
		return id, nil
	}
	account, err := e.lookup(ctx, identifiers)
	if err == nil {
		p.matched = e.remember(keys, account.ID)
		sum.AccountsMatched++
		return account.ID, nil
	}
	if !errors.Is(err, probonus.ErrNotFound) {
		return 0, err
	}
	if !e.opt.CreateAccounts {
		return 0, noAccount{"no ProBonus account holds the guest's phone or e-mail and probonus.create_accounts is false"}
	}

	created, err := e.opt.Ledger.CreateAccount(ctx, newAccount(c, phone, phoneOK, email, emailOK, e.opt.AccountGroupID))
	if err != nil {
		if probonus.KindOf(err) != probonus.Permanent {
			// The account may or may not exist now; the next run's lookup will tell.
			return 0, fmt.Errorf("creating an account: %w", err)
		}
		// Most often another account holds one of the identifiers: never make a second one.
		again, lookupErr := e.lookup(ctx, identifiers)
		if lookupErr != nil {
			return 0, fmt.Errorf("creating an account: %w (looking up again: %v)", err, lookupErr)
		}
		created = again
	} else {
		sum.AccountsCreated++
		p.created = true
		e.log.Info().Int64("account", created.ID).Str("phone", contact.MaskPhone(phone)).
			Str("email", contact.MaskEmail(email)).Msg("ProBonus account created")
	}
	p.matched = e.remember(keys, created.ID)
	return created.ID, nil
}

func (e *Engine) knownAccount(keys []string) (int64, bool) {
	if id, ok := e.cachedAccount(keys); ok {
		return id, true
	}
	var found int64
	_ = e.opt.DB.View(func(tx *state.Tx) error {
		for _, k := range keys {
			if id, ok := tx.Account(k); ok {
				found = id
				return nil
			}
		}
		return nil
	})
	return found, found != 0
}

// cachedAccount looks keys up in the matches made by this process.
func (e *Engine) cachedAccount(keys []string) (int64, bool) {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	for _, k := range keys {
		if id, ok := e.accounts[k]; ok {
			return id, true
		}
	}
	return 0, false
}

func (e *Engine) remember(keys []string, id int64) []string {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	for _, k := range keys {
		e.accounts[k] = id
	}
	return keys
}

// lookup asks ProBonus for each identifier in turn; ErrNotFound only when every answer was a
// clean "not found".
func (e *Engine) lookup(ctx context.Context, identifiers []string) (probonus.Account, error) {
	for _, id := range identifiers {
		a, err := e.opt.Ledger.FindAccount(ctx, id)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, probonus.ErrNotFound) {
			return probonus.Account{}, fmt.Errorf("looking up the guest's account: %w", err)
		}
	}
	return probonus.Account{}, probonus.ErrNotFound
}

func newAccount(c *bnovo.Customer, phone string, phoneOK bool, email string, emailOK bool, group int64) probonus.NewAccount {
	a := probonus.NewAccount{
		FirstName:      strings.TrimSpace(c.Name),
		LastName:       strings.TrimSpace(c.Surname),
		AccountGroupID: group,
	}
	if a.FirstName == "" {
		// ProBonus requires a first name; staff can correct it in the admin.
		a.FirstName = "Гость"
	}
	if phoneOK {
		a.Phones = []string{phone}
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierPhone, Value: phone})
	}
	if emailOK {
		a.Email = email
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierEmail, Value: email})
	}
	return a
}
