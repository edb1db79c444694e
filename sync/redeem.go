package sync

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// Redemption are the rules for paying with bonuses (spec §7): a payment of one of PaymentTypes
// recorded in Bnovo on or after Since is taken off the guest's ProBonus account.
type Redemption struct {
	Enabled      bool
	Since        time.Time // 00:00 of the first day, in the hotel's zone, whose bonus payments count
	PaymentTypes []string  // payment_type.name values that mean "paid with bonuses"
	BonusValue   int64     // kopecks one bonus pays for; 0 means 100 (one ruble)
}

// cancelledStatus is the status name Bnovo gives a cancelled booking.
const cancelledStatus = "Отменен"

func cancelled(b bnovo.Booking) bool {
	return b.StatusName == cancelledStatus || !b.CancelDate.IsZero()
}

// ToTake is how many kopecks of ProBonus balance a booking's bonus payments take: 0 for a
// cancelled booking (its bonus payments go back to the guest), else floor(paid × 100 / value)
// where paid is Σ in − Σ out of its bonus payments created on or after Since, never below 0.
func (r Redemption) ToTake(b bnovo.Booking, payments []bnovo.Payment) (int64, error) {
	if cancelled(b) {
		return 0, nil
	}
	var paid int64
	for _, p := range payments {
		if !slices.Contains(r.PaymentTypes, p.PaymentTypeName) {
			continue
		}
		if p.CreateDate.IsZero() {
			// Without it there is no telling whether the desk settled it by hand before since.
			return 0, fmt.Errorf("bonus payment %d has no create_date", p.ID)
		}
		if p.CreateDate.Before(r.Since) {
			continue
		}
		switch p.Type {
		case bnovo.PaymentIn:
			paid += p.Amount
		case bnovo.PaymentOut:
			paid -= p.Amount
		}
	}
	if paid <= 0 {
		return 0, nil
	}
	value := r.BonusValue
	if value <= 0 {
		value = 100
	}
	if paid > math.MaxInt64/100 {
		return 0, fmt.Errorf("bonus payments of %d kopecks are beyond any stay", paid)
	}
	return paid * 100 / value, nil
}

// redeemPlan is what one booking's redemption needs, decided before anything is written.
type redeemPlan struct {
	take      int64     // kopecks of balance its bonus payments take now
	op        *state.Op // to journal and send; nil when nothing is to be posted
	shortfall string    // why the withdrawal cannot be made (short balance, no account)
	park      string    // the booking's own problem (a bonus payment syncd cannot judge)
	retry     bool      // passing trouble: the booking is queued
	matched   []learned // account-map entries learned, to persist
	posted    bool      // op was posted in this run
}

// A page's redemptions (spec §7) go through the accrual's steps, with the same exactly-once
// rules: planned after the accruals (planRedemptions), journaled in the same commit before
// anything is sent (journalRedemption), sent after the booking's accrual operation
// (sendRedemption), and recorded in the same commit as the accruals' outcomes
// (recordRedemption). A crash at any point leaves either nothing or a journaled operation that
// the next run settles by its marker.

// redeemOp is the booking's redemption operation to send, if any.
func (p *plan) redeemOp() *state.Op {
	if p.redeem == nil {
		return nil
	}
	return p.redeem.op
}

// planRedemptions plans the redemption of every planned booking not queued for a retry.
// Redemptions are rare and mostly need no call beyond the payments the accrual read, so they
// are planned one after another.
func (e *Engine) planRedemptions(ctx context.Context, plans []*plan) {
	if !e.opt.Redemption.Enabled {
		return
	}
	if !e.rulesNoted {
		e.noteRedemptionRules()
	}
	today := e.day(e.now())
	for _, p := range plans {
		if ctx.Err() != nil {
			return
		}
		if p.retry || p.refused != nil {
			continue // queued for a later run as a whole
		}
		if e.notBegun(p, today) || e.lastChangedBeforeSince(p) {
			continue
		}
		p.redeem = e.planRedemption(ctx, p)
	}
}

