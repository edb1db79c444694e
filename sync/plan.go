package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// plan is what one booking needs, decided before anything is written.
type plan struct {
	b    bnovo.Booking
	rec  state.Booking
	seen bool // the state had a record of the booking
	// standing and standingRedeem are the shortfalls the record held before this plan: a run
	// reports a shortfall only when it records a new or larger one, not each time a booking
	// whose shortfall stands is planned again.
	standing, standingRedeem int64
	guest                    guest // the customer's contacts, normalised once
	accrual                  Accrual
	op                       *state.Op // to journal and send; nil when nothing is to be posted
	moving                   bool      // op withdraws the bonuses from an account the booking no longer belongs to
	matched                  []learned // account-map entries learned while matching, to persist
	// forgotten are accounts ProBonus answered 404 for: dropped from the account map.
	forgotten []int64
	// forgottenKeys are cached answers the account no longer bears out: dropped too.
	forgottenKeys []string
	// cachedVia is the identifier whose cached answer decided the account (zero when ProBonus
	// answered during this plan): checked against the account before crediting it.
	cachedVia identifier
	// fetched is the account as ProBonus last answered it during this plan (lookup, creation).
	fetched *probonus.Account
	// identified is the account the customer's own phone or e-mail names (0: none): the only
	// account whose line may go into this guest's notes.
	identified int64
	// distrustCurrent: the booking's account changed or answered 404 in this plan. A merge
	// puts the old account's operations below the newest ones of the account merged into, so
	// neither the newest marker's being known nor an earlier proof of the account's currency
	// says the booking has none there: its markers are looked for in full.
	distrustCurrent bool
	park            string // reason, when the booking cannot be processed
	retry           bool   // transient trouble: queue the booking for a later run
	complete        bool   // nothing more to do once op (if any) is posted
	created         bool   // the guest's account was created in this run
	// unenrolled: the guest's own contacts name no account (and none may be created), so the
	// account the booking's bonuses are on is not theirs: no deposit goes there.
	unenrolled noAccount
	// guestChanged: another guest record is on the booking than when it was last planned. The
	// line recorded as shown is in the former guest's notes, not in this one's.
	guestChanged bool
	refused      error // an API refused syncd's credentials or is unreachable: the run stops after this page

	payments     []bnovo.Payment // the booking's payments, when planning read them
	paymentsRead bool
	redeem       *redeemPlan // the booking's redemption, when redemption is on (see redeem.go)
	// untouched: a stop came before the booking's payments answer; nothing of it is recorded
	// and the next run lists it again.
	untouched bool
	// paymentsConfirmed: payments agree with the booking's payments_total (see confirmPayments).
	paymentsConfirmed bool
}

// newPlan starts the plan of a changed booking from its state record (seen) or afresh.
func (e *Engine) newPlan(b bnovo.Booking, rec state.Booking, seen bool) *plan {
	p := &plan{b: b, rec: rec, seen: seen, guest: e.guestOf(b.Customer)}
	delete(e.refusedLines, b.ID) // the booking changed: its notes may take the line now
	if !seen {
		p.rec = state.Booking{ID: b.ID}
	}
	p.standing, p.standingRedeem = p.rec.Shortfall, p.rec.RedeemShortfall
	p.rec.Number = b.Number
	if b.Customer != nil {
		if seen && p.rec.GuestID != 0 && p.rec.GuestID != b.Customer.ID {
			p.guestChanged = true
			p.rec.NotesLine = ""
		}
		p.rec.GuestID = b.Customer.ID
	}
	return p
}

