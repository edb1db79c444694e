package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/logging"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
	"github.com/hotelsync/syncd/webhook"
)

// demoLimits are Bnovo's documented windows scaled up ten times so the demo takes seconds;
// syncd's limiter and the simulator enforce the same ones.
var demoLimits = []string{"300/10s", "3000/5m", "10000/1h", "100000/24h"}

// runDemo runs syncd end to end against the built-in simulators: a backfill of older stays,
// a cycle over the lookback window, then refunds, a cancellation and an extra payment corrected
// by a second cycle; it ends by auditing ProBonus's ledger against every booking's target.
func runDemo(ctx context.Context, f flags, stdout, stderr io.Writer) error {
	log, err := logging.New(stdout, "info", "auto")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "syncd-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := config.Default()
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	var windows []bnovotest.Window
	for _, s := range demoLimits {
		w, err := parseSimWindow(s)
		if err != nil {
			return err
		}
		windows = append(windows, w)
	}
	bn := bnovotest.NewServer(bnovotest.Options{Location: loc, Windows: windows})
	defer bn.Close()
	pb := probonustest.NewServer(probonustest.Options{})
	defer pb.Close()

	now := time.Now().In(loc)
	ids := bn.Seed(150, 2026, now.AddDate(0, 0, -60), now)
	// A returning guest who is already a loyalty member: syncd must find, not create, the account.
	if b, ok := firstWithPhone(bn, ids); ok {
		pb.AddAccount(probonus.Account{FirstName: b.Customer.Name, LastName: b.Customer.Surname, Phones: []string{demoDigits(b.Customer.Phone)}, AccountGroupID: 1, Balance: 50000})
	}

	cfg.Bnovo.BaseURL, cfg.Bnovo.AccountID, cfg.Bnovo.APIKey = bn.URL, 1, "test-key"
	cfg.Bnovo.RateLimits = demoLimits
	cfg.ProBonus.BaseURL, cfg.ProBonus.Token, cfg.ProBonus.AccountGroupID = pb.URL, "test-token", 1
	cfg.ProBonus.RequestTimeout = config.Duration(2 * time.Second)
	cfg.State.Path = filepath.Join(dir, "state.db")
	cfg.Status.Socket = ""
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	a, err := openApp(cfg, log, f.dryRun, nil, false)
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Fprintf(stdout, "\n== syncd demo: %d bookings in simulated Bnovo (%s), simulated ProBonus at %s\n\n", len(ids), bn.URL, pb.URL)
	var total syncer.Summary
	step := func(name string, run func() (syncer.Summary, error)) error {
		start := time.Now()
		sum, err := run()
		a.logSummary(name, sum, time.Since(start), err)
		add(&total, sum)
		return err
	}
	older := now.AddDate(0, 0, -60)
	if err := step("backfill", func() (syncer.Summary, error) {
		return a.engine.Backfill(ctx, older, now.AddDate(0, 0, -cfg.Accrual.LookbackDays-1))
	}); err != nil {
		return err
	}
	if err := step("cycle", func() (syncer.Summary, error) { return a.engine.Cycle(ctx) }); err != nil {
		return err
	}
	// The desk acts a second after syncd's write-backs: update_date has one-second resolution,
	// and a change in the very second of syncd's own write cannot be told from it (README,
	// "A steady day"); such a change waits for the next day's departures listing.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	changed := demoChanges(bn, pb, a.db, ids)
	fmt.Fprintf(stdout, "\n== at the front desk: %s\n\n", changed)
	if err := step("cycle", func() (syncer.Summary, error) { return a.engine.Cycle(ctx) }); err != nil {
		return err
	}

	if !f.dryRun {
		checkoutID, took, err := demoWebhookCheckout(ctx, a, bn, pb)
		if err != nil {
			return err
		}
		ids = append(ids, checkoutID)
		fmt.Fprintf(stdout, "\n== a guest checked out; Bnovo's webhook arrived and the bonuses were in ProBonus %d ms later\n\n", took.Milliseconds())
	}

	report, err := auditDemo(bn, pb, a.db, ids, a.engine.Rules())
	if err != nil {
		return err
	}
	c := counts(a.db)
	fmt.Fprintf(stdout, "\n== summary\n")
	fmt.Fprintf(stdout, "bookings seen:        %d\n", total.Seen)
	fmt.Fprintf(stdout, "accounts matched:     %d\n", total.AccountsMatched)
	fmt.Fprintf(stdout, "accounts created:     %d\n", total.AccountsCreated)
	fmt.Fprintf(stdout, "deposits/withdrawals: %d/%d\n", total.Deposits, total.Withdrawals)
	fmt.Fprintf(stdout, "bonuses credited:     %d (withdrawn %d)\n", total.Credited/100, total.Withdrawn/100)
	fmt.Fprintf(stdout, "records parked:       %d\n", c.Parked)
	fmt.Fprintf(stdout, "shortfalls:           %d\n", c.Shortfalls)
	fmt.Fprintf(stdout, "bnovo calls:          %d (%d bookings)\n", bn.Stats().Calls, len(ids))
	fmt.Fprintf(stdout, "ledger audit:         %d bookings (%d parked), expected %d bonuses, posted %d\n", report.Bookings, report.Parked, report.Expected/100, report.Posted/100)
	if f.dryRun {
		fmt.Fprintf(stdout, "dry run: nothing was posted (the audit above shows ProBonus untouched)\n")
		return nil
	}
	if !report.OK() {
		for _, m := range append(report.Mismatches, report.Duplicates...) {
			fmt.Fprintln(stdout, "  MISMATCH", m)
		}
		return fmt.Errorf("demo: the ledger does not satisfy the invariant")
	}
	fmt.Fprintf(stdout, "invariant:            OK (every booking: posted = target + recorded shortfall; no operation doubled)\n")
	return nil
}