// cursorRedemptionRules holds the redemption rules syncd last ran with: since and bonus_value.
const cursorRedemptionRules = "redemption_rules"

// noteRedemptionRules warns once per process when redemption.since or redemption.bonus_value
// differ from the last run's: every booking whose bonus payments are re-judged under the new
// rules when it next changes gets the difference withdrawn or given back, which is rarely meant.
func (e *Engine) noteRedemptionRules() {
	e.rulesNoted = true
	r := e.opt.Redemption
	rules := r.Since.Format(time.DateOnly) + " " + strconv.FormatInt(r.BonusValue, 10)
	var before string
	_ = e.opt.DB.View(func(tx *state.Tx) error {
		before, _ = tx.Cursor(cursorRedemptionRules)
		return nil
	})
	if before == rules {
		return
	}
	if before != "" {
		e.log.Warn().Str("was", before).Str("now", rules).
			Msg("redemption.since or redemption.bonus_value changed (since date, kopecks a bonus): a booking's bonus payments are judged anew when it next changes, and the difference is withdrawn or given back; set them back unless that is meant")
	}
	if err := e.commit(func(tx *state.Tx) error { return tx.SetCursor(cursorRedemptionRules, rules) }); err != nil {
		e.log.Warn().Err(err).Msg("recording the redemption rules failed")
	}
}

// cursorRedemptionOff is set by the first run with redemption off after runs with it on: the
// changed stream's cursor then (RFC 3339; empty on a fresh state), where that run's changed
// listing began. The first run with redemption on again clears it.
const cursorRedemptionOff = "redemption_off"

// noteRedemptionSwitch, once per process, keeps track of redemption switched off and on again.
// A run with it off plans a booking's changes without its redemption and records the booking's
// update_date as handled: a bonus payment refunded, or a stay cancelled, while redemption was
// off would not be given back once it is on again, until the booking changed once more. So the
// first run with it on again queues every booking with redemption history (an operation
// journaled, or a shortfall standing) that changed since redemption was switched off, to be
// judged under the rules now, as its next change would have it.
func (e *Engine) noteRedemptionSwitch() error {
	if e.switchNoted {
		return nil
	}
	e.switchNoted = true
	queued := 0
	err := e.commit(func(tx *state.Tx) error {
		off, wasOff := tx.Cursor(cursorRedemptionOff)
		if !e.opt.Redemption.Enabled {
			if _, wasOn := tx.Cursor(cursorRedemptionRules); wasOn && !wasOff {
				changed, _ := tx.Cursor(cursorChanged)
				return tx.SetCursor(cursorRedemptionOff, changed)
			}
			return nil
		}
		if !wasOff {
			return nil
		}
		var since time.Time // as far back as that run's changed listing reached
		if t, err := time.Parse(time.RFC3339Nano, off); err == nil && !t.After(e.now()) {
			// (A cursor in the future was written while the clock ran ahead: that run listed
			// the whole lookback window, so every booking with history is queued.)
			since = t.Add(-e.opt.ChangedOverlap).AddDate(0, 0, -1)
		}
		history := make(map[int64]bool)
		if err := tx.ForEachOp(func(op state.Op) error {
			if op.Redemption {
				history[op.BookingID] = true
			}
			return nil
		}); err != nil {
			return err
		}
		short, err := tx.RedeemShortfalls()
		if err != nil {
			return err
		}
		for _, b := range short {
			history[b.ID] = true
		}
		for id := range history {
			rec, ok, err := tx.Booking(id)
			if err != nil {
				return err
			}
			if !ok || (!rec.UpdateDate.IsZero() && rec.UpdateDate.Before(since)) {
				continue
			}
			// Planned again even unchanged in Bnovo.
			rec.UpdateDate = time.Time{}
			delete(e.handled, id)
			if err := tx.PutBooking(rec); err != nil {
				return err
			}
			if err := e.enqueue(tx, id); err != nil {
				return err
			}
			queued++
		}
		return tx.DeleteCursor(cursorRedemptionOff)
	})
	if err == nil && queued > 0 {
		e.log.Warn().Int("bookings", queued).
			Msg("redemption is on again: bookings with bonuses taken that changed while it was off are judged anew (a refund or cancellation meanwhile is given back)")
	}
	return err
}

