package sync

import (
	"context"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
)

// deskDuringWrite lets the desk act on a booking while syncd writes its guest's line: after
// syncd read the booking's payments and before its PUT reaches Bnovo (the ProBonus calls, the
// guest read and the limiter's waits lie between). Bnovo's update_date then shows syncd's
// write, the latest change, and nothing of the desk's.
type deskDuringWrite struct {
	PMS
	once gosync.Once
	act  func(bookingID int64)
}

func (d *deskDuringWrite) UpdateGuest(ctx context.Context, bookingID, guestID int64, notes string) (bnovo.Guest, error) {
	d.once.Do(func() { d.act(bookingID) })
	return d.PMS.UpdateGuest(ctx, bookingID, guestID, notes)
}

// deskStay is a stay checked out and paid 22 500 ₽ (1 125 bonuses), with an engine on the
// simulator's clock that writes lines back and reads Bnovo through wrap (the desk's stand-in);
// adjust, when set, changes the options further.
func deskStay(t *testing.T, wrap func(PMS) PMS, adjust func(*Options)) (*harness, int64) {
	var h *harness
	h = newHarness(t, func(o *Options) {
		sameClock(&h)(o)
		o.PMS = wrap(o.PMS)
		if adjust != nil {
			adjust(o)
		}
	})
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 2250000, card)
	h.tick()
	return h, id
}

// wantRefundFound runs a few quiet cycles a second apart and wants the desk's refund of
// 10 000 ₽ withdrawn: 625 bonuses left.
func (h *harness) wantRefundFound(id int64) {
	h.t.Helper()
	for range 5 {
		h.tick()
		h.cycle()
	}
	h.wantPosted(id, 62500)
}

// A refund the desk records while syncd writes the guest's line back is hidden behind the
// write's update_date: syncd must still find it, and withdraw.
func TestChangeMaskedByOwnWriteBackIsFound(t *testing.T) {
	desk := &deskDuringWrite{}
	h, id := deskStay(t, func(pms PMS) PMS { desk.PMS = pms; return desk }, nil)
	desk.act = func(booking int64) {
		h.pay(booking, bnovo.PaymentOut, 1000000, card) // a refund of 10 000 ₽
		h.tick()
	}
	h.cycle() // credits 1 125, writes the line; the refund comes in between
	h.wantRefundFound(id)
}

// deskAfterRead lets the desk act on a booking right after syncd's first payments read that
// follows its write-back, in the same second of Bnovo's clock when syncd reads that soon.
type deskAfterRead struct {
	PMS
	mu      gosync.Mutex
	written bool
	acted   bool
	act     func(bookingID int64)
}

func (d *deskAfterRead) UpdateGuest(ctx context.Context, bookingID, guestID int64, notes string) (bnovo.Guest, error) {
	g, err := d.PMS.UpdateGuest(ctx, bookingID, guestID, notes)
	d.mu.Lock()
	d.written = true
	d.mu.Unlock()
	return g, err
}

func (d *deskAfterRead) Payments(ctx context.Context, bookingID int64) ([]bnovo.Payment, error) {
	payments, err := d.PMS.Payments(ctx, bookingID)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.written && !d.acted {
		d.acted = true
		d.act(bookingID)
	}
	return payments, err
}

// A refund recorded in the very second of syncd's write-back, after a read syncd made in that
// second, leaves update_date at the write's mark: syncd must not take its read as the word on
// that booking.
func TestChangeInTheSecondOfOwnWriteBackIsFound(t *testing.T) {
	desk := &deskAfterRead{}
	h, id := deskStay(t, func(pms PMS) PMS { desk.PMS = pms; return desk }, nil)
	desk.act = func(booking int64) {
		// No tick: Bnovo stamps the refund in the second of syncd's write.
		h.bn.AddPayment(bnovo.Payment{BookingID: booking, Type: bnovo.PaymentOut, Amount: 1000000, PaymentTypeName: card, Date: time.Now()})
	}
	h.cycle() // credits 1 125 and writes the line; the changed listing shows the write at once
	h.wantRefundFound(id)
}

