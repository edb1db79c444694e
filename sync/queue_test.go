package sync

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
)

// TestDrainSyncsQueuedBookingsAndDropsUnknownIDs is the webhook path: queued ids are fetched
// and synced without any listing; an id Bnovo does not know and syncd never saw (a forged or
// mistyped delivery) is dropped, not parked for a person to puzzle over.
func TestDrainSyncsQueuedBookingsAndDropsUnknownIDs(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+7 912 345-67-01", "", "")
	h.pay(id, "in", 1000000, "Наличные")
	const unknown = 987654321
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(id, unknown) }); err != nil {
		t.Fatal(err)
	}
	before := h.bn.Stats().ByPath["GET /api/v1/bookings"]

	sum, err := h.eng.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wantPosted(id, 50000)
	if sum.Deposits != 1 {
		t.Errorf("drain posted %d deposits, want 1", sum.Deposits)
	}
	if listed := h.bn.Stats().ByPath["GET /api/v1/bookings"] - before; listed != 0 {
		t.Errorf("a drain listed bookings %d times; it should fetch the queued ones only", listed)
	}
	if parked := h.parked(); len(parked) != 0 {
		t.Errorf("parked %v; an id unknown to both sides should be dropped", parked)
	}
	_ = h.db.View(func(tx *state.Tx) error {
		if n := tx.QueueLen(); n != 0 {
			t.Errorf("%d ids still queued after the drain", n)
		}
		return nil
	})
}

// TestRefusedTokenStopsTheRunNamingTheKey: with a ProBonus token that is refused, the cycle
// ends with one error naming probonus.token, parks nothing (the bookings are not at fault) and
// loses nothing: once the token is fixed, every stay is credited once.
func TestRefusedTokenStopsTheRunNamingTheKey(t *testing.T) {
	h := newHarness(t, nil)
	ids := h.paidStays(3, "+7 912 345-67-%02d")
	wrong, err := probonus.New(probonus.Config{BaseURL: h.pb.URL, Token: "not-the-token", Retry: fastRetry, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, h, func(o *Options) { o.Ledger = wrong }, "ProBonus", "probonus.token", "not-the-token")
	if parked := h.parked(); len(parked) != 0 {
		t.Errorf("parked %v; a refused token is not the bookings' fault", parked)
	}
	if ops := h.pb.AllOperations(); len(ops) != 0 {
		t.Errorf("%d operations posted with a refused token", len(ops))
	}

	h.cycle() // the token fixed: the original engine, same state file
	for _, id := range ids {
		if net, n := h.posted(id); net != 50000 || n != 1 {
			t.Errorf("booking %d: %d kopecks in %d operations after the token was fixed, want 50000 in 1", id, net, n)
		}
	}
}

// A Bnovo login refused while listing ends the cycle with the error that names bnovo.api_key.
func TestRefusedBnovoKeyNamesTheKey(t *testing.T) {
	h := newHarness(t, nil)
	wrong, err := bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "not-the-key", Location: moscow, Retry: fastRetry, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, h, func(o *Options) { o.PMS = wrong }, "Bnovo", "bnovo.api_key", "not-the-key")
}

