package sync

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
)

// A stale payments answer (a caching proxy, a Bnovo bug) is well-formed: only the booking's own
// payments_total tells it apart from a refund. These tests run the simulator's StalePayments.

func TestStaleEmptyPaymentsOnACreditedStayWithdrawNothing(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.wantPosted(id, 50000)
	if n := h.routeCalls(bookingRoute); n != 0 {
		t.Fatalf("crediting a stay read the booking %d times: only taking bonuses away is checked", n)
	}

	h.pay(id, bnovo.PaymentIn, 10000, card) // the booking changes: its payments are read again
	h.bn.StalePayments(id, 0)               // ... and answered as [], payments_total still 10 100 ₽
	for range 2 {
		sum := h.cycle()
		h.wantPosted(id, 50000)
		if sum.Withdrawals != 0 || sum.Retrying == 0 {
			t.Fatalf("summary %+v: want nothing withdrawn and the booking retrying", sum)
		}
		if n := h.queueLen(); n != 1 {
			t.Fatalf("queue holds %d bookings, want the stale one (retried, not parked)", n)
		}
		h.wantNothingParked()
	}

	h.bn.StalePayments(id, -1) // the answer is current again
	h.cycle()
	h.wantPosted(id, 50500) // 5 % of 10 100 ₽
	if n := h.queueLen(); n != 0 {
		t.Fatalf("queue holds %d bookings after the answer came right", n)
	}
}

func TestStalePaymentsWithoutTheNewestPaymentWithdrawNothing(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pay(id, bnovo.PaymentIn, 500000, "Наличные")
	h.cycle()
	h.wantPosted(id, 75000)

	h.setStatus(id, 5, "Выехал") // an edit: the booking is read again
	h.bn.StalePayments(id, 1)    // the cash payment left out
	sum := h.cycle()
	h.wantPosted(id, 75000)
	if sum.Withdrawals != 0 || h.queueLen() != 1 {
		t.Fatalf("summary %+v, queue %d: want nothing withdrawn and the booking queued", sum, h.queueLen())
	}
}

// Two faults at once: a state restored from a backup that did not know the stay credited, and
// a stale empty payments answer. The credit is found by marker (see creditedBefore) and would be
// withdrawn on the empty list; the check comes after that adoption too.
func TestRestoredBackupAndStaleEmptyPaymentsWithdrawNothing(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Ева", []string{"79161010103"}, ""))
	h.cycle()
	backup := h.backup()
	id := h.paidStay("Ева", "+79161010103", "")
	h.cycle()
	h.wantOps(acct, 1, 50000)

	h.restore(backup)
	h.setGuest(id, "Ева", "+79161010103", "")
	h.bn.StalePayments(id, 0)
	h.cycle()
	h.wantOps(acct, 1, 50000)
	if n := h.queueLen(); n != 1 {
		t.Fatalf("queue holds %d bookings, want the stale one", n)
	}
	h.bn.StalePayments(id, -1)
	h.cycle()
	h.wantOps(acct, 1, 50000)
	if rec := h.record(id); rec.Posted != 50000 || rec.Seq != 1 {
		t.Fatalf("record %+v: want #1 adopted and nothing more", rec)
	}
}

func TestRealRefundIsWithdrawnOnceTheTotalAgrees(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pay(id, bnovo.PaymentIn, 200000, "Бонусы") // excluded from the accrual, not from the total
	h.cycle()
	h.wantPosted(id, 50000)

	h.pay(id, bnovo.PaymentOut, 200000, card)
	sum := h.cycle()
	h.wantPosted(id, 40000)
	if sum.Withdrawals != 1 || h.queueLen() != 0 {
		t.Fatalf("summary %+v, queue %d: want the refund withdrawn at once", sum, h.queueLen())
	}
	if n := h.routeCalls(bookingRoute); n != 1 {
		t.Fatalf("the refund read the booking %d times, want 1 (its payments_total)", n)
	}
}

