package sync

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/internal/testlog"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// stayWithNotes is a paid, checked-out stay whose guest has staff notes.
func (h *harness) stayWithNotes(phone, notes string) int64 {
	h.t.Helper()
	id := h.checkedOut(phone, "", "")
	b, _ := h.bn.Booking(id)
	b.Customer.Notes = notes
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	return id
}

// wantOwnAccounts checks that two paid stays (500 bonuses each) were credited to two accounts,
// one each.
func (h *harness) wantOwnAccounts(first, second int64) {
	h.t.Helper()
	a, b := h.record(first).AccountID, h.record(second).AccountID
	if a == 0 || b == 0 || a == b {
		h.t.Fatalf("the stays were credited to accounts %d and %d: one guest got the other's bonuses", a, b)
	}
	h.wantOps(a, 1, 50000)
	h.wantOps(b, 1, 50000)
}

// wantNoNotesCalls runs cycles more cycles and checks they cost no guest read or write: what
// says what should cost none.
func (h *harness) wantNoNotesCalls(cycles int, what string) {
	h.t.Helper()
	calls := h.notesCalls()
	for range cycles {
		h.tick()
		h.cycle()
	}
	if got := h.notesCalls(); got != calls {
		h.t.Fatalf("%s cost %d guest calls in %d cycles", what, got-calls, cycles)
	}
}

// A PUT answered with "notes": null (a server that does not reload the field) says nothing of
// what Bnovo stored: syncd must not take it for notes emptied meanwhile and write its line alone
// over the staff's lines.
func TestGuestWriteAnsweredWithNullNotesKeepsStaffLines(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	staff := "Поздний заезд\r\nАллергия на орехи"
	id := h.stayWithNotes("+79161234501", staff)
	h.bn.AnswerGuestWritesWithNullNotes(true)
	h.cycle()
	h.wantPosted(id, 50000)
	notes := h.bn.Guests(id)[0].Notes
	if !strings.HasPrefix(notes, staff+"\r\nProBonus: карта ") || strings.Count(notes, "ProBonus:") != 1 {
		t.Fatalf("staff lines lost or line written twice: notes %q", notes)
	}
	if puts := h.bn.Stats().ByPath[guestPuts]; puts != 1 {
		t.Fatalf("%d PUTs for one line", puts)
	}
}

// A PUT answered with the guest as it was before the write (a stale copy) is no proof that the
// line is missing: the line is verified by reading the notes, not written a second time.
func TestGuestWriteAnsweredWithTheOldNotesIsNotWrittenTwice(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	staff := "VIP"
	id := h.stayWithNotes("+79161234502", staff)
	h.bn.AnswerGuestWritesAsBefore(true)
	h.cycle()
	notes := h.bn.Guests(id)[0].Notes
	if !strings.HasPrefix(notes, staff+"\nProBonus: карта ") || strings.Count(notes, "ProBonus:") != 1 {
		t.Fatalf("notes %q", notes)
	}
	if puts := h.bn.Stats().ByPath[guestPuts]; puts != 1 {
		t.Fatalf("%d PUTs for one line: written twice", puts)
	}
}

// replaceCustomer puts another guest record on the booking, as the desk choosing another
// profile would: a new guest id, with its own notes.
func (h *harness) replaceCustomer(booking, guestID int64, name, phone, email, notes string) {
	h.t.Helper()
	b, ok := h.bn.Booking(booking)
	if !ok {
		h.t.Fatalf("no booking %d", booking)
	}
	b.Customer = &bnovo.Customer{ID: guestID, Name: name, Phone: phone, Email: email, Notes: notes}
	b.UpdateDate = time.Time{}
	h.tick()
	h.bn.PutBooking(b)
}

