package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

const card = "Банковская карта"

func TestOneGuestManyPhoneFormatsIsOneAccount(t *testing.T) {
	h := newHarness(t, nil)
	forms := []string{"+7 (916) 123-45-67", "8 916 123 45 67", "89161234567", "9161234567"}
	var ids []int64
	for _, phone := range forms {
		id := h.checkedOut(phone, "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		ids = append(ids, id)
	}
	sum := h.cycle()
	if got := len(h.pb.Accounts()); got != 1 {
		t.Fatalf("%d accounts created for one guest, want 1", got)
	}
	if sum.AccountsCreated != 1 || sum.Deposits != 4 {
		t.Fatalf("summary %+v: want 1 account created and 4 deposits", sum)
	}
	acct := h.pb.Accounts()[0]
	if len(acct.Phones) != 1 || acct.Phones[0] != "79161234567" {
		t.Fatalf("account phones %v, want [79161234567]", acct.Phones)
	}
	for _, id := range ids {
		h.wantPosted(id, 50000)
	}
	if acct, _ := h.pb.Account(acct.ID); acct.Balance != 200000 {
		t.Fatalf("balance %d, want 200000", acct.Balance)
	}
}

func TestExistingAccountFoundByEmailWhenPhoneUnknown(t *testing.T) {
	h := newHarness(t, nil)
	existing := h.pb.AddAccount(probonusAccount("anna@example.ru"))
	id := h.checkedOut("+7 916 000 11 22", "  Anna@Example.RU ", "")
	h.pay(id, bnovo.PaymentIn, 2000000, card)
	h.cycle()
	if got := len(h.pb.Accounts()); got != 1 {
		t.Fatalf("%d accounts, want the existing one only", got)
	}
	if ops := h.pb.Operations(existing); len(ops) != 1 || ops[0].Sum != 100000 {
		t.Fatalf("operations on the existing account: %+v, want one deposit of 100000", ops)
	}
}

func TestCorrectionsKeepTheInvariant(t *testing.T) {
	h := newHarness(t, nil)
	refunded := h.checkedOut("+79161111111", "", "")
	h.pay(refunded, bnovo.PaymentIn, 2250000, card)
	cancelled := h.checkedOut("+79162222222", "", "")
	h.pay(cancelled, bnovo.PaymentIn, 1000000, card)
	topped := h.checkedOut("+79163333333", "", "")
	h.pay(topped, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.wantPosted(refunded, 112500)
	h.wantPosted(cancelled, 50000)
	h.wantPosted(topped, 50000)

	h.pay(refunded, bnovo.PaymentOut, 250000, card)    // partial refund: 20 000 ₽ → 1 000 bonuses
	h.setStatus(cancelled, 2, "Отменен")               // cancellation: target 0
	h.pay(topped, bnovo.PaymentIn, 500000, "Наличные") // extra payment: 15 000 ₽ → 750
	sum := h.cycle()
	h.wantPosted(refunded, 100000)
	h.wantPosted(cancelled, 0)
	h.wantPosted(topped, 75000)
	if sum.Withdrawals != 2 || sum.Deposits != 1 {
		t.Fatalf("summary %+v: want 2 withdrawals and 1 deposit", sum)
	}
	// Every operation carries its own marker, numbered per booking.
	for _, op := range h.pb.AllOperations() {
		if !strings.Contains(op.Reason, "(bnovo:") {
			t.Fatalf("reason %q has no marker", op.Reason)
		}
	}
	if _, n := h.posted(refunded); n != 2 {
		t.Fatalf("refunded booking has %d operations, want 2 (#1 deposit, #2 withdrawal)", n)
	}
	if rec := h.record(refunded); rec.Seq != 2 || rec.Posted != 100000 || rec.Target != 100000 {
		t.Fatalf("record %+v: want seq 2, posted = target = 100000", rec)
	}
}

func TestExcludedPaymentTypeAndSourcePercent(t *testing.T) {
	h := newHarness(t, nil)
	bonusPaid := h.checkedOut("+79164444444", "", "")
	h.pay(bonusPaid, bnovo.PaymentIn, 1000000, card)
	h.pay(bonusPaid, bnovo.PaymentIn, 300000, "Бонусы")
	ostrovok := h.checkedOut("+79165555555", "", "Островок!")
	h.pay(ostrovok, bnovo.PaymentIn, 1333300, card) // 7.5% of 13 333 ₽ = 999.975 → 999 bonuses
	h.cycle()
	h.wantPosted(bonusPaid, 50000)
	h.wantPosted(ostrovok, 99900)
}

func TestGuestWithoutContactIsParkedAndTheRunGoesOn(t *testing.T) {
	h := newHarness(t, nil)
	noContact := h.checkedOut("", "", "")
	h.pay(noContact, bnovo.PaymentIn, 1000000, card)
	garbage := h.checkedOut("позвоните", "not-an-email", "")
	h.pay(garbage, bnovo.PaymentIn, 1000000, card)
	nothingPaid := h.checkedOut("", "", "") // target 0: needs no account, not parked
	fine := h.checkedOut("+79166666666", "", "")
	h.pay(fine, bnovo.PaymentIn, 1000000, card)

	sum := h.cycle()
	parked := h.parked()
	for _, id := range []int64{noContact, garbage} {
		if reason, ok := parked[state.ParkKeyBooking(id)]; !ok || !(strings.Contains(reason, "phone") || strings.Contains(reason, "no customer")) {
			t.Errorf("booking %d: parked=%v reason=%q, want parked for having no phone or e-mail", id, ok, reason)
		}
	}
	if _, ok := parked[state.ParkKeyBooking(nothingPaid)]; ok {
		t.Errorf("a booking with target 0 was parked")
	}
	if sum.Parked != 2 {
		t.Errorf("summary parked = %d, want 2", sum.Parked)
	}
	h.wantPosted(fine, 50000)
}

func TestMalformedBookingParkedWhileTheRestSucceed(t *testing.T) {
	h := newHarness(t, nil)
	a := h.checkedOut("+79167777777", "", "")
	h.pay(a, bnovo.PaymentIn, 1000000, card)
	h.bn.PutRawBooking(a+1, `{"id": `+itoa(a+1)+`, "number": 12, "status": "broken", "dates": {"departure": "yesterday"}}`)
	h.nextID++
	b := h.checkedOut("+79168888888", "", "")
	h.pay(b, bnovo.PaymentIn, 1000000, card)

	h.cycle()
	h.wantPosted(a, 50000)
	h.wantPosted(b, 50000)
	if _, ok := h.parked()[state.ParkKeyBooking(a+1)]; !ok {
		t.Fatalf("malformed booking not parked; parked: %v", h.parked())
	}
}

func TestBackfillByPagesResumesAndFinishes(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now().In(moscow)
	from, to := now.AddDate(0, 0, -120), now.AddDate(0, 0, -60)
	h.tick()
	ids := h.bn.Seed(120, 7, from, to)
	if err := h.eng.RequestBackfill(from, to); err != nil {
		t.Fatal(err)
	}
	pending, err := h.eng.PendingBackfills()
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending backfills %v, %v: want the one requested", pending, err)
	}
	steps := 0
	for done := false; !done; steps++ {
		if steps > 10 {
			t.Fatal("backfill did not finish in 10 steps of one page")
		}
		_, done, err = h.eng.BackfillPages(context.Background(), pending[0][0], pending[0][1], 1)
		if err != nil {
			t.Fatal(err)
		}
	}
	if steps != 3 { // 120 bookings, 50 a page
		t.Fatalf("finished in %d one-page steps, want 3", steps)
	}
	if pending, _ := h.eng.PendingBackfills(); len(pending) != 0 {
		t.Fatalf("still pending after completion: %v", pending)
	}
	credited := 0
	for _, id := range ids {
		if net, _ := h.posted(id); net > 0 {
			credited++
		}
	}
	if credited == 0 {
		t.Fatal("the backfill credited nothing")
	}
}

// A backfill requested while the daemon runs with its end after today must finish like any
// other: the daemon runs pending ranges until none is left. So must one left pending with such
// an end by an older syncd, and a range wholly after today is refused when requested.
func TestDaemonBackfillEndingAfterTodayFinishes(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now().In(moscow)
	from, future := now.AddDate(0, 0, -10), now.AddDate(0, 0, 5)
	h.tick()
	h.bn.Seed(60, 7, from, now.AddDate(0, 0, -1))
	runPending := func() {
		t.Helper()
		for steps := 0; ; steps++ {
			pending, err := h.eng.PendingBackfills()
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) == 0 {
				return
			}
			if steps > 10 {
				t.Fatalf("still pending after %d one-page steps: %v", steps, pending)
			}
			if _, _, err := h.eng.BackfillPages(context.Background(), pending[0][0], pending[0][1], 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := h.eng.RequestBackfill(from, future); err != nil {
		t.Fatal(err)
	}
	runPending()

	legacy := BackfillCursor(h.eng.day(from.AddDate(0, 0, 1)), h.eng.day(future))
	if err := h.db.Update(func(tx *state.Tx) error { return tx.SetCursor(legacy, "0") }); err != nil {
		t.Fatal(err)
	}
	runPending()

	if err := h.eng.RequestBackfill(future, future.AddDate(0, 0, 1)); err == nil {
		t.Fatal("a backfill wholly after today was accepted; the daemon would fail on it every minute")
	}
}
