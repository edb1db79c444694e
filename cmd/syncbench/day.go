package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/internal/simclock"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// daySpec is the steady day of issue 13: a 100-room hotel, a cycle every 5 minutes, webhooks
// off. Each simulated day has these events, spread over the hours they happen in a hotel.
type daySpec struct {
	Seed        int64
	Cycle       time.Duration
	Departures  int // in-house stays checking out (the rest paid, status "Выехал")
	Arrivals    int // confirmed bookings checking in (status "Заселен")
	Changes     int // edits of future bookings (no money)
	NewBookings int
	Payments    int      // half on in-house stays, half (extra payments and refunds) on stays credited earlier
	History     int      // checked-out stays in the lookback window when the simulation starts
	Loop        loopSpec // the loyalty loop (dayloop.go); off when zero
}

func defaultDaySpec(seed int64) daySpec {
	return daySpec{Seed: seed, Cycle: 5 * time.Minute, Departures: 40, Arrivals: 40, Changes: 100, NewBookings: 20, Payments: 10, History: 1200}
}

// dayEvent is one change a person (or a guest) makes in Bnovo during the day.
type dayEvent struct {
	at    time.Time
	money int64 // a booking whose ProBonus operations this event must change (0: none)
	apply func()
}

// Call kinds of the day's table, by the simulator's route patterns.
var dayKinds = []struct{ name, route string }{
	{"pages", "GET " + bnovo.APIPrefix + "/bookings"},
	{"payments", "GET " + bnovo.APIPrefix + "/bookings/{id}/payments"},
	{"guest reads", "GET " + bnovo.APIPrefix + "/bookings/{id}/guests"},
	{"PUTs", "PUT " + bnovo.APIPrefix + "/bookings/{id}/guests/{guestID}"},
	{"booking reads", "GET " + bnovo.APIPrefix + "/bookings/{id}"},
}

// dayResult is what one simulated day cost.
type dayResult struct {
	Spec    daySpec
	Day     time.Time
	Cycles  int
	Failed  int // cycles that ended in an error
	Calls   int
	Logins  int
	TooMany int
	ByKind  map[string]int
	// Lag is, per money event, how many cycles after the first cycle that followed it the
	// event's operation was posted: 0 is as soon as possible (every cycle listing everything).
	// Missed counts money events whose operation was not posted by the day's end.
	Lag    []int
	Missed int
	Loop   loopResult // what the loyalty loop did (dayloop.go)
}

// dayWorld is the simulated hotel of a day run and the syncd engine working on it.
type dayWorld struct {
	spec daySpec
	// clock is the simulated time every party of the day run reads: both simulators and the
	// engine. The day runs in seconds of real time.
	clock  *simclock.Clock
	loc    *time.Location
	rng    *rand.Rand
	bn     *bnovotest.Server
	pb     *probonustest.Server
	db     *state.DB
	engine *syncer.Engine
	dir    string
	nextID int64
	// measured is the day measured; syncd starts two days before it.
	measured time.Time
	// Per simulated day: stays departing that day (in house until then), bookings arriving.
	departing, arriving map[string][]int64
	future              []int64 // confirmed bookings far ahead: what "other changes" edit
	inHouse             []int64 // stays over the day: where in-house payments go
}

// runDay simulates the day before the measured one (so the measured day starts from a state
// as a running syncd has it: yesterday's changes and write-backs included), then measures the
// next day, cycle by cycle.
func runDay(ctx context.Context, spec daySpec) (dayResult, error) {
	w, err := newDayWorld(spec)
	if err != nil {
		return dayResult{}, err
	}
	defer w.Close()
	day := w.measured
	if _, err := w.simulate(ctx, day.AddDate(0, 0, -1)); err != nil {
		return dayResult{}, fmt.Errorf("the day before: %w", err)
	}
	res, err := w.simulate(ctx, day)
	res.Loop = w.loopResult(day)
	return res, err
}

// dayStart is the measured day (fixed, so every run simulates the same calendar).
var dayStart = time.Date(2026, 6, 24, 0, 0, 0, 0, time.UTC)

