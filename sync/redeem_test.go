package sync

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

const bonusPay = "Бонусы"

func redemptionHarness(t *testing.T, adjust func(*Options)) *harness {
	return newHarness(t, func(o *Options) {
		o.Redemption = Redemption{Enabled: true, Since: time.Now().AddDate(0, 0, -10), PaymentTypes: []string{bonusPay}}
		if adjust != nil {
			adjust(o)
		}
	})
}

// inHouse adds a stay whose guest is in the hotel (status "Заселен") and returns its id.
func (h *harness) inHouse(email string) int64 {
	id := h.checkedOut("", email, "")
	h.setStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
	return id
}

// annaInHouse adds Анна's account (anna@example.ru, in account group 1) holding balance, and a
// stay of hers in the hotel; it returns the account and the booking.
func (h *harness) annaInHouse(balance int64) (account, booking int64) {
	account = h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: balance})
	return account, h.inHouse("anna@example.ru")
}

// redeemed is what ProBonus holds as taken for a booking's bonus payments (withdrawals minus
// deposits back, by its #r markers) and how many such operations there are; accrual markers
// must never count here.
func (h *harness) redeemed(booking int64) (net int64, ops int) {
	seen := map[string]bool{}
	for _, op := range h.pb.AllOperations() {
		m := redemptionMarkerRE.FindStringSubmatch(op.Reason)
		if m == nil || m[1] != strconv.FormatInt(booking, 10) {
			continue
		}
		if seen[m[0]] {
			h.t.Fatalf("marker %s on two operations", m[0])
		}
		seen[m[0]] = true
		ops++
		if op.Type == probonus.OpWithdraw {
			net += op.Sum
		} else {
			net -= op.Sum
		}
	}
	return net, ops
}

func (h *harness) wantRedeemed(booking, want int64, wantOps int) {
	h.t.Helper()
	if got, ops := h.redeemed(booking); got != want || ops != wantOps {
		h.t.Fatalf("booking %d: ProBonus holds %d kopecks redeemed in %d operations, want %d in %d", booking, got, ops, want, wantOps)
	}
}

func (h *harness) balance(account int64) int64 {
	a, _ := h.pb.Account(account)
	return a.Balance
}

func TestRedemptionWithdrawsOnceAndReturnsOnCancellation(t *testing.T) {
	h := redemptionHarness(t, func(o *Options) { o.WriteBack = true })
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.pay(id, bnovo.PaymentIn, 500000, card)

	sum := h.cycle()
	if sum.Redemptions != 1 || sum.Redeemed != 30000 || sum.Deposits != 0 {
		t.Fatalf("summary %+v: want one redemption of 300 bonuses and no accrual (not checked out)", sum)
	}
	h.wantRedeemed(id, 30000, 1)
	if got := h.balance(account); got != 70000 {
		t.Fatalf("balance %d, want 70000", got)
	}
	if reason := h.pb.Operations(account)[0].Reason; !strings.Contains(reason, "Оплата бонусами") || !strings.Contains(reason, "(bnovo:"+itoa(id)+"#r1)") {
		t.Fatalf("reason %q", reason)
	}
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, "баланс 700 бонусов") {
		t.Fatalf("the line is not refreshed after the redemption: %q", notes)
	}
	for range 2 {
		h.tick()
		h.cycle()
	}
	h.wantRedeemed(id, 30000, 1)

	// Checked out: the accrual (#1) earns on the card payment only and is never mistaken for
	// the redemption (#r1), nor the reverse.
	h.setStatus(id, 5, "Выехал")
	h.cycle()
	h.wantPosted(id, 25000)
	h.wantRedeemed(id, 30000, 1)

	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	sum = h.cycle()
	if sum.RedemptionReturns != 1 || sum.Returned != 30000 {
		t.Fatalf("summary %+v: want the bonuses deposited back", sum)
	}
	h.wantRedeemed(id, 0, 2)
	h.wantPosted(id, 0)
	if rec := h.record(id); rec.Redeemed != 0 || rec.RedeemSeq != 2 || rec.RedeemShortfall != 0 {
		t.Fatalf("record %+v", rec)
	}
}

