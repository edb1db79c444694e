package sync

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/testlog"
	"github.com/hotelsync/syncd/state"
)

// Case 4 of issue 16: a phone typo credited the wrong member; staff fix the phone. The bonuses
// move (withdrawn from the wrong member, deposited to the right guest, markers continuing), and
// the booking's guest gets their own card in the notes, never the wrong member's.
func TestFixedPhoneTypoMovesTheBonuses(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	wrong := h.pb.AddAccount(member("Вадим", []string{"79165555555"}, ""))
	right := h.pb.AddAccount(member("Анна", []string{"79165555556"}, ""))
	id := h.paidStay("Анна", "+7 916 555-55-55", "") // the typo: Вадим's number
	h.cycle()
	h.wantOps(wrong, 1, 50000)

	h.setGuest(id, "Анна", "+7 916 555-55-56", "")
	h.cycle()
	h.wantOps(wrong, 2, 0)
	h.wantOps(right, 1, 50000)
	if ops := h.pb.Operations(right); !strings.Contains(ops[0].Reason, Marker(id, 3)) {
		t.Fatalf("deposit to the right guest carries %q, want marker #3 continuing the booking's sequence", ops[0].Reason)
	}
	rec := h.record(id)
	if rec.AccountID != right || rec.Posted != 50000 || rec.Seq != 3 || rec.Shortfall != 0 {
		t.Fatalf("record %+v: want account %d, posted 50000, seq 3, no shortfall", rec, right)
	}
	notes := h.bn.Guests(id)[0].Notes
	if card := mustAccount(t, h, right).Card(); !strings.Contains(notes, card) {
		t.Fatalf("notes %q do not show the right guest's card %s", notes, card)
	}
	if card := mustAccount(t, h, wrong).Card(); strings.Contains(notes, card) {
		t.Fatalf("notes %q still show the wrong member's card", notes)
	}

	// Later corrections go to the right guest only.
	h.pay(id, bnovo.PaymentOut, 500000, card)
	h.cycle()
	h.wantOps(wrong, 2, 0)
	h.wantOps(right, 2, 25000)
}

// A move never takes bonuses from the old account for one that would refuse them.
func TestNoMoveToABlockedAccount(t *testing.T) {
	h := newHarness(t, nil)
	old := h.pb.AddAccount(member("Ада", []string{"79161515151"}, ""))
	blocked := h.pb.AddAccount(member("Бея", []string{"79161515152"}, ""))
	h.pb.SetBlocked(blocked, true)
	id := h.paidStay("Ада", "+79161515151", "")
	h.cycle()
	h.setGuest(id, "Бея", "+79161515152", "")
	h.cycle()
	h.wantOps(old, 1, 50000)
	h.wantOps(blocked, 0, 0)
	if r := h.parked()[state.ParkKeyBooking(id)]; !strings.Contains(r, "blocked") {
		t.Fatalf("parked with %q, want the blocked account named", r)
	}
	h.pb.SetBlocked(blocked, false)
	h.setGuest(id, "Бея", "+7 916 151-51-52", "")
	h.cycle()
	h.wantOps(old, 2, 0)
	h.wantOps(blocked, 1, 50000)
}

// A replaced guest whose predecessor already spent the bonuses: nothing is withdrawn there
// (a shortfall for staff), the new guest is credited, and nothing more goes to the old account.
func TestReplacedGuestWhosePredecessorSpentTheBonuses(t *testing.T) {
	h := newHarness(t, nil)
	first := h.pb.AddAccount(member("Олег", []string{"79166666666"}, ""))
	id := h.paidStay("Олег", "+79166666666", "")
	h.cycle()
	h.pb.SetBalance(first, 0) // spent at the restaurant

	h.setGuest(id, "Ирина", "+79167777777", "irina@example.ru")
	h.cycle()
	h.wantOps(first, 1, 50000)
	rec := h.record(id)
	if rec.AccountID == first || rec.AccountID == 0 {
		t.Fatalf("booking still on account %d", rec.AccountID)
	}
	h.wantOps(rec.AccountID, 1, 50000)
	if rec.Shortfall != 50000 || rec.Stranded != 50000 || rec.Posted != 50000 {
		t.Fatalf("record %+v: want 500 bonuses stranded as a shortfall and 500 posted to the new guest", rec)
	}
	h.setStatus(id, 2, "Отменен") // and the stay is cancelled: only the new guest's part is withdrawn
	h.cycle()
	h.wantOps(first, 1, 50000)
	h.wantOps(rec.AccountID, 2, 0)
	if rec := h.record(id); rec.Shortfall != 50000 {
		t.Fatalf("record %+v: the stranded shortfall must stay on record", rec)
	}
}