func newDayWorld(spec daySpec) (*dayWorld, error) {
	loc, err := time.LoadLocation(hotelZone)
	if err != nil {
		return nil, err
	}
	measured := time.Date(dayStart.Year(), dayStart.Month(), dayStart.Day(), 0, 0, 0, 0, loc)
	// syncd starts two days before the measured day, on a fresh state: its first cycle
	// credits the lookback window. The day after is simulated whole, then the measured one.
	start := measured.AddDate(0, 0, -2)
	clock := simclock.New(start.Add(-time.Minute))
	dir, err := os.MkdirTemp("", "syncbench-day-")
	if err != nil {
		return nil, err
	}
	w := &dayWorld{
		spec: spec, clock: clock, loc: loc, dir: dir,
		rng:       rand.New(rand.NewPCG(uint64(spec.Seed), 0xda7)),
		departing: map[string][]int64{}, arriving: map[string][]int64{},
		nextID: 60_000_000, measured: measured,
	}
	w.bn = bnovotest.NewServer(bnovotest.Options{Now: clock.Now, Location: loc, TokenTTL: 30 * 24 * time.Hour,
		Windows: []bnovotest.Window{{Limit: 0, Per: time.Second}}})
	w.pb = probonustest.NewServer(probonustest.Options{Now: clock.Now})
	// The lookback window's history: checked-out stays of the 30 days before syncd starts.
	w.bn.Seed(spec.History, spec.Seed, start.AddDate(0, 0, -30), start.AddDate(0, 0, -1))
	w.populate(start, measured.AddDate(0, 0, 1))
	w.populateLoop()
	if err := w.openEngine(); err != nil {
		w.Close()
		return nil, err
	}
	clock.Set(start)
	if _, err := w.engine.Cycle(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("first cycle: %w", err)
	}
	return w, nil
}

func (w *dayWorld) Close() {
	if w.db != nil {
		_ = w.db.Close()
	}
	w.bn.Close()
	w.pb.Close()
	_ = os.RemoveAll(w.dir)
}

// openEngine builds syncd's engine as the pipeline does, but on the simulated clock and without
// a rate limiter (the day is measured in calls, not waited for).
func (w *dayWorld) openEngine() error {
	db, err := state.Open(filepath.Join(w.dir, "state.db"), state.Options{})
	if err != nil {
		return err
	}
	w.db = db
	hc := &http.Client{Timeout: 10 * time.Second}
	bn, err := bnovo.New(bnovo.Config{BaseURL: w.bn.URL, AccountID: 1, APIKey: "test-key", Location: w.loc, HTTPClient: hc, Tokens: db.TokenStore("bnovo")})
	if err != nil {
		return err
	}
	pb, err := probonus.New(probonus.Config{BaseURL: w.pb.URL, Token: "test-token", HTTPClient: hc})
	if err != nil {
		return err
	}
	cfg, err := dayConfig(w.dir)
	if err != nil {
		return err
	}
	opt := syncer.Options{
		PMS: bn, Ledger: pb, DB: db, Rules: pipeline.RulesFrom(cfg.Accrual), Location: w.loc,
		LookbackDays: cfg.Accrual.LookbackDays, AccountGroupID: 1, CreateAccounts: true, WriteBack: true,
		Workers: pipeline.EngineWorkers, ChangedEvery: pipeline.DaemonChangedEvery, Logger: zerolog.Nop(), Now: w.clock.Now,
	}
	w.loopOptions(&opt)
	w.engine, err = syncer.New(opt)
	return err
}

// dayConfig loads syncd's defaults (accrual rules, lookback) from a minimal config file.
func dayConfig(dir string) (config.Config, error) {
	path := filepath.Join(dir, "syncd.yaml")
	yaml := "bnovo: {base_url: 'http://127.0.0.1:1', account_id: 1, api_key: k}\n" +
		"probonus: {base_url: 'http://127.0.0.1:1', token: t, account_group_id: 1}\n" +
		"state: {path: " + filepath.Join(dir, "unused.db") + "}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return config.Config{}, err
	}
	return loadConfig(path)
}

// populate creates the bookings the simulated days need, all made well before: for each day in
// [from, to), the stays departing that day (in house) and the bookings arriving; confirmed
// bookings ahead for the day's edits; and stays over the whole span for in-house payments.
func (w *dayWorld) populate(from, to time.Time) {
	made := from.AddDate(0, 0, -20).Add(10 * time.Hour)
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		for range w.spec.Departures {
			nights := 1 + w.rng.IntN(5)
			b := w.booking(d.AddDate(0, 0, -nights), d, made)
			b.StatusID, b.StatusName = bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn]
			w.bn.PutBooking(b)
			w.bn.AddPayment(bnovo.Payment{BookingID: b.ID, Type: bnovo.PaymentIn, Amount: b.Amount / 2,
				PaymentTypeID: bnovotest.PaymentCard.PaymentTypeID, PaymentTypeName: bnovotest.PaymentCard.PaymentTypeName, Date: made})
			w.departing[key] = append(w.departing[key], b.ID)
		}
		for range w.spec.Arrivals {
			// Staying past the simulated days: every departure of a simulated day is one of
			// departing, which checks out.
			b := w.booking(d, d.AddDate(0, 0, 3+w.rng.IntN(5)), made)
			w.bn.PutBooking(b)
			w.arriving[key] = append(w.arriving[key], b.ID)
		}
	}
	for range 3 * w.spec.Changes {
		arrive := to.AddDate(0, 0, 2+w.rng.IntN(90))
		b := w.booking(arrive, arrive.AddDate(0, 0, 1+w.rng.IntN(5)), made)
		w.bn.PutBooking(b)
		w.future = append(w.future, b.ID)
	}
	for range 2 * w.spec.Payments {
		b := w.booking(from.AddDate(0, 0, -1), to.AddDate(0, 0, 3), made)
		b.StatusID, b.StatusName = bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn]
		w.bn.PutBooking(b)
		w.inHouse = append(w.inHouse, b.ID)
	}
}

