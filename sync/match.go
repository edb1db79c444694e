package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// guest is a customer's contacts as matching uses them: the normalised phone and e-mail that
// identify a person, and the account-map keys they make ("phone:…" first, then "email:…").
type guest struct {
	phone, email     string
	phoneOK, emailOK bool
	// phoneSkipped says why a valid phone does not identify the guest (a toll-free number, one
	// listed in probonus.ignore_phones, one ProBonus would refuse); "" otherwise.
	phoneSkipped string
	// emailSkipped: the e-mail is a placeholder listed in probonus.ignore_emails.
	emailSkipped bool
	keys         []string
}

// identifier is one contact to match on: its account-map key and the value ProBonus holds.
type identifier struct{ key, value string }

// identifiers lists the guest's contacts in the order they decide: phone, then e-mail.
func (g guest) identifiers() []identifier {
	var out []identifier
	if g.phoneOK {
		out = append(out, identifier{"phone:" + g.phone, g.phone})
	}
	if g.emailOK {
		out = append(out, identifier{"email:" + g.email, g.email})
	}
	return out
}

// guestOf normalises a customer's contacts, leaving out those that never identify a guest: the
// numbers and addresses of probonus.ignore_phones and ignore_emails, and the kinds of numbers
// many people share.
func (e *Engine) guestOf(c *bnovo.Customer) guest {
	var g guest
	if c == nil {
		return g
	}
	if phone, ok := contact.Phone(c.Phone); ok {
		switch kind := contact.NonPersonal(phone); {
		case kind != "":
			g.phoneSkipped = "a " + kind + " number, shared by many callers"
		case contact.HasExtension(c.Phone):
			// ProBonus holds the number without the extension, which alone tells apart the
			// people behind one switchboard.
			g.phoneSkipped = "a switchboard number with an extension, shared by everyone behind it"
		case e.ignoredPhones[phone]:
			g.phoneSkipped = "listed in probonus.ignore_phones"
		case !probonus.AcceptsPhone(phone):
			g.phoneSkipped = "not a number ProBonus accepts (10 to 15 digits)"
		default:
			g.phone, g.phoneOK = phone, true
		}
	}
	g.email, g.emailOK = contact.Email(c.Email)
	if g.emailOK && e.ignoredEmails[g.email] {
		g.email, g.emailOK, g.emailSkipped = "", false, true
	}
	for _, id := range g.identifiers() {
		g.keys = append(g.keys, id.key)
	}
	return g
}

// learned is an account-map entry to persist: ProBonus answered account for key's identifier.
type learned struct {
	key     string
	account int64
}

// match finds (or creates) the ProBonus account of a booking's customer c, whose contacts are
// g (spec §2). The account map is a cache of ProBonus's answers and obeys the same order: the
// phone decides before the e-mail, cached or not, so a cached e-mail (shared by a family) never
// answers for a phone ProBonus has not been asked about. A key is learned only for the account
// ProBonus returned for that very identifier. A lookup that fails for any reason but a clean
// "not found" never leads to a creation.
func (e *Engine) match(ctx context.Context, c *bnovo.Customer, g guest, p *plan, sum *Summary) (int64, error) {
	if c == nil {
		return 0, noAccount{"the booking has no customer"}
	}
	ids := g.identifiers()
	if len(ids) == 0 {
		why := "the guest has no usable phone or e-mail"
		if g.phoneSkipped != "" {
			why = "the guest has no e-mail, and their phone is " + g.phoneSkipped
		}
		if g.emailSkipped {
			why += " (their e-mail is a placeholder listed in probonus.ignore_emails)"
		}
		return 0, noAccount{why}
	}

	account, found, err := e.find(ctx, g, func(key string, a probonus.Account) { e.learn(p, key, a) })
	if err != nil {
		return 0, err
	}
	if found {
		if p.fetched == nil || p.fetched.ID != account {
			p.cachedVia = e.answeredBy(g, account)
		}
		sum.AccountsMatched++
		return account, nil
	}
	if !e.opt.CreateAccounts {
		return 0, noAccount{"no ProBonus account holds the guest's phone or e-mail and probonus.create_accounts is false"}
	}

	created, err := e.opt.Ledger.CreateAccount(ctx, newAccount(c, g, e.opt.AccountGroupID))
	if err != nil {
		if probonus.KindOf(err) != probonus.Permanent {
			// The account may or may not exist now; the next run's lookup will tell.
			return 0, fmt.Errorf("creating an account: %w", err)
		}
		// Most often another account took one of the identifiers meanwhile: never make a
		// second one; ask again in the deciding order.
		for _, id := range ids {
			again, lookupErr := e.opt.Ledger.FindAccount(ctx, id.value)
			if lookupErr == nil {
				e.learn(p, id.key, again)
				return again.ID, nil
			}
			if !errors.Is(lookupErr, probonus.ErrNotFound) {
				return 0, fmt.Errorf("creating an account: %w (looking up again: %v)", err, lookupErr)
			}
		}
		return 0, fmt.Errorf("creating an account: %w", err)
	}
	sum.AccountsCreated++
	p.created = true
	e.log.Info().Int64("account", created.ID).Str("phone", contact.MaskPhone(g.phone)).
		Str("email", contact.MaskEmail(g.email)).Msg("ProBonus account created")
	// The new account holds every identifier it was created with, and nothing of syncd's yet.
	for _, id := range ids {
		e.learn(p, id.key, created)
	}
	e.markCurrent(created.ID)
	return created.ID, nil
}

