package sync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// arriving adds a confirmed booking arriving days from now, with staff notes, and returns its id.
func (h *harness) arriving(email string, days int) int64 {
	h.tick()
	h.nextID++
	now := time.Now().In(moscow)
	h.bn.PutBooking(bnovo.Booking{
		ID: h.nextID, Number: "A" + itoa(h.nextID), StatusID: bnovotest.StatusConfirmed, StatusName: bnovotest.StatusNames[bnovotest.StatusConfirmed],
		SourceID: 1, Customer: &bnovo.Customer{ID: h.nextID * 10, Name: "Анна", Surname: "Петрова", Email: email, Notes: "Поздний заезд\r\n"},
		Arrival: now.AddDate(0, 0, days), Departure: now.AddDate(0, 0, days+2), CreateDate: now.AddDate(0, 0, -10),
	})
	return h.nextID
}

const (
	guestReads = "GET /api/v1/bookings/{id}/guests"
	guestPuts  = "PUT /api/v1/bookings/{id}/guests/{guestID}"
)

func (h *harness) notesCalls() int {
	s := h.bn.Stats()
	return s.ByPath[guestReads] + s.ByPath[guestPuts]
}

func TestArrivalsGetTheLineAndItIsRefreshedOnlyWhenItChanges(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	account := h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	today := h.arriving("anna@example.ru", 0)
	tomorrow := h.arriving("ANNA@example.ru", 1)
	later := h.arriving("anna@example.ru", 3)
	nobody := h.arriving("nobody@example.ru", 0)
	cancelledID := h.arriving("anna@example.ru", 1)
	h.setStatus(cancelledID, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])

	sum := h.cycle()
	if sum.ArrivalLines != 2 {
		t.Fatalf("summary %+v: want the line for today's and tomorrow's arrival", sum)
	}
	for _, id := range []int64{today, tomorrow} {
		notes := h.bn.Guests(id)[0].Notes
		if !strings.HasPrefix(notes, "Поздний заезд\r\nProBonus: карта ") || !strings.Contains(notes, "баланс 1 125 бонусов") {
			t.Fatalf("arrival %d notes %q", id, notes)
		}
	}
	for _, id := range []int64{later, nobody, cancelledID} {
		if notes := h.bn.Guests(id)[0].Notes; strings.Contains(notes, "ProBonus:") {
			t.Fatalf("booking %d got a line: %q", id, notes)
		}
	}
	if n := len(h.pb.Accounts()); n != 1 {
		t.Fatalf("%d accounts: an arriving guest was enrolled without arrivals.enroll", n)
	}

	// Nothing changed: no Bnovo call is spent on the lines.
	calls := h.notesCalls()
	for range 2 {
		h.tick()
		h.cycle()
	}
	if got := h.notesCalls(); got != calls {
		t.Fatalf("unchanged lines cost %d guest calls", got-calls)
	}

	// The guest spends bonuses at the restaurant: the line shows the new balance.
	h.pb.SetBalance(account, 62500)
	if sum := h.cycle(); sum.ArrivalLines != 2 {
		t.Fatalf("summary %+v: want both lines refreshed", sum)
	}
	if notes := h.bn.Guests(today)[0].Notes; !strings.Contains(notes, "баланс 625 бонусов") || strings.Count(notes, "ProBonus:") != 1 {
		t.Fatalf("notes after the change elsewhere: %q", notes)
	}
}

func TestArrivalsEnrollCreatesTheAccount(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1, Enroll: true} })
	id := h.arriving("new.guest@example.ru", 0)
	sum := h.cycle()
	if sum.AccountsCreated != 1 || sum.ArrivalLines != 1 {
		t.Fatalf("summary %+v: want the account created and the line written", sum)
	}
	if notes := h.bn.Guests(id)[0].Notes; !strings.Contains(notes, "ProBonus: карта ") || !strings.Contains(notes, "баланс 0 бонусов") {
		t.Fatalf("notes %q", notes)
	}
	h.tick()
	if sum := h.cycle(); sum.AccountsCreated != 0 {
		t.Fatalf("a second account was created: %+v", sum)
	}
}

func TestArrivalsOff(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 0} })
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	id := h.arriving("anna@example.ru", 0)
	h.cycle()
	if notes := h.bn.Guests(id)[0].Notes; strings.Contains(notes, "ProBonus:") || h.notesCalls() != 0 {
		t.Fatalf("arrivals.days 0 still wrote: %q", notes)
	}
}

// arrivalsDown fails every arrivals listing, as Bnovo trouble at that moment would.
type arrivalsDown struct{ PMS }

func (a arrivalsDown) ListBookings(ctx context.Context, q bnovo.ListQuery, offset int, fn func(bnovo.Page) error) error {
	if q.DataType == bnovo.ByArrival {
		return errors.New("bnovo GET /bookings: 503 Service Unavailable")
	}
	return a.PMS.ListBookings(ctx, q, offset, fn)
}

// The arrivals listing is lines, not money: when it fails, the cycle's credits stand and the
// cycle does not fail.
func TestArrivalsListingFailureDoesNotFailTheCycle(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	h.opt.PMS = arrivalsDown{h.pms}
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle() // fails the test on an error
	h.wantPosted(id, 50000)
}

// An arrival whose booking is queued for a retry gets no line until it has been planned: the
// write would make the queued booking look unchanged (syncd's own write) and its retry lost.
func TestArrivalsLeaveQueuedBookingsAlone(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "anna@example.ru", AccountGroupID: 1, Balance: 112500})
	id := h.arriving("anna@example.ru", 0)
	if err := h.db.Update(func(tx *state.Tx) error {
		return tx.PutArrival(state.Arrival{BookingID: id, Day: h.eng.day(time.Now()), GuestID: id * 10, Keys: []string{"email:anna@example.ru"}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(id) }); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	h.eng.refreshArrivals(context.Background(), &sum)
	if sum.ArrivalLines != 0 || h.notesCalls() != 0 {
		t.Fatalf("a queued booking's line was written: %+v", sum)
	}
}

// ProBonus down: one warning for the pass, not one per arriving guest, and no Bnovo call.
func TestArrivalsWaitQuietlyWhileProBonusIsDown(t *testing.T) {
	var logs strings.Builder
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Arrivals = Arrivals{Days: 1} })
	for i := range 5 {
		h.pb.AddAccount(probonus.Account{FirstName: "Анна", Email: "guest" + itoa(int64(i)) + "@example.ru", AccountGroupID: 1})
		id := h.arriving("guest"+itoa(int64(i))+"@example.ru", 0)
		if err := h.db.Update(func(tx *state.Tx) error {
			return tx.PutArrival(state.Arrival{BookingID: id, Day: h.eng.day(time.Now()), GuestID: id * 10, Keys: []string{"email:guest" + itoa(int64(i)) + "@example.ru"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	h.opt.Logger = h.opt.Logger.Output(&logs)
	var err error
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}
	h.pb.FailNext("find", 100, 503)
	h.pb.FailNext("account", 100, 503)
	var sum Summary
	h.eng.refreshArrivals(context.Background(), &sum)
	if n := strings.Count(logs.String(), "lines at check-in wait"); n != 1 || sum.ArrivalLines != 0 || h.notesCalls() != 0 {
		t.Fatalf("%d warnings (want 1), %d lines, %d Bnovo calls:\n%s", n, sum.ArrivalLines, h.notesCalls(), logs.String())
	}
}