// Case 6 of issue 16: a blocked account and one outside probonus.account_group_id are never
// credited (parked with the reason, retried daily); a blocked account's refusal of a withdrawal
// is not "already spent", and the withdrawal is made once it is unblocked.
func TestBlockedOrForeignGroupAccountIsNeverCredited(t *testing.T) {
	var shift atomic.Int64
	h := newHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	})
	blocked := h.pb.AddAccount(member("Пётр", []string{"79168888881"}, ""))
	h.pb.SetBlocked(blocked, true)
	staff := member("Кира", []string{"79168888882"}, "")
	staff.AccountGroupID = 2
	foreign := h.pb.AddAccount(staff)
	toBlock := h.pb.AddAccount(member("Лев", []string{"79168888883"}, ""))
	b1 := h.paidStay("Пётр", "+79168888881", "")
	b2 := h.paidStay("Кира", "+79168888882", "")
	b3 := h.paidStay("Лев", "+79168888883", "")
	h.cycle()
	h.wantOps(blocked, 0, 0)
	h.wantOps(foreign, 0, 0)
	h.wantOps(toBlock, 1, 50000)
	parked := h.parked()
	if r := parked[state.ParkKeyBooking(b1)]; !strings.Contains(r, "blocked") {
		t.Fatalf("blocked account's stay parked with %q", r)
	}
	if r := parked[state.ParkKeyBooking(b2)]; !strings.Contains(r, "account group 2") {
		t.Fatalf("foreign group's stay parked with %q", r)
	}

	// A refund while the account is blocked: not a shortfall, retried.
	h.pb.SetBlocked(toBlock, true)
	h.pay(b3, bnovo.PaymentOut, 1000000, card)
	h.cycle()
	if rec := h.record(b3); rec.Shortfall != 0 {
		t.Fatalf("record %+v: a blocked account's refusal was taken for spent bonuses", rec)
	}
	h.pb.SetBlocked(toBlock, false)
	h.pb.SetBlocked(blocked, false)
	shift.Store(int64(25 * time.Hour))
	h.cycle()
	h.wantOps(toBlock, 2, 0)
	h.wantOps(blocked, 1, 50000)
	h.wantOps(foreign, 0, 0)
	if _, still := h.parked()[state.ParkKeyBooking(b2)]; !still {
		t.Fatal("the foreign group's stay is no longer parked")
	}
}

// A 400 on a withdrawal that the account's balance does not explain (the account was blocked
// between the check and the withdrawal, or any other refusal) is not recorded as spent.
func TestUnexplainedRefusalOfAWithdrawalIsNotAShortfall(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Ян", []string{"79169999999"}, ""))
	id := h.paidStay("Ян", "+79169999999", "")
	h.cycle()
	h.pay(id, bnovo.PaymentOut, 1000000, card)
	h.pb.FailNext("withdraw", 1, 400)
	sum := h.cycle()
	if rec := h.record(id); rec.Shortfall != 0 || sum.Shortfalls != 0 {
		t.Fatalf("record %+v, summary %+v: a 400 with the balance there is not a shortfall", rec, sum)
	}
	h.wantOps(acct, 2, 0)
}

// Case 2 of issue 16: the state is copied after #1, an extra payment is posted as #2, and the
// copy is restored: #2 must not be posted again.
func TestRestoredBackupNeverRepostsTheNextMarker(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Ева", []string{"79161010101"}, ""))
	id := h.paidStay("Ева", "+79161010101", "")
	h.cycle()
	backup := h.backup()
	h.pay(id, bnovo.PaymentIn, 500000, card) // #2: 15 000 ₽ → 750 bonuses
	h.cycle()
	h.wantOps(acct, 2, 75000)

	h.restore(backup)
	h.setGuest(id, "Ева", "+79161010101", "") // any change: the booking is planned again
	h.cycle()
	h.wantOps(acct, 2, 75000)
	if rec := h.record(id); rec.Seq != 2 || rec.Posted != 75000 {
		t.Fatalf("record %+v: want the adopted #2 (seq 2, posted 75000)", rec)
	}
	h.pay(id, bnovo.PaymentIn, 200000, card) // and the next one is #3
	h.cycle()
	h.wantOps(acct, 3, 85000)
	if ops := h.pb.Operations(acct); !strings.Contains(ops[2].Reason, Marker(id, 3)) {
		t.Fatalf("next operation %q, want marker #3", ops[2].Reason)
	}
}

