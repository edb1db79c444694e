package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// setGuest replaces the booking's customer contacts, as staff editing the booking would.
func (h *harness) setGuest(booking int64, name, phone, email string) {
	h.t.Helper()
	b, ok := h.bn.Booking(booking)
	if !ok || b.Customer == nil {
		h.t.Fatalf("booking %d has no customer", booking)
	}
	c := *b.Customer
	c.Name, c.Phone, c.Email = name, phone, email
	b.Customer = &c
	b.UpdateDate = time.Time{} // stamped by the simulator: the change moves it
	h.tick()
	h.bn.PutBooking(b)
}

// paidStay is a checked-out stay of a named guest, paid 10 000 ₽ (500 bonuses).
func (h *harness) paidStay(name, phone, email string) int64 {
	id := h.checkedOut(phone, email, "")
	h.setGuest(id, name, phone, email)
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	return id
}

func member(name string, phones []string, email string) probonus.Account {
	return probonus.Account{FirstName: name, Phones: phones, Email: email, AccountGroupID: 1}
}

// wantOps checks an account's operations: their count and net sum.
func (h *harness) wantOps(account int64, n int, net int64) {
	h.t.Helper()
	ops := h.pb.Operations(account)
	var got int64
	for _, op := range ops {
		if op.Type == probonus.OpWithdraw {
			got -= op.Sum
		} else {
			got += op.Sum
		}
	}
	if len(ops) != n || got != net {
		h.t.Fatalf("account %d: %d operations netting %d, want %d netting %d: %+v", account, len(ops), got, n, net, ops)
	}
}

func (h *harness) mapped(key string) int64 {
	h.t.Helper()
	var id int64
	_ = h.db.View(func(tx *state.Tx) error { id, _ = tx.Account(key); return nil })
	return id
}

// Case 1 of issue 16: Анна (new, phone A) and Борис (a member by phone B) share the family
// e-mail. Анна's account is created with it; Борис's bonuses must still go to Борис, now and on
// his next phone-only stay, and his notes must show his own card.
func TestSharedEmailNeverSendsAMembersBonusesToAnotherGuest(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	boris := h.pb.AddAccount(member("Борис", []string{"79162222222"}, ""))
	anna := h.paidStay("Анна", "+7 916 111-11-11", "family@example.ru")
	borisStay := h.paidStay("Борис", "+7 916 222-22-22", "family@example.ru")
	h.cycle()

	h.wantOps(boris, 1, 50000)
	rec := h.record(anna)
	if rec.AccountID == boris || rec.AccountID == 0 {
		t.Fatalf("Анна's booking on account %d, want her own new account", rec.AccountID)
	}
	h.wantOps(rec.AccountID, 1, 50000)
	if got := h.mapped("phone:79162222222"); got != boris {
		t.Fatalf("Борис's phone remembered against account %d, want %d", got, boris)
	}
	if got := h.mapped("email:family@example.ru"); got != rec.AccountID {
		t.Fatalf("the family e-mail remembered against account %d, want Анна's %d (ProBonus's answer for it)", got, rec.AccountID)
	}
	borisCard := mustAccount(t, h, boris).Card()
	if notes := h.bn.Guests(borisStay)[0].Notes; !strings.Contains(notes, borisCard) {
		t.Fatalf("Борис's notes %q do not show his card %s", notes, borisCard)
	}

	next := h.paidStay("Борис", "8 916 222 22 22", "")
	h.cycle()
	h.wantPosted(next, 50000)
	h.wantOps(boris, 2, 100000)
}

func mustAccount(t *testing.T, h *harness, id int64) probonus.Account {
	t.Helper()
	a, ok := h.pb.Account(id)
	if !ok {
		t.Fatalf("no account %d", id)
	}
	return a
}