// The desk replaces an arriving booking's guest record by another profile of the same account
// (the guest's second profile, a spouse with the family e-mail): the line shown to the first
// profile is not in the new guest's notes, so the desk at check-in would see no card.
func TestArrivalLineFollowsTheGuestRecordPutOnTheBooking(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	id := h.arriving("anna@example.ru", 0)
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, "ProBonus: карта ") {
		t.Fatalf("first guest's notes %q", notes)
	}
	h.replaceCustomer(id, 777001, "Анна", "", "anna@example.ru", "VIP")
	h.cycle()
	g := h.bn.Guests(id)[0]
	if g.ID != 777001 || !strings.HasPrefix(g.Notes, "VIP\nProBonus: карта ") || !strings.Contains(g.Notes, "баланс 1 125 бонусов") {
		t.Fatalf("the guest now on the booking has notes %q: no card at check-in", g.Notes)
	}
	h.wantNoNotesCalls(1, "an unchanged line")
}

// The same on a credited stay: the desk puts the guest's other profile on the booking (same
// phone, so the same account, and nothing to move). The line belongs in the notes of the guest
// now on the booking; the one it was written for is no longer there.
func TestCreditedStaysLineFollowsTheGuestRecordPutOnTheBooking(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	account := h.pb.AddAccount(member("Анна", []string{"79161234503"}, ""))
	id := h.stayWithNotes("+79161234503", "Поздний заезд")
	h.cycle()
	h.wantOps(account, 1, 50000)
	h.replaceCustomer(id, 777002, "Анна", "8 916 123-45-03", "", "VIP\r\n")
	h.cycle()
	h.wantOps(account, 1, 50000)
	g := h.bn.Guests(id)[0]
	if g.ID != 777002 || !strings.HasPrefix(g.Notes, "VIP\r\nProBonus: карта ") || !strings.Contains(g.Notes, "баланс 500 бонусов") {
		t.Fatalf("the guest now on the booking has notes %q", g.Notes)
	}
	writes := h.bn.Stats().GuestWrites
	h.tick()
	h.cycle()
	if got := h.bn.Stats().GuestWrites; got != writes {
		t.Fatalf("the line was written again: %d writes", got-writes)
	}
}

// Two colleagues give the office switchboard with their own extensions. The extension is all
// that tells them apart, and ProBonus holds no extensions: the number is shared by everyone
// behind that switchboard, so it never identifies a guest; each is told apart by the e-mail.
func TestPhoneWithAnExtensionNeverIdentifiesAGuest(t *testing.T) {
	h := newHarness(t, nil)
	first := h.paidStay("Анна", "+7 (495) 123-45-67 доб. 101", "anna@corp.example.ru")
	h.cycle()
	second := h.paidStay("Борис", "8 495 123 45 67 ext. 102", "boris@corp.example.ru")
	h.cycle()
	h.wantOwnAccounts(first, second)
	for _, acc := range h.pb.Accounts() {
		if len(acc.Phones) != 0 {
			t.Fatalf("account %d was given the switchboard's number %s", acc.ID, contact.MaskPhone(acc.Phones[0]))
		}
	}
}

