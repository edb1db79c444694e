package sync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// plan is what one booking needs, decided before anything is written.
type plan struct {
	b        bnovo.Booking
	rec      state.Booking
	seen     bool  // the state had a record of the booking
	guest    guest // the customer's contacts, normalised once
	accrual  Accrual
	op       *state.Op         // to journal and send; nil when nothing is to be posted
	matched  []string          // account-map keys learned while matching, to persist
	park     string            // reason, when the booking cannot be processed
	retry    bool              // transient trouble: queue the booking for a later run
	complete bool              // nothing more to do once op (if any) is posted
	created  bool              // the guest's account was created in this run
	refused  *CredentialsError // an API refused syncd's credentials: the run stops after this page
}

// batch processes a page of bookings with two commits at most: one that journals every
// operation before any is sent, and one that records their outcomes. before runs first in the
// first transaction and final last in the last one (cursor positions, queue removals).
func (e *Engine) batch(ctx context.Context, bookings []bnovo.Booking, parks []state.Parked,
	before, final func(*state.Tx) error, sum *Summary) error {
	sum.Parked += len(parks)
	if !e.opt.DryRun {
		// Matches of earlier pages were committed with their page's journal: knownAccount
		// finds them in the state, and the cache stays one page small however long the run.
		e.accounts = make(map[string]int64)
	}
	recs, held, err := e.loadRecords(bookings)
	if err != nil {
		return err
	}

	plans := make([]*plan, 0, len(bookings))
	var toPlan []*plan
	for _, b := range bookings {
		sum.Seen++
		if held[b.ID] {
			// An unclear operation of this booking must be settled before anything else is
			// posted for it; it is queued and comes back once that is done.
			plans = append(plans, &plan{b: b, rec: recs[b.ID], retry: true})
			continue
		}
		rec, seen := recs[b.ID]
		if done, ok := e.handled[b.ID]; (ok && done.Equal(b.UpdateDate)) || (seen && rec.UpdateDate.Equal(b.UpdateDate)) {
			sum.Unchanged++
			continue
		}
		p := newPlan(b, rec, seen)
		plans = append(plans, p)
		toPlan = append(toPlan, p)
	}
	groups, err := e.guestGroups(toPlan)
	if err != nil {
		return err
	}
	// Each group is planned in page order by one worker; groups share no guest and no known
	// account, so they may run at once (see guestGroups).
	var sumMu sync.Mutex
	e.forEachGroup(groups, func(group []*plan) {
		var s Summary
		for _, p := range group {
			if ctx.Err() != nil {
				break
			}
			e.plan(ctx, p, &s)
		}
		sumMu.Lock()
		sum.add(s)
		sumMu.Unlock()
	})
	if err := ctx.Err(); err != nil {
		return err // nothing of this page was written; it is listed again next run
	}

	withOps := 0
	for _, p := range plans {
		if p.op != nil {
			withOps++
		}
	}
	// Journal every operation (and finish every booking that needs none) before sending.
	err = e.commit(func(tx *state.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		for _, pk := range parks {
			if err := tx.Park(pk); err != nil {
				return err
			}
		}
		now := e.now()
		for _, p := range plans {
			for _, key := range p.matched {
				if err := tx.SetAccount(key, p.rec.AccountID); err != nil {
					return err
				}
			}
			if p.op == nil {
				if err := e.finish(tx, p, sum); err != nil {
					return err
				}
				continue
			}
			p.rec.Seq++
			p.op.BookingID = p.b.ID
			p.op.Seq = p.rec.Seq
			p.op.Reason = reasonText(e.reasonKind(p), p.b.Number, Marker(p.b.ID, p.op.Seq), p.accrual)
			p.op.State = state.OpIntended
			p.op.IntendedAt = now
			if err := tx.PutOp(*p.op); err != nil {
				return err
			}
			if err := tx.PutBooking(p.rec); err != nil {
				return err
			}
		}
		if withOps == 0 && final != nil {
			return final(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journaling a page: %w", err)
	}
	if withOps == 0 {
		if err := refusal(plans); err != nil {
			return err
		}
		e.writeBacks(ctx, plans, sum)
		return nil
	}

	// Sent group by group as planned: one account's operations go out one after another, in
	// page order (a refund's withdrawal after the deposit it corrects).
	var interrupted atomic.Bool
	e.forEachGroup(withOpsOnly(groups), func(group []*plan) {
		for _, p := range group {
			if ctx.Err() != nil {
				// Shutting down: what was not sent yet is surely not posted.
				interrupted.Store(true)
				p.retry = true
				p.op.State = state.OpFailed
				p.op.Err = "not sent: shutting down"
				p.op.ResolvedAt = e.now()
				continue
			}
			e.send(ctx, p)
		}
	})

	err = e.commit(func(tx *state.Tx) error {
		for _, p := range plans {
			if p.op == nil {
				continue
			}
			if err := tx.PutOp(*p.op); err != nil {
				return err
			}
			if err := e.recordOutcome(tx, p, sum); err != nil {
				return err
			}
		}
		if final != nil && !interrupted.Load() {
			return final(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording a page's operations: %w", err)
	}
	if err := refusal(plans); err != nil {
		return err
	}
	e.writeBacks(ctx, plans, sum)
	if interrupted.Load() {
		return ctx.Err()
	}
	return nil
}

func (e *Engine) loadRecords(bookings []bnovo.Booking) (map[int64]state.Booking, map[int64]bool, error) {
	recs := make(map[int64]state.Booking, len(bookings))
	held := make(map[int64]bool)
	err := e.opt.DB.View(func(tx *state.Tx) error {
		open, err := tx.OpenOps()
		if err != nil {
			return err
		}
		for _, op := range open {
			held[op.BookingID] = true
		}
		for _, b := range bookings {
			rec, ok, err := tx.Booking(b.ID)
			if err != nil {
				return fmt.Errorf("booking %d: %w", b.ID, err)
			}
			if ok {
				recs[b.ID] = rec
			}
		}
		return nil
	})
	return recs, held, err
}

// newPlan starts the plan of a changed booking from its state record (seen) or afresh.
func newPlan(b bnovo.Booking, rec state.Booking, seen bool) *plan {
	p := &plan{b: b, rec: rec, seen: seen, guest: guestOf(b.Customer)}
	if !seen {
		p.rec = state.Booking{ID: b.ID}
	}
	p.rec.Number = b.Number
	if b.Customer != nil {
		p.rec.GuestID = b.Customer.ID
	}
	return p
}

// plan decides what a changed booking needs. It may read both APIs (payments, account
// lookups, a balance) and create a ProBonus account, but posts no operation. Plans of one
// guest group run one after another (see guestGroups); others may run at the same time.
func (e *Engine) plan(ctx context.Context, p *plan, sum *Summary) {
	b, seen := p.b, p.seen
	p.accrual = Accrual{Percent: e.opt.Rules.PercentFor(b)}
	if e.opt.Rules.Earns(b) {
		sum.Earning++
		payments, err := e.opt.PMS.Payments(ctx, b.ID)
		if err != nil {
			e.trouble(p, "reading the booking's payments", err, bnovo.KindOf(err) == bnovo.Permanent)
			return
		}
		p.accrual = e.opt.Rules.Target(b, payments)
	}
	need := p.accrual.Target - p.rec.Posted
	switch {
	case need == 0:
		p.rec.Shortfall = 0
		p.complete = true
	case need > 0:
		account := p.rec.AccountID
		if account == 0 {
			var err error
			account, err = e.match(ctx, b.Customer, p.guest, p, sum)
			if err != nil {
				var np noAccount
				e.trouble(p, "matching the guest to a ProBonus account", err, errors.As(err, &np) || probonus.KindOf(err) == probonus.Permanent)
				return
			}
			p.rec.AccountID = account
			if !seen && !p.created {
				// A booking new to the state may still have operations in ProBonus: the state
				// file was restored from an older backup, or lost. Adopt them, never re-credit.
				if err := e.adopt(ctx, p); err != nil {
					e.trouble(p, "reading the account's operations", err, probonus.KindOf(err) == probonus.Permanent)
					return
				}
				need = p.accrual.Target - p.rec.Posted
				if need <= 0 {
					if need < 0 {
						// Over-credited by operations the state did not know: plan again with the
						// adopted total, which leads to the usual withdrawal or shortfall.
						p.retry = true
					}
					p.complete = need == 0
					return
				}
			}
		}
		p.op = &state.Op{AccountID: account, Kind: probonus.OpDeposit, Sum: need}
		p.complete = true
	case p.rec.Shortfall > 0:
		// A shortfall is left to staff: syncd does not keep trying to take bonuses back.
		p.rec.Shortfall = -need
		p.complete = true
	default:
		account, err := e.opt.Ledger.Account(ctx, p.rec.AccountID)
		if err != nil {
			e.trouble(p, "reading the account's balance", err, probonus.KindOf(err) == probonus.Permanent)
			return
		}
		if account.Balance < -need {
			e.shortfall(p, -need, account.Balance)
			p.complete = true
			return
		}
		p.op = &state.Op{AccountID: p.rec.AccountID, Kind: probonus.OpWithdraw, Sum: -need}
		p.complete = true
	}
}

// trouble parks the booking when the problem is its own (permanent), or queues it for a later
// run when the problem is passing (an API down, a timeout).
func (e *Engine) trouble(p *plan, doing string, err error, permanent bool) {
	if ce := refusedCredentials(err); ce != nil {
		// Not this booking's fault: it is queued, and the run ends with the one error that
		// tells a person what to fix.
		p.refused = ce
		p.retry = true
		e.log.Debug().Int64("booking", p.b.ID).Err(err).Msgf("%s failed: credentials refused", doing)
		return
	}
	if permanent {
		p.park = doing + ": " + err.Error()
		e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Err(err).Msgf("booking parked: %s failed; fix the booking or the account, it is retried when the booking changes", doing)
		return
	}
	p.retry = true
	e.log.Warn().Int64("booking", p.b.ID).Err(err).Msgf("%s failed; retrying next run", doing)
}

func (e *Engine) shortfall(p *plan, amount, balance int64) {
	p.rec.Shortfall = amount
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", p.rec.AccountID).
		Str("bonuses_to_withdraw", formatBonuses(amount)).Str("balance", formatBonuses(balance)).
		Msg("withdrawal shortfall: the guest has already spent the bonuses; nothing was withdrawn, settle it by hand in ProBonus")
}

func (e *Engine) reasonKind(p *plan) string {
	switch {
	case p.op.Kind == probonus.OpWithdraw:
		return "withdraw"
	case p.rec.Posted == 0 && p.rec.Seq <= 1:
		return "first"
	default:
		return "deposit"
	}
}

// send posts one journaled operation and notes its outcome in p.op. The request is not
// cancelled by a shutdown: the in-flight operation finishes (the client's timeout bounds it).
func (e *Engine) send(ctx context.Context, p *plan) {
	op := p.op
	op.SentAt = e.now()
	post := e.opt.Ledger.Deposit
	if op.Kind == probonus.OpWithdraw {
		post = e.opt.Ledger.Withdraw
	}
	res, err := post(context.WithoutCancel(ctx), op.AccountID, op.Sum, op.Reason)
	marker := Marker(op.BookingID, op.Seq)
	switch {
	case err == nil:
		op.State = state.OpPosted
		op.OperationID = res.ID
		op.Balance = res.Balance
		op.ResolvedAt = e.now()
	case probonus.IsOutcomeUnknown(err):
		op.State = state.OpUnknown
		op.Err = err.Error()
		p.retry = true
		e.log.Warn().Str("marker", marker).Err(err).Msg("operation outcome unclear; it will be looked up in the account's operations, never sent blindly again")
	default:
		op.State = state.OpFailed
		op.Err = err.Error()
		op.ResolvedAt = e.now()
		var pe *probonus.Error
		switch {
		case op.Kind == probonus.OpWithdraw && errors.As(err, &pe) && pe.Status == 400:
			e.shortfall(p, op.Sum, -1)
		case probonus.KindOf(err) == probonus.Permanent:
			e.trouble(p, "posting "+op.Kind+" "+marker, err, true)
		default:
			e.trouble(p, "posting "+op.Kind+" "+marker, err, false)
		}
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
			p.rec.Shortfall = 0
			sum.Deposits++
			sum.Credited += op.Sum
		}
		e.log.Info().Int64("booking", p.b.ID).Str("number", p.b.Number).Int64("account", op.AccountID).
			Str("op", op.Kind).Str("bonuses", formatBonuses(op.Sum)).Str("marker", Marker(op.BookingID, op.Seq)).Msg("operation posted")
	} else if op.State != state.OpFailed || p.park != "" || p.retry {
		p.complete = false
	}
	return e.finish(tx, p, sum)
}

// finish stores a booking's outcome: done (its update_date is remembered so an unchanged
// booking costs nothing next time), parked, or queued for a retry.
func (e *Engine) finish(tx *state.Tx, p *plan, sum *Summary) error {
	key := state.ParkKeyBooking(p.b.ID)
	switch {
	case p.park != "":
		// Parked until the booking changes: the same data would fail the same way.
		sum.Parked++
		e.done(p)
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return tx.Park(state.Parked{Key: key, BookingID: p.b.ID, Reason: p.park})
	case p.retry || !p.complete:
		sum.Retrying++
		if err := tx.PutBooking(p.rec); err != nil {
			return err
		}
		return e.enqueue(tx, p.b.ID)
	}
	if p.rec.Shortfall > 0 && (p.op == nil || p.op.State != state.OpPosted) {
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
	if !p.rec.UpdateDate.Equal(p.b.UpdateDate) || e.opt.DryRun {
		e.handled[p.b.ID] = p.b.UpdateDate
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
