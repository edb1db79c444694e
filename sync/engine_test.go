package sync

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/simclock"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/retry"
	"github.com/hotelsync/syncd/state"
)

var moscow = mustZone("Europe/Moscow")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// harness runs the engine against both simulators over real loopback HTTP.
type harness struct {
	t      *testing.T
	bn     *bnovotest.Server
	pb     *probonustest.Server
	db     *state.DB
	pms    *bnovo.Client
	ledger *probonus.Client
	eng    *Engine
	opt    Options
	nextID int64

	// The simulator's clock runs ten minutes behind and moves one second at every change, so
	// changes never share update_date's one-second resolution and are old enough to trust.
	clock *simclock.Clock
}

func (h *harness) simNow() time.Time { return h.clock.Now() }

func (h *harness) tick() { h.clock.Advance(time.Second) }

var fastRetry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 20 * time.Millisecond}

func newHarness(t *testing.T, adjust func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, nextID: 1000, clock: simclock.New(time.Now().Add(-10 * time.Minute))}
	h.bn = bnovotest.NewServer(bnovotest.Options{
		Location: moscow,
		Now:      h.simNow,
		Windows:  []bnovotest.Window{{Limit: 100000, Per: time.Second}},
	})
	t.Cleanup(h.bn.Close)
	h.pb = probonustest.NewServer(probonustest.Options{})
	t.Cleanup(h.pb.Close)
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.pms, err = bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: moscow, Retry: fastRetry, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.ledger, err = probonus.New(probonus.Config{BaseURL: h.pb.URL, Token: "test-token", Retry: fastRetry, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.opt = Options{
		PMS: h.pms, Ledger: h.ledger, DB: db,
		Rules: Rules{
			Statuses:            []string{"Выехал"},
			Percent:             500,
			SourcePercent:       map[string]int64{"Островок!": 750},
			ExcludePaymentTypes: []string{"Бонусы"},
		},
		Location: moscow, LookbackDays: 30, AccountGroupID: 1, CreateAccounts: true,
		SettleAfter: 20 * time.Millisecond,
		// Every scenario runs with guest groups in parallel; the test writer takes
		// concurrent writes.
		Workers: 2,
		Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}
	if adjust != nil {
		adjust(&h.opt)
	}
	h.eng, err = New(h.opt)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkedOut adds a checked-out booking (departed yesterday) and returns its id.
func (h *harness) checkedOut(phone, email, source string) int64 {
	h.tick()
	h.nextID++
	now := time.Now().In(moscow)
	var cust *bnovo.Customer
	if phone != "" || email != "" {
		cust = &bnovo.Customer{ID: h.nextID * 10, Name: "Анна", Surname: "Петрова", Phone: phone, Email: email}
	}
	h.bn.PutBooking(bnovo.Booking{
		ID: h.nextID, Number: "N" + time.Now().Format("150405"), StatusID: 5, StatusName: "Выехал",
		SourceID: 1, SourceName: source, Customer: cust,
		Arrival: now.AddDate(0, 0, -3), Departure: now.AddDate(0, 0, -1), CreateDate: now.AddDate(0, 0, -10),
	})
	return h.nextID
}

func (h *harness) pay(booking int64, typ string, kopecks int64, paymentType string) {
	h.tick()
	h.bn.AddPayment(bnovo.Payment{BookingID: booking, Type: typ, Amount: kopecks, PaymentTypeName: paymentType, Date: time.Now()})
}

func (h *harness) cycle() Summary {
	h.t.Helper()
	sum, err := h.eng.Cycle(context.Background())
	if err != nil {
		h.t.Fatalf("cycle: %v", err)
	}
	return sum
}

// posted is the net sum ProBonus holds for a booking, read from the ledger by marker.
func (h *harness) posted(booking int64) (net int64, ops int) {
	for _, op := range h.pb.AllOperations() {
		m := markerRE.FindStringSubmatch(op.Reason)
		if m == nil || m[1] != strconv.FormatInt(booking, 10) {
			continue
		}
		ops++
		if op.Type == probonus.OpWithdraw {
			net -= op.Sum
		} else {
			net += op.Sum
		}
	}
	return net, ops
}

func (h *harness) wantPosted(booking, want int64) {
	h.t.Helper()
	if got, _ := h.posted(booking); got != want {
		h.t.Fatalf("booking %d: ProBonus holds %d kopecks, want %d", booking, got, want)
	}
}

func (h *harness) record(id int64) state.Booking {
	h.t.Helper()
	var rec state.Booking
	if err := h.db.View(func(tx *state.Tx) error {
		var err error
		rec, _, err = tx.Booking(id)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return rec
}

func (h *harness) parked() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	if err := h.db.View(func(tx *state.Tx) error {
		list, err := tx.ParkedList()
		for _, p := range list {
			out[p.Key] = p.Reason
		}
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func probonusAccount(email string) probonus.Account {
	return probonus.Account{FirstName: "Анна", LastName: "Петрова", Email: email, AccountGroupID: 1}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (h *harness) setStatus(booking, id int64, name string) {
	h.tick()
	h.bn.SetStatus(booking, id, name)
}
