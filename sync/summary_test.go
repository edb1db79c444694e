package sync

import (
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
)

// A run's summary counts the shortfalls the run itself recorded: a booking planned again while
// its shortfall stands (it changed in some other way) is not a new shortfall; a larger one is.
func TestStandingShortfallIsNotReportedAgain(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.pb.SetBalance(h.record(id).AccountID, 10000) // the guest spent most of the bonuses
	h.pay(id, bnovo.PaymentOut, 500000, card)
	if sum := h.cycle(); sum.Shortfalls != 1 {
		t.Fatalf("summary %+v: want the refund's shortfall", sum)
	}

	h.pay(id, bnovo.PaymentIn, 30000, "Бонусы") // a change that earns nothing
	if sum := h.cycle(); sum.Shortfalls != 0 {
		t.Fatalf("summary %+v: the standing shortfall was reported again by a run that did not cause it", sum)
	}
	if rec := h.record(id); rec.Shortfall != 25000 {
		t.Fatalf("record %+v: the shortfall of 25000 must stand", rec)
	}

	h.pay(id, bnovo.PaymentOut, 200000, card)
	if sum := h.cycle(); sum.Shortfalls != 1 {
		t.Fatalf("summary %+v: a further refund the balance cannot cover is a shortfall of this run", sum)
	}
	if rec := h.record(id); rec.Shortfall != 35000 {
		t.Fatalf("record %+v: want a shortfall of 35000", rec)
	}
}

func TestStandingRedemptionShortfallIsNotReportedAgain(t *testing.T) {
	h := redemptionHarness(t, nil)
	_, id := h.annaInHouse(10000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	if sum := h.cycle(); sum.RedemptionShortfalls != 1 {
		t.Fatalf("summary %+v: want a redemption shortfall", sum)
	}

	h.pay(id, bnovo.PaymentIn, 500000, card) // the booking changes; the balance still falls short
	if sum := h.cycle(); sum.RedemptionShortfalls != 0 {
		t.Fatalf("summary %+v: the standing redemption shortfall was reported again", sum)
	}
	if rec := h.record(id); rec.RedeemShortfall != 30000 {
		t.Fatalf("record %+v: the redemption shortfall of 30000 must stand", rec)
	}

	h.pay(id, bnovo.PaymentIn, 10000, bonusPay)
	if sum := h.cycle(); sum.RedemptionShortfalls != 1 {
		t.Fatalf("summary %+v: a larger bonus payment the balance cannot cover is this run's shortfall", sum)
	}
}

// The summary says how many bookings a run planned once more only because their update_date is
// syncd's own write-back (each costs a payments read): the cost has a name in the run's line.
func TestSummaryCountsTheRecheckAfterOwnWriteBack(t *testing.T) {
	var h *harness
	h = newHarness(t, sameClock(&h))
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 2250000, card)
	h.tick()
	if sum := h.cycle(); sum.WriteBacks != 1 || sum.Rechecked != 0 {
		t.Fatalf("summary %+v: want one write-back and nothing rechecked", sum)
	}
	rechecked := 0
	for range 4 {
		h.tick()
		rechecked += h.cycle().Rechecked
	}
	if rechecked != 1 {
		t.Fatalf("%d rechecks after one write-back, want 1", rechecked)
	}
}

// Turning redemption on costs nothing for bookings last changed more than a day before
// redemption.since: a bonus payment that counts (or its refund, or a cancellation after one)
// would have moved update_date past since. A bonus payment recorded later is taken all the same.
func TestRedemptionSkipsBookingsLastChangedBeforeSince(t *testing.T) {
	// olderBookings lists, on a fresh state, an in-house stay and a cancelled one whose bonus
	// payment was settled by hand, both last changed twenty days ago; it answers the Bnovo and
	// ProBonus calls that first cycle made.
	olderBookings := func(h *harness) (inHouse int64, bnovoCalls, probonusCalls int) {
		h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000})
		h.pb.AddAccount(probonus.Account{FirstName: "Ольга", Email: "olga@example.ru", AccountGroupID: 1, Balance: 100000})
		resume := h.simNow()
		h.clock.Set(time.Now().AddDate(0, 0, -20))
		inHouse = h.inHouse("anna@example.ru")
		h.pay(inHouse, bnovo.PaymentIn, 500000, card)
		cancelled := h.inHouse("olga@example.ru")
		h.pay(cancelled, bnovo.PaymentIn, 30000, bonusPay)
		h.setStatus(cancelled, 2, "Отменен")
		h.clock.Set(resume)
		if sum := h.cycle(); sum.Seen < 2 {
			t.Fatalf("summary %+v: both bookings must be listed", sum)
		}
		h.wantRedeemed(cancelled, 0, 0)
		return inHouse, h.bn.Stats().Calls, h.pb.Stats().Calls
	}
	_, offBnovo, offProBonus := olderBookings(newHarness(t, nil))
	h := redemptionHarness(t, nil) // since: ten days ago
	inHouse, onBnovo, onProBonus := olderBookings(h)
	if onBnovo != offBnovo || onProBonus != offProBonus {
		t.Errorf("redemption on: %d Bnovo and %d ProBonus calls; off: %d and %d. Bookings last changed before since cost nothing more",
			onBnovo, onProBonus, offBnovo, offProBonus)
	}

	h.pay(inHouse, bnovo.PaymentIn, 20000, bonusPay)
	h.cycle()
	h.wantRedeemed(inHouse, 20000, 1)
}