// Case 5 of issue 16: an account merged into another, or deleted, is forgotten and the guest
// looked up again; the stay is credited, not parked, and so are later ones.
func TestDeletedOrMergedAccountIsForgottenAndLookedUpAgain(t *testing.T) {
	h := newHarness(t, nil)
	merged := h.pb.AddAccount(member("Вера", []string{"79163333333"}, ""))
	survivor := h.pb.AddAccount(member("Вера", nil, "vera@example.ru"))
	deleted := h.pb.AddAccount(member("Глеб", []string{"79164444444"}, ""))
	h.paidStay("Вера", "+79163333333", "")
	h.paidStay("Глеб", "+79164444444", "")
	h.cycle()
	h.wantOps(merged, 1, 50000)
	h.wantOps(deleted, 1, 50000)

	h.pb.MergeAccount(merged, survivor)
	h.pb.DeleteAccount(deleted)
	vera := h.paidStay("Вера", "+79163333333", "")
	gleb := h.paidStay("Глеб", "+79164444444", "")
	h.cycle()
	if parked := h.parked(); len(parked) != 0 {
		t.Fatalf("parked %v, want nothing: the stale matches are forgotten", parked)
	}
	h.wantPosted(vera, 50000)
	h.wantPosted(gleb, 50000)
	h.wantOps(survivor, 2, 100000) // the merged-in first stay and the new one
	if got := h.mapped("phone:79163333333"); got != survivor {
		t.Fatalf("Вера's phone now maps to %d, want the surviving account %d", got, survivor)
	}
	fresh := h.mapped("phone:79164444444")
	if fresh == 0 || fresh == deleted {
		t.Fatalf("Глеб's phone maps to %d, want a new account instead of the deleted %d", fresh, deleted)
	}
	h.wantOps(fresh, 1, 50000)
}

// Case 7 of issue 16: a zero-width character in a member's e-mail must not make a second
// account, nor reach ProBonus.
func TestInvisibleCharactersInEmailFindTheMember(t *testing.T) {
	h := newHarness(t, nil)
	anna := h.pb.AddAccount(member("Анна", nil, "anna@example.ru"))
	h.paidStay("Анна", "", "an\u200bna@Example.ru\u00a0")
	full := h.paidStay("Анна", "", "ＡＮＮＡ＠example.ru")
	h.cycle()
	if n := len(h.pb.Accounts()); n != 1 {
		t.Fatalf("%d accounts, want the member's only", n)
	}
	h.wantOps(anna, 2, 100000)
	h.wantPosted(full, 50000)
}

// Case 8 of issue 16: a valid foreign number ProBonus will not take (fewer than 10 digits)
// is skipped for the e-mail instead of parking the stay.
func TestPhoneProBonusRefusesFallsBackToEmail(t *testing.T) {
	h := newHarness(t, nil)
	id := h.paidStay("Hans", "+49 30 12345", "hans@example.de")
	phoneOnly := h.paidStay("Fritz", "+49 30 12346", "")
	h.cycle()
	h.wantPosted(id, 50000)
	accounts := h.pb.Accounts()
	if len(accounts) != 1 || accounts[0].Email != "hans@example.de" || len(accounts[0].Phones) != 0 {
		t.Fatalf("accounts %+v, want one made from the e-mail alone", accounts)
	}
	reason := h.parked()[state.ParkKeyBooking(phoneOnly)]
	if !strings.Contains(reason, "ProBonus accepts") {
		t.Fatalf("phone-only guest parked with %q, want the reason to say ProBonus refuses the phone", reason)
	}
}