// The desk replaces a credited stay's guest record by another guest's, then puts the first one
// back (the wrong profile was picked). The bonuses go there and back, the markers continuing,
// and each guest's notes only ever show that guest's own card.
func TestGuestReplacedAndPutBackMovesTheBonusesBothWays(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	anna := h.pb.AddAccount(member("Анна", []string{"79161234504"}, ""))
	boris := h.pb.AddAccount(member("Борис", []string{"79161234505"}, ""))
	id := h.stayWithNotes("+79161234504", "Анна: поздний заезд")
	annaGuest := h.bn.Guests(id)[0].ID
	h.cycle()
	h.wantOps(anna, 1, 50000)

	h.replaceCustomer(id, 777005, "Борис", "+7 916 123-45-05", "", "Борис: VIP")
	h.cycle()
	h.cycle() // the move's deposit follows its withdrawal
	h.wantOps(anna, 2, 0)
	h.wantOps(boris, 1, 50000)
	borisNotes := h.bn.Guests(id)[0].Notes
	if !strings.Contains(borisNotes, mustAccount(t, h, boris).Card()) || strings.Contains(borisNotes, mustAccount(t, h, anna).Card()) {
		t.Fatalf("Борис's notes %q", borisNotes)
	}

	h.replaceCustomer(id, annaGuest, "Анна", "+79161234504", "", "Анна: поздний заезд\nProBonus: карта "+mustAccount(t, h, anna).Card()+", баланс 500 бонусов, уровень Бронза")
	h.cycle()
	h.cycle()
	h.wantOps(boris, 2, 0)
	h.wantOps(anna, 3, 50000)
	if ops := h.pb.Operations(anna); !strings.Contains(ops[len(ops)-1].Reason, Marker(id, 5)) {
		t.Fatalf("the deposit back carries %q, want marker #5", ops[len(ops)-1].Reason)
	}
	annaNotes := h.bn.Guests(id)[0].Notes
	if strings.Count(annaNotes, "ProBonus:") != 1 || !strings.Contains(annaNotes, mustAccount(t, h, anna).Card()) || !strings.HasPrefix(annaNotes, "Анна: поздний заезд\n") {
		t.Fatalf("Анна's notes %q", annaNotes)
	}
	h.wantPosted(id, 50000)
}

// The arriving guest's cached account was merged into their other account in ProBonus (its id
// answers 404 now). The answer is forgotten and the guest looked up again (spec §2), so the desk
// sees the surviving card at check-in, instead of no line and a warning every cycle until the
// guest checks out.
func TestArrivalLineAfterTheCachedAccountWasMerged(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	merged := h.pb.AddAccount(member("Анна", nil, "anna@example.ru"))
	survivor := h.pb.AddAccount(member("Анна", []string{"79161234506"}, ""))
	h.pb.SetBalance(survivor, 200000)
	h.paidStay("Анна", "", "anna@example.ru") // an earlier stay: the e-mail's answer is cached
	h.cycle()
	h.wantOps(merged, 1, 50000)

	h.pb.MergeAccount(merged, survivor)
	id := h.arriving("anna@example.ru", 0)
	h.cycle()
	notes := h.bn.Guests(id)[0].Notes
	if card := mustAccount(t, h, survivor).Card(); !strings.Contains(notes, "ProBonus: карта "+card) || !strings.Contains(notes, "баланс 2 500 бонусов") {
		t.Fatalf("arriving guest's notes %q, want the surviving card %s with its balance", notes, card)
	}
	if got := h.mapped("email:anna@example.ru"); got != survivor {
		t.Fatalf("the e-mail maps to %d, want the surviving account %d", got, survivor)
	}
}

// The desk types a placeholder when a guest gives no e-mail ("no@mail.ru"). Listed in
// probonus.ignore_emails, it never identifies a guest: a new guest whose phone ProBonus does not
// know yet gets an account of their own, instead of the bonuses of whoever first came with the
// placeholder (whose account was created holding it).
func TestPlaceholderEmailNeverIdentifiesAGuest(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.IgnoreEmails = []string{"no@mail.ru"} })
	first := h.paidStay("Анна", "+79161234507", "No@Mail.ru")
	h.cycle()
	second := h.paidStay("Борис", "+79161234508", "no@mail.ru ")
	nophone := h.paidStay("Вера", "", "no@mail.ru")
	h.cycle()
	h.wantOwnAccounts(first, second)
	if r := h.parked()[state.ParkKeyBooking(nophone)]; !strings.Contains(r, "probonus.ignore_emails") {
		t.Fatalf("a guest with only the placeholder parked with %q, want it named", r)
	}
	for _, acc := range h.pb.Accounts() {
		if acc.Email != "" {
			t.Fatalf("account %d was given the placeholder e-mail", acc.ID)
		}
	}
}