// Bnovo's hotel zone (Riga) agreed with timezone (Moscow) all summer; on the last Sunday of
// October it falls back an hour. A refund made just before Bnovo's midnight, just after
// syncd's, before syncd has seen a date in Bnovo's new offset, is dated the day before the
// cursor's date by Bnovo's listing: the changed listing must still reach it.
func TestChangedListingFindsAChangeAcrossBnovosDaylightSavingShift(t *testing.T) {
	var engineNow atomic.Int64
	at := func(t time.Time) { engineNow.Store(t.UnixNano()) }
	h := newHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Unix(0, engineNow.Load()) }
	})
	summer := time.Date(2026, 10, 24, 20, 0, 0, 0, time.UTC) // 23:00 in Moscow and in Riga
	at(summer)
	h.clock.Set(summer)
	h.bnovoIn(mustZone("Europe/Riga"))

	id := h.checkedOut("+79161212121", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	at(summer.Add(time.Minute))
	h.cycle()
	h.wantPosted(id, 50000)
	if !h.eng.zoneAgrees {
		t.Fatal("Bnovo's summer dates in Moscow's offset were not taken as agreeing")
	}

	// 2026-10-25 21:20 UTC: 00:20 on the 26th in Moscow, 23:20 on the 25th in Riga (now +02).
	cycle2 := time.Date(2026, 10, 25, 21, 20, 0, 0, time.UTC)
	at(cycle2)
	h.cycle()
	h.clock.Set(cycle2.Add(5 * time.Minute))
	h.pay(id, bnovo.PaymentOut, 1000000, card) // 23:25 on the 25th in Bnovo's listing
	at(cycle2.Add(15 * time.Minute))
	h.cycle()
	at(cycle2.Add(2 * time.Hour))
	h.cycle()
	h.wantPosted(id, 0)
}

// A line owed while the budget was short is for the guest it was owed to: when the booking's
// customer is replaced meanwhile (here by someone without contacts, so the bonuses stay where
// they are), the former guest's card must not go into the new customer's notes.
func TestOwedLineIsNotWrittenIntoAnotherGuestsNotes(t *testing.T) {
	budget := &shortBudget{left: 1}
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Budget = budget })
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	if owed := h.owed(); len(owed) != 1 {
		t.Fatalf("owed lines %+v, want the booking's", owed)
	}

	b, _ := h.bn.Booking(id)
	b.Customer = &bnovo.Customer{ID: b.Customer.ID + 1, Name: "Борис", Surname: "Другой"}
	b.UpdateDate = time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.tick()
	budget.left = 1000
	h.cycle()
	h.cycle()
	for _, g := range h.bn.Guests(id) {
		if strings.Contains(g.Notes, "ProBonus:") {
			t.Fatalf("guest %d (%s) got the line of the account the former guest's phone names: %q", g.ID, g.Name, g.Notes)
		}
	}
	if owed := h.owed(); len(owed) != 0 {
		t.Fatalf("owed lines %+v, want none left", owed)
	}
}

// diesBeforeWithdrawing stands for a process killed after its journal's commit and before its
// first withdrawal reached ProBonus: the withdrawal panics, so the run ends with the page's
// operations journaled as intended and nothing recorded.
type diesBeforeWithdrawing struct{ Ledger }

func (diesBeforeWithdrawing) Withdraw(context.Context, int64, int64, string) (probonus.Operation, error) {
	panic("killed before the withdrawal was sent")
}

// A redemption journaled by a process killed before sending it (the booking needed no accrual
// operation, so its record was finished in the journal's commit) is settled as not posted by
// the next process, which must then take the bonuses: the queued booking must not be taken
// for unchanged.
func TestRedemptionJournaledBeforeACrashIsMadeAfterRestart(t *testing.T) {
	h := redemptionHarness(t, func(o *Options) { o.Ledger = diesBeforeWithdrawing{o.Ledger} })
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	if _, err := h.eng.Cycle(context.Background()); err == nil {
		t.Fatal("the cycle whose withdrawal panicked did not fail")
	}
	h.wantRedeemed(id, 0, 0)

	// The restart: a new engine on the same state, with a ProBonus that works.
	h.opt.Ledger = h.ledger
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.wantBalance(account, 70000)
}