// find asks the account map, then ProBonus, for the guest's account, one identifier at a time
// in the deciding order (see match); learn is told every answer ProBonus gives. found is false
// when ProBonus cleanly has no account for any of them.
func (e *Engine) find(ctx context.Context, g guest, learn func(key string, a probonus.Account)) (account int64, found bool, err error) {
	for _, id := range g.identifiers() {
		if account, ok := e.knownAccount(id.key); ok {
			return account, true, nil
		}
		a, err := e.opt.Ledger.FindAccount(ctx, id.value)
		if err == nil {
			learn(id.key, a)
			return a.ID, true, nil
		}
		if !errors.Is(err, probonus.ErrNotFound) {
			return 0, false, fmt.Errorf("looking up the guest's account: %w", err)
		}
	}
	return 0, false, nil
}

// answeredBy is the identifier whose cached answer find took for account: the first one the
// map knows, as find asks in the same order.
func (e *Engine) answeredBy(g guest, account int64) identifier {
	for _, id := range g.identifiers() {
		if known, ok := e.knownAccount(id.key); ok {
			if known == account {
				return id
			}
			break
		}
	}
	return identifier{}
}

// holds tells whether the account still holds the identifier: staff may have moved a phone to
// another account since syncd cached ProBonus's answer for it.
func holds(a probonus.Account, value string) bool {
	if a.Email == value || slices.Contains(a.Phones, value) {
		return true
	}
	return slices.ContainsFunc(a.Identifiers, func(id probonus.Identifier) bool { return id.Value == value })
}

// forgetKey drops one cached answer that ProBonus no longer gives (the identifier moved to
// another account), here and, through the plan, in the state.
func (e *Engine) forgetKey(p *plan, key string) {
	e.cacheMatch(key, 0)
	p.forgottenKeys = append(p.forgottenKeys, key)
	e.log.Warn().Int64("booking", p.b.ID).Int64("account", p.rec.AccountID).
		Msg("the guest's account no longer holds the phone or e-mail it was matched by (moved to another account?): looked up again")
}

// cacheMatch keeps ProBonus's answer for one key in this run's cache.
func (e *Engine) cacheMatch(key string, account int64) {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	e.accounts[key] = account
}

// learn notes ProBonus's answer for one identifier, in this run's cache and for the plan to
// persist, with the account's details for the checks before crediting.
func (e *Engine) learn(p *plan, key string, a probonus.Account) {
	e.cacheMatch(key, a.ID)
	p.matched = append(p.matched, learned{key, a.ID})
	p.fetched = &a
}

// knownAccount is the account cached for one key: this page's matches (where a forgotten
// account is known gone), then the state.
func (e *Engine) knownAccount(key string) (int64, bool) {
	e.accountsMu.Lock()
	id, cached := e.accounts[key]
	e.accountsMu.Unlock()
	if cached {
		return id, id != 0
	}
	var found int64
	_ = e.opt.DB.View(func(tx *state.Tx) error {
		found, _ = tx.Account(key)
		return nil
	})
	return found, found != 0
}

// cachedAccount looks a key up in the matches made by this process.
func (e *Engine) cachedAccount(key string) (int64, bool) {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	id, ok := e.accounts[key]
	return id, ok && id != 0
}

// forget drops an account ProBonus answered 404 for (deleted, or merged into another) from
// this run's cache; the plan's forgotten list removes it from the state's map too, so the
// guest is looked up again instead of every later stay failing the same way.
func (e *Engine) forget(p *plan, account int64) {
	e.forgetCached(account)
	// A merge moved the account's operations (this booking's markers among them) into another
	// account, below the newest ones there: no proof of currency tells of them (see
	// checkNextMarker).
	p.distrustCurrent = true
	p.forgotten = append(p.forgotten, account)
	e.log.Warn().Int64("booking", p.b.ID).Int64("account", account).
		Msg("ProBonus no longer has the account (deleted or merged): forgotten; the guest is looked up again")
}

// forgetCached drops an account ProBonus answered 404 for from this run's cache (see forget).
func (e *Engine) forgetCached(account int64) {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	for k, id := range e.accounts {
		if id == account {
			e.accounts[k] = 0 // known gone: the state's entry must not answer either
		}
	}
	delete(e.current, account)
}

func newAccount(c *bnovo.Customer, g guest, group int64) probonus.NewAccount {
	a := probonus.NewAccount{
		FirstName:      strings.TrimSpace(c.Name),
		LastName:       strings.TrimSpace(c.Surname),
		AccountGroupID: group,
	}
	if a.FirstName == "" {
		// ProBonus requires a first name; staff can correct it in the admin.
		a.FirstName = "Гость"
	}
	if g.phoneOK {
		a.Phones = []string{g.phone}
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierPhone, Value: g.phone})
	}
	if g.emailOK {
		a.Email = g.email
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierEmail, Value: g.email})
	}
	return a
}