// With probonus.create_accounts false, a phone typo credited a member; staff fix the phone to
// the guest's own number, which has no account. The guest is now known not to be that member:
// an extra payment must not deposit more to the member (spec §2: nothing more is ever posted to
// the old account), while a refund still takes back from the member what the stay put there.
func TestNoMoreToTheWrongMemberWhenTheFixedPhoneHasNoAccount(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.CreateAccounts = false })
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234509"}, ""))
	id := h.paidStay("Анна", "+79161234509", "") // the typo: Вадим's number
	h.cycle()
	h.wantOps(wrong, 1, 50000)

	h.setGuest(id, "Анна", "+79161234510", "") // her own number: no account, none created
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.wantOps(wrong, 1, 50000)
	if r := h.parked()[state.ParkKeyBooking(id)]; !strings.Contains(r, "no ProBonus account") {
		t.Fatalf("parked with %q, want the guest's missing account named", r)
	}

	h.pay(id, bnovo.PaymentOut, 2000000, card) // everything refunded
	h.cycle()
	h.wantOps(wrong, 2, 0)
}

// An in-house guest's stay was typed with a member's phone (a typo) and paid partly with
// bonuses, taken from that member. Staff fix the phone to the guest's own number, which has no
// account, and the guest pays more with bonuses: none of that may be taken from the member, who
// is now known not to be the guest (a redemption shortfall for staff instead).
func TestRedemptionTakesNothingMoreFromTheWrongMemberOnceThePhoneIsFixed(t *testing.T) {
	h := redemptionHarness(t, nil)
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234512"}, ""))
	h.pb.SetBalance(wrong, 100000)
	id := h.checkedOut("+79161234512", "", "") // the typo: Вадим's number
	h.setStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.setGuest(id, "Анна", "+79161234513", "") // her own number: no account
	h.pay(id, bnovo.PaymentIn, 20000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	if got := h.balance(wrong); got != 70000 {
		t.Fatalf("the member's balance is %d, want 70000: more was taken from him", got)
	}
	if h.record(id).RedeemShortfall == 0 {
		t.Fatal("no redemption shortfall recorded for the bonuses that could not be taken")
	}
}

// An arrival noted while the desk's placeholder e-mail still counted keeps its keys in the state.
// Once probonus.ignore_emails lists the placeholder (the operator restarts syncd with it), the
// arriving guest must not get the card of whoever holds the placeholder.
func TestArrivalNotedBeforeAnIgnoredEmailWasListedGetsNoStrangersCard(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	id := h.arriving("no@mail.ru", 0)
	b, _ := h.bn.Booking(id)
	b.UpdateDate = time.Now().AddDate(0, 0, -5) // booked days ago: only the arrivals listing shows it
	h.bn.PutBooking(b)
	h.cycle() // noted; nobody holds the placeholder yet: no line
	stranger := h.pb.AddAccount(member("Борис", []string{"79161234515"}, "no@mail.ru"))

	h.opt.IgnoreEmails = []string{"no@mail.ru"}
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	h.tick()
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; strings.Contains(notes, mustAccount(t, h, stranger).Card()) {
		t.Fatalf("the arriving guest got the card of the placeholder's holder: %q", notes)
	}
}

// Bnovo refuses an arriving guest's line for good (406: the notes would pass the field's
// limit). Every cycle (every 5 minutes) tried the read and the write again: up to 576 calls a
// day for one guest, out of a budget of a few thousand. A refused line is tried again only when
// it changes (balance, level) or the booking does (staff shortened the notes).
func TestArrivalLineBnovoRefusesIsNotRetriedEveryCycle(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	account := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	h.bn.LimitNotes(40)
	id := h.arriving("anna@example.ru", 0)
	h.cycle()
	if h.notesCalls() == 0 {
		t.Fatal("the line was never tried")
	}
	h.wantNoNotesCalls(3, "a refused line")

	// Staff shorten the notes: the booking changes, and the line is tried (and fits) again.
	b, _ := h.bn.Booking(id)
	b.Customer.Notes = ""
	b.UpdateDate = time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.bn.LimitNotes(0)
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, "ProBonus: карта ") {
		t.Fatalf("notes %q after the booking changed", notes)
	}
	_ = account
}

