package sync

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// A caching proxy in front of ProBonus serves the guest's operations list as it stood before
// this process credited her first stay. Her second stay's deposit is committed but answered 500:
// its marker is looked for in that stale list, where it is absent. Absent from a list that lacks
// even the first stay's deposit, which the journal holds as posted there, proves nothing: taken
// for "not posted", the second stay would be credited twice.
func TestStaleOperationsListNeverSettlesAnUnclearDepositAsNotPosted(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Анна", []string{"79161234567"}, ""))
	h.pb.StaleOperations(acct, true)
	first := h.paidStay("Анна", "+79161234567", "")
	h.cycle()
	h.wantPosted(first, 50000)

	second := h.paidStay("Анна", "+79161234567", "")
	h.pb.CommitThenFail("deposit", 1)
	for range 2 {
		_, err := h.eng.Cycle(context.Background())
		if _, ops := h.posted(second); ops != 1 {
			t.Fatalf("%d operations for the second stay, want the one committed deposit", ops)
		}
		if unsettled, ok := errors.AsType[*UnsettledError](err); !ok {
			t.Fatalf("cycle: %v, want an UnsettledError naming the deposit", err)
		} else if len(unsettled.Markers) != 1 {
			t.Fatalf("unsettled %v, want the second stay's deposit", unsettled.Markers)
		}
	}

	h.pb.StaleOperations(acct, false)
	h.cycle()
	h.wantPosted(second, 50000)
	if _, ops := h.posted(second); ops != 1 {
		t.Fatalf("%d operations for the second stay once the list is fresh, want 1", ops)
	}
	if rec := h.record(second); rec.Posted != 50000 || rec.Seq != 1 {
		t.Fatalf("record %+v: want the deposit found as #1", rec)
	}
}

// A webhook announces a stay's extra payment; the payments answer is a stale copy without it
// (a caching proxy). The booking fetched from the queue states its payments_total beside it,
// at no cost: a list that disagrees is not believed, or the stay would be taken as handled at
// its new update_date and the guest would never get the bonuses the extra payment earns.
func TestQueuedBookingWithStalePaymentsIsNotTakenAsHandled(t *testing.T) {
	h := newHarness(t, nil)
	id := h.paidStay("Анна", "+79161234567", "")
	h.cycle()
	h.wantPosted(id, 50000)

	h.pay(id, bnovo.PaymentIn, 500000, card)
	h.bn.StalePayments(id, 1)
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Announce(100, id) }); err != nil {
		t.Fatal(err)
	}
	before := h.routeCalls(bookingRoute)
	sum, err := h.eng.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Retrying != 1 || h.queueLen() != 1 {
		t.Fatalf("summary %+v, queue %d: want the booking left queued while its payments disagree", sum, h.queueLen())
	}
	if n := h.routeCalls(bookingRoute) - before; n != 1 {
		t.Fatalf("%d booking reads, want only the queue's fetch", n)
	}

	h.bn.StalePayments(id, -1)
	h.cycle()
	h.wantPosted(id, 75000)
}

// The same for a bonus payment: a stay in the house announced by a webhook, its payments answer
// a stale copy without the new bonus payment. Believed, the booking would be handled with
// nothing taken.
func TestQueuedBookingWithStalePaymentsTakesTheBonusPaymentLater(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 500000, card)
	h.cycle()

	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.bn.StalePayments(id, 1)
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Announce(100, id) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.queueLen(); n != 1 {
		t.Fatalf("queue holds %d bookings, want the one whose payments disagree", n)
	}

	h.bn.StalePayments(id, -1)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.wantBalance(account, 70000)
}

// The redemption's side of a stale operations list: the guest's bonus payment was taken (#r1),
// refunded and given back (#r2) while a caching proxy kept serving the list as it stood after
// #r1. A new bonus payment is then judged against that copy, which shows #r1 only: adopted as
// "taken", it would give back part of the new payment instead of taking it. A list without an
// operation the journal holds as posted for the booking proves nothing: nothing is written on it.
func TestStaleOperationsListIsNotAdoptedOverTheJournal(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.pb.StaleOperations(account, true)
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 0, 2)

	h.pay(id, bnovo.PaymentIn, 20000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	h.wantBalance(account, 100000)

	h.pb.StaleOperations(account, false)
	h.cycle()
	h.wantRedeemed(id, 20000, 3)
	h.wantBalance(account, 80000)
}