// booking is a confirmed booking for [arrive, depart] (14:00 to 12:00), made at made, with a
// guest of its own.
func (w *dayWorld) booking(arrive, depart, made time.Time) bnovo.Booking {
	w.nextID++
	id := w.nextID
	nights := max(1, int(depart.Sub(arrive).Hours()/24+0.5))
	return bnovo.Booking{
		ID: id, Number: fmt.Sprintf("D%07d", id%10_000_000),
		StatusID: bnovotest.StatusConfirmed, StatusName: bnovotest.StatusNames[bnovotest.StatusConfirmed],
		SourceID: 1, SourceName: "Модуль бронирования",
		Customer: &bnovo.Customer{ID: 20_000_000 + id, Name: "Гость", Surname: fmt.Sprint(id),
			Phone: fmt.Sprintf("+7 916 %07d", id%10_000_000), Email: fmt.Sprintf("guest%d@example.ru", id)},
		CreateDate: made, UpdateDate: made,
		Arrival:   arrive.Add(14 * time.Hour),
		Departure: depart.Add(12 * time.Hour),
		Amount:    int64(nights) * int64(40+w.rng.IntN(80)) * 100 * 100,
	}
}

// events is the day's changes in Bnovo, in time order.
func (w *dayWorld) events(day time.Time) []dayEvent {
	key := day.Format(time.DateOnly)
	at := func(fromHour, toHour int) time.Time {
		span := time.Duration(toHour-fromHour) * time.Hour
		return day.Add(time.Duration(fromHour)*time.Hour + time.Duration(w.rng.Int64N(int64(span))))
	}
	var evs []dayEvent
	for _, id := range w.departing[key] {
		evs = append(evs, dayEvent{at: at(7, 13), money: id, apply: func() {
			b, _ := w.bn.Booking(id)
			w.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: b.Amount - b.Amount/2,
				PaymentTypeID: bnovotest.PaymentCard.PaymentTypeID, PaymentTypeName: bnovotest.PaymentCard.PaymentTypeName})
			w.bn.SetStatus(id, bnovotest.StatusCheckedOut, bnovotest.StatusNames[bnovotest.StatusCheckedOut])
		}})
	}
	for _, id := range w.arriving[key] {
		evs = append(evs, dayEvent{at: at(13, 23), apply: func() {
			w.bn.SetStatus(id, bnovotest.StatusCheckedIn, bnovotest.StatusNames[bnovotest.StatusCheckedIn])
		}})
	}
	for range w.spec.Changes {
		id := w.future[w.rng.IntN(len(w.future))]
		evs = append(evs, dayEvent{at: at(8, 22), apply: func() {
			b, _ := w.bn.Booking(id)
			b.Amount += 100 * 100
			b.UpdateDate = time.Time{}
			w.bn.PutBooking(b)
		}})
	}
	for range w.spec.NewBookings {
		t := at(0, 24)
		arrive := day.AddDate(0, 0, 3+w.rng.IntN(60))
		b := w.booking(arrive, arrive.AddDate(0, 0, 2), t)
		evs = append(evs, dayEvent{at: t, apply: func() { w.bn.PutBooking(b) }})
	}
	credited := w.departing[day.AddDate(0, 0, -1).Format(time.DateOnly)]
	for i := range w.spec.Payments {
		card := bnovotest.PaymentCard
		if i%2 == 0 || len(credited) == 0 {
			id := w.inHouse[w.rng.IntN(len(w.inHouse))]
			evs = append(evs, dayEvent{at: at(9, 21), apply: func() {
				w.bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: 2000 * 100,
					PaymentTypeID: card.PaymentTypeID, PaymentTypeName: card.PaymentTypeName})
			}})
			continue
		}
		// On a stay credited yesterday: an extra payment, or a refund (every other one).
		id := credited[w.rng.IntN(len(credited))]
		kind := bnovo.PaymentIn
		if i%4 == 3 {
			kind = bnovo.PaymentOut
		}
		evs = append(evs, dayEvent{at: at(9, 21), money: id, apply: func() {
			w.bn.AddPayment(bnovo.Payment{BookingID: id, Type: kind, Amount: 1000 * 100,
				PaymentTypeID: card.PaymentTypeID, PaymentTypeName: card.PaymentTypeName})
		}})
	}
	evs = append(evs, w.loopEvents(day, at)...)
	slices.SortStableFunc(evs, func(a, b dayEvent) int { return a.at.Compare(b.at) })
	return evs
}