// The gap the README used to admit: a stay credited after the backup and cancelled before the
// restore. The restored state does not know the booking; its credit is found by marker and
// withdrawn.
func TestRestoredBackupWithdrawsAStayCancelledMeanwhile(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Ева", []string{"79161010102"}, ""))
	h.cycle()
	backup := h.backup()
	id := h.paidStay("Ева", "+79161010102", "")
	h.cycle()
	h.wantOps(acct, 1, 50000)
	h.setStatus(id, 2, "Отменен")

	h.restore(backup)
	h.cycle()
	h.wantOps(acct, 2, 0)
	if rec := h.record(id); rec.Seq != 2 || rec.Posted != 0 || rec.AccountID != acct {
		t.Fatalf("record %+v: want #1 adopted and withdrawn by #2", rec)
	}
}

// A backup restored after a booking's bonuses moved to another guest: neither account gets
// anything again; the restored state learns the move from the markers.
func TestRestoredBackupAfterAMoveRepostsNothing(t *testing.T) {
	h := newHarness(t, nil)
	x := h.pb.AddAccount(member("Икс", []string{"79161616161"}, ""))
	y := h.pb.AddAccount(member("Игрек", []string{"79161616162"}, ""))
	id := h.paidStay("Икс", "+79161616161", "")
	h.cycle()
	backup := h.backup()
	h.setGuest(id, "Игрек", "+79161616162", "")
	h.cycle()
	h.wantOps(x, 2, 0)
	h.wantOps(y, 1, 50000)

	h.restore(backup)
	h.setGuest(id, "Игрек", "+7 916 161-61-62", "")
	h.cycle()
	h.wantOps(x, 2, 0)
	h.wantOps(y, 1, 50000)
	if rec := h.record(id); rec.AccountID != y || rec.Posted != 50000 || rec.Seq != 3 || rec.Shortfall != 0 {
		t.Fatalf("record %+v: want the move adopted (account %d, posted 50000, seq 3)", rec, y)
	}
}

// reservation adds a booking that arrives next week (nothing to earn yet).
func (h *harness) reservation(phone string) int64 {
	h.tick()
	h.nextID++
	now := time.Now().In(moscow)
	h.bn.PutBooking(bnovo.Booking{
		ID: h.nextID, Number: "R" + itoa(h.nextID), StatusID: 3, StatusName: "Подтверждено", SourceID: 1,
		Customer: &bnovo.Customer{ID: h.nextID * 10, Name: "Гость", Phone: phone},
		Arrival:  now.AddDate(0, 0, 7), Departure: now.AddDate(0, 0, 9), CreateDate: now,
	})
	return h.nextID
}

// backup copies the state file as an operator would (every run's writes are committed).
func (h *harness) backup() string {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "backup.db")
	raw, err := os.ReadFile(h.db.Path())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// restore replaces the harness's state with the one at path (a backup's copy, as an operator
// restoring it would; a new file, as for a lost state) and starts a new engine (a new process)
// on it.
func (h *harness) restore(path string) {
	h.t.Helper()
	db, err := state.Open(path, state.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	h.db, h.opt.DB = db, db
	if h.eng, err = New(h.opt); err != nil {
		h.t.Fatal(err)
	}
}

// The cost of the marker check before posting, measured: a day of 24 hourly cycles in which 40
// stays check out, 20 of members who have accounts (10 of them twice) and 20 of new guests.
// Reads of the operations list are counted and logged; the bound is one per posting booking,
// and in fact one per existing account per process (created accounts need none).
func TestMarkerCheckCostPerDay(t *testing.T) {
	h := newHarness(t, nil)
	var members []string
	for i := range 10 {
		phone := "7916200" + itoa(int64(1000+i))
		h.pb.AddAccount(member("Член", []string{phone}, ""))
		members = append(members, "+"+phone)
	}
	start := h.pb.Stats().ByEndpoint
	before := start["operations"]
	posting := 0
	for hour := range 24 {
		if hour%2 == 0 && hour < 20 {
			m := members[hour/2]
			h.paidStay("Член", m, "")
			h.paidStay("Член", m, "") // a second stay of the same member
			h.paidStay("Новый", "", "new"+itoa(int64(hour))+"a@example.ru")
			h.paidStay("Новый", "", "new"+itoa(int64(hour))+"b@example.ru")
			posting += 4
			h.reservation("+7916300" + itoa(int64(1000+hour))) // a stay still to come: no ProBonus read
		}
		h.cycle()
	}
	end := h.pb.Stats().ByEndpoint
	reads := end["operations"] - before
	t.Logf("marker check: %d operations reads in a day of %d posting bookings (%d existing accounts, 20 created); all ProBonus reads: %d find, %d account, %d operations",
		reads, posting, len(members), end["find"]-start["find"], end["account"]-start["account"], reads)
	if reads > posting || reads != len(members) {
		t.Fatalf("%d reads, want one per existing account (%d)", reads, len(members))
	}
}

// Case 3 of issue 16: Bnovo's hotel zone (−03) lies west of timezone (Moscow, +03). Just after
// midnight in Moscow, a refund made minutes ago is still "yesterday" in Bnovo's zone: the
// changed listing must reach a whole day back to see it, and syncd warns once about the zone.
func TestChangedListingOverlapsADayForBnovosZone(t *testing.T) {
	// 00:30 in Moscow, 18:30 the day before in São Paulo.
	y, m, d := time.Now().In(moscow).Date()
	start := time.Date(y, m, d, 0, 30, 0, 0, moscow)
	var engineNow atomic.Int64
	engineNow.Store(start.UnixNano())
	logs := &testlog.Buffer{}
	h := newHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Unix(0, engineNow.Load()) }
		o.Logger = zerolog.New(logs).Level(zerolog.WarnLevel)
	})
	h.clock.Set(start.Add(-10 * time.Minute))
	h.bnovoIn(mustZone("America/Sao_Paulo"))

	id := h.checkedOut("+79161212121", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.wantPosted(id, 50000)

	h.pay(id, bnovo.PaymentOut, 1000000, card) // a full refund, at 18:20 in Bnovo's zone
	engineNow.Store(start.Add(5 * time.Minute).UnixNano())
	sum := h.cycle()
	h.wantPosted(id, 0)
	if sum.Seen == 0 {
		t.Fatalf("summary %+v: the refunded booking was not listed", sum)
	}
	if n := strings.Count(logs.String(), "another UTC offset than timezone"); n != 1 {
		t.Fatalf("the zone warning appeared %d times, want once:\n%s", n, logs.String())
	}
}