// A guest record put on a stay whose bonuses were all taken back (cancelled) gets no line: the
// line is for credited stays, and each write costs two Bnovo calls.
func TestGuestRecordPutOnACancelledStayGetsNoLine(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	account := h.pb.AddAccount(member("Анна", []string{"79161234516"}, ""))
	id := h.stayWithNotes("+79161234516", "")
	h.cycle()
	h.setStatus(id, 2, "Отменен")
	h.cycle()
	h.wantOps(account, 2, 0)
	writes := h.bn.Stats().GuestWrites
	h.replaceCustomer(id, 777016, "Анна", "+79161234516", "", "VIP")
	h.cycle()
	if got := h.bn.Stats().GuestWrites; got != writes {
		t.Fatalf("%d lines written into the notes of a guest put on a cancelled stay", got-writes)
	}
}

// An arriving guest typed with a member's phone (a typo) got the member's card in their notes;
// staff fix the phone to the guest's own number, which has no account. The member's card and
// balance must not stay in the guest's notes for the desk to see at check-in: syncd's line goes,
// the staff's lines stay.
func TestArrivalLineOfTheWrongMemberGoesWhenThePhoneIsFixed(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234517"}, ""))
	id := h.arriving("", 0)
	h.setGuest(id, "Анна", "+79161234517", "") // the typo: Вадим's number
	h.cycle()
	card := mustAccount(t, h, wrong).Card()
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, card) {
		t.Fatalf("notes %q: the typo's line was not written, the test proves nothing", notes)
	}
	h.setGuest(id, "Анна", "+79161234518", "") // her own number: no account
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; notes != "Поздний заезд\r\n" {
		t.Fatalf("notes %q, want the staff's line alone: the member's card stays for the desk to see", notes)
	}
	h.wantNoNotesCalls(1, "the line once gone")
}

func TestWithoutLoyaltyLine(t *testing.T) {
	const ours = "ProBonus: карта 2000000000123, баланс 1 125 бонусов, уровень Серебро"
	for notes, want := range map[string]string{
		"":                         "",
		ours:                       "",
		"Поздний заезд\r\n" + ours: "Поздний заезд\r\n",
		"a\r\n" + ours + "\r\nb":   "a\r\nb",
		ours + "\nProBonus: гость просит\n": "ProBonus: гость просит\n",
		"VIP": "VIP",
	} {
		if got := withoutLoyaltyLine(notes); got != want {
			t.Errorf("withoutLoyaltyLine(%q) = %q, want %q", notes, got, want)
		}
	}
}