// notBegun tells a booking whose stay has not begun and that has no redemption yet: its
// payments are not read for redemption (most changes of a hotel's day are edits of future
// bookings, and each read would spend Bnovo budget). A bonus paid ahead is taken when the stay
// begins: the booking changes then (checked in), and at the latest when it checks out.
func (e *Engine) notBegun(p *plan, today time.Time) bool {
	return !p.paymentsRead && !cancelled(p.b) && e.day(p.b.Arrival).After(today) &&
		p.rec.RedeemSeq == 0 && p.rec.RedeemShortfall == 0
}

// lastChangedBeforeSince tells a booking that can hold no bonus payment that counts, and has
// nothing taken for it: a bonus payment created on or after redemption.since, a refund or
// deletion of one, and a cancellation all move update_date past since, so a booking last
// changed more than a day before since (the day absorbs any skew between Bnovo's stamps) has
// nothing to take and nothing to give back. Its payments are not read for redemption nor its
// guest's account searched: turning redemption on costs nothing for the older bookings a fresh
// state's lookback window or a backfill lists.
func (e *Engine) lastChangedBeforeSince(p *plan) bool {
	return p.rec.RedeemSeq == 0 && p.rec.Redeemed == 0 && p.rec.RedeemShortfall == 0 &&
		!p.b.UpdateDate.IsZero() && p.b.UpdateDate.Before(e.opt.Redemption.Since.Add(-24*time.Hour))
}

// journalRedemption persists the accounts a redemption's lookup learned and journals its
// operation, numbered in the booking's redemption sequence.
func (e *Engine) journalRedemption(tx *state.Tx, p *plan, now time.Time) error {
	rp := p.redeem
	if rp == nil {
		return nil
	}
	for _, m := range rp.matched {
		if err := tx.SetAccount(m.key, m.account); err != nil {
			return err
		}
	}
	if rp.op == nil {
		return nil
	}
	p.rec.RedeemSeq++
	rp.op.BookingID, rp.op.Seq, rp.op.Redemption = p.b.ID, p.rec.RedeemSeq, true
	rp.op.Reason = redemptionReason(rp.op.Kind, p.b.Number, opMarker(*rp.op))
	rp.op.State, rp.op.IntendedAt = state.OpIntended, now
	if err := tx.PutOp(*rp.op); err != nil {
		return err
	}
	return tx.PutBooking(p.rec)
}

// recordRedemption applies a sent redemption's outcome and finishes the booking's redemption;
// a booking whose accrual and redemption both needed no operation was finished when journaled.
func (e *Engine) recordRedemption(tx *state.Tx, p *plan, sum *Summary) error {
	rp := p.redeem
	if rp == nil || (p.op == nil && rp.op == nil) {
		return nil
	}
	if op := rp.op; op != nil {
		if err := tx.PutOp(*op); err != nil {
			return err
		}
		if op.State == state.OpPosted {
			rp.posted = true
			if op.Kind == probonus.OpWithdraw {
				p.rec.Redeemed += op.Sum
				p.rec.RedeemAccount = op.AccountID
				sum.Redemptions++
				sum.Redeemed += op.Sum
			} else {
				p.rec.Redeemed -= op.Sum
				sum.RedemptionReturns++
				sum.Returned += op.Sum
			}
			e.log.Info().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", op.AccountID).
				Str("op", op.Kind).Str("bonuses", formatBonuses(op.Sum)).Str("marker", opMarker(*op)).Msg("redemption posted")
		}
	}
	return e.finishRedemption(tx, p, sum)
}