// plan decides what a changed booking needs. It may read both APIs (payments, account
// lookups, a balance, the account's operations) and create a ProBonus account, but posts no
// operation. Plans of one guest group run one after another (see guestGroups); others may run
// at the same time. Bnovo's payments are read under ctx; once they are in (or for a booking
// that needs none), the rest runs under hand, which a stop does not cut short (see batch).
func (e *Engine) plan(ctx, hand context.Context, p *plan, sum *Summary) {
	b := p.b
	p.accrual = Accrual{Percent: e.opt.Rules.PercentFor(b)}
	if e.opt.Rules.Earns(b) {
		payments, err := e.opt.PMS.Payments(ctx, b.ID)
		if err != nil && ctx.Err() != nil {
			p.untouched = true // stopped before the answer: listed again next run
			return
		}
		sum.Earning++
		if err != nil {
			e.trouble(p, "reading the booking's payments", err, bnovo.KindOf(err) == bnovo.Permanent)
			return
		}
		p.payments, p.paymentsRead = payments, true
		if p.accrual, err = e.opt.Rules.Accrue(b, payments); err != nil {
			e.trouble(p, "computing the accrual", err, true)
			return
		}
		// A stay that still earns, earning less than it holds: its payments shrank (a refund,
		// or a stale answer), and a withdrawal follows. A cancellation needs no check: its
		// status is the evidence.
		if p.accrual.Target < p.rec.Posted && !e.paymentsConfirmedFor(ctx, p, "the withdrawal") {
			return
		}
		// Fetched from the queue, the booking states its payments_total: checked at no cost, a
		// stale list without a new payment is not taken for the booking handled at its new
		// update_date (the bonuses that payment earns would never come).
		if p.b.PaymentsTotal.Shown && !e.paymentsConfirmedFor(ctx, p, "the accrual") {
			return
		}
	}
	bnovoCtx := ctx
	ctx = hand
	if p.accrual.Target == 0 && p.rec.Posted == 0 && !e.creditedBefore(bnovoCtx, ctx, p) {
		// Nothing posted and nothing to post: the booking needs no account.
		p.rec.Shortfall = p.rec.Stranded
		p.complete = true
		return
	}
	if p.retry || p.park != "" {
		return
	}
	if p.paymentsRead && p.accrual.Target < p.rec.Posted && !e.paymentsConfirmedFor(bnovoCtx, p, "the withdrawal") {
		return // credits a restored state did not know, found just now (see creditedBefore)
	}
	account, ok := e.decideAccount(ctx, p, sum)
	if !ok || !e.adoptShownCredit(bnovoCtx, ctx, p, account) {
		return
	}
	if from := p.rec.AccountID; from != 0 && from != account {
		// The booking's operations may have followed its old account into this one (staff
		// merged them): no proof of currency tells of them (see checkNextMarker).
		p.distrustCurrent = true
		if p.rec.Redeemed != 0 {
			// Bonuses were taken from the old account for this stay: returning them there and
			// taking them from the new guest is for staff to decide; nothing moves.
			p.park = fmt.Sprintf("the booking's guest changed, but %s bonuses paid for it were taken from account %d: settle the payment with bonuses by hand, then fix the guest", formatBonuses(p.rec.Redeemed), from)
			e.log.Warn().Int64("booking", b.ID).Str("number", b.Number).Int64("from_account", from).Int64("account", account).
				Msg("booking parked: its guest changed on a stay paid with bonuses; nothing moved")
			return
		}
		if p.rec.Posted > 0 {
			e.moveAway(ctx, p, account)
			return
		}
		e.log.Info().Int64("booking", b.ID).Int64("from_account", from).Int64("account", account).
			Msg("the booking's guest changed: its bonuses go to the new guest's account from now on")
	}
	p.rec.AccountID = account
	e.postFor(ctx, p)
}