func TestRefundIsWithdrawnWhenBnovoStatesNoPaymentsTotal(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, func(o *Options) { o.Logger = zerolog.New(zerolog.SyncWriter(&logs)).Level(zerolog.WarnLevel) })
	h.bn.OmitPaymentsTotal(true)
	var ids []int64
	for _, phone := range []string{"+79161234567", "+79162345678"} {
		id := h.checkedOut(phone, "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		ids = append(ids, id)
	}
	h.cycle()
	for _, id := range ids {
		h.pay(id, bnovo.PaymentOut, 200000, card)
	}
	h.cycle()
	for _, id := range ids {
		h.wantPosted(id, 40000)
	}
	if n := strings.Count(logs.String(), "carries no payments_total"); n != 1 {
		t.Fatalf("the missing payments_total was said %d times, want once per process:\n%s", n, logs.String())
	}
}

func TestStalePaymentsWithoutTheBonusPaymentGiveNothingBack(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 500000, card)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.pay(id, bnovo.PaymentIn, 10000, card)
	h.bn.StalePayments(id, 1) // the bonus payment (and the new one) left out
	sum := h.cycle()
	h.wantRedeemed(id, 30000, 1)
	if got := h.balance(account); got != 70000 || sum.RedemptionReturns != 0 || h.queueLen() != 1 {
		t.Fatalf("balance %d, summary %+v, queue %d: want nothing given back and the booking queued", got, sum, h.queueLen())
	}
	h.wantNothingParked()

	h.bn.StalePayments(id, -1)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	// A real refund of the bonus payment: payments_total agrees, the bonuses go back.
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	sum = h.cycle()
	h.wantRedeemed(id, 0, 2)
	if got := h.balance(account); got != 100000 || sum.RedemptionReturns != 1 {
		t.Fatalf("balance %d, summary %+v: want the refunded bonuses given back", got, sum)
	}
}

// The other way round for redemption: a stale list that lost the refund of a bonus payment would
// take again from the guest what was given back.
func TestStalePaymentsWithoutABonusRefundTakeNothingAgain(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 500000, card)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 0, 2)

	h.pay(id, bnovo.PaymentIn, 10000, card)
	h.bn.StalePayments(id, 2) // the refund (and the new payment) left out
	sum := h.cycle()
	h.wantRedeemed(id, 0, 2)
	if got := h.balance(account); got != 100000 || sum.Redemptions != 0 || h.queueLen() != 1 {
		t.Fatalf("balance %d, summary %+v, queue %d: want nothing taken again and the booking queued", got, sum, h.queueLen())
	}

	// A real second bonus payment is taken, the check agreeing.
	h.bn.StalePayments(id, -1)
	h.pay(id, bnovo.PaymentIn, 20000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 20000, 3)
	if got := h.balance(account); got != 80000 {
		t.Fatalf("balance %d, want 80000 after the second bonus payment", got)
	}
}

// stopAtBookingRead is a Bnovo whose single-booking read comes just as the run is told to stop.
type stopAtBookingRead struct {
	PMS
	stop context.CancelFunc
}

func (s stopAtBookingRead) Booking(ctx context.Context, id int64) (bnovo.Booking, error) {
	s.stop()
	return s.PMS.Booking(ctx, id)
}

// A stop that cuts the check short writes nothing and says nothing of a disagreement; the
// booking is planned again by the next run, which withdraws the real refund.
func TestStopDuringThePaymentsCheckWritesNothing(t *testing.T) {
	var logs bytes.Buffer
	ctx, stop := context.WithCancel(context.Background())
	stopping := true
	h := newHarness(t, func(o *Options) {
		o.Logger = zerolog.New(zerolog.SyncWriter(&logs)).Level(zerolog.WarnLevel)
		o.PMS = stopAtBookingRead{PMS: o.PMS, stop: func() {
			if stopping {
				stop()
			}
		}}
	})
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.pay(id, bnovo.PaymentOut, 200000, card)
	_, _ = h.eng.Cycle(ctx) // stopped: its error says so
	h.wantPosted(id, 50000)
	if strings.Contains(logs.String(), "not confirmed") {
		t.Fatalf("a stop was reported as a disagreement:\n%s", logs.String())
	}
	stopping = false
	h.cycle()
	h.wantPosted(id, 40000)
}