// A hotel far east of syncd's host (Kamchatka, +12, while the host runs in UTC): just after
// midnight there it is still the day before in UTC. Arrivals are decided in the hotel's day:
// today's and tomorrow's (up to 23:30) get the line, the day after's does not.
func TestArrivalsAreDecidedInTheHotelsDay(t *testing.T) {
	zone := mustZone("Asia/Kamchatka")
	y, m, d := time.Now().In(zone).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, zone)
	var engineNow atomic.Int64
	engineNow.Store(midnight.Add(40 * time.Minute).UnixNano())
	h := newHarness(t, func(o *Options) {
		o.WriteBack, o.Arrivals, o.Location = true, Arrivals{Days: 1}, zone
		o.Now = func() time.Time { return time.Unix(0, engineNow.Load()).UTC() }
	})
	h.clock.Set(midnight.Add(30 * time.Minute))
	h.bn.Close()
	h.bn = bnovotest.NewServer(bnovotest.Options{Location: zone, Now: h.simNow, Windows: []bnovotest.Window{{Limit: 100000, Per: time.Second}}})
	t.Cleanup(h.bn.Close)
	pms, err := bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: zone, Retry: fastRetry, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.opt.PMS = pms
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	at := func(arrival time.Time) int64 {
		id := h.arriving("anna@example.ru", 0)
		b, _ := h.bn.Booking(id)
		b.Arrival, b.Departure, b.UpdateDate = arrival, arrival.AddDate(0, 0, 2), time.Time{}
		h.tick()
		h.bn.PutBooking(b)
		return id
	}
	today := at(midnight.Add(20 * time.Minute))                                  // 00:20 today (yesterday in UTC)
	tomorrow := at(midnight.AddDate(0, 0, 1).Add(23*time.Hour + 30*time.Minute)) // 23:30 tomorrow
	dayAfter := at(midnight.AddDate(0, 0, 2).Add(30 * time.Minute))              // 00:30 the day after
	h.cycle()
	for id, want := range map[int64]bool{today: true, tomorrow: true, dayAfter: false} {
		if got := strings.Contains(h.bn.Guests(id)[0].Notes, "ProBonus: карта "); got != want {
			b, _ := h.bn.Booking(id)
			t.Errorf("booking %d arriving %s: line %v, want %v", id, b.Arrival.In(zone).Format(time.DateTime), got, want)
		}
	}
}

// restoreRig makes a harness (with write-back) whose state is backed up after one cycle (the
// backup of a state in use has its cursors); restoreLater restores that backup two hours later
// by syncd's clock, so the new process catches up.
func restoreRig(t *testing.T, newH func(*testing.T, func(*Options)) *harness) (*harness, func()) {
	var shift atomic.Int64
	h := newH(t, func(o *Options) {
		o.WriteBack = true
		o.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	})
	h.cycle()
	saved := h.backup()
	return h, func() {
		shift.Store(int64(2 * time.Hour))
		h.restore(saved)
	}
}

// A backup is restored after a stay was credited (to the member a phone typo named) and the
// typo fixed: the restored state knows neither the credit nor the match, and the guest's
// contacts now name another account. Deciding the account anew must not credit the stay a second
// time there: the card syncd showed in the guest's notes names the account the credit went to,
// whose markers are read; the bonuses move (withdrawn there, deposited to the guest's account).
func TestRestoredBackupFindsTheCreditOfAGuestWhoseContactsChanged(t *testing.T) {
	h, restoreLater := restoreRig(t, newHarness)
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234521"}, ""))
	right := h.pb.AddAccount(member("Анна", []string{"79161234522"}, ""))

	id := h.stayWithNotes("+79161234521", "Поздний заезд") // the typo: Вадим's number
	h.cycle()
	h.wantOps(wrong, 1, 50000)
	h.fixTypoThenRestore(id, "+79161234522", restoreLater, wrong, right)
}

// fixTypoThenRestore fixes the stay's phone to the guest's own (right's), restores the backup a
// while later, and checks that after two cycles the stay's 500 bonuses are on right alone: taken
// back from wrong, deposited once to right.
func (h *harness) fixTypoThenRestore(id int64, phone string, restoreLater func(), wrong, right int64) {
	h.t.Helper()
	h.setGuest(id, "Анна", phone, "")
	restoreLater()
	h.cycle()
	h.cycle()
	h.wantPosted(id, 50000)
	h.wantOps(wrong, 2, 0)
	h.wantOps(right, 1, 50000)
}

