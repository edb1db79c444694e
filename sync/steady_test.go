package sync

import (
	"context"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
)

// routeCalls counts the simulator's calls on one route.
func (h *harness) routeCalls(route string) int {
	return h.bn.Stats().ByPath[route]
}

const (
	listRoute     = "GET " + bnovo.APIPrefix + "/bookings"
	paymentsRoute = "GET " + bnovo.APIPrefix + "/bookings/{id}/payments"
)

// sameClock makes the engine read the simulator's clock (Bnovo's and syncd's clocks agree) and
// trust any update_date the simulator stamped before the engine reads it. *h is set once
// newHarness returns; the engine reads the clock before.
func sameClock(h **harness) func(*Options) {
	return func(o *Options) {
		o.WriteBack = true
		o.UpdateDateTrust = time.Nanosecond
		o.Now = func() time.Time {
			if *h == nil {
				return time.Now()
			}
			return (*h).simNow()
		}
	}
}

func TestOwnWriteBackIsNotPlannedAgain(t *testing.T) {
	var h *harness
	h = newHarness(t, sameClock(&h))
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 2250000, card)
	h.tick()
	h.cycle() // credits the stay and lists today's departures

	// An extra payment: credited and written back in the next cycle; syncd's own write then
	// costs one payments read (what its update_date may hide, see ownWriteMark), and none in
	// the cycles after.
	h.tick()
	h.pay(id, bnovo.PaymentIn, 250000, card)
	h.tick()
	before := h.routeCalls(paymentsRoute)
	if sum := h.cycle(); sum.WriteBacks != 1 || sum.Deposits != 1 {
		t.Fatalf("summary %+v: want one deposit and one write-back", sum)
	}
	for range 3 {
		h.tick()
		if sum := h.cycle(); sum.WriteBacks != 0 || sum.Deposits != 0 {
			t.Fatalf("summary %+v after syncd's own write: nothing to do", sum)
		}
	}
	if got := h.routeCalls(paymentsRoute) - before; got != 2 {
		t.Fatalf("payments read %d times for one change and syncd's own write-back, want 2", got)
	}
	h.wantPosted(id, 125000)

	// A person's change after the write is a change: the refund is withdrawn.
	for range 5 {
		h.tick()
	}
	h.pay(id, bnovo.PaymentOut, 500000, card)
	h.tick()
	h.cycle()
	h.wantPosted(id, 100000)
}

func TestFullCycleListsDeparturesOncePerDay(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	before := h.routeCalls(listRoute)
	h.cycle()
	if got := h.routeCalls(listRoute) - before; got != 1 {
		t.Fatalf("a second cycle the same day made %d listing calls, want 1 (the changed stream; today's departures were listed)", got)
	}
}

func TestSteadyCyclesListTodaysDeparturesBetweenFullOnes(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ChangedEvery = 2 })
	old := h.checkedOut("+79161234567", "", "")
	h.pay(old, bnovo.PaymentIn, 1000000, card)
	h.cycle() // full

	// Departing today: checks out now. And a refund on the stay credited before.
	h.tick()
	h.nextID++
	today := h.nextID
	now := time.Now().In(moscow)
	h.bn.PutBooking(bnovo.Booking{ID: today, Number: "T1", StatusID: bnovotest.StatusCheckedOut, StatusName: "Выехал",
		SourceID: 1, Customer: &bnovo.Customer{ID: today * 10, Name: "Иван", Phone: "+79161230000"},
		Arrival: now.AddDate(0, 0, -2), Departure: now, CreateDate: now.AddDate(0, 0, -5)})
	h.pay(today, bnovo.PaymentIn, 2000000, card)
	h.pay(old, bnovo.PaymentOut, 200000, card)

	before := h.routeCalls(listRoute)
	h.cycle() // steady: today's departures only
	if got := h.routeCalls(listRoute) - before; got != 1 {
		t.Fatalf("a steady cycle made %d listing calls, want 1 (today's departures)", got)
	}
	h.wantPosted(today, 100000)
	h.wantPosted(old, 50000) // the refund waits for the next full cycle

	h.cycle() // full: the changed stream since the last full cycle
	h.wantPosted(old, 40000)
}