func TestRedemptionRefundAndDeletedPaymentAreReturned(t *testing.T) {
	h := redemptionHarness(t, nil)
	_, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 40000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 40000, 1)

	h.pay(id, bnovo.PaymentOut, 15000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 25000, 2)

	for _, p := range h.bn.Payments(id) {
		if p.Type == bnovo.PaymentIn {
			h.tick()
			h.bn.DeletePayment(id, p.ID)
		}
	}
	h.cycle()
	h.wantRedeemed(id, 0, 3)
}

func TestRedemptionSinceCut(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.tick()
	// Settled by hand before since: never taken again.
	h.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: 20000, PaymentTypeName: bonusPay,
		CreateDate: time.Now().AddDate(0, 0, -11)})
	h.cycle()
	h.wantRedeemed(id, 0, 0)
	h.tick()
	h.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: 5000, PaymentTypeName: bonusPay,
		CreateDate: time.Now().AddDate(0, 0, -9)})
	h.cycle()
	h.wantRedeemed(id, 5000, 1)
	if got := h.balance(account); got != 95000 {
		t.Fatalf("balance %d, want 95000", got)
	}
}

func TestRedemptionBonusValue(t *testing.T) {
	h := redemptionHarness(t, func(o *Options) { o.Redemption.BonusValue = 50 }) // one bonus pays 50 kopecks
	_, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 10001, bonusPay) // 100,01 ₽ = 200,02 bonuses
	h.cycle()
	h.wantRedeemed(id, 20002, 1)
}

func TestRedemptionShortfallWithoutAccount(t *testing.T) {
	h := redemptionHarness(t, nil)
	id := h.inHouse("nobody@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	sum := h.cycle()
	if sum.RedemptionShortfalls != 1 || sum.AccountsCreated != 0 {
		t.Fatalf("summary %+v: want a shortfall and no account created", sum)
	}
	if rec := h.record(id); rec.RedeemShortfall != 30000 {
		t.Fatalf("record %+v: want a shortfall of 30000", rec)
	}
	if n := len(h.pb.Accounts()); n != 0 {
		t.Fatalf("redemption created %d accounts", n)
	}
	h.cycle()
	if c := h.counts(); c.RedeemShortfalls != 1 {
		t.Fatalf("counts %+v", c)
	}

	// The desk enrols the guest; the next change of the booking clears the shortfall.
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "nobody@example.ru", AccountGroupID: 1, Balance: 50000})
	b, _ := h.bn.Booking(id)
	b.Amount, b.UpdateDate = b.Amount+100, time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	if c := h.counts(); c.RedeemShortfalls != 0 {
		t.Fatalf("the shortfall stays listed after the withdrawal: %+v", c)
	}
}

// TestRedemptionShortfallOn400: a balance read that looked enough does not lead to a part
// withdrawn when ProBonus refuses the withdrawal.
func TestRedemptionShortfallOn400(t *testing.T) {
	h := redemptionHarness(t, nil)
	account := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 10000})
	// The balance read is answered just before the guest spent bonuses elsewhere: it looks
	// enough, and ProBonus refuses the withdrawal with 400.
	h.pb.ReportBalanceAbove(account, 1_000_000)
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	sum := h.cycle()
	if sum.RedemptionShortfalls != 1 || sum.Redemptions != 0 {
		t.Fatalf("summary %+v: want a shortfall", sum)
	}
	h.wantRedeemed(id, 0, 0)
	if got := h.balance(account); got != 10000 {
		t.Fatalf("balance %d: a part was withdrawn", got)
	}
	if rec := h.record(id); rec.RedeemShortfall != 30000 || rec.Redeemed != 0 {
		t.Fatalf("record %+v", rec)
	}
	var list []state.Booking
	if err := h.db.View(func(tx *state.Tx) (err error) { list, err = tx.RedeemShortfalls(); return err }); err != nil || len(list) != 1 {
		t.Fatalf("redemption shortfalls %+v, %v", list, err)
	}
}

// A state lost (or restored from before the withdrawal) never takes the bonuses twice: the
// booking's #r markers in ProBonus are adopted.
func TestRedemptionAdoptedAfterLostState(t *testing.T) {
	h := redemptionHarness(t, nil)
	_, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.restore(t.TempDir() + "/fresh.db")
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.pay(id, bnovo.PaymentIn, 10000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 40000, 2)
}

