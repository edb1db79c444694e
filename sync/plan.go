package sync

import (
	"context"
	"errors"

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
	op       *state.Op // to journal and send; nil when nothing is to be posted
	matched  []string  // account-map keys learned while matching, to persist
	park     string    // reason, when the booking cannot be processed
	retry    bool      // transient trouble: queue the booking for a later run
	complete bool      // nothing more to do once op (if any) is posted
	created  bool      // the guest's account was created in this run
	refused  error     // an API refused syncd's credentials or is unreachable: the run stops after this page

	payments     []bnovo.Payment // the booking's payments, when planning read them
	paymentsRead bool
	redeem       *redeemPlan // the booking's redemption, when redemption is on (see redeem.go)
	// untouched: a stop came before the booking's payments answer; nothing of it is recorded
	// and the next run lists it again.
	untouched bool
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
// Bnovo's payments are read under ctx; once they are in (or for a booking that needs none),
// the rest runs under hand, which a stop does not cut short (see batch).
func (e *Engine) plan(ctx, hand context.Context, p *plan, sum *Summary) {
	b, seen := p.b, p.seen
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
		p.accrual = e.opt.Rules.Target(b, payments)
	}
	ctx = hand
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