// wantRefused runs a cycle of an engine on h's state with a client swapped by swap, and wants
// it to end with a CredentialsError of api that names key and does not show secret.
func wantRefused(t *testing.T, h *harness, swap func(*Options), api, key, secret string) {
	t.Helper()
	opt := h.opt
	swap(&opt)
	eng, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Cycle(context.Background())
	var ce *CredentialsError
	if !errors.As(err, &ce) || ce.API != api || !strings.Contains(err.Error(), key) {
		t.Fatalf("cycle with refused credentials: %v, want a CredentialsError of %s naming %s", err, api, key)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// announcingPMS plays a webhook arriving while a cycle lists bookings: before the listing's
// second page is handed over, it queues a booking.
type announcingPMS struct {
	PMS
	db        *state.DB
	announce  int64
	announced bool
}

func (a *announcingPMS) ListBookings(ctx context.Context, q bnovo.ListQuery, offset int, fn func(bnovo.Page) error) error {
	pages := 0
	return a.PMS.ListBookings(ctx, q, offset, func(p bnovo.Page) error {
		if pages++; pages == 2 && !a.announced {
			a.announced = true
			if err := a.db.Update(func(tx *state.Tx) error { return tx.Enqueue(a.announce) }); err != nil {
				return err
			}
		}
		return fn(p)
	})
}

// TestWebhookDuringALongRunIsServedBetweenPages: a booking announced while a run lists page
// after page is credited before the run's later pages, not after the whole run.
func TestWebhookDuringALongRunIsServedBetweenPages(t *testing.T) {
	h := newHarness(t, nil)
	listed := h.paidStays(5, "+7 912 345-68-%02d")
	// The announced stay is older than the lookback: no listing of this cycle includes it, so
	// only the queue can bring it in.
	h.tick()
	long := time.Now().In(moscow).AddDate(0, 0, -60)
	const announced = 777001
	stay := bnovo.Booking{ID: announced, Number: "HOOK", StatusID: 5, StatusName: "Выехал", SourceID: 1,
		Customer: &bnovo.Customer{ID: 7770010, Name: "Ольга", Surname: "Быстрая", Phone: "+7 912 345-69-99"},
		Arrival:  long.AddDate(0, 0, -2), Departure: long, CreateDate: long.AddDate(0, 0, -9), UpdateDate: long}
	h.bn.PutBooking(stay)
	h.bn.AddPayment(bnovo.Payment{BookingID: announced, Type: "in", Amount: 1000000, PaymentTypeName: "Наличные", Date: long})
	// The payment moved update_date to now: put the old one back, out of the changed listing.
	h.bn.PutBooking(stay)

	small, err := bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: moscow, Retry: fastRetry, RequestTimeout: 2 * time.Second, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	opt := h.opt
	opt.PMS = &announcingPMS{PMS: small, db: h.db, announce: announced}
	eng, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}

	ops := h.pb.AllOperations() // in the order they were posted
	position := func(id int64) int {
		for i, op := range ops {
			if HasMarker(op.Reason, Marker(id, 1)) {
				return i
			}
		}
		t.Fatalf("booking %d was not credited", id)
		return -1
	}
	last := listed[len(listed)-1] // on the third page of two bookings each
	if position(announced) > position(last) {
		t.Errorf("the announced booking was credited after the last page (op %d, last page's op %d): it waited for the whole run",
			position(announced), position(last))
	}
	h.wantPosted(announced, 50000)
}

// paidStays adds n checked-out stays of 10 000 ₽ paid in cash, each by its own guest whose
// phone is phoneFormat with 10, 11, ...
func (h *harness) paidStays(n int, phoneFormat string) []int64 {
	var ids []int64
	for i := range n {
		id := h.checkedOut(fmt.Sprintf(phoneFormat, 10+i), "", "")
		h.pay(id, "in", 1000000, "Наличные")
		ids = append(ids, id)
	}
	return ids
}

const bookingRoute = "GET " + bnovo.APIPrefix + "/bookings/{id}"

func (h *harness) queueLen() int {
	n := 0
	_ = h.db.View(func(tx *state.Tx) error { n = tx.QueueLen(); return nil })
	return n
}

// TestDrainEmptiesTheQueue: one drain works through the whole queue, not a first slice of it
// (issue 11 item 10: 500 ids per wake-up, then idle with a real checkout still queued).
func TestDrainEmptiesTheQueue(t *testing.T) {
	h := newHarness(t, nil)
	var flood []int64
	for i := range 600 {
		flood = append(flood, int64(900001+i))
	}
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(flood...) }); err != nil {
		t.Fatal(err)
	}
	id := h.checkedOut("+7 912 345-67-01", "", "")
	h.pay(id, "in", 1000000, "Наличные")
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(id) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wantPosted(id, 50000)
	if n := h.queueLen(); n != 0 {
		t.Errorf("%d ids still queued after one drain, want 0", n)
	}
	if got := h.routeCalls(bookingRoute); got != len(flood)+1 {
		t.Errorf("%d bookings fetched, want %d (each queued id once)", got, len(flood)+1)
	}
	if parked := h.parked(); len(parked) != 0 {
		t.Errorf("parked %d; ids Bnovo answers 404 for and syncd never saw are dropped", len(parked))
	}
}

// TestWebhookShareCapsAnnouncedFetches: ids only a webhook announced are fetched while the
// webhooks' share of the budget has room, the oldest delivery first; the rest stay queued for a
// later drain. Retries the engine owes are not held to that share.
func TestWebhookShareCapsAnnouncedFetches(t *testing.T) {
	share, err := ratelimit.New([]ratelimit.Window{{Limit: 5, Per: time.Hour}}, ratelimit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.WebhookBudget = share })
	id := h.checkedOut("+7 912 345-67-02", "", "")
	h.pay(id, "in", 1000000, "Наличные")
	announce := func(ids ...int64) {
		t.Helper()
		if err := h.db.Update(func(tx *state.Tx) error { return tx.Announce(100, ids...) }); err != nil {
			t.Fatal(err)
		}
	}
	announce(id) // the real checkout is the oldest delivery, though its id is the lowest too
	for i := range 8 {
		announce(int64(900001 + i))
	}
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wantPosted(id, 50000)
	if got := h.routeCalls(bookingRoute); got != 5 {
		t.Errorf("%d announced bookings fetched, want 5 (the share)", got)
	}
	var left []state.QueueEntry
	_ = h.db.View(func(tx *state.Tx) (err error) { left, err = tx.Queued(0); return err })
	if len(left) != 4 || left[0].ID != 900005 {
		t.Errorf("left queued %v, want the 4 newest deliveries 900005..900008", left)
	}

	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(700001, 700002) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.routeCalls(bookingRoute); got != 7 {
		t.Errorf("%d bookings fetched after two retries were queued, want 7: the engine's retries are not the webhooks' share", got)
	}
	if n := h.queueLen(); n != 4 {
		t.Errorf("%d queued, want the 4 announced ids still waiting for the share", n)
	}
}

