package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/state"
)

// lots keeps a hostile answer coming for every retry of a whole cycle.
const lots = 100000

var bnovoHostile = map[string]hostile.Answer{
	"wrong shape":   hostile.WrongShape,
	"success false": hostile.SuccessFalse,
	"HTML page":     hostile.HTMLPage,
	"{}":            hostile.EmptyObject,
	"empty data":    hostile.EmptyData,
	"redirect":      hostile.Redirect,
}

// eachAnswer runs body once per hostile answer, each on a harness of its own, in parallel: the
// time goes into waiting out retries and settling.
func eachAnswer(t *testing.T, answers map[string]hostile.Answer, body func(t *testing.T, h *harness, answer hostile.Answer)) {
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body(t, newHarness(t, nil), answer)
		})
	}
}

// wantNothingParked fails when any booking or listing position is parked.
func (h *harness) wantNothingParked() {
	h.t.Helper()
	if parked := h.parked(); len(parked) != 0 {
		h.t.Fatalf("parked %v: a hostile answer must never park a booking", parked)
	}
}

// wantNoCapture fails when a request reached the origin either simulator redirected to.
func (h *harness) wantNoCapture() {
	h.t.Helper()
	for api, got := range map[string][]hostile.Request{"Bnovo": h.bn.Captured(), "ProBonus": h.pb.Captured()} {
		if len(got) != 0 {
			h.t.Fatalf("%d requests left %s's origin (first: %s %s)", len(got), api, got[0].Method, got[0].Path)
		}
	}
}

// A credited booking whose payments call then answers a hostile 200 keeps its bonuses: nothing
// is withdrawn, nothing parked, the booking is retried, and once Bnovo answers properly again
// the booking is settled without a second operation.
func TestHostilePaymentsAnswerNeverWithdraws(t *testing.T) {
	t.Parallel()
	eachAnswer(t, bnovoHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.cycle()
		h.wantPosted(id, 50000)

		h.setStatus(id, 5, "Выехал") // a change: the booking is planned again
		h.bn.HostileNext(bnovotest.EndpointPayments, lots, answer)
		sum := h.cycle()
		h.wantPosted(id, 50000)
		if _, ops := h.posted(id); ops != 1 || sum.Withdrawals != 0 {
			t.Fatalf("%d operations, %d withdrawals after a hostile payments answer; want the one deposit", ops, sum.Withdrawals)
		}
		h.wantNothingParked()
		h.wantNoCapture()
		if sum.Retrying == 0 {
			t.Fatalf("summary %+v: the booking must be queued for a retry", sum)
		}

		h.bn.HostileNext(bnovotest.EndpointPayments, 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
		if _, ops := h.posted(id); ops != 1 {
			t.Fatalf("%d operations once Bnovo answered properly, want 1", ops)
		}
		h.wantNothingParked()
	})
}

// A new booking whose payments (or the booking itself, fetched from the queue) answer a hostile
// 200 is not parked for good: it is credited once Bnovo answers properly.
func TestHostileAnswerOnANewBookingIsRetriedNotParked(t *testing.T) {
	t.Parallel()
	eachAnswer(t, bnovoHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.bn.HostileNext(bnovotest.EndpointPayments, lots, answer)
		h.bn.HostileNext(bnovotest.EndpointBooking, lots, answer)
		h.cycle()
		h.wantPosted(id, 0)
		h.wantNothingParked()
		h.wantNoCapture()

		h.bn.HostileNext(bnovotest.EndpointPayments, 0, 0)
		h.bn.HostileNext(bnovotest.EndpointBooking, 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
		h.wantNothingParked()
	})
}

// A hostile 200 on the listing fails the cycle as a passing Bnovo failure: nothing is parked or
// posted, and the next cycle credits the stay.
func TestHostileListingAnswerFailsTheCycleOnly(t *testing.T) {
	t.Parallel()
	eachAnswer(t, bnovoHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.bn.HostileNext(bnovotest.EndpointList, lots, answer)
		_, err := h.eng.Cycle(context.Background())
		if err == nil || bnovo.KindOf(err) != bnovo.Transient {
			t.Fatalf("cycle: %v, want a transient Bnovo error", err)
		}
		var ce *CredentialsError
		if errors.As(err, &ce) {
			t.Fatalf("cycle: %v blames the credentials", err)
		}
		h.wantPosted(id, 0)
		h.wantNothingParked()
		h.wantNoCapture()

		h.bn.HostileNext(bnovotest.EndpointList, 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
	})
}