// queryRecorder records the listings asked of Bnovo.
type queryRecorder struct {
	PMS
	queries []bnovo.ListQuery
}

func (r *queryRecorder) ListBookings(ctx context.Context, q bnovo.ListQuery, offset int, fn func(bnovo.Page) error) error {
	r.queries = append(r.queries, q)
	return r.PMS.ListBookings(ctx, q, offset, fn)
}

// Once Bnovo is seen writing its dates in timezone's offset, the changed listing starts at the
// cursor's date (after the first hour of the day): the day of overlap, there for a
// Bnovo zone west of ours, would list a whole day of changes more on every cycle.
func TestChangedListingNeedsNoDayOfOverlapWhenZonesAgree(t *testing.T) {
	var rec *queryRecorder
	h := newHarness(t, func(o *Options) { rec = &queryRecorder{PMS: o.PMS}; o.PMS = rec })
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	rec.queries = nil
	h.cycle()
	today := time.Now().In(moscow).Format(time.DateOnly)
	for _, q := range rec.queries {
		if q.DataType == bnovo.ByChanged && q.From.Format(time.DateOnly) != today && time.Now().In(moscow).Hour() >= 3 {
			t.Fatalf("changed listing from %s, want today (%s): Bnovo's offsets agree with timezone", q.From.Format(time.DateOnly), today)
		}
	}
}

// A person's change in the very second of syncd's own write-back cannot be told from it by
// update_date; the booking is planned once more when that second is over, and it is found.
func TestChangeInTheSecondOfAWriteBackIsFoundNextDay(t *testing.T) {
	var h *harness
	h = newHarness(t, sameClock(&h))
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 2000000, card)
	h.tick()
	if sum := h.cycle(); sum.WriteBacks != 1 {
		t.Fatalf("summary %+v: want the line written", sum)
	}
	// The refund lands in the same second as the write (the clock has not moved).
	h.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentOut, Amount: 1000000, PaymentTypeName: card, Date: h.simNow()})
	h.tick()
	h.cycle()
	h.wantPosted(id, 100000) // the write's second (with OwnWriteSkew) is not over yet

	h.clock.Advance(24 * time.Hour)
	h.cycle()
	h.wantPosted(id, 50000)
}

// Once every stay departing today has checked out, the steady cycles between full ones list
// nothing: a stay moved to depart today is a change the next full cycle finds.
func TestSteadyCyclesStopListingWhenTodaysDeparturesAreOut(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ChangedEvery = 2 })
	h.nextID++
	id := h.nextID
	now := time.Now().In(moscow)
	h.tick()
	h.bn.PutBooking(bnovo.Booking{ID: id, Number: "T2", StatusID: bnovotest.StatusCheckedIn, StatusName: "Заселен",
		SourceID: 1, Customer: &bnovo.Customer{ID: id * 10, Name: "Иван", Phone: "+79161230001"},
		Arrival: now.AddDate(0, 0, -2), Departure: now, CreateDate: now.AddDate(0, 0, -5)})
	h.cycle() // full
	h.cycle() // steady: the guest is still in the house
	h.setStatus(id, bnovotest.StatusCheckedOut, "Выехал")
	h.pay(id, bnovo.PaymentIn, 2000000, card)
	h.cycle() // full: credits the checkout
	h.cycle() // steady: lists today's departures, all out
	h.wantPosted(id, 100000)
	h.cycle() // full
	before := h.routeCalls(listRoute)
	h.cycle() // steady: nothing left to look for today
	if got := h.routeCalls(listRoute) - before; got != 0 {
		t.Fatalf("a steady cycle made %d listing calls after every departure of today checked out, want 0", got)
	}
}