// planRedemption decides one booking's redemption. It reads the booking's payments (unless the
// accrual step did), and for a withdrawal the account, its operations (the booking's #r
// markers, so a lost or restored state never takes bonuses twice) and its balance; it never
// creates an account.
func (e *Engine) planRedemption(ctx context.Context, p *plan) *redeemPlan {
	rp := &redeemPlan{}
	if !cancelled(p.b) {
		if !p.paymentsRead {
			payments, err := e.opt.PMS.Payments(ctx, p.b.ID)
			if err != nil {
				if bnovo.KindOf(err) == bnovo.Permanent {
					rp.park = "reading the booking's payments for redemption: " + err.Error()
				} else {
					rp.retry = true
					e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("reading the booking's payments for redemption failed; retrying next run")
				}
				return rp
			}
			p.payments, p.paymentsRead = payments, true
		}
		if p.b.PaymentsTotal.Shown {
			// Fetched from the queue: checked at no cost (see plan), so a stale list without a
			// new bonus payment is not taken for the booking handled.
			if err := e.confirmPayments(ctx, p); err != nil {
				rp.retry = true
				e.unconfirmed(ctx, p, "the redemption", err)
				return rp
			}
		}
		take, err := e.opt.Redemption.ToTake(p.b, p.payments)
		if err != nil {
			rp.park = "redemption: " + err.Error()
			return rp
		}
		rp.take = take
	}
	held := p.rec.RedeemAccount // where what is taken now was taken from
	if held == 0 {
		held = p.rec.AccountID // a record from before RedeemAccount existed
	}
	if p.rec.Redeemed == 0 {
		held = 0
	}
	adopted := false
	if rp.take == p.rec.Redeemed && held == 0 {
		if !e.mayHaveUnknownRedemptions(p) {
			return rp // nothing taken, nothing to take: no account needed
		}
		// Nothing to take now, and the state knows of nothing taken: a state restored from an
		// older backup (or lost) may not know bonuses taken meanwhile, which a cancellation or
		// a refunded bonus payment must give back. The guest's account is searched for the
		// booking's redemption markers, as the accrual's (see creditedBefore).
		account, _, err := e.findAccount(ctx, p, rp)
		if err == nil && account != 0 {
			err = e.adoptRedemptions(ctx, p, account)
		}
		if err == nil && p.rec.Redeemed == 0 {
			// The guest's contacts may lead elsewhere than the bonuses were taken from (see
			// restored.go).
			account, err = e.adoptShownRedemptions(ctx, p, account)
		}
		switch {
		case err != nil:
			rp.retry = true
			e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("looking for redemptions a lost state did not know failed; retrying next run")
			return rp
		case p.rec.Redeemed == 0:
			return rp
		}
		held, adopted = account, true
		p.rec.RedeemAccount = account
	}
	// The account is decided anew, never created: the guest on the booking may have changed.
	account, why, err := e.findAccount(ctx, p, rp)
	switch {
	case err != nil:
		rp.retry = true
		e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("looking up the guest's account for redemption failed; retrying next run")
		return rp
	case account == 0 && held != 0 && len(p.guest.keys) > 0 && rp.take > p.rec.Redeemed:
		// The guest's own phone or e-mail names no account: they are not the holder of the
		// one the bonuses were taken from (a typo fixed), so nothing more is taken there.
		e.redemptionShortfall(p, rp, rp.take-p.rec.Redeemed, fmt.Sprintf("the guest's phone or e-mail names no ProBonus account, and account %d, from which bonuses were taken for this booking, holds neither: settle the payment with bonuses by hand", held))
		return rp
	case account == 0 && held != 0:
		// The contacts name nobody now (wiped, garbled): not a new guest, corrections stay with
		// the account the bonuses were taken from.
		account = held
	case account == 0 && rp.take < p.rec.Redeemed:
		rp.park = "redemption: bonuses were taken for this booking but the state names no account to return them to"
		return rp
	case account == 0:
		e.redemptionShortfall(p, rp, rp.take-p.rec.Redeemed, why)
		return rp
	case held != 0 && account != held && rp.take > p.rec.Redeemed:
		// Another guest now: taking more from the former guest is wrong, and from the new
		// guest while the former's stand is for staff to settle (as the accrual, which is
		// parked then: see plan).
		e.redemptionShortfall(p, rp, rp.take-p.rec.Redeemed, fmt.Sprintf("the booking's guest changed since bonuses were taken from account %d: settle the payment with bonuses by hand", held))
		return rp
	case held != 0:
		// Corrections go back where the bonuses were taken from.
		account = held
	}
	if p.rec.AccountID == 0 {
		p.rec.AccountID = account
	}
	if rp.take == p.rec.Redeemed {
		return rp // the guest is the same and nothing changed: no operations read
	}
	if !adopted {
		if err := e.adoptRedemptions(ctx, p, account); probonus.IsNotFound(err) {
			return e.redemptionAccountGone(p, rp, account, held)
		} else if err != nil {
			rp.retry = true
			e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("reading the account's operations before a redemption failed; retrying next run")
			return rp
		}
	}
	need := rp.take - p.rec.Redeemed
	switch {
	case need == 0:
		return rp
	case need < 0:
		if !cancelled(p.b) {
			// Bonus payments vanished or were refunded: confirmed before the hotel gives the
			// bonuses back (a cancellation's status is its own evidence).
			if err := e.confirmPayments(ctx, p); err != nil {
				rp.retry = true
				e.unconfirmed(ctx, p, "the deposit back of bonuses paid with", err)
				return rp
			}
		}
		rp.op = &state.Op{AccountID: account, Kind: probonus.OpDeposit, Sum: -need}
		return rp
	}
	if p.rec.RedeemSeq > 0 {
		// Taking again on a booking that had redemptions: a list that lost a refund of a bonus
		// payment (stale) would take from the guest what was given back. First redemptions are
		// not checked: nothing was given back that a stale list could hide.
		if err := e.confirmPayments(ctx, p); err != nil {
			rp.retry = true
			e.unconfirmed(ctx, p, "the withdrawal of bonuses paid with", err)
			return rp
		}
	}
	a, err := e.opt.Ledger.Account(ctx, account)
	if probonus.IsNotFound(err) {
		return e.redemptionAccountGone(p, rp, account, held)
	}
	if err != nil {
		rp.retry = true
		e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("reading the balance before a redemption failed; retrying next run")
		return rp
	}
	if via := e.answeredBy(p.guest, account); held == 0 && via.key != "" && !holds(a, via.value) {
		// The map's answer for the guest's identifier is stale (staff moved the phone or
		// e-mail to another account): the account is someone else's now. The answer is
		// dropped and the guest looked up again.
		e.forgetKey(p, via.key)
		rp.retry = true
		return rp
	}
	if reason := refusesCredit(a, e.opt.AccountGroupID); reason != "" {
		// Blocked, or another program's member (another group): not this hotel's bonuses to take.
		e.redemptionShortfall(p, rp, need, "ProBonus "+reason)
		return rp
	}
	if a.Balance < need {
		e.redemptionShortfall(p, rp, need, "the balance of "+formatBonuses(a.Balance)+" bonuses is short")
		return rp
	}
	rp.op = &state.Op{AccountID: account, Kind: probonus.OpWithdraw, Sum: need}
	return rp
}

