package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
	syncer "github.com/hotelsync/syncd/sync"
)

// loopSpec turns the loyalty loop of issue 12 on in the steady day: the ProBonus line for the
// guests arriving today and tomorrow, and redemption of bonus payments.
type loopSpec struct {
	On            bool
	BonusPayments int // payments of type "Бонусы" a day, on in-house stays
	// ReturningShare is the share (in percent) of arriving guests who already have a ProBonus
	// account (and so get the line).
	ReturningShare int
}

const dayBonusType = "Бонусы"

func (l loopSpec) title() string {
	if !l.On {
		return ""
	}
	return fmt.Sprintf("; loyalty loop on: lines for arrivals (arrivals.days 1, %d%% of arriving guests with an account), redemption of %d bonus payments",
		l.ReturningShare, l.BonusPayments)
}

// loopOptions turns the engine's arrivals and redemption on.
func (w *dayWorld) loopOptions(o *syncer.Options) {
	if !w.spec.Loop.On {
		return
	}
	o.Arrivals = syncer.Arrivals{Days: 1}
	o.Redemption = syncer.Redemption{Enabled: true, Since: w.measured.AddDate(0, 0, -7), PaymentTypes: []string{dayBonusType}, BonusValue: 100}
}

// populateLoop gives ProBonus accounts to the returning share of arriving guests and to every
// in-house guest (who pay with bonuses).
func (w *dayWorld) populateLoop() {
	if !w.spec.Loop.On {
		return
	}
	// Tomorrow's arrivals are in the window of the measured day's lines (arrivals.days 1).
	next := w.measured.AddDate(0, 0, 1)
	made := w.measured.AddDate(0, 0, -20).Add(10 * time.Hour)
	for range w.spec.Arrivals {
		b := w.booking(next, next.AddDate(0, 0, 1+w.rng.IntN(5)), made)
		w.bn.PutBooking(b)
		w.arriving[next.Format(time.DateOnly)] = append(w.arriving[next.Format(time.DateOnly)], b.ID)
	}
	enrol := func(id int64, balance int64) {
		b, ok := w.bn.Booking(id)
		if !ok || b.Customer == nil {
			return
		}
		w.pb.AddAccount(probonus.Account{FirstName: b.Customer.Name, LastName: b.Customer.Surname, Email: b.Customer.Email, AccountGroupID: 1, Balance: balance})
	}
	for _, ids := range w.arriving {
		for i, id := range ids {
			if i*100 < len(ids)*w.spec.Loop.ReturningShare {
				enrol(id, int64(500+w.rng.IntN(5000))*100)
			}
		}
	}
	for _, id := range w.inHouse {
		enrol(id, 20_000*100)
	}
}

// loopEvents are the day's bonus payments: a guest in the house pays part of the stay with
// bonuses at the desk.
func (w *dayWorld) loopEvents(day time.Time, at func(fromHour, toHour int) time.Time) []dayEvent {
	if !w.spec.Loop.On {
		return nil
	}
	var evs []dayEvent
	bonus := bnovotest.PaymentBonus
	for range w.spec.Loop.BonusPayments {
		id := w.inHouse[w.rng.IntN(len(w.inHouse))]
		amount := int64(300+w.rng.IntN(1500)) * 100
		evs = append(evs, dayEvent{at: at(9, 21), apply: func() {
			w.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: amount,
				PaymentTypeID: bonus.PaymentTypeID, PaymentTypeName: dayBonusType})
		}})
	}
	return evs
}

func scenarioDayLoop(ctx context.Context, stdout io.Writer, o options) error {
	spec := defaultDaySpec(o.seed)
	spec.Loop = loopSpec{On: true, BonusPayments: 5, ReturningShare: 50}
	res, err := runDay(ctx, spec)
	if err != nil {
		return err
	}
	dayTable(res).print(stdout)
	return nil
}

// loopResult is what the loyalty loop did on the measured day, checked from the simulators.
type loopResult struct {
	BonusPayments, Redeemed int // bonus payments made that day; of those, redemptions in ProBonus
	Returning, WithLine     int // arriving guests (today, tomorrow) with an account; of those, with the line
}

func (w *dayWorld) loopResult(day time.Time) loopResult {
	var r loopResult
	if !w.spec.Loop.On {
		return r
	}
	for _, ids := range w.inHouseBonus() {
		r.BonusPayments += ids
	}
	for _, op := range w.pb.AllOperations() {
		if redemptionMarker.MatchString(op.Reason) && op.Type == probonus.OpWithdraw && !op.CreatedAt.Before(day) {
			r.Redeemed++
		}
	}
	accounts := map[string]bool{}
	for _, a := range w.pb.Accounts() {
		accounts[a.Email] = true
	}
	for _, d := range []time.Time{day, day.AddDate(0, 0, 1)} {
		for _, id := range w.arriving[d.Format(time.DateOnly)] {
			b, ok := w.bn.Booking(id)
			if !ok || b.Customer == nil || !accounts[b.Customer.Email] {
				continue
			}
			r.Returning++
			if strings.Contains(b.Customer.Notes, "ProBonus: ") {
				r.WithLine++
			}
		}
	}
	return r
}

// inHouseBonus counts, per in-house stay, its bonus payments created on the measured day.
func (w *dayWorld) inHouseBonus() map[int64]int {
	out := map[int64]int{}
	for _, id := range w.inHouse {
		for _, p := range w.bn.Payments(id) {
			if p.PaymentTypeName == dayBonusType && !p.CreateDate.Before(w.measured) {
				out[id]++
			}
		}
	}
	return out
}

var redemptionMarker = regexp.MustCompile(`\(bnovo:\d+#r\d+\)`)

func (r loopResult) notes(t *table, l loopSpec) {
	if !l.On {
		return
	}
	t.note("loyalty loop: %d of %d bonus payments withdrawn in ProBonus (#r markers); %d of %d arriving guests with an account show the line -> %s",
		r.Redeemed, r.BonusPayments, r.WithLine, r.Returning, passFail(r.Redeemed == r.BonusPayments && r.WithLine == r.Returning))
}
