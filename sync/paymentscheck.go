package sync

import (
	"context"
	"fmt"

	"github.com/hotelsync/syncd/bnovo"
)

// A payments answer is well-formed whether it is current or stale: a caching proxy, or a Bnovo
// bug, answering [] or a list without its newest payment is believed like any other. When the
// list shrank, believing it takes something from the guest: an accrual withdrawal (spec §1) or
// a redemption's deposit back (spec §7, which takes from the hotel what the guest paid with);
// and a list that lost the refund of a bonus payment takes again what was given back. Before
// any of these, the list is checked against the total Bnovo states beside the booking itself
// (payments_total of the single-booking answer): one more Bnovo call, spent only on such
// bookings (refunds, mostly), and none when the booking came from the queue, whose fetch
// already carried the total. Spec §5: when in doubt, do not write.

// paymentsDisagree is a payments answer whose sum is not the booking's stated payments_total:
// one of the two is stale (or a payment came or went between the reads). Passing trouble.
type paymentsDisagree struct {
	listed, stated int64 // kopecks
}

func (d paymentsDisagree) Error() string {
	return fmt.Sprintf("the payments answer adds up to %s ₽ but the booking's payments_total is %s ₽ (a stale answer, or a payment made meanwhile)",
		formatRubles(d.listed), formatRubles(d.stated))
}

// confirmPayments checks p.payments against the booking's payments_total before they are
// believed for taking something away; nil means believe them. The booking is read for its total
// unless p.b carries one. A total Bnovo does not state at all cannot be checked: the payments
// are believed (as before the check existed), and that is said once per process. A total that
// is there but unreadable is not understood, and refuses like a disagreement.
func (e *Engine) confirmPayments(ctx context.Context, p *plan) error {
	if p.paymentsConfirmed {
		return nil
	}
	total := p.b.PaymentsTotal
	if !total.Shown && total.Unreadable == "" {
		b, err := e.opt.PMS.Booking(ctx, p.b.ID)
		if err != nil {
			return fmt.Errorf("reading the booking for its payments_total: %w", err)
		}
		total = b.PaymentsTotal
	}
	switch {
	case total.Unreadable != "":
		return fmt.Errorf("the payments answer cannot be checked: %s", total.Unreadable)
	case !total.Shown:
		if e.noPaymentsTotalSaid.CompareAndSwap(false, true) {
			e.log.Warn().Int64("booking", p.b.ID).
				Msg("Bnovo's booking answer carries no payments_total: a payments answer that would take bonuses away cannot be checked against it and is believed as it is (said once per process)")
		}
	default:
		if listed := paymentsSum(p.payments); listed != total.Kopecks {
			return paymentsDisagree{listed: listed, stated: total.Kopecks}
		}
	}
	p.paymentsConfirmed = true
	return nil
}

// paymentsSum is Σ in − Σ out of every payment, whatever its type: what payments_total states.
// The payments passed the client's bounds (each within bnovo.MaxAmount), so it cannot overflow.
func paymentsSum(payments []bnovo.Payment) int64 {
	var sum int64
	for _, pay := range payments {
		if pay.Type == bnovo.PaymentOut {
			sum -= pay.Amount
		} else {
			sum += pay.Amount
		}
	}
	return sum
}

// paymentsConfirmedFor is confirmPayments for the accrual: a refusal queues the booking for a
// later run, with nothing written (a refused login or an unreachable Bnovo stops the run; a stop
// before the booking's answer leaves it untouched, for the next run to list again).
func (e *Engine) paymentsConfirmedFor(ctx context.Context, p *plan, taking string) bool {
	err := e.confirmPayments(ctx, p)
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		p.untouched = true
		return false
	}
	if stopping(err) != nil {
		e.trouble(p, "reading the booking for its payments_total", err, false)
		return false
	}
	p.retry = true
	e.unconfirmed(ctx, p, taking, err)
	return false
}

// unconfirmed reports a payments answer confirmPayments refused: nothing is taken on it, and the
// booking is queued for a later run. A stop that cut the check short is no news.
func (e *Engine) unconfirmed(ctx context.Context, p *plan, taking string, err error) {
	if ctx.Err() != nil {
		return
	}
	e.log.Warn().Int64("booking", p.b.ID).Str("number", p.b.Number).Err(err).
		Msgf("the booking's payments answer is not confirmed by Bnovo: %s is not written; retrying next run", taking)
}