// creditedBefore tells whether a booking with nothing to earn and nothing known posted has
// operations in ProBonus all the same: a state restored from an older backup (or lost) does not
// know a stay credited, then cancelled, meanwhile — whether the backup knew the booking (most
// stays are seen in the house, before they earn) or not. Its guest's account is looked up
// (never created) and searched by marker (see checkNextMarker: one read per account per
// process while the state is current); what is found is adopted, for the usual withdrawal.
// Trouble leaves the booking queued. The guest's contacts may lead elsewhere than the credit
// went: while catching up, the account the guest's notes show is searched too (see restored.go).
func (e *Engine) creditedBefore(bnovoCtx, ctx context.Context, p *plan) bool {
	if p.b.Customer == nil || len(p.guest.keys) == 0 {
		return false
	}
	if p.b.CancelDate.IsZero() && p.b.Departure.After(e.now()) {
		return false // never checked out, so never credited: a reservation still to come
	}
	account, found, err := e.find(ctx, p.guest, func(key string, a probonus.Account) { e.learn(p, key, a) })
	switch {
	case err != nil:
		e.trouble(p, "looking up the guest's account for operations a lost state did not know", err, false)
		return true
	case !found:
		return !e.adoptShownCredit(bnovoCtx, ctx, p, 0) || p.rec.Posted != 0
	}
	known := p.rec.AccountID
	p.rec.AccountID, p.identified = account, account
	if !e.checkNextMarker(ctx, p) {
		return true
	}
	if p.rec.Posted == 0 {
		p.rec.AccountID = known // nothing of this booking's there: it keeps needing no account
		return !e.adoptShownCredit(bnovoCtx, ctx, p, account) || p.rec.Posted != 0
	}
	return true
}

// decideAccount decides anew which account the booking belongs to: its guest may have changed
// since the last time (a phone typo fixed, the customer replaced).
func (e *Engine) decideAccount(ctx context.Context, p *plan, sum *Summary) (int64, bool) {
	account, err := e.match(ctx, p.b.Customer, p.guest, p, sum)
	if err == nil {
		p.identified = account
		return account, true
	}
	var np noAccount
	if errors.As(err, &np) && p.rec.AccountID != 0 {
		// The contacts no longer name anyone (wiped or garbled), which is not a new guest:
		// corrections stay with the account the bonuses are on. Contacts that do name a guest,
		// one without an account (probonus.create_accounts false), say the guest is not that
		// account's holder: what the stay put there may be taken back, nothing more given.
		if len(p.guest.keys) > 0 {
			p.unenrolled = np
		}
		return p.rec.AccountID, true
	}
	e.trouble(p, "matching the guest to a ProBonus account", err, errors.As(err, &np) || probonus.KindOf(err) == probonus.Permanent)
	return 0, false
}

// postFor plans the operation that brings what the booking's account holds for it to its
// target, on p.rec.AccountID.
func (e *Engine) postFor(ctx context.Context, p *plan) {
	need := p.accrual.Target - p.rec.Posted
	switch {
	case need == 0:
		p.rec.Shortfall = p.rec.Stranded
		p.complete = true
	case need > 0 && p.unenrolled.why != "":
		e.trouble(p, "matching the guest to a ProBonus account", noAccount{fmt.Sprintf(
			"%s; account %d, where the stay's bonuses are, holds neither, so nothing more goes there", p.unenrolled.why, p.rec.AccountID)}, true)
	case need > 0:
		a, ok := e.accountToPost(ctx, p)
		if !ok {
			return
		}
		if e.staleMatch(p, a) {
			return
		}
		if reason := refusesCredit(a, e.opt.AccountGroupID); reason != "" {
			e.parkRefused(p, reason)
			return
		}
		if !e.checkNextMarker(ctx, p) {
			return
		}
		if need = p.accrual.Target - p.rec.Posted; need <= 0 {
			// Operations the state did not know already cover it (restored backup): with an
			// over-credit, plan again from the adopted total (the usual withdrawal or shortfall).
			p.retry = need < 0
			p.complete = need == 0
			return
		}
		p.op = &state.Op{AccountID: p.rec.AccountID, Kind: probonus.OpDeposit, Sum: need}
		p.complete = true
	case p.rec.Shortfall > p.rec.Stranded:
		// A shortfall is left to staff: syncd does not keep trying to take bonuses back.
		p.rec.Shortfall = p.rec.Stranded - need
		p.complete = true
	default:
		a, ok := e.accountToPost(ctx, p)
		if !ok {
			return
		}
		if e.staleMatch(p, a) {
			// The guest's identifier is another account's now: decided anew next plan, the
			// bonuses left for the stay move there rather than stay with the former holder.
			return
		}
		if a.Blocked {
			e.parkRefused(p, blockedReason(a.ID))
			return
		}
		if a.Balance < -need {
			e.shortfall(p, -need, a.Balance)
			p.complete = true
			return
		}
		if !e.checkNextMarker(ctx, p) {
			return
		}
		if p.accrual.Target-p.rec.Posted != need {
			p.retry = true // adopted operations changed what is needed: plan again
			return
		}
		p.op = &state.Op{AccountID: p.rec.AccountID, Kind: probonus.OpWithdraw, Sum: -need}
		p.complete = true
	}
}