// What the restored-backup check costs: nothing in a process that has caught up, however long
// its schedule's interval (an hourly schedule leaves the cursor an hour old at every cycle), nor
// after a short restart: a stay's first credit reads the guest once, for its write-back.
func TestRestoredBackupCheckCostsNoGuestReadWhenCaughtUp(t *testing.T) {
	var shift atomic.Int64
	h := newHarness(t, func(o *Options) {
		o.WriteBack = true
		o.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	})
	h.pb.AddAccount(member("Анна", []string{"79161234523"}, ""))
	h.cycle()
	for i, restart := range []bool{false, true} {
		shift.Add(int64(time.Hour))
		if restart {
			shift.Add(int64(-50 * time.Minute)) // back ten minutes after the last cycle
			h.restore(h.backup())               // a new process on the same state
		}
		h.stayWithNotes("+79161234523", "")
		before := h.bn.Stats().ByPath[guestReads]
		h.cycle()
		if reads := h.bn.Stats().ByPath[guestReads] - before; reads != 1 {
			t.Fatalf("case %d (restart %v): %d guest reads for one first credit, want 1 (its write-back)", i, restart, reads)
		}
	}
}

// The same restore, but the stay was also cancelled before it: it earns nothing now, and its
// credit, on the account the notes show, is withdrawn there rather than left with the member.
func TestRestoredBackupWithdrawsTheCreditOfACancelledStayWhoseGuestChanged(t *testing.T) {
	h, restoreLater := restoreRig(t, newHarness)
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234524"}, ""))
	right := h.pb.AddAccount(member("Анна", []string{"79161234525"}, ""))

	id := h.stayWithNotes("+79161234524", "") // the typo: Вадим's number
	h.cycle()
	h.wantOps(wrong, 1, 50000)
	h.setGuest(id, "Анна", "+79161234525", "")
	h.setStatus(id, 2, "Отменен")

	restoreLater()
	h.cycle()
	h.cycle()
	h.wantPosted(id, 0)
	h.wantOps(wrong, 2, 0)
	h.wantOps(right, 0, 0)
}

// The same for bonuses paid with: an in-house stay typed with a member's phone had bonuses taken
// from the member; the typo is fixed and the stay cancelled before an older backup is restored.
// The bonuses go back to the member they were taken from, found by the card the notes show.
func TestRestoredBackupReturnsBonusesTakenFromTheAccountTheNotesShow(t *testing.T) {
	h, restoreLater := restoreRig(t, redemptionHarness)
	wrong := h.pb.AddAccount(member("Вадим", []string{"79161234526"}, ""))
	h.pb.SetBalance(wrong, 100000)
	h.pb.AddAccount(member("Анна", []string{"79161234527"}, ""))

	id := h.checkedOut("+79161234526", "", "") // the typo: Вадим's number
	h.setStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	h.setGuest(id, "Анна", "+79161234527", "")
	h.setStatus(id, 2, "Отменен")

	restoreLater()
	h.cycle()
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	if got := h.balance(wrong); got != 100000 {
		t.Fatalf("the member's balance is %d, want 100000: the bonuses taken from him did not come back", got)
	}
}

// A caching proxy in front of ProBonus answers the guest's lookup with its error page, which
// quotes the URL asked for, the guest's phone with it. The run's warnings (and any reason kept
// for staff) show it masked.
func TestProxyErrorPageQuotingTheLookupKeepsThePhoneOutOfTheLogs(t *testing.T) {
	logs := &testlog.Buffer{}
	h := newHarness(t, func(o *Options) { o.Logger = zerolog.New(logs).Level(zerolog.WarnLevel) })
	id := h.paidStay("Анна", "+7 916 123-45-28", "")
	h.pb.HostileNext("find", 100000, hostile.URLErrorPage)
	h.cycle()
	h.wantPosted(id, 0)
	if out := logs.String(); !strings.Contains(out, "could not be retrieved") || strings.Contains(out, "9161234528") {
		t.Fatalf("the logs show the guest's phone (or not the proxy's page at all):\n%s", out)
	}
	for _, reason := range h.parked() {
		if strings.Contains(reason, "9161234528") {
			t.Fatalf("a parked reason shows the guest's phone: %s", reason)
		}
	}
}