// A line owed for budget is written by a later run without planning the booking again; a
// refund the desk records while that write is under way is hidden behind the write's mark
// all the same, and must be found.
func TestChangeMaskedByAnOwedLinesWriteIsFound(t *testing.T) {
	budget := &shortBudget{left: 1}
	desk := &deskDuringWrite{}
	h, id := deskStay(t, func(pms PMS) PMS { desk.PMS = pms; return desk }, func(o *Options) { o.Budget = budget })
	desk.act = func(booking int64) {
		h.pay(booking, bnovo.PaymentOut, 1000000, card)
		h.tick()
	}
	h.cycle() // credits 1 125; the line is owed
	if owed := h.owed(); len(owed) != 1 {
		t.Fatalf("owed lines %+v, want the booking's", owed)
	}
	budget.left = 1000
	h.wantRefundFound(id)
}

// A state restored from a backup taken before a stay was paid with bonuses does not know they
// were taken; the stay is then cancelled. Its bonuses go back to the guest all the same (spec
// §7: the rules of §4, adoption after a lost state included, apply to redemptions), as the
// accrual's would be withdrawn.
func TestRestoredBackupReturnsBonusesOfAStayCancelledMeanwhile(t *testing.T) {
	h := redemptionHarness(t, nil)
	account := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000})
	h.cycle()
	backup := h.backup()
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.restore(backup)
	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	h.cycle()
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	h.wantBalance(account, 100000) // the 300 bonuses back
}

// The guest's cached account was merged into another in ProBonus (its id answers 404 now):
// a stay paid with bonuses takes them from the surviving account, instead of retrying the
// dead id every run (each retry costing Bnovo calls) and never taking them.
func TestRedemptionFromAMergedAccountIsTakenFromTheSurvivor(t *testing.T) {
	h := redemptionHarness(t, nil)
	merged := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000})
	survivor := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Phones: []string{"79165555555"}, AccountGroupID: 1, Balance: 100000})
	first := h.inHouse("anna@example.ru")
	h.pay(first, bnovo.PaymentIn, 10000, bonusPay)
	h.cycle()
	h.wantRedeemed(first, 10000, 1)

	h.pb.MergeAccount(merged, survivor)
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	before := h.routeCalls(paymentsRoute)
	for range 3 {
		h.tick()
		h.cycle()
	}
	h.wantRedeemed(id, 30000, 1)
	if got := h.routeCalls(paymentsRoute) - before; got > 1 {
		t.Fatalf("payments read %d times in three quiet cycles: the booking keeps being retried", got)
	}
}

// The account bonuses were taken from is deleted in ProBonus; then the bonus payment is
// refunded. There is nowhere to give them back: the booking is parked for staff, not retried
// (with its Bnovo calls) every run.
func TestReturnToADeletedAccountIsParkedNotRetriedForever(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.pb.DeleteAccount(account)
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	if reason := h.parked()["booking:"+itoa(id)]; !strings.Contains(reason, "no longer exists in ProBonus") {
		t.Fatalf("parked %v, want the booking parked for its deleted account", h.parked())
	}
	before := h.routeCalls(paymentsRoute)
	for range 3 {
		h.tick()
		h.cycle()
	}
	if got := h.routeCalls(paymentsRoute) - before; got != 0 {
		t.Fatalf("payments read %d times in three quiet cycles: the parked booking keeps being retried", got)
	}
}

// The usual restore: the backup is from a day when the stay was in the house, so the state
// knows the booking (nothing posted, nothing to post). Since then it checked out and was
// credited; after the restore it is cancelled. The credit the restored state does not know is
// withdrawn all the same.
func TestRestoredBackupOfAStayInTheHouseWithdrawsItsCreditOnCancellation(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Ева", []string{"79161010102"}, ""))
	id := h.checkedOut("+79161010102", "", "")
	h.setStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	if rec := h.record(id); rec.ID != id || rec.Posted != 0 {
		t.Fatalf("record %+v: want the stay in the house known, nothing posted", rec)
	}
	backup := h.backup()
	h.setStatus(id, 5, "Выехал")
	h.cycle()
	h.wantOps(acct, 1, 50000)

	h.restore(backup)
	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	h.cycle()
	h.cycle()
	h.wantOps(acct, 2, 0)
}

