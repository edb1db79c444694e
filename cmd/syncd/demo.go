package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
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

// demoLimits are Bnovo's documented windows scaled up a hundred times: syncd's limiter and the
// simulator enforce them, but the demo never waits for the budget (waiting is not its story;
// syncbench measures it).
var demoLimits = []string{"3000/10s", "30000/5m", "100000/1h", "1000000/24h"}

// demoWriteMarkAge is how long after the second of syncd's write-back its mark is re-checked:
// the second itself and the engine's default OwnWriteSkew of 2 s (see sync.Engine.unchanged).
const demoWriteMarkAge = 3 * time.Second

// demoLogLevel is the demo's log level unless SYNCD_DEMO_LOG names another: the story is told
// by the headed steps; every booking's line (accounts created, operations posted, parked
// bookings) is there with SYNCD_DEMO_LOG=info or debug.
const demoLogLevel = "error"

// demo is one run of the demo: the simulators, syncd on them, and the totals of every step.
type demo struct {
	ctx    context.Context
	out    io.Writer
	a      *app
	bn     *bnovotest.Server
	pb     *probonustest.Server
	ids    []int64 // every booking the audit checks
	steps  int
	total  syncer.Summary
	dryRun bool
}

// step runs one headed step of the demo and prints what it did in one line.
func (d *demo) step(title string, run func() (syncer.Summary, error)) error {
	d.steps++
	fmt.Fprintf(d.out, "\n== %d. %s\n", d.steps, title)
	start := time.Now()
	calls := d.bn.Stats().Calls
	sum, err := run()
	took := time.Since(start)
	d.a.logSummary(title, sum, took, err)
	add(&d.total, sum)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s; %d Bnovo calls, %s\n", describeRun(sum), d.bn.Stats().Calls-calls, took.Round(time.Millisecond))
	return nil
}

// note prints one line under the current step.
func (d *demo) note(format string, args ...any) {
	fmt.Fprintf(d.out, "   "+format+"\n", args...)
}