// The accrual's side: a stay credited (#1) and partly refunded (#2) on Анна's account while a
// caching proxy kept the list as it stood after #1. The desk then puts another guest on the
// booking, and the bonuses move: the old account's list is read in full for the booking's
// operations. The stale copy shows #1 only; adopted, the move would withdraw the whole first
// credit, the refund's part a second time.
func TestStaleOperationsListIsNotAdoptedForAMove(t *testing.T) {
	h := newHarness(t, nil)
	anna := member("Анна", []string{"79161234567"}, "")
	anna.Balance = 100000
	x := h.pb.AddAccount(anna)
	y := h.pb.AddAccount(member("Борис", []string{"79167654321"}, ""))
	id := h.paidStay("Анна", "+79161234567", "")
	h.cycle()
	h.pb.StaleOperations(x, true)
	h.pay(id, bnovo.PaymentOut, 200000, card) // 8 000 ₽ paid: 400 bonuses
	h.cycle()
	h.wantOps(x, 2, 40000)

	h.setGuest(id, "Борис", "+79167654321", "")
	h.cycle()
	h.wantOps(x, 2, 40000)
	h.wantOps(y, 0, 0)

	h.pb.StaleOperations(x, false)
	h.cycle()
	h.cycle()
	h.wantOps(x, 3, 0)
	h.wantOps(y, 1, 40000)
	h.wantPosted(id, 40000)
}

// A move of a stay's bonuses to the booking's new guest, with the old account's balance read
// from a stale copy taken before the stay was credited (a caching proxy): seen short, the
// withdrawal would be taken for spent, the bonuses stranded on the old account and deposited to
// the new one all the same: credited twice. Only ProBonus refusing the withdrawal proves a
// move's shortfall, as a deposit elsewhere follows it.
func TestMoveDoesNotTrustAShortBalanceRead(t *testing.T) {
	h := newHarness(t, nil)
	x := h.pb.AddAccount(member("Олег", []string{"79166666666"}, ""))
	y := h.pb.AddAccount(member("Ирина", []string{"79167777777"}, ""))
	id := h.paidStay("Олег", "+79166666666", "")
	h.cycle()
	h.pb.ReportBalanceAbove(x, -50000) // the balance as it was before the credit

	h.setGuest(id, "Ирина", "+79167777777", "")
	h.cycle()
	h.wantOps(x, 2, 0)
	h.wantOps(y, 1, 50000)
	if rec := h.record(id); rec.AccountID != y || rec.Posted != 50000 || rec.Shortfall != 0 || rec.Stranded != 0 {
		t.Fatalf("record %+v: want the bonuses moved to account %d, no shortfall", rec, y)
	}
}

// The same stale list, the guest's first stay credited two days before the second: an
// operation that old still proves a list fresh when the search for the marker reads the whole
// list (a guest with a short history), not only when it was posted within the last hours.
func TestStaleOperationsListNeverSettlesAfterAnOlderCredit(t *testing.T) {
	var behind atomic.Int64
	h := newHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(-time.Duration(behind.Load())) }
	})
	acct := h.pb.AddAccount(member("Анна", []string{"79161234567"}, ""))
	h.pb.StaleOperations(acct, true)
	first := h.paidStay("Анна", "+79161234567", "")
	b, _ := h.bn.Booking(first) // departed four days ago, credited two days ago
	b.Arrival, b.Departure, b.UpdateDate = b.Arrival.AddDate(0, 0, -3), b.Departure.AddDate(0, 0, -3), time.Time{}
	h.bn.PutBooking(b)
	behind.Store(int64(48 * time.Hour))
	h.cycle()
	h.wantPosted(first, 50000)
	behind.Store(0)

	second := h.paidStay("Анна", "+79161234567", "")
	h.pb.CommitThenFail("deposit", 1)
	if _, err := h.eng.Cycle(context.Background()); err == nil {
		t.Fatal("cycle: no error, want the deposit left unsettled")
	}
	if _, ops := h.posted(second); ops != 1 {
		t.Fatalf("%d operations for the second stay, want the one committed deposit", ops)
	}
	h.pb.StaleOperations(acct, false)
	h.cycle()
	h.wantPosted(second, 50000)
	if _, ops := h.posted(second); ops != 1 {
		t.Fatalf("%d operations for the second stay once the list is fresh, want 1", ops)
	}
}