// The surviving account of a merge was proven current by this process before the merge (a stay
// of its own credited): the merge brings another stay's deposit along, which the process has
// not seen there. A refund on that stay must withdraw from what came along, never deposit its
// whole target again.
func TestMergeIntoAnAccountProvenCurrentPostsNothingTwice(t *testing.T) {
	// One worker: the page's stays are credited in order, so the survivor's own deposit is
	// the newest operation there, and known to the journal.
	h := newHarness(t, func(o *Options) { o.Workers = 1 })
	merged := h.pb.AddAccount(member("Вера", []string{"79161818181"}, ""))
	survivor := h.pb.AddAccount(member("Вера", nil, "vera@example.ru"))
	id := h.paidStay("Вера", "+79161818181", "")
	own := h.paidStay("Вера", "", "vera@example.ru")
	h.cycle()
	h.wantOps(survivor, 1, 50000) // its own stay: the account is proven current now

	h.pb.MergeAccount(merged, survivor)
	h.pay(id, bnovo.PaymentOut, 500000, card) // half refunded: 250 bonuses are due, not 500
	for range 3 {
		h.tick()
		h.cycle()
	}
	h.wantPosted(id, 25000)
	h.wantPosted(own, 50000)
	h.wantOps(survivor, 3, 75000)
}

// A deposit left unclear by a crash went to an account that staff then merged into another
// (its id answers 404): the operation cannot be looked up where it was sent. It must not hold
// its booking and fail every run's settling forever; the booking is planned again and finds its
// deposit on the surviving account by marker, posting nothing twice.
func TestUnclearDepositOnAMergedAccountIsSettled(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	survivor := h.pb.AddAccount(member("Анна", nil, "anna@example.ru"))
	h.crashedDeposit(id, h.eng.created.Add(-1), func(acct int64) { h.pb.MergeAccount(acct, survivor) })
	for range 2 {
		if _, err := h.eng.Cycle(context.Background()); err != nil {
			t.Fatalf("cycle: %v", err)
		}
	}
	h.wantPosted(id, 50000)
	h.wantOps(survivor, 1, 50000)
	if rec := h.record(id); rec.Posted != 50000 || rec.AccountID != survivor {
		t.Fatalf("record %+v: want the deposit found on the surviving account %d", rec, survivor)
	}
}

// Staff moved a phone from one member's account to another's (the number changed hands). The
// map still names the first account for that phone: a stay of the phone's new owner paid with
// bonuses must take them from the new owner, never from the first member.
func TestRedemptionFollowsAPhoneMovedToAnotherAccount(t *testing.T) {
	h := redemptionHarness(t, nil)
	wrong := h.pb.AddAccount(probonus.Account{FirstName: "Семён", Phones: []string{"79161313131", "79161414141"}, AccountGroupID: 1, Balance: 100000})
	right := h.pb.AddAccount(probonus.Account{FirstName: "Тая", Email: "taya@example.ru", AccountGroupID: 1, Balance: 100000})
	first := h.paidStay("Тая", "+79161414141", "")
	h.cycle()
	h.wantOps(wrong, 1, 50000) // the phone was Семён's then: learned against his account

	h.pb.MovePhone("79161414141", right)
	id := h.checkedOut("+79161414141", "", "")
	h.setStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	for range 2 {
		h.tick()
		h.cycle()
	}
	h.wantRedeemed(id, 30000, 1)
	h.wantBalance(wrong, 150000) // nothing taken from Семён
	h.wantBalance(right, 70000)
	_ = first
}

// A member of another account group (another hotel's program, the staff's) is never credited;
// bonuses of that program are not this hotel's to take either.
func TestRedemptionNeverTakesFromAnAccountOutsideTheGroup(t *testing.T) {
	h := redemptionHarness(t, nil)
	foreign := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 2, Balance: 100000})
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	sum := h.cycle()
	h.wantRedeemed(id, 0, 0)
	if got := h.balance(foreign); got != 100000 || sum.RedemptionShortfalls != 1 {
		t.Fatalf("balance %d, summary %+v: want nothing taken and a redemption shortfall", got, sum)
	}
}

