package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// send posts one journaled operation and notes its outcome in p.op.
func (e *Engine) send(ctx context.Context, p *plan) {
	op := p.op
	err := e.post(ctx, op)
	if err == nil || op.State == state.OpUnknown {
		p.retry = p.retry || op.State == state.OpUnknown
		return
	}
	marker := opMarker(*op)
	var pe *probonus.Error
	switch {
	case probonus.IsNotFound(err):
		// Deleted or merged since it was matched: nothing was posted; the guest is looked up
		// again when the booking is planned anew.
		e.forget(p, op.AccountID)
		if p.rec.Posted == 0 {
			p.rec.AccountID = 0
		}
		p.retry = true
	case errors.As(err, &pe) && pe.Status == 400:
		e.refusedOperation(ctx, p, err)
	case probonus.KindOf(err) == probonus.Permanent:
		e.trouble(p, "posting "+op.Kind+" "+marker, err, true)
	default:
		e.trouble(p, "posting "+op.Kind+" "+marker, err, false)
	}
}

// post sends one journaled operation and records in op whether it is posted, unknown (never
// sent blindly again: it is looked up by its marker) or failed; the error is the failure's.
// The request is not cancelled by a shutdown: the in-flight operation finishes (the client's
// timeout bounds it).
func (e *Engine) post(ctx context.Context, op *state.Op) error {
	op.SentAt = e.now()
	e.markSent(*op)
	post := e.opt.Ledger.Deposit
	if op.Kind == probonus.OpWithdraw {
		post = e.opt.Ledger.Withdraw
	}
	res, err := post(context.WithoutCancel(ctx), op.AccountID, op.Sum, op.Reason)
	if err == nil && res.Reason != "" && !HasMarker(res.Reason, opMarker(*op)) {
		// The client checked account, sum and kind; the reason names another operation (a
		// proxy replaying a stored answer): whether this one executed is not known.
		err = fmt.Errorf("probonus answered with operation %d, whose reason does not carry %s: %w", res.ID, opMarker(*op), probonus.ErrUnexpectedAnswer)
		op.State = state.OpUnknown
		op.Err = err.Error()
		e.log.Warn().Str("marker", opMarker(*op)).Err(err).Msg("operation outcome unclear; it will be looked up in the account's operations, never sent blindly again")
		return err
	}
	switch {
	case err == nil:
		op.State = state.OpPosted
		op.OperationID = res.ID
		op.Balance = res.Balance
		op.ResolvedAt = e.now()
	case probonus.IsOutcomeUnknown(err):
		op.State = state.OpUnknown
		op.Err = err.Error()
		e.log.Warn().Str("marker", opMarker(*op)).Err(err).Msg("operation outcome unclear; it will be looked up in the account's operations, never sent blindly again")
	default:
		op.State = state.OpFailed
		op.Err = err.Error()
		op.ResolvedAt = e.now()
	}
	return err
}

// refusedOperation works out why ProBonus answered 400 to an operation, from the account
// itself: a 400 says nothing certain. Only a balance seen short makes a withdrawal's shortfall;
// a blocked account is parked to be retried (its bonuses are not spent); anything else is tried
// again later.
func (e *Engine) refusedOperation(ctx context.Context, p *plan, err error) {
	op := p.op
	doing := "posting " + op.Kind + " " + Marker(op.BookingID, op.Seq)
	a, readErr := e.opt.Ledger.Account(ctx, op.AccountID)
	switch {
	case readErr != nil:
		e.trouble(p, doing, fmt.Errorf("%w (reading the account to learn why: %v)", err, readErr), false)
	case op.Kind == probonus.OpDeposit && refusesCredit(a, e.opt.AccountGroupID) != "":
		e.parkRefused(p, refusesCredit(a, e.opt.AccountGroupID))
	case a.Blocked:
		e.parkRefused(p, blockedReason(a.ID))
	case op.Kind == probonus.OpWithdraw && a.Balance < op.Sum:
		e.shortfall(p, op.Sum, a.Balance)
		if p.moving {
			p.rec.Stranded += op.Sum
			p.rec.Posted -= op.Sum
			p.complete = false // the deposit to the new account follows
		}
	case op.Kind == probonus.OpDeposit:
		e.trouble(p, doing, err, true)
	default:
		e.trouble(p, doing, err, false)
	}
}