// Case 9 of issue 16: toll-free and shared numbers (and those in probonus.ignore_phones)
// never identify a guest: each guest is told apart by the e-mail.
func TestNonPersonalNumbersNeverIdentifyAGuest(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.IgnorePhones = []string{"74951234567"} })
	var stays []int64
	for _, g := range []struct{ phone, email string }{
		{"8 800 555-35-35", "one@example.ru"},
		{"8-800-555-35-35", "two@example.ru"},
		{"8 (495) 123-45-67", "three@example.ru"}, // the OTA's relay number, listed
		{"+7 495 123 45 67", "four@example.ru"},
	} {
		stays = append(stays, h.paidStay("Гость", g.phone, g.email))
	}
	tollFreeOnly := h.paidStay("Гость", "8 800 555-35-35", "")
	h.cycle()
	accounts := h.pb.Accounts()
	if len(accounts) != 4 {
		t.Fatalf("%d accounts, want one per e-mail: %+v", len(accounts), accounts)
	}
	for _, a := range accounts {
		if len(a.Phones) != 0 {
			t.Fatalf("account %d holds phones %v: a shared number became an identifier", a.ID, a.Phones)
		}
	}
	for _, id := range stays {
		h.wantPosted(id, 50000)
	}
	if reason := h.parked()[state.ParkKeyBooking(tollFreeOnly)]; !strings.Contains(reason, "toll-free") {
		t.Fatalf("a guest with only a toll-free number parked with %q, want the reason naming it", reason)
	}
}

// A phone staff moved to another account (it was entered on the wrong member): the cached
// answer is checked against the account before crediting, dropped, and the phone looked up
// again; the stay credited before follows its guest when the booking changes.
func TestPhoneMovedToAnotherAccountIsFollowed(t *testing.T) {
	h := newHarness(t, nil)
	wrong := h.pb.AddAccount(member("Семён", []string{"79161313131", "79161414141"}, ""))
	right := h.pb.AddAccount(member("Тая", nil, "taya@example.ru"))
	first := h.paidStay("Тая", "+79161414141", "")
	h.cycle()
	h.wantOps(wrong, 1, 50000)

	h.pb.MovePhone("79161414141", right)
	second := h.paidStay("Тая", "+79161414141", "")
	h.cycle()
	h.wantPosted(second, 50000)
	h.wantOps(wrong, 1, 50000)
	if got := h.mapped("phone:79161414141"); got != right {
		t.Fatalf("the moved phone maps to %d, want %d", got, right)
	}
	h.pay(first, bnovo.PaymentIn, 200000, card) // the first stay changes: its bonuses follow
	h.cycle()
	h.wantOps(wrong, 2, 0)
	h.wantOps(right, 2, 110000) // its own stay, and the first stay's 600 bonuses as #3
}

// A wrong answer an older syncd left in the map (Борис's phone against Анна's account, learned
// from the shared e-mail) is caught before crediting: Анна's account does not hold the phone.
func TestWrongMatchLeftByAnOlderSyncdIsDropped(t *testing.T) {
	h := newHarness(t, nil)
	anna := h.pb.AddAccount(member("Анна", []string{"79161717171"}, "family@example.ru"))
	boris := h.pb.AddAccount(member("Борис", []string{"79161717172"}, ""))
	if err := h.db.Update(func(tx *state.Tx) error { return tx.SetAccount("phone:79161717172", anna) }); err != nil {
		t.Fatal(err)
	}
	id := h.paidStay("Борис", "+79161717172", "")
	h.cycle()
	h.wantPosted(id, 50000)
	h.wantOps(boris, 1, 50000)
	h.wantOps(anna, 0, 0)
	if got := h.mapped("phone:79161717172"); got != boris {
		t.Fatalf("Борис's phone maps to %d, want %d", got, boris)
	}
}

// An account merged into the guest's other account, then the stay cancelled: the bonuses
// came along with the merge, so they are found there by marker and withdrawn.
func TestMergedAccountsBonusesAreCorrectedWhereTheyWent(t *testing.T) {
	h := newHarness(t, nil)
	merged := h.pb.AddAccount(member("Вера", []string{"79161818181"}, ""))
	survivor := h.pb.AddAccount(member("Вера", nil, "vera@example.ru"))
	id := h.paidStay("Вера", "+79161818181", "")
	h.cycle()
	h.pb.MergeAccount(merged, survivor)
	h.setStatus(id, 2, "Отменен")
	h.cycle()
	h.wantPosted(id, 0)
	h.wantOps(survivor, 2, 0)
	if rec := h.record(id); rec.AccountID != survivor || rec.Posted != 0 || rec.Shortfall != 0 {
		t.Fatalf("record %+v: want the booking on the surviving account %d, nothing posted", rec, survivor)
	}
}