// moveAway plans the first half of a move: the booking's bonuses leave the account they were
// posted to, which no longer is its guest's. The deposit to the new account is planned the next
// time (the booking is queued), from a posted total of 0. A withdrawal ProBonus refuses for a
// short balance leaves the bonuses stranded (a shortfall for staff) and the deposit goes ahead.
func (e *Engine) moveAway(ctx context.Context, p *plan, to int64) {
	from := p.rec.AccountID
	if p.accrual.Target > 0 {
		// Nothing leaves the old account for one that would refuse it.
		dest, ok := e.accountNow(ctx, p, to)
		if !ok {
			return
		}
		if e.staleMatch(p, dest) {
			return
		}
		if reason := refusesCredit(dest, e.opt.AccountGroupID); reason != "" {
			e.parkRefused(p, reason)
			return
		}
	}
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("from_account", from).Int64("account", to).
		Str("bonuses", formatBonuses(p.rec.Posted)).Msg("the booking's guest changed: its bonuses move to the new guest's account")
	old, err := e.opt.Ledger.Account(ctx, from)
	switch {
	case probonus.IsNotFound(err):
		// Gone with what it held (deleted), or into another account (merged): what came along
		// with a merge is found by marker on the new account, and adopted there.
		e.forget(p, from)
		p.rec.Posted, p.rec.AccountID = 0, to
		if e.checkNextMarker(ctx, p) {
			e.postFor(ctx, p)
		}
		return
	case err != nil:
		e.trouble(p, "reading the balance of the account the bonuses leave", err, probonus.KindOf(err) == probonus.Permanent)
		return
	case old.Blocked:
		e.parkRefused(p, blockedReason(from))
		return
	case !e.checkNextMarker(ctx, p):
		return // (what a restored state did not know is adopted first)
	case p.rec.Posted <= 0:
		// Nothing of the booking's is left there after all.
	default:
		// Sent even when the balance read looks short: a deposit to the new account follows a
		// move's shortfall, so only ProBonus refusing the withdrawal proves one (see
		// refusedOperation), never a read that may be a stale copy.
		p.op = &state.Op{AccountID: from, Kind: probonus.OpWithdraw, Sum: p.rec.Posted}
		p.moving = true
		p.complete = false // the deposit to the new account follows in the next plan
		return
	}
	p.rec.Posted = 0
	p.rec.AccountID = to
	e.postFor(ctx, p)
}

// accountToPost is the booking's account as ProBonus has it now (a lookup's answer from this
// plan serves). One ProBonus no longer has is forgotten, and the booking planned again so the
// guest is looked up anew.
func (e *Engine) accountToPost(ctx context.Context, p *plan) (probonus.Account, bool) {
	return e.accountNow(ctx, p, p.rec.AccountID)
}

// accountNow reads one account for the plan (see accountToPost).
func (e *Engine) accountNow(ctx context.Context, p *plan, id int64) (probonus.Account, bool) {
	if p.fetched != nil && p.fetched.ID == id {
		return *p.fetched, true
	}
	a, err := e.opt.Ledger.Account(ctx, id)
	switch {
	case probonus.IsNotFound(err):
		e.forget(p, id)
		if id == p.rec.AccountID && p.rec.Posted == 0 {
			p.rec.AccountID = 0
		}
		p.retry = true
		return a, false
	case err != nil:
		e.trouble(p, "reading the booking's ProBonus account", err, probonus.KindOf(err) == probonus.Permanent)
		return a, false
	}
	p.fetched = &a
	return a, true
}