// demoWebhookCheckout turns the webhook receiver on, has the simulated Bnovo deliver its
// webhooks to it, and checks a guest out: the receiver queues the booking and the engine drains
// the queue at once, as the daemon does. It returns the booking and how long after the checkout
// its bonuses were in ProBonus.
func demoWebhookCheckout(ctx context.Context, a *app, bn *bnovotest.Server, pb *probonustest.Server) (int64, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kicks := make(chan struct{}, 1)
	srv, err := webhook.New(webhook.Options{Secret: demoWebhookSecret, DB: a.db, Logger: a.log, Notify: func() {
		select {
		case kicks <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return 0, 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	bn.SetWebhook("http://" + ln.Addr().String() + "/bnovo/" + demoWebhookSecret)
	defer bn.SetWebhook("")

	const id = 99000001
	now := time.Now().In(a.cfg.Location)
	bn.PutBooking(bnovo.Booking{
		ID: id, Number: "WEBHOOK-1", StatusID: bnovotest.StatusCheckedIn, StatusName: bnovotest.StatusNames[bnovotest.StatusCheckedIn],
		SourceID: 1, SourceName: "Стойка", Arrival: now.AddDate(0, 0, -2), Departure: now, CreateDate: now.AddDate(0, 0, -7),
		Customer: &bnovo.Customer{ID: id, Name: "Вера", Surname: "Быстрова", Phone: demoCheckoutPhone},
	})
	bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: 1200000, PaymentTypeName: "Банковская карта"})
	checkedOut := time.Now()
	bn.SetStatus(id, bnovotest.StatusCheckedOut, bnovotest.StatusNames[bnovotest.StatusCheckedOut])

	marker := syncer.Marker(id, 1)
	deadline := time.After(30 * time.Second)
	for {
		for _, op := range pb.AllOperations() {
			if syncer.HasMarker(op.Reason, marker) {
				return id, time.Since(checkedOut), nil
			}
		}
		select {
		case <-kicks:
			sum, err := a.engine.Drain(ctx)
			if err != nil {
				return 0, 0, fmt.Errorf("draining the webhook queue: %w", err)
			}
			if sum.Seen > 0 {
				a.logSummary("queue", sum, 0, nil)
			}
		case <-deadline:
			return 0, 0, errors.New("demo: the checkout was not credited within 30 s of its webhook")
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
}

// demoWebhookSecret is the demo receiver's path segment (a real one comes from credentials);
// demoCheckoutPhone is the phone of the guest who checks out. Both must never be logged.
const (
	demoWebhookSecret = "demo-webhook-secret-0123"
	demoCheckoutPhone = "+7 903 555-01-99"
)

func add(t *syncer.Summary, s syncer.Summary) {
	t.Seen += s.Seen
	t.AccountsMatched += s.AccountsMatched
	t.AccountsCreated += s.AccountsCreated
	t.Deposits += s.Deposits
	t.Withdrawals += s.Withdrawals
	t.Credited += s.Credited
	t.Withdrawn += s.Withdrawn
	t.Parked += s.Parked
}

func counts(db *state.DB) state.Counts {
	var c state.Counts
	_ = db.View(func(tx *state.Tx) error { c = tx.Counts(); return nil })
	return c
}

// demoChanges plays the front desk after the first sync: a partial refund, a cancellation of a
// credited stay, an extra payment, and a cancellation whose bonuses the guest already spent.
func demoChanges(bn *bnovotest.Server, pb *probonustest.Server, db *state.DB, ids []int64) string {
	var credited []int64
	_ = db.View(func(tx *state.Tx) error {
		for _, id := range ids {
			if rec, ok, _ := tx.Booking(id); ok && rec.Posted >= 10000 {
				credited = append(credited, id)
			}
		}
		return nil
	})
	if len(credited) < 4 {
		return "no changes (too few credited stays)"
	}
	now := time.Now()
	bn.AddPayment(bnovo.Payment{BookingID: credited[0], Type: bnovo.PaymentOut, Amount: 200000, PaymentTypeName: "Банковская карта", Date: now})
	bn.SetStatus(credited[1], 2, "Отменен")
	bn.AddPayment(bnovo.Payment{BookingID: credited[2], Type: bnovo.PaymentIn, Amount: 1000000, PaymentTypeName: "Наличные", Date: now})
	var spent int64
	_ = db.View(func(tx *state.Tx) error {
		rec, _, _ := tx.Booking(credited[3])
		spent = rec.AccountID
		return nil
	})
	pb.SetBalance(spent, 0)
	bn.SetStatus(credited[3], 2, "Отменен")
	return fmt.Sprintf("refund 2 000 ₽ on %d, cancel %d, extra 10 000 ₽ on %d, cancel %d after its guest spent the bonuses",
		credited[0], credited[1], credited[2], credited[3])
}

// auditDemo computes every booking's target from the simulator's own data and checks the ledger.
func auditDemo(bn *bnovotest.Server, pb *probonustest.Server, db *state.DB, ids []int64, rules syncer.Rules) (syncer.AuditReport, error) {
	targets := make(map[int64]int64, len(ids))
	shortfalls := make(map[int64]int64)
	parked := make(map[int64]bool)
	for _, id := range ids {
		b, ok := bn.Booking(id)
		if !ok {
			continue
		}
		if rules.Earns(b) {
			targets[id] = rules.Target(b, bn.Payments(id)).Target
		} else {
			targets[id] = 0
		}
	}
	err := db.View(func(tx *state.Tx) error {
		list, err := tx.Shortfalls()
		for _, b := range list {
			shortfalls[b.ID] = b.Shortfall
		}
		if err != nil {
			return err
		}
		held, err := tx.ParkedList()
		for _, p := range held {
			parked[p.BookingID] = true
		}
		return err
	})
	return syncer.Audit(targets, shortfalls, parked, pb.AllOperations()), err
}

func firstWithPhone(bn *bnovotest.Server, ids []int64) (bnovo.Booking, bool) {
	for _, id := range ids {
		if b, ok := bn.Booking(id); ok && b.Customer != nil && demoDigits(b.Customer.Phone) != "" {
			return b, true
		}
	}
	return bnovo.Booking{}, false
}

func demoDigits(raw string) string {
	d, ok := contact.Phone(raw)
	if !ok {
		return ""
	}
	return d
}

func parseSimWindow(s string) (bnovotest.Window, error) {
	w, err := ratelimit.ParseWindow(s)
	return bnovotest.Window{Limit: w.Limit, Per: w.Per}, err
}