// describeRun is a run's summary for a person: what was posted (accrual and paying with
// bonuses), found, created, parked and left short by this run, and the bookings it planned only
// because their update_date was syncd's own write-back (the Bnovo calls they cost have a name).
func describeRun(s syncer.Summary) string {
	parts := []string{plural(s.Seen, "booking") + " looked at"}
	if s.Rechecked > 0 {
		parts = append(parts, plural(s.Rechecked, "booking")+" re-checked after syncd's own guest notes (a write's update_date hides the desk's changes meanwhile: one payments read each, once)")
	}
	bonuses := func(n int, noun, what string, kopecks int64) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s%s (%s bonuses)", plural(n, noun), what, syncer.FormatBonuses(kopecks)))
		}
	}
	bonuses(s.Deposits, "deposit", "", s.Credited)
	bonuses(s.Withdrawals, "withdrawal", "", s.Withdrawn)
	bonuses(s.Redemptions, "withdrawal", " for bonus payments", s.Redeemed)
	bonuses(s.RedemptionReturns, "deposit", " back for bonus payments", s.Returned)
	if s.AccountsCreated > 0 {
		parts = append(parts, plural(s.AccountsCreated, "ProBonus account")+" created")
	}
	if s.AccountsMatched > 0 {
		parts = append(parts, plural(s.AccountsMatched, "guest")+" found in ProBonus")
	}
	if s.WriteBacks > 0 {
		parts = append(parts, plural(s.WriteBacks, "guest note")+" written")
	}
	if s.Parked > 0 {
		parts = append(parts, fmt.Sprintf("%d parked", s.Parked))
	}
	if s.Shortfalls > 0 {
		parts = append(parts, plural(s.Shortfalls, "shortfall"))
	}
	if s.RedemptionShortfalls > 0 {
		parts = append(parts, plural(s.RedemptionShortfalls, "redemption shortfall"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// runDemo runs syncd end to end against the built-in simulators, in headed steps of one line
// each: a backfill of older stays, a cycle over the lookback window (with a guest's notes before
// and after syncd writes its line), the front desk's refunds and cancellations corrected by the
// next cycle, a checkout credited through Bnovo's webhook; then a summary that the audit of
// ProBonus's ledger against every booking's target confirms line by line.
func runDemo(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	level := demoLogLevel
	if v := getenv("SYNCD_DEMO_LOG"); v != "" {
		level = v
	}
	log, err := logging.New(stdout, level, "auto")
	if err != nil {
		return usageError("SYNCD_DEMO_LOG: %v", err)
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
	accountsBefore := len(pb.Accounts())

	cfg.Bnovo.BaseURL, cfg.Bnovo.AccountID, cfg.Bnovo.APIKey = bn.URL, 1, "test-key"
	cfg.Bnovo.RateLimits = demoLimits
	cfg.ProBonus.BaseURL, cfg.ProBonus.Token, cfg.ProBonus.AccountGroupID = pb.URL, "test-token", 1
	cfg.ProBonus.RequestTimeout = config.Duration(2 * time.Second)
	cfg.State.Path = filepath.Join(dir, "state.db")
	cfg.Status.Socket = ""
	demoLoopConfig(&cfg)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	a, err := openApp(cfg, log, f.dryRun, nil, false)
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Fprintf(stdout, "syncd demo: %d bookings of the last 60 days in a simulated Bnovo, a simulated ProBonus with %d member already in it.\n", len(ids), accountsBefore)
	fmt.Fprintf(stdout, "(Every booking's own log line: SYNCD_DEMO_LOG=info syncd -demo.)\n")
	d := &demo{ctx: ctx, out: stdout, a: a, bn: bn, pb: pb, ids: ids, dryRun: f.dryRun}

	older := now.AddDate(0, 0, -60)
	if err := d.step(fmt.Sprintf("Backfill: stays that ended %d to 60 days ago (-backfill)", cfg.Accrual.LookbackDays+1), func() (syncer.Summary, error) {
		return a.engine.Backfill(ctx, older, now.AddDate(0, 0, -cfg.Accrual.LookbackDays-1))
	}); err != nil {
		return err
	}

	notesBefore := staffNotes(bn, ids)
	if err := d.step(fmt.Sprintf("Cycle: the last %d days (what the daemon does every 5 minutes)", cfg.Accrual.LookbackDays), func() (syncer.Summary, error) {
		return a.engine.Cycle(ctx)
	}); err != nil {
		return err
	}
	d.showWriteBack(notesBefore)

	// The desk acts after syncd's write-backs' second: update_date has one-second resolution,
	// and a change in the very second of syncd's own write cannot be told from it (README,
	// "A steady day"); such a change waits for the next day's departures listing. The next
	// cycle comes once the writes' marks are old enough to be re-checked, as the daemon's next
	// cycle minutes later would: their Bnovo calls are that cycle's, not a later step's.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(demoWriteMarkAge)))
	if err := d.step("The front desk changes four stays; the next cycle corrects the ledger", func() (syncer.Summary, error) {
		d.note("%s", demoChanges(bn, pb, a.db, ids))
		return a.engine.Cycle(ctx)
	}); err != nil {
		return err
	}

	if !f.dryRun {
		var credited time.Duration
		if err := d.step("A guest checks out; Bnovo's webhook tells syncd at once", func() (syncer.Summary, error) {
			checkoutID, took, sum, err := demoWebhookCheckout(ctx, a, bn, pb)
			d.ids = append(d.ids, checkoutID)
			credited = took
			return sum, err
		}); err != nil {
			return err
		}
		d.note("the bonuses were in ProBonus %d ms after the checkout", credited.Milliseconds())
	}

	// The loyalty loop's steps (demo_loop.go: redemption, arrivals) follow the summary, once it
	// agreed, as further d.steps with an audit of their own.

	return d.loyaltyLoop(d.summary(accountsBefore))
}

// staffNotes is the notes of every booking's guest as staff left them, before syncd writes.
func staffNotes(bn *bnovotest.Server, ids []int64) map[int64]string {
	notes := make(map[int64]string)
	for _, id := range ids {
		if guests := bn.Guests(id); len(guests) > 0 && guests[0].Notes != "" {
			notes[id] = guests[0].Notes
		}
	}
	return notes
}

// showWriteBack shows one guest's notes before and after syncd wrote its line: the staff's
// text is kept as it was.
func (d *demo) showWriteBack(before map[int64]string) {
	for _, id := range d.ids {
		was, ok := before[id]
		guests := d.bn.Guests(id)
		if !ok || len(guests) == 0 || guests[0].Notes == was {
			continue
		}
		b, _ := d.bn.Booking(id)
		d.note("write-back, guest notes of booking %s", b.Number)
		d.note("  before: %q", was)
		d.note("  after:  %q", guests[0].Notes)
		return
	}
	if !d.dryRun {
		d.note("no guest with staff notes was written back")
	}
}

// summary prints the demo's totals beside what the audit of ProBonus's own ledger finds; each
// line must agree, and the demo fails when the invariant does not hold.
func (d *demo) summary(accountsBefore int) error {
	report, err := auditDemo(d.bn, d.pb, d.a.db, d.ids, d.a.engine.Rules())
	if err != nil {
		return err
	}
	c := counts(d.a.db)
	shortfall, shortfalls := shortfallTotal(d.a.db)
	syncdOps := 0
	for _, op := range d.pb.AllOperations() {
		if strings.Contains(op.Reason, "bnovo:") {
			syncdOps++
		}
	}
	t := d.total
	net := t.Credited - t.Withdrawn
	w := d.out
	fmt.Fprintf(w, "\n== Summary: syncd's counts | what ProBonus's ledger and Bnovo show\n")
	fmt.Fprintf(w, "bookings:    %d in Bnovo, %d of them parked (no usable phone or e-mail, ...) | audit: %d checked, %d parked\n", len(d.ids), c.Parked, report.Bookings, report.Parked)
	fmt.Fprintf(w, "accounts:    %d created (guests found in ProBonus %d times) | ProBonus holds %d: %d before the demo + %d\n", t.AccountsCreated, t.AccountsMatched, len(d.pb.Accounts()), accountsBefore, len(d.pb.Accounts())-accountsBefore)
	fmt.Fprintf(w, "operations:  %d deposits + %d withdrawals | ledger: %d operations with syncd's markers\n", t.Deposits, t.Withdrawals, syncdOps)
	fmt.Fprintf(w, "bonuses:     %s credited - %s withdrawn = %s | ledger: %s for syncd's markers\n", syncer.FormatBonuses(t.Credited), syncer.FormatBonuses(t.Withdrawn), syncer.FormatBonuses(net), syncer.FormatBonuses(report.Posted))
	fmt.Fprintf(w, "targets:     %s posted - %s left with %s (bonuses spent before a cancellation) = %s | audit: Bnovo's payments give %s\n", syncer.FormatBonuses(report.Posted), syncer.FormatBonuses(shortfall), plural(shortfalls, "shortfall"), syncer.FormatBonuses(report.Posted-shortfall), syncer.FormatBonuses(report.Expected))
	fmt.Fprintf(w, "bnovo calls: %d for %d bookings, %d answered 429\n", d.bn.Stats().Calls, len(d.ids), d.bn.Stats().TooMany)
	if d.dryRun {
		fmt.Fprintf(w, "dry run: nothing was posted (the ledger above is ProBonus untouched)\n")
		return nil
	}
	disagree := report.Bookings != len(d.ids) || report.Parked != c.Parked || net != report.Posted ||
		syncdOps != t.Deposits+t.Withdrawals || report.Posted-shortfall != report.Expected ||
		len(d.pb.Accounts())-accountsBefore != t.AccountsCreated
	if !report.OK() || disagree {
		for _, m := range append(report.Mismatches, report.Duplicates...) {
			fmt.Fprintln(w, "  MISMATCH", m)
		}
		return errors.New("demo: the ledger does not agree with syncd's counts or the invariant")
	}
	fmt.Fprintf(w, "invariant:   OK — every booking: posted = target + recorded shortfall; no operation doubled\n")
	return nil
}

// shortfallTotal is what the recorded shortfalls sum to, and how many there are.
func shortfallTotal(db *state.DB) (int64, int) {
	var total int64
	var n int
	_ = db.View(func(tx *state.Tx) error {
		list, err := tx.Shortfalls()
		for _, b := range list {
			total += b.Shortfall
			n++
		}
		return err
	})
	return total, n
}

// demoWebhookCheckout turns the webhook receiver on, has the simulated Bnovo deliver its
// webhooks to it, and checks a guest out: the receiver queues the booking and the engine drains
// the queue at once, as the daemon does. It returns the booking and how long after the checkout
// its bonuses were in ProBonus, and what the drains did.
func demoWebhookCheckout(ctx context.Context, a *app, bn *bnovotest.Server, pb *probonustest.Server) (int64, time.Duration, syncer.Summary, error) {
	var total syncer.Summary
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
		return 0, 0, total, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, total, err
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
				return id, time.Since(checkedOut), total, nil
			}
		}
		select {
		case <-kicks:
			sum, err := a.engine.Drain(ctx)
			add(&total, sum)
			if err != nil {
				return 0, 0, total, fmt.Errorf("draining the webhook queue: %w", err)
			}
		case <-deadline:
			return 0, 0, total, errors.New("demo: the checkout was not credited within 30 s of its webhook")
		case <-ctx.Done():
			return 0, 0, total, ctx.Err()
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
	t.Shortfalls += s.Shortfalls
	t.WriteBacks += s.WriteBacks
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