// The restored-backup check reads the account-id form of the line too (a card ProBonus sends
// that breaks the line's form is shown as "счёт N").
func TestRestoredBackupFindsTheCreditShownByAccountID(t *testing.T) {
	h, restoreLater := restoreRig(t, newHarness)
	odd := member("Вадим", []string{"79161234528"}, "")
	odd.Identifiers = []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "12, 34"}}
	wrong := h.pb.AddAccount(odd)
	right := h.pb.AddAccount(member("Анна", []string{"79161234529"}, ""))

	id := h.stayWithNotes("+79161234528", "")
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; !strings.HasPrefix(notes, "ProBonus: счёт "+itoa(wrong)+", ") {
		t.Fatalf("notes %q: not the account-id form, the test proves nothing", notes)
	}
	h.fixTypoThenRestore(id, "+79161234529", restoreLater, wrong, right)
}

// Two guests on one booking: a companion shares the room, listed before the main guest (the order
// is not guaranteed). The main guest is matched and credited; the line goes into the main
// guest's notes, never the companion's, at check-in and after the stay.
func TestCompanionOnTheBookingNeverGetsTheLine(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	anna := h.pb.AddAccount(member("Анна", []string{"79161234530"}, ""))
	h.pb.AddAccount(member("Борис", []string{"79161234531"}, ""))
	arriving := h.arriving("", 0)
	h.setGuest(arriving, "Анна", "+79161234530", "")
	stay := h.stayWithNotes("+79161234530", "")
	for _, id := range []int64{arriving, stay} {
		h.bn.AddCompanion(id, bnovo.Guest{ID: 900000 + id, Name: "Борис", Phone: "+79161234531", Notes: "спутник"}, true)
	}
	h.cycle()
	h.wantOps(anna, 1, 50000)
	for id, staff := range map[int64]string{arriving: "Поздний заезд\r\n", stay: ""} {
		guests := h.bn.Guests(id)
		want := staff + "ProBonus: карта " + mustAccount(t, h, anna).Card() + ", "
		if len(guests) != 2 || guests[0].Notes != "спутник" || !strings.HasPrefix(guests[1].Notes, want) {
			t.Fatalf("booking %d guests %+v: want Анна's card after her own notes, and the companion's untouched", id, guests)
		}
	}
}

// Bnovo's hotel zone (São Paulo, −03) lies west of timezone (Moscow): a guest arriving at 02:00
// Moscow time arrives at 20:00 the day before in Bnovo's dates, so a listing of arrivals from
// today by Bnovo's dates misses them. Booked weeks ago, nothing else lists them: the arrivals
// listing reaches a day further on each side while Bnovo's zone is not proven to be ours.
func TestArrivalsListingCoversBnovosZone(t *testing.T) {
	y, m, d := time.Now().In(moscow).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, moscow)
	var engineNow atomic.Int64
	engineNow.Store(today.Add(time.Hour).UnixNano()) // 01:00 in Moscow, 19:00 the day before in São Paulo
	h := newHarness(t, func(o *Options) {
		o.WriteBack, o.Arrivals = true, Arrivals{Days: 1}
		o.Now = func() time.Time { return time.Unix(0, engineNow.Load()) }
	})
	h.clock.Set(today.Add(50 * time.Minute))
	h.bnovoIn(mustZone("America/Sao_Paulo"))
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	id := h.arriving("anna@example.ru", 0)
	b, _ := h.bn.Booking(id)
	b.Arrival, b.Departure = today.Add(2*time.Hour), today.AddDate(0, 0, 2)
	b.UpdateDate = today.AddDate(0, 0, -40) // booked long ago: the changed listing does not show it
	b.CreateDate = b.UpdateDate
	h.bn.PutBooking(b)
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, "ProBonus: карта ") {
		t.Fatalf("the guest arriving at 02:00 today got no line: %q", notes)
	}
}