func (h *harness) wantBalance(account, want int64) {
	h.t.Helper()
	if got := h.balance(account); got != want {
		h.t.Fatalf("account %d: balance %d, want %d", account, got, want)
	}
}

// A phone changed hands in ProBonus (staff moved it to its new owner's account); the map still
// names its former owner for it. An arriving guest with that phone must not get the former
// owner's card and balance in their notes.
func TestArrivalLineFollowsAPhoneMovedToAnotherAccount(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	former := h.pb.AddAccount(probonus.Account{FirstName: "Семён", Phones: []string{"79161414141"}, AccountGroupID: 1, Balance: 512300})
	owner := h.pb.AddAccount(probonus.Account{FirstName: "Тая", Email: "taya@example.ru", AccountGroupID: 1})
	h.paidStay("Семён", "+79161414141", "")
	h.cycle() // the phone is learned against Семён's account

	h.pb.MovePhone("79161414141", owner)
	id := h.arriving("", 1)
	b, _ := h.bn.Booking(id)
	b.Customer.Name, b.Customer.Phone = "Тая", "+79161414141"
	b.UpdateDate = time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.cycle()
	h.cycle()
	formerCard := mustAccount(t, h, former).Card()
	notes := h.bn.Guests(id)[0].Notes
	if strings.Contains(notes, formerCard) || strings.Contains(notes, "5 123") {
		t.Fatalf("the arriving guest's notes show the phone's former owner's card or balance: %q", notes)
	}
	if !strings.Contains(notes, mustAccount(t, h, owner).Card()) {
		t.Fatalf("the arriving guest's notes lack their own card: %q", notes)
	}
}

// As with an extra payment (TestPhoneMovedToAnotherAccountIsFollowed), a refund on a stay whose
// phone staff moved to another member since it was credited decides the account anew: the
// bonuses left for the stay go to the phone's owner, not stay with its former owner.
func TestRefundAfterAPhoneMovedFollowsThePhone(t *testing.T) {
	h := newHarness(t, nil)
	former := h.pb.AddAccount(member("Семён", []string{"79161313131", "79161414141"}, ""))
	owner := h.pb.AddAccount(member("Тая", nil, "taya@example.ru"))
	id := h.paidStay("Тая", "+79161414141", "")
	h.cycle()
	h.wantOps(former, 1, 50000)

	h.pb.MovePhone("79161414141", owner)
	h.pay(id, bnovo.PaymentOut, 500000, card) // half refunded: 250 bonuses
	for range 3 {
		h.tick()
		h.cycle()
	}
	h.wantPosted(id, 25000)
	h.wantOps(former, 2, 0)
	h.wantOps(owner, 1, 25000)
}

// diesAfterWithdrawing stands for a process killed after ProBonus executed its first withdrawal
// and before the outcome was recorded.
type diesAfterWithdrawing struct{ Ledger }

func (l diesAfterWithdrawing) Withdraw(ctx context.Context, account, sum int64, reason string) (probonus.Operation, error) {
	if _, err := l.Ledger.Withdraw(ctx, account, sum, reason); err != nil {
		return probonus.Operation{}, err
	}
	panic("killed after the withdrawal was executed")
}

// A redemption executed by a process killed before recording it; meanwhile staff merged the
// guest's account into another. The operation is settled as not posted on the gone account, and
// the booking's next plan must find the withdrawal on the survivor (it came along with the
// merge) and take nothing twice.
func TestRedemptionExecutedBeforeACrashAndAMergeIsNotTakenTwice(t *testing.T) {
	h := redemptionHarness(t, func(o *Options) { o.Ledger = diesAfterWithdrawing{o.Ledger} })
	merged := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 100000})
	survivor := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Phones: []string{"79165555555"}, AccountGroupID: 1, Balance: 100000})
	id := h.inHouse("anna@example.ru")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	if _, err := h.eng.Cycle(context.Background()); err == nil {
		t.Fatal("the cycle whose withdrawal panicked did not fail")
	}
	h.wantRedeemed(id, 30000, 1)

	h.pb.MergeAccount(merged, survivor)
	h.opt.Ledger = h.ledger
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		h.tick()
		h.cycle()
	}
	h.wantRedeemed(id, 30000, 1)
	h.wantBalance(survivor, 170000)
}