// simulate runs the cycles of one day (the first at 00:00, then every spec.Cycle), applying
// each event at its time between them, and counts what the day cost.
func (w *dayWorld) simulate(ctx context.Context, day time.Time) (dayResult, error) {
	res := dayResult{Spec: w.spec, Day: day, ByKind: map[string]int{}}
	evs := w.events(day)
	before := w.bn.Stats()
	type pending struct {
		id       int64
		ops      int
		expected int // the cycle that would find it when every cycle listed everything
	}
	var waiting []pending
	end := day.AddDate(0, 0, 1)
	for t, cycle := day, 0; t.Before(end); t, cycle = t.Add(w.spec.Cycle), cycle+1 {
		for len(evs) > 0 && evs[0].at.Before(t) {
			ev := evs[0]
			evs = evs[1:]
			w.clock.Set(ev.at)
			if ev.money != 0 {
				waiting = append(waiting, pending{id: ev.money, ops: w.opsOf(ev.money), expected: cycle})
			}
			ev.apply()
		}
		w.clock.Set(t)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if _, err := w.engine.Cycle(ctx); err != nil {
			res.Failed++
		}
		res.Cycles++
		kept := waiting[:0]
		for _, p := range waiting {
			if w.opsOf(p.id) > p.ops {
				res.Lag = append(res.Lag, cycle-p.expected)
				continue
			}
			kept = append(kept, p)
		}
		waiting = kept
	}
	res.Missed = len(waiting)
	after := w.bn.Stats()
	res.Calls = after.Calls - before.Calls
	res.Logins = after.AuthCalls - before.AuthCalls
	res.TooMany = after.TooMany - before.TooMany
	counted := 0
	for _, k := range dayKinds {
		n := after.ByPath[k.route] - before.ByPath[k.route]
		res.ByKind[k.name] = n
		counted += n
	}
	res.ByKind["other"] = res.Calls - counted
	return res, nil
}

// opsOf counts the ProBonus operations posted for a booking.
func (w *dayWorld) opsOf(id int64) int {
	marker := fmt.Sprintf("(bnovo:%d#", id)
	n := 0
	for _, op := range w.pb.AllOperations() {
		if strings.Contains(op.Reason, marker) {
			n++
		}
	}
	return n
}

func dayTable(res dayResult) *table {
	s := res.Spec
	t := &table{
		title: fmt.Sprintf("steady day: 100-room hotel, %s, a cycle every %s (%d cycles), %d departures, %d arrivals, %d other changes, %d new bookings, %d payments, webhooks off",
			res.Day.Format(time.DateOnly), s.Cycle, res.Cycles, s.Departures, s.Arrivals, s.Changes, s.NewBookings, s.Payments) + s.Loop.title(),
		header: []string{"calls", "pages", "payments", "guest reads", "PUTs", "booking reads", "other", "logins", "429s"},
	}
	k := res.ByKind
	t.add(res.Calls, k["pages"], k["payments"], k["guest reads"], k["PUTs"], k["booking reads"], k["other"], res.Logins, res.TooMany)
	worst, total := 0, 0
	for _, l := range res.Lag {
		worst = max(worst, l)
		total += l
	}
	mean := 0.0
	if len(res.Lag) > 0 {
		mean = float64(total) / float64(len(res.Lag))
	}
	t.note("goal <= 1000 Bnovo calls a day (10%% of the daily limit), moonshot <= 500 -> %s", passFail(res.Calls <= 1000))
	t.note("money events (departures, payments on credited stays): %d posted, %d missed; cycles later than a cycle listing everything: mean %.2f, worst %d (allowed 1) -> %s",
		len(res.Lag), res.Missed, mean, worst, passFail(worst <= 1 && res.Missed == 0))
	if res.Failed > 0 {
		t.note("%d cycles ended in an error", res.Failed)
	}
	res.Loop.notes(t, s.Loop)
	return t
}

func scenarioDay(ctx context.Context, stdout io.Writer, o options) error {
	res, err := runDay(ctx, defaultDaySpec(o.seed))
	if err != nil {
		return err
	}
	dayTable(res).print(stdout)
	return nil
}