// mayHaveUnknownRedemptions tells whether a booking the state knows nothing taken for may yet
// have redemptions in ProBonus: it has no redemption sequence, its guest has contacts, and it
// is cancelled after its stay began or has a bonus payment (taken back, or refunded, since).
// Only such bookings pay for the search of a lost state's redemptions.
func (e *Engine) mayHaveUnknownRedemptions(p *plan) bool {
	if p.rec.RedeemSeq != 0 || p.b.Customer == nil || len(p.guest.keys) == 0 {
		return false
	}
	if cancelled(p.b) {
		// Bonuses are taken once a stay has begun (see notBegun): most cancellations are of
		// stays still to come, and cost no search.
		return !e.day(p.b.Arrival).After(e.day(e.now()))
	}
	return slices.ContainsFunc(p.payments, func(pay bnovo.Payment) bool {
		return slices.Contains(e.opt.Redemption.PaymentTypes, pay.PaymentTypeName)
	})
}

// redemptionAccountGone handles a 404 for the account a redemption was to use (deleted, or
// merged into another): it is forgotten, so the guest is looked up again next run rather than
// the dead id tried (and the booking's Bnovo calls paid) every run. When bonuses were taken
// from it for this booking, what to give back or take is for staff: the booking is parked.
func (e *Engine) redemptionAccountGone(p *plan, rp *redeemPlan, account, held int64) *redeemPlan {
	e.forget(p, account)
	if account == held {
		rp.park = fmt.Sprintf("redemption: account %d, which %s bonuses were taken from for this booking, no longer exists in ProBonus (deleted or merged): settle the difference by hand",
			account, formatBonuses(p.rec.Redeemed))
		return rp
	}
	rp.retry = true
	return rp
}