// bnovoIn replaces the harness's Bnovo with one whose hotel zone is zone, while syncd keeps
// its timezone (Moscow).
func (h *harness) bnovoIn(zone *time.Location) {
	h.t.Helper()
	h.bn.Close()
	h.bn = bnovotest.NewServer(bnovotest.Options{
		Location: zone,
		Now:      h.simNow,
		Windows:  []bnovotest.Window{{Limit: 100000, Per: time.Second}},
	})
	h.t.Cleanup(h.bn.Close)
	var err error
	h.pms, err = bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: moscow, Retry: fastRetry, RequestTimeout: 2 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	h.opt.PMS = h.pms
	if h.eng, err = New(h.opt); err != nil {
		h.t.Fatal(err)
	}
}

// A guest change on a stay paid with bonuses taken from the old guest's account: the accrual
// does not move while bonuses taken from the old account stand (the booking is parked for
// staff), and a bonus payment returned goes back where it was taken from.
func TestGuestChangeOnAStayPaidWithBonusesIsParked(t *testing.T) {
	h := redemptionHarness(t, nil)
	old := h.pb.AddAccount(member("Гена", []string{"79161919191"}, ""))
	h.pb.SetBalance(old, 100000)
	fresh := h.pb.AddAccount(member("Дина", []string{"79161919192"}, ""))
	id := h.paidStay("Гена", "+79161919191", "")
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.wantOps(old, 2, 20000) // +500 earned, −300 paid with bonuses

	h.setGuest(id, "Дина", "+79161919192", "")
	h.setStatus(id, 2, "Отменен")
	h.cycle()
	h.wantOps(old, 3, 50000) // the bonus payment returned where it was taken from
	h.wantOps(fresh, 0, 0)
	if r := h.parked()[state.ParkKeyBooking(id)]; !strings.Contains(r, "paid for it were taken from account") {
		t.Fatalf("parked with %q, want the bonus payment named", r)
	}
	// Once nothing paid with bonuses stands, the next change corrects the accrual as usual.
	h.setGuest(id, "Дина", "+7 916 191-91-92", "")
	h.cycle()
	h.wantOps(old, 4, 0)
	h.wantOps(fresh, 0, 0)
}

// A timestamp Bnovo wrote without an offset is read in timezone: it proves nothing about
// Bnovo's zone, so it never spares the changed listing's day of overlap.
func TestTimestampWithoutOffsetKeepsTheDayOfOverlap(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.warnZone(bnovo.Booking{ID: 1, UpdateDate: time.Date(2026, 6, 24, 12, 5, 10, 0, moscow)})
	if h.eng.zoneAgrees {
		t.Fatal("an offset-less update_date was taken as proof that Bnovo's zone is timezone")
	}
	h.eng.warnZone(bnovo.Booking{ID: 2, UpdateDate: time.Date(2026, 6, 24, 12, 5, 10, 0, time.FixedZone("", 3*3600))})
	if !h.eng.zoneAgrees {
		t.Fatal("an update_date written with timezone's offset did not count")
	}
}