// recordOutcome applies a sent operation's outcome to its booking.
func (e *Engine) recordOutcome(tx *state.Tx, p *plan, sum *Summary) error {
	op := p.op
	if op.State == state.OpPosted {
		if op.Kind == probonus.OpWithdraw {
			p.rec.Posted -= op.Sum
			sum.Withdrawals++
			sum.Withdrawn += op.Sum
		} else {
			p.rec.Posted += op.Sum
			p.rec.Shortfall = p.rec.Stranded
			sum.Deposits++
			sum.Credited += op.Sum
		}
		e.log.Info().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", op.AccountID).
			Str("op", op.Kind).Str("bonuses", formatBonuses(op.Sum)).Str("marker", Marker(op.BookingID, op.Seq)).Msg("operation posted")
	} else if op.State != state.OpFailed || p.park != "" || p.retry {
		p.complete = false
	}
	if err := e.persistMatches(tx, p); err != nil {
		return err
	}
	return e.finish(tx, p, sum)
}

// persistMatches stores what matching learned (keys against the account ProBonus returned for
// them) and drops accounts ProBonus no longer has, in that order.
func (e *Engine) persistMatches(tx *state.Tx, p *plan) error {
	for _, m := range p.matched {
		if err := tx.SetAccount(m.key, m.account); err != nil {
			return err
		}
	}
	for _, id := range p.forgotten {
		if _, err := tx.ForgetAccount(id); err != nil {
			return err
		}
	}
	for _, key := range p.forgottenKeys {
		if err := tx.ForgetKey(key); err != nil {
			return err
		}
	}
	return nil
}

// finish stores a booking's outcome: done (its update_date is remembered so an unchanged
// booking costs nothing next time), parked, or queued for a retry.
func (e *Engine) finish(tx *state.Tx, p *plan, sum *Summary) error {
	key := state.ParkKeyBooking(p.b.ID)
	switch {
	case p.park != "":
		// Parked until the booking changes: the same data would fail the same way. A refusal
		// by the account is retried daily too, so its update_date is not taken as handled.
		sum.Parked++
		if !strings.HasPrefix(p.park, refusedPrefix) {
			e.done(p)
		}
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return tx.Park(state.Parked{Key: key, BookingID: p.b.ID, Reason: p.park, Last: e.now()})
	case p.retry || !p.complete:
		sum.Retrying++
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return e.enqueue(tx, p.b.ID)
	}
	if p.rec.Shortfall > p.standing && (p.op == nil || p.op.State != state.OpPosted) {
		sum.Shortfalls++
	}
	e.done(p)
	p.rec.Target = p.accrual.Target
	if err := tx.PutBooking(p.rec); err != nil {
		return err
	}
	return tx.Unpark(key)
}

// done remembers the update_date a finished booking had, so that it is planned once per run
// even when listed twice (changed, and checked out): in its record when old enough to be
// trusted for later runs too, else (and in a dry run, which stores no record) in e.handled.
// The record is enough when it holds the date, so e.handled does not grow with every booking
// of a long backfill.
func (e *Engine) done(p *plan) {
	p.rec.UpdateDate = e.trusted(p.b.UpdateDate)
	if e.ownWriteMark(p.rec, p.b.UpdateDate) {
		// Planned after syncd's own write, on reads made after it: what the write's mark hid
		// is known now, and the mark, however young, means unchanged from here on.
		p.rec.UpdateDate = p.b.UpdateDate
	}
	if !p.rec.UpdateDate.Equal(p.b.UpdateDate) || e.opt.DryRun {
		e.handled[p.b.ID] = p.b.UpdateDate
		e.rememberRead(p.b)
	}
}

// trusted is the update_date to remember for a finished booking: the booking's own when it is
// old enough to be trusted (see Options.UpdateDateTrust), else none, so the booking is
// planned again the next time it is listed.
func (e *Engine) trusted(updated time.Time) time.Time {
	if e.now().Sub(updated) < e.opt.UpdateDateTrust {
		return time.Time{}
	}
	return updated
}