// findAccount looks the guest's account up without ever creating one: why says why there is
// none (no usable contact, no account), err is passing trouble.
func (e *Engine) findAccount(ctx context.Context, p *plan, rp *redeemPlan) (id int64, why string, err error) {
	g := p.guest
	if p.b.Customer == nil || len(g.keys) == 0 {
		return 0, "the guest has no usable phone or e-mail", nil
	}
	// The same deciding order as accrual's matching (phone before e-mail, cached or not).
	id, found, err := e.find(ctx, g, func(key string, a probonus.Account) {
		e.cacheMatch(key, a.ID)
		rp.matched = append(rp.matched, learned{key, a.ID})
	})
	switch {
	case err != nil:
		return 0, "", err
	case !found:
		return 0, "the guest has no ProBonus account", nil
	}
	return id, "", nil
}

func (e *Engine) redemptionShortfall(p *plan, rp *redeemPlan, amount int64, why string) {
	rp.shortfall = why
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", p.rec.AccountID).
		Str("bonuses_to_withdraw", formatBonuses(amount)).Str("why", why).
		Msg("redemption shortfall: the booking was paid with bonuses that could not be withdrawn; nothing was withdrawn. It is tried again when the booking changes")
}

// sendRedemption posts one journaled redemption operation and classifies a failure.
func (e *Engine) sendRedemption(ctx context.Context, p *plan) {
	rp := p.redeem
	op := rp.op
	if ctx.Err() != nil {
		// Shutting down: what was not sent yet is surely not posted.
		op.State, op.Err, op.ResolvedAt = state.OpFailed, "not sent: shutting down", e.now()
		rp.retry = true
		return
	}
	err := e.post(ctx, op)
	var pe *probonus.Error
	switch {
	case err == nil:
	case op.State == state.OpUnknown:
		rp.retry = true
	case op.Kind == probonus.OpWithdraw && errors.As(err, &pe) && pe.Status == 400:
		e.redemptionShortfall(p, rp, op.Sum, "ProBonus refused the withdrawal (balance short): "+err.Error())
	case errors.As(err, &pe) && pe.Status == 400:
		// Bonuses given back refused: the account's state (blocked), not the booking's fault.
		// Tried again daily, as a refused credit is: a cancelled booking seldom changes again.
		rp.park = refusedPrefix + "giving back " + opMarker(*op) + ": " + err.Error()
	case probonus.KindOf(err) == probonus.Permanent:
		rp.park = "posting redemption " + opMarker(*op) + ": " + err.Error()
	default:
		rp.retry = true
		e.log.Warn().Int64("booking", p.b.ID).Str("marker", opMarker(*op)).Err(err).Msg("posting a redemption failed; retrying next run")
	}
}