// A hostile login answer is a passing failure too, never "the API key was refused".
func TestHostileLoginAnswerDoesNotBlameTheKey(t *testing.T) {
	t.Parallel()
	eachAnswer(t, bnovoHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		// Few enough to stay under the simulator's login limit while the client retries.
		h.bn.HostileNext(bnovotest.EndpointAuth, 2, answer)
		if _, err := h.eng.Cycle(context.Background()); err != nil && refusedCredentials(err) != nil {
			t.Fatalf("cycle: %v blames the key", err)
		}
		h.wantNoCapture()
		h.bn.HostileNext(bnovotest.EndpointAuth, 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
	})
}

// A payment or booking amount that is not a sane, non-negative decimal parks the booking with a
// reason naming the amount; nothing is credited (issue 11 item 11).
func TestInsaneAmountsAreParkedNeverCredited(t *testing.T) {
	for _, raw := range []string{`"200000000"`, `200000000.00`, `-5`, `"NaN"`, `"Infinity"`, `1e400`, `"12 500"`, `"92233720368547758.07"`} {
		t.Run("payment "+raw, func(t *testing.T) {
			h := newHarness(t, nil)
			id := h.checkedOut("+79161234567", "", "")
			payment := h.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: 1000000, PaymentTypeName: card})
			h.bn.SetRawAmount(payment, raw)
			fine := h.checkedOut("+79162222222", "", "")
			h.pay(fine, bnovo.PaymentIn, 1000000, card)
			h.cycle()
			h.wantPosted(id, 0)
			h.wantPosted(fine, 50000)
			if reason := h.parked()[state.ParkKeyBooking(id)]; !strings.Contains(reason, "amount") {
				t.Fatalf("parked %v: want booking %d parked with a reason naming the amount", h.parked(), id)
			}
		})
	}
	t.Run("booking amount beyond the bound", func(t *testing.T) {
		h := newHarness(t, nil)
		fine := h.checkedOut("+79162222222", "", "")
		h.pay(fine, bnovo.PaymentIn, 1000000, card)
		b, _ := h.bn.Booking(fine)
		h.nextID++
		id := h.nextID
		departure := bnovo.FormatTime(b.Departure, moscow)
		h.bn.PutRawBooking(id, `{"id": `+itoa(id)+`, "number": "X1", "status": {"id": 5, "name": "Выехал"},
			"customer": {"id": 77, "name": "Анна", "phone": "+79163333333"},
			"dates": {"create_date": "`+departure+`", "update_date": "`+departure+`", "arrival": "`+departure+`", "departure": "`+departure+`"},
			"amount": 999999999999}`)
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		h.cycle()
		h.wantPosted(id, 0)
		h.wantPosted(fine, 50000)
		if reason := h.parked()[state.ParkKeyBooking(id)]; !strings.Contains(reason, "amount") {
			t.Fatalf("parked %v: want booking %d parked with a reason naming the amount", h.parked(), id)
		}
	})
}

// A 404 that is a proxy's page, not Bnovo's own answer, says nothing about the booking: a queued
// booking syncd knows is not parked as "no longer exists", and one whose payments answer it is
// not parked either; both are credited once Bnovo answers again.
func TestProxyNotFoundPageParksNothing(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{bnovotest.EndpointPayments, bnovotest.EndpointBooking} {
		t.Run(endpoint, func(t *testing.T) {
			h := newHarness(t, nil)
			id := h.paidStay("Анна", "+79161234567", "")
			h.bn.HostileNext(bnovotest.EndpointPayments, lots, hostile.NotFoundPage)
			h.cycle() // the booking is now known and queued
			h.wantNothingParked()
			h.bn.HostileNext(bnovotest.EndpointPayments, 0, 0)
			h.bn.HostileNext(endpoint, lots, hostile.NotFoundPage)
			if sum := h.cycle(); sum.Parked != 0 {
				t.Fatalf("summary %+v: a proxy's 404 parked the booking", sum)
			}
			h.wantNothingParked()
			h.bn.HostileNext(endpoint, 0, 0)
			h.cycle()
			h.wantPosted(id, 50000)
			h.wantNothingParked()
		})
	}
}