func (h *harness) counts() state.Counts {
	var c state.Counts
	_ = h.db.View(func(tx *state.Tx) error { c = tx.Counts(); return nil })
	return c
}

// A bonus paid ahead on a booking whose stay has not begun is taken when the stay begins; the
// future booking's changes cost no payments read before.
func TestRedemptionWaitsForTheStayToBegin(t *testing.T) {
	h := redemptionHarness(t, nil)
	_, id := h.annaInHouse(100000)
	b, _ := h.bn.Booking(id)
	now := time.Now().In(moscow)
	b.StatusID, b.StatusName = bnovotest.StatusConfirmed, bnovotest.StatusNames[bnovotest.StatusConfirmed]
	b.Arrival, b.Departure, b.UpdateDate = now.AddDate(0, 0, 3), now.AddDate(0, 0, 5), time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 0, 0)
	if n := h.bn.Stats().ByPath["GET /api/v1/bookings/{id}/payments"]; n != 0 {
		t.Fatalf("%d payments reads for a booking whose stay has not begun", n)
	}

	b, _ = h.bn.Booking(id)
	b.StatusID, b.StatusName = bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn]
	b.Arrival, b.UpdateDate = now, time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
}

// The guest on a booking paid with bonuses changes: bonuses given back go where they were taken
// from, and more are taken from nobody (a shortfall for staff) while the former guest's stand.
func TestRedemptionAfterAChangedGuest(t *testing.T) {
	h := redemptionHarness(t, nil)
	former := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000})
	other := h.pb.AddAccount(probonus.Account{FirstName: "Ольга", Email: "olga@example.ru", AccountGroupID: 1, Balance: 100000})
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	b, _ := h.bn.Booking(id)
	b.Customer.Email, b.UpdateDate = "olga@example.ru", time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentOut, 10000, bonusPay)
	h.cycle()
	if a, o := h.balance(former), h.balance(other); a != 80000 || o != 100000 {
		t.Fatalf("balances: former guest %d (want 80000), new guest %d (want 100000 untouched)", a, o)
	}
	h.pay(id, bnovo.PaymentIn, 5000, bonusPay)
	if sum := h.cycle(); sum.RedemptionShortfalls != 1 {
		t.Fatalf("summary %+v: want a shortfall", sum)
	}
	if a, o := h.balance(former), h.balance(other); a != 80000 || o != 100000 {
		t.Fatalf("balances: former guest %d, new guest %d: nothing more may be taken", a, o)
	}
	h.wantRedeemed(id, 20000, 2)
}

func TestRedemptionFromABlockedAccountIsAShortfall(t *testing.T) {
	h := redemptionHarness(t, nil)
	account := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000, Blocked: true})
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	if sum := h.cycle(); sum.RedemptionShortfalls != 1 {
		t.Fatalf("summary %+v: want a shortfall", sum)
	}
	if got := h.balance(account); got != 100000 {
		t.Fatalf("balance %d: something was withdrawn from a blocked account", got)
	}
}

// Accrual markers and redemption markers never match each other.
func TestMarkersOfTheTwoSequencesApart(t *testing.T) {
	reason := "Оплата бонусами N1 (" + RedemptionMarker(7, 1) + ")"
	if HasMarker(reason, Marker(7, 1)) || markerRE.MatchString(reason) {
		t.Fatalf("an accrual marker matches %q", reason)
	}
	accrual := "Проживание N1 (" + Marker(7, 1) + "), 5% от 100 ₽"
	if HasMarker(accrual, RedemptionMarker(7, 1)) || redemptionMarkerRE.MatchString(accrual) {
		t.Fatalf("a redemption marker matches %q", accrual)
	}
	if !HasMarker(reason, RedemptionMarker(7, 1)) || HasMarker("(bnovo:7#r12)", RedemptionMarker(7, 1)) {
		t.Fatal("HasMarker on redemption markers")
	}
}

func TestRedemptionRulesChangeIsWarned(t *testing.T) {
	var logs strings.Builder
	h := redemptionHarness(t, nil)
	h.cycle()
	h.opt.Redemption.BonusValue = 50
	h.opt.Logger = h.opt.Logger.Output(&logs)
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	h.cycle()
	if n := strings.Count(logs.String(), "redemption.since or redemption.bonus_value changed"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
}
