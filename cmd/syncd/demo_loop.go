package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// demoLoopConfig turns on what the loyalty loop's steps show: redemption of bonus payments
// recorded from today on (arrivals' lines are on by default).
func demoLoopConfig(cfg *config.Config) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		loc = time.UTC // Validate reports the zone
	}
	cfg.Redemption.Enabled = true
	cfg.Redemption.Since = time.Now().In(loc).Format(time.DateOnly)
}

// Bookings and guest of the loyalty loop's steps; the guest's phone must never be logged.
const (
	loopFirstStay  = 99100001
	loopSecondStay = 99100002
	loopNextStay   = 99100003
	loopPhone      = "+7 916 700-12-34"
)

// loyaltyLoop runs, after the demo's summary (prior is its result: the loop runs only when the
// summary agreed), the loop a hotel's loyalty program lives by: a stay earns, a later stay is
// paid partly with bonuses and the withdrawal appears in ProBonus, and when the guest comes
// again the desk sees the card and the new balance in the guest's notes at check-in. Its own
// audit checks both invariants (accrual #n, redemption #r<n>) for its bookings.
func (d *demo) loyaltyLoop(prior error) error {
	if prior != nil || d.dryRun {
		return prior
	}
	a, bn := d.a, d.bn
	now := time.Now().In(a.cfg.Location)
	guest := func() *bnovo.Customer {
		return &bnovo.Customer{ID: 77_000_001, Name: "Мария", Surname: "Лоялова", Phone: loopPhone, Notes: "Предпочитает тихий номер"}
	}
	stay := func(id int64, status int64, arrive, depart time.Time) bnovo.Booking {
		return bnovo.Booking{ID: id, Number: fmt.Sprintf("LOOP-%d", id%10), StatusID: status, StatusName: bnovotest.StatusNames[status],
			SourceID: 1, SourceName: "Стойка", Customer: guest(), Arrival: arrive, Departure: depart, CreateDate: arrive.AddDate(0, 0, -14)}
	}
	pay := func(id, kopecks int64, kind bnovo.Payment) {
		bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: kopecks,
			PaymentTypeID: kind.PaymentTypeID, PaymentTypeName: kind.PaymentTypeName})
	}
	// Each change waits for the next second: update_date has one-second resolution, and a
	// change in the second of syncd's own write-back would be taken for it.
	nextSecond := func() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) }
	nextSecond()
	if err := d.step("The loyalty loop. A stay earns: Мария checks out, 30 000 ₽ paid by card", func() (syncer.Summary, error) {
		bn.PutBooking(stay(loopFirstStay, bnovotest.StatusCheckedOut, now.AddDate(0, 0, -10), now.AddDate(0, 0, -7)))
		pay(loopFirstStay, 3_000_000, bnovotest.PaymentCard)
		return a.engine.Cycle(d.ctx)
	}); err != nil {
		return err
	}
	account := d.loopAccount()
	earned := d.balance(account)

	nextSecond()
	if err := d.step("A later stay is paid partly with bonuses: the desk records 1 000 ₽ of type «Бонусы» (redemption.enabled)", func() (syncer.Summary, error) {
		bn.PutBooking(stay(loopSecondStay, bnovotest.StatusCheckedIn, now.AddDate(0, 0, -1), now.AddDate(0, 0, 1)))
		pay(loopSecondStay, 800_000, bnovotest.PaymentCard)
		pay(loopSecondStay, 100_000, bnovotest.PaymentBonus)
		return a.engine.Cycle(d.ctx)
	}); err != nil {
		return err
	}
	for _, op := range d.pb.Operations(account) {
		if strings.Contains(op.Reason, "#r") {
			d.note("ProBonus: %s %s bonuses %q; balance %s -> %s, no second entry by hand", op.Type, syncer.FormatBonuses(op.Sum),
				op.Reason, syncer.FormatBonuses(earned), syncer.FormatBonuses(d.balance(account)))
		}
	}

	nextSecond()
	if err := d.step("Мария books again, arriving tomorrow: the desk sees her card at check-in", func() (syncer.Summary, error) {
		bn.PutBooking(stay(loopNextStay, bnovotest.StatusConfirmed, now.AddDate(0, 0, 1), now.AddDate(0, 0, 3)))
		return a.engine.Cycle(d.ctx)
	}); err != nil {
		return err
	}
	if guests := bn.Guests(loopNextStay); len(guests) > 0 {
		d.note("guest notes of booking %s: %q", fmt.Sprintf("LOOP-%d", loopNextStay%10), guests[0].Notes)
	}
	return d.auditLoop()
}

// loopAccount is the ProBonus account of the loop's guest (created by the first stay).
func (d *demo) loopAccount() int64 {
	var id int64
	_ = d.a.db.View(func(tx *state.Tx) error {
		rec, _, err := tx.Booking(loopFirstStay)
		id = rec.AccountID
		return err
	})
	return id
}

func (d *demo) balance(account int64) int64 {
	a, _ := d.pb.Account(account)
	return a.Balance
}

// auditLoop checks both invariants for the loop's bookings from ProBonus's ledger and Bnovo's
// payments.
func (d *demo) auditLoop() error {
	rules, redeem := d.a.engine.Rules(), d.a.engine.Redemption()
	targets, takes := map[int64]int64{}, map[int64]int64{}
	for _, id := range []int64{loopFirstStay, loopSecondStay, loopNextStay} {
		b, _ := d.bn.Booking(id)
		payments := d.bn.Payments(id)
		targets[id] = 0
		if rules.Earns(b) {
			targets[id] = rules.Target(b, payments).Target
		}
		take, err := redeem.ToTake(b, payments)
		if err != nil {
			return err
		}
		takes[id] = take
	}
	var ops []probonus.Operation
	for _, op := range d.pb.AllOperations() {
		if strings.Contains(op.Reason, "(bnovo:991000") {
			ops = append(ops, op)
		}
	}
	accrual := syncer.Audit(targets, nil, nil, ops)
	redemption := syncer.AuditRedemption(takes, nil, ops)
	if !accrual.OK() || !redemption.OK() || redemption.Posted == 0 {
		for _, m := range append(append(accrual.Mismatches, accrual.Duplicates...), append(redemption.Mismatches, redemption.Duplicates...)...) {
			fmt.Fprintln(d.out, "  MISMATCH", m)
		}
		return errors.New("demo: the loyalty loop's ledger does not agree with Bnovo")
	}
	fmt.Fprintf(d.out, "invariant:   OK — earned %s bonuses (#1), paid with %s (#r1); no marker doubled\n",
		syncer.FormatBonuses(accrual.Posted), syncer.FormatBonuses(redemption.Posted))
	return nil
}
