package sync

import (
	"testing"

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
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 10000})
	id := h.inHouse("anna@example.ru")
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