// staleMatch tells whether the map's cached answer that named account a no longer holds (the
// identifier is not a's any more: moved by staff, or learned wrongly by an older syncd); the
// answer is dropped and the booking planned again, so the guest is looked up anew.
func (e *Engine) staleMatch(p *plan, a probonus.Account) bool {
	via := p.cachedVia
	if via.key == "" || a.ID != p.identified || holds(a, via.value) {
		return false
	}
	e.forgetKey(p, via.key)
	p.retry = true
	return true
}

// refusedPrefix starts the parked reason of a booking whose account may not be credited now;
// such bookings are retried daily (see retryRefused), as the account may change.
const refusedPrefix = "the ProBonus account refuses credit: "

func blockedReason(account int64) string {
	return fmt.Sprintf("account %d is blocked", account)
}

// refusesCredit says why an account must not be credited ("" when it may): blocked, or
// outside the configured account group (staff, another hotel's guests).
func refusesCredit(a probonus.Account, group int64) string {
	switch {
	case a.Blocked:
		return blockedReason(a.ID)
	case group > 0 && a.AccountGroupID != group:
		return fmt.Sprintf("account %d is in account group %d, not probonus.account_group_id %d", a.ID, a.AccountGroupID, group)
	}
	return ""
}

// refusedRetryEvery is how often a booking parked because its account refused credit is tried
// again: unblocking an account, or moving it to the hotel's group, does not change the booking.
const refusedRetryEvery = 24 * time.Hour

// retryRefused queues the bookings parked for their account's refusal at least
// refusedRetryEvery ago.
func (e *Engine) retryRefused() error {
	var due []int64
	err := e.opt.DB.View(func(tx *state.Tx) error {
		parked, err := tx.ParkedList()
		for _, pk := range parked {
			if pk.BookingID != 0 && strings.HasPrefix(pk.Reason, refusedPrefix) && e.now().Sub(pk.Last) >= refusedRetryEvery {
				due = append(due, pk.BookingID)
			}
		}
		return err
	})
	if err != nil || len(due) == 0 {
		return err
	}
	return e.commit(func(tx *state.Tx) error {
		for _, id := range due {
			if err := e.enqueue(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// parkRefused parks a booking whose account refuses credit or a withdrawal for now.
func (e *Engine) parkRefused(p *plan, why string) {
	p.park = refusedPrefix + why
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", p.rec.AccountID).Str("why", why).
		Msg("booking parked: its ProBonus account refuses credit; retried daily and when the booking changes")
}

// trouble parks the booking when the problem is its own (permanent), or queues it for a later
// run when the problem is passing (an API down, a timeout).
func (e *Engine) trouble(p *plan, doing string, err error, permanent bool) {
	if stop := stopping(err); stop != nil {
		// Not this booking's fault: it is queued, and the run ends with the one error that
		// tells a person what to fix.
		p.refused = stop
		p.retry = true
		e.log.Debug().Int64("booking", p.b.ID).Err(err).Msgf("%s failed; the run stops", doing)
		return
	}
	if permanent {
		p.park = doing + ": " + err.Error()
		if np, ok := errors.AsType[noAccount](err); ok {
			// Not a failure of anything: the booking itself lacks what crediting needs.
			e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).
				Msgf("%s: parked; fix the guest in Bnovo, the booking is retried when it changes", np.why)
			return
		}
		e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Err(err).Msgf("booking parked: %s failed; fix the booking or the account, it is retried when the booking changes", doing)
		return
	}
	p.retry = true
	e.log.Warn().Int64("booking", p.b.ID).Err(err).Msgf("%s failed; retrying next run", doing)
}

func (e *Engine) shortfall(p *plan, amount, balance int64) {
	p.rec.Shortfall = p.rec.Stranded + amount
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", p.rec.AccountID).
		Str("bonuses_to_withdraw", formatBonuses(amount)).Str("balance", formatBonuses(balance)).
		Msg("withdrawal shortfall: the guest has already spent the bonuses; nothing was withdrawn, settle it by hand in ProBonus")
}

func (e *Engine) reasonKind(p *plan) string {
	switch {
	case p.moving:
		return "move"
	case p.op.Kind == probonus.OpWithdraw:
		return "withdraw"
	case p.rec.Posted == 0 && p.rec.Seq <= 1:
		return "first"
	default:
		return "deposit"
	}
}