// finishRedemption stores a booking's redemption outcome. A booking that must be tried again
// is queued and loses its remembered update_date, so it is planned again even unchanged.
func (e *Engine) finishRedemption(tx *state.Tx, p *plan, sum *Summary) error {
	rp := p.redeem
	if rp == nil {
		return nil
	}
	p.rec.RedeemTarget = rp.take
	if p.rec.Redeemed == 0 {
		p.rec.RedeemAccount = 0
	}
	switch {
	case rp.retry:
		sum.Retrying++
		p.rec.UpdateDate = time.Time{}
		delete(e.handled, p.b.ID)
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return e.enqueue(tx, p.b.ID)
	case rp.park != "":
		sum.Parked++
		if strings.HasPrefix(rp.park, refusedPrefix) {
			// Retried daily (see retryRefused): planned again then, even unchanged in Bnovo.
			p.rec.UpdateDate = time.Time{}
			delete(e.handled, p.b.ID)
			e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Str("reason", rp.park).Msg("booking parked for redemption: its ProBonus account refuses it for now; retried daily and when the booking changes")
		} else {
			e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Str("reason", rp.park).Msg("booking parked for redemption; fix it in Bnovo, it is retried when the booking changes")
		}
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return tx.Park(state.Parked{Key: state.ParkKeyBooking(p.b.ID), BookingID: p.b.ID, Reason: rp.park, Last: e.now()})
	case rp.shortfall != "":
		p.rec.RedeemShortfall = rp.take - p.rec.Redeemed
		if p.rec.RedeemShortfall > p.standingRedeem {
			sum.RedemptionShortfalls++
		}
	default:
		p.rec.RedeemShortfall = max(rp.take-p.rec.Redeemed, 0)
	}
	return tx.PutBooking(p.rec)
}

// redemptionMarkerRE finds redemption markers; the accrual pattern (markerRE) cannot match
// them, nor this one an accrual marker.
var redemptionMarkerRE = regexp.MustCompile(`bnovo:(\d+)#r(\d+)`)

// adoptRedemptions reads the account's operations for the booking's redemption markers. When
// ProBonus holds more of them than the state knows (a state lost, or restored from an older
// backup), or they net to another sum (an operation settled as not posted on an account since
// merged into this one, where it came along), they are taken as posted, so bonuses are never
// taken twice for one payment.
func (e *Engine) adoptRedemptions(ctx context.Context, p *plan, account int64) error {
	id := strconv.FormatInt(p.b.ID, 10)
	journaled, err := e.journalPosted(p.b.ID, account, true)
	if err != nil {
		return err
	}
	var redeemed int64
	seq, found := 0, 0
	var shown map[string]bool
	err = e.readOperations(ctx, account, func() { redeemed, seq, found, shown = 0, 0, 0, map[string]bool{} }, func(ops []probonus.Operation) bool {
		for _, o := range ops {
			m := redemptionMarkerRE.FindStringSubmatch(o.Reason)
			if m == nil || m[1] != id {
				continue
			}
			shown[m[0]] = true
			n, _ := strconv.Atoi(m[2])
			found++
			seq = max(seq, n)
			if o.Type == probonus.OpWithdraw {
				redeemed += o.Sum
			} else {
				redeemed -= o.Sum
			}
		}
		return true
	})
	if err == nil {
		err = missingFrom(account, journaled, shown)
	}
	if err != nil {
		return err
	}
	if found > 0 && (seq > p.rec.RedeemSeq || redeemed != p.rec.Redeemed) {
		e.log.Warn().Int64("booking", p.b.ID).Int64("account", account).Int("operations", found).
			Str("bonuses", formatBonuses(redeemed)).
			Msg("the booking already has redemptions in ProBonus that the state did not know (state restored from an older backup, or lost?): adopted, not taken again")
		p.rec.Redeemed, p.rec.RedeemSeq = redeemed, max(seq, p.rec.RedeemSeq)
		p.rec.RedeemAccount = account
	}
	return nil
}

// redemptionReason is what staff read in ProBonus for a redemption operation.
func redemptionReason(kind, number, marker string) string {
	if number == "" {
		number = "без номера"
	}
	if kind == probonus.OpWithdraw {
		return fmt.Sprintf("Оплата бонусами %s (%s)", number, marker)
	}
	return fmt.Sprintf("Возврат бонусов: оплата бонусами %s (%s)", number, marker)
}