// TestRepeatedDeliveryOfUnchangedBookingCostsOneCall: a webhook naming again a booking that has
// not changed since syncd read it costs the one fetch that shows it unchanged, even while its
// update_date is too young to be trusted for the cycles; a real change is still synced.
func TestRepeatedDeliveryOfUnchangedBookingCostsOneCall(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.UpdateDateTrust = time.Hour }) // every update_date is young
	id := h.checkedOut("+7 912 345-67-03", "", "")
	h.pay(id, "in", 1000000, "Наличные")
	deliver := func() (calls int) {
		t.Helper()
		before := h.bn.Stats().Calls
		if err := h.db.Update(func(tx *state.Tx) error { return tx.Announce(100, id) }); err != nil {
			t.Fatal(err)
		}
		if _, err := h.eng.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		return h.bn.Stats().Calls - before
	}
	deliver()
	h.wantPosted(id, 50000)
	for range 3 {
		if calls := deliver(); calls != 1 {
			t.Errorf("a repeated delivery of the unchanged booking cost %d Bnovo calls, want 1", calls)
		}
	}
	h.pay(id, "in", 1000000, "Наличные") // a real change: a second payment
	deliver()
	h.wantPosted(id, 100000)
}

// TestSameBookingComparesEveryField: a field sameBooking does not compare would let a changed
// booking pass for unchanged (and skip its sync) — this fails when bnovo.Booking gains one.
func TestSameBookingComparesEveryField(t *testing.T) {
	base := bnovo.Booking{ID: 1, Customer: &bnovo.Customer{ID: 2}}
	if !sameBooking(base, base) {
		t.Fatal("a booking differs from itself")
	}
	bt := reflect.TypeFor[bnovo.Booking]()
	for i := range bt.NumField() {
		changed := base
		c := *base.Customer
		changed.Customer = &c
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.Int64:
			f.SetInt(f.Int() + 7)
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Pointer: // the customer: every field of it
			ct := reflect.TypeFor[bnovo.Customer]()
			for j := range ct.NumField() {
				cc := c
				g := reflect.ValueOf(&cc).Elem().Field(j)
				if g.Kind() == reflect.Int64 {
					g.SetInt(g.Int() + 7)
				} else {
					g.SetString(g.String() + "x")
				}
				changed.Customer = &cc
				if sameBooking(base, changed) {
					t.Errorf("a change of Customer.%s goes unnoticed", ct.Field(j).Name)
				}
			}
			changed.Customer = nil
		case reflect.Struct: // time.Time, or the stated payments total
			if f.Type() == reflect.TypeFor[bnovo.PaymentsTotal]() {
				f.Set(reflect.ValueOf(bnovo.PaymentsTotal{Kopecks: 7, Shown: true}))
				break
			}
			f.Set(reflect.ValueOf(time.Unix(1e9, 0)))
		default:
			t.Fatalf("field %s of kind %s: teach this test to change it", bt.Field(i).Name, f.Kind())
		}
		if sameBooking(base, changed) {
			t.Errorf("a change of %s goes unnoticed", bt.Field(i).Name)
		}
	}
}

// TestDrainStopsAtBnovoTrouble: when Bnovo cannot be asked about a queued booking, the drain
// ends there and leaves the whole queue for the next run, instead of every queued id paying the
// same retries while the run holds the engine.
func TestDrainStopsAtBnovoTrouble(t *testing.T) {
	h := newHarness(t, nil)
	var ids []int64
	for i := range 20 {
		ids = append(ids, int64(900001+i))
	}
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(ids...) }); err != nil {
		t.Fatal(err)
	}
	h.bn.FailNext(1_000_000, 503)
	sum, err := h.eng.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Retrying != 1 {
		t.Errorf("%d queued bookings tried during the outage, want 1 (then the drain stops)", sum.Retrying)
	}
	if n := h.queueLen(); n != len(ids) {
		t.Errorf("%d ids queued after the outage, want all %d", n, len(ids))
	}
	if !h.eng.QueueTroubled() {
		t.Error("the engine does not report the trouble that stopped its drain")
	}
	h.bn.FailNext(0, 503)
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.queueLen(); n != 0 || h.eng.QueueTroubled() {
		t.Errorf("after the outage: %d queued, troubled %t; want the queue drained", n, h.eng.QueueTroubled())
	}
}
