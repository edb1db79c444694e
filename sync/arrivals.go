package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// Arrivals configure the line at check-in (spec §3): bookings not cancelled arriving in
// [today, today + Days] whose guest has a ProBonus account get the guest's "ProBonus:" line, so
// the desk sees card, balance and level when the guest arrives.
type Arrivals struct {
	Days   int  // 0 turns the line at check-in off
	Enroll bool // create an account for an arriving guest who has none
}

// cursorArrivals holds the day (YYYY-MM-DD) the arrivals window was last listed: once a day is
// enough, since every later change of a booking (a new one, a date moved, a cancellation) comes
// through the changed stream.
const cursorArrivals = "arrivals"

// arriving tells whether a booking is an arrival whose guest gets the line.
func (e *Engine) arriving(b bnovo.Booking, today time.Time) bool {
	if e.opt.Arrivals.Days <= 0 || cancelled(b) || b.Customer == nil || b.Arrival.IsZero() {
		return false
	}
	day := e.day(b.Arrival)
	return !day.Before(today) && !day.After(today.AddDate(0, 0, e.opt.Arrivals.Days))
}

func (e *Engine) arrivalOf(b bnovo.Booking) state.Arrival {
	g := e.guestOf(b.Customer)
	return state.Arrival{
		BookingID: b.ID, Number: b.Number, Day: e.day(b.Arrival), GuestID: b.Customer.ID,
		Keys: g.keys, FirstName: strings.TrimSpace(b.Customer.Name), LastName: strings.TrimSpace(b.Customer.Surname),
	}
}

// trackArrivals keeps the arrivals in the state in step with bookings just read from Bnovo:
// an arrival is added or updated, a booking that no longer arrives soon (cancelled, moved) is
// dropped. It writes only when something changed.
func (e *Engine) trackArrivals(bookings []bnovo.Booking) error {
	if e.opt.Arrivals.Days <= 0 || len(bookings) == 0 {
		return nil
	}
	today := e.day(e.now())
	var puts []state.Arrival
	var drops []int64
	err := e.opt.DB.View(func(tx *state.Tx) error {
		for _, b := range bookings {
			old, known, err := tx.Arrival(b.ID)
			if err != nil {
				return err
			}
			if !e.arriving(b, today) {
				if known {
					drops = append(drops, b.ID)
				}
				continue
			}
			a := e.arrivalOf(b)
			if !known || !sameArrival(old, a) {
				puts = append(puts, a)
			}
		}
		return nil
	})
	if err != nil || len(puts)+len(drops) == 0 {
		return err
	}
	return e.commit(func(tx *state.Tx) error {
		for _, a := range puts {
			if err := tx.PutArrival(a); err != nil {
				return err
			}
		}
		for _, id := range drops {
			if err := tx.DeleteArrival(id); err != nil {
				return err
			}
		}
		return nil
	})
}

func sameArrival(a, b state.Arrival) bool {
	return a.Number == b.Number && a.Day.Equal(b.Day) && a.GuestID == b.GuestID && slices.Equal(a.Keys, b.Keys) &&
		a.FirstName == b.FirstName && a.LastName == b.LastName
}

// listArrivals lists the arrivals window once a day (two pages for a 100-room hotel).
func (e *Engine) listArrivals(ctx context.Context, today time.Time) error {
	if e.opt.Arrivals.Days <= 0 || !e.opt.WriteBack {
		return nil
	}
	var listed string
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		listed, _ = tx.Cursor(cursorArrivals)
		return nil
	}); err != nil {
		return err
	}
	if listed == today.Format(time.DateOnly) {
		return nil
	}
	q := bnovo.ListQuery{DataType: bnovo.ByArrival, From: today, To: today.AddDate(0, 0, e.opt.Arrivals.Days)}
	if !e.zoneAgrees {
		// Bnovo lists by the date in its own hotel zone, which may not be timezone's (see
		// warnZone): a day more on each side covers any zone, and trackArrivals keeps only the
		// arrivals in the window by our dates.
		q.From, q.To = q.From.AddDate(0, 0, -1), q.To.AddDate(0, 0, 1)
	}
	if err := e.opt.PMS.ListBookings(ctx, q, 0, func(p bnovo.Page) error { return e.trackArrivals(p.Bookings) }); err != nil {
		return fmt.Errorf("listing arrivals %s..%s: %w", q.From.Format(time.DateOnly), q.To.Format(time.DateOnly), err)
	}
	return e.commit(func(tx *state.Tx) error { return tx.SetCursor(cursorArrivals, today.Format(time.DateOnly)) })
}

// refreshArrivals writes the line into the notes of every arriving guest with an account (or,
// with Enroll, one created now) whose line Bnovo does not show yet, or shows with an older
// balance or level: after an accrual, a redemption, or a change made elsewhere (bonuses spent
// at the restaurant). It reads ProBonus only; an unchanged line costs no Bnovo call. Arrivals
// of past days are dropped. Trouble with one guest never stops the others.
func (e *Engine) refreshArrivals(ctx context.Context, sum *Summary) {
	if e.opt.Arrivals.Days <= 0 || !e.opt.WriteBack || e.writeBackOff {
		return
	}
	today := e.day(e.now())
	var list []state.Arrival
	lines := map[int64]string{}
	queued := map[int64]bool{}
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		var err error
		if list, err = tx.Arrivals(); err != nil {
			return err
		}
		for _, a := range list {
			if rec, ok, err := tx.Booking(a.BookingID); err == nil && ok {
				lines[a.BookingID] = rec.NotesLine
			}
		}
		if len(list) == 0 || tx.QueueLen() == 0 {
			return nil
		}
		entries, err := tx.Queued(0)
		for _, q := range entries {
			queued[q.ID] = true
		}
		return err
	}); err != nil {
		e.log.Warn().Err(err).Msg("reading the arrivals failed; their lines are refreshed next cycle")
		return
	}
	var past []int64
	var learnt []learned
	var stale []string // map keys whose cached answer the account no longer bears out
	var gone []int64   // accounts ProBonus answered 404 for
	written := map[int64]notesWrite{}
	byID := map[int64]state.Arrival{}
	for _, a := range list {
		if ctx.Err() != nil || e.writeBackOff {
			break
		}
		if a.Day.Before(today) {
			past = append(past, a.BookingID)
			continue
		}
		if e.budgetShort() {
			continue // money first: the lines are refreshed by a cycle with budget to spare
		}
		if queued[a.BookingID] {
			// A write now would move update_date to syncd's own write, and the queued booking
			// would be taken as unchanged when its turn comes. Its line follows then.
			continue
		}
		var acc probonus.Account
		account, ok, err := e.arrivalAccount(ctx, a, sum, &learnt)
		if err == nil && ok {
			acc, err = e.opt.Ledger.Account(ctx, account)
			if probonus.IsNotFound(err) {
				// Deleted, or merged into the guest's other account: forgotten, and the guest
				// looked up again (spec §2), or the cached answer would cost the line at every
				// cycle until the guest checks out.
				learnt = e.forgetArrivalAccount(a, account, learnt)
				gone = append(gone, account)
				if account, ok, err = e.arrivalAccount(ctx, a, sum, &learnt); err == nil && ok {
					acc, err = e.opt.Ledger.Account(ctx, account)
				}
			}
		}
		if err != nil {
			if probonus.KindOf(err) == probonus.Permanent {
				e.log.Warn().Int64("booking", a.BookingID).Err(err).Msg("line at check-in skipped: ProBonus refused the guest's account")
				continue
			}
			// ProBonus trouble is rarely one guest's: one warning, and the rest waits for the
			// next cycle instead of a warning per arriving guest.
			e.log.Warn().Err(err).Msg("lines at check-in wait for the next cycle: reading ProBonus failed")
			break
		}
		var line string
		switch {
		case !ok && (lines[a.BookingID] == "" || e.opt.Arrivals.Enroll || len(e.guestFromKeys(a.Keys).keys) == 0):
			continue
		case !ok:
			// The guest's own phone or e-mail names no account now (a typo fixed): the line
			// shown is another person's card and balance, which the desk must not see at
			// check-in. It goes; the staff's lines stay.
			line = ""
		default:
			if via := e.answeredBy(e.guestFromKeys(a.Keys), account); via.key != "" && !holds(acc, via.value) {
				// The map's answer is stale (staff moved the phone or e-mail to another
				// account): that card is someone else's. The answer is dropped; the next cycle
				// asks again.
				e.cacheMatch(via.key, 0)
				stale = append(stale, via.key)
				e.log.Warn().Int64("booking", a.BookingID).Int64("account", account).
					Msg("the arriving guest's account no longer holds the phone or e-mail it was matched by (moved to another account?): no line now, looked up again next cycle")
				continue
			}
			line = lineOf(acc)
		}
		if refused, ok := e.refusedLines[a.BookingID]; line == lines[a.BookingID] || (ok && refused == line) {
			continue // Bnovo already shows exactly this, or refused it: no call spent
		}
		w, ok := e.writeLine(ctx, a.BookingID, a.GuestID, line, "line at check-in failed; tried again next cycle")
		if !ok {
			continue // a refusal also turned write-back off, which ends the loop
		}
		sum.WriteBacks++
		if line == "" {
			e.log.Info().Int64("booking", a.BookingID).Msg("the arriving guest's phone or e-mail names no ProBonus account now: the card shown in their notes was removed")
		} else {
			sum.ArrivalLines++
		}
		written[a.BookingID] = w
		byID[a.BookingID] = a
	}
	if len(past)+len(gone)+len(learnt)+len(stale)+len(written) == 0 {
		return
	}
	err := e.commit(func(tx *state.Tx) error {
		for _, id := range past {
			if err := tx.DeleteArrival(id); err != nil {
				return err
			}
		}
		for _, id := range gone {
			if _, err := tx.ForgetAccount(id); err != nil {
				return err
			}
		}
		for _, l := range learnt {
			if err := tx.SetAccount(l.key, l.account); err != nil {
				return err
			}
		}
		for _, key := range stale {
			if err := tx.ForgetKey(key); err != nil {
				return err
			}
		}
		for id, w := range written {
			rec, ok, err := tx.Booking(id)
			if err != nil {
				return err
			}
			if !ok {
				// A booking syncd has not planned yet: its record starts here, so the line and
				// the write's own change of update_date are known when it is.
				a := byID[id]
				rec = state.Booking{ID: id, Number: a.Number, GuestID: a.GuestID}
			}
			rec.NotesLine, rec.WroteFrom, rec.WroteTo = w.line, w.from, w.to
			if err := tx.PutBooking(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn().Err(err).Msg("recording the lines at check-in failed; they may be written again")
	}
}

// arrivalAccount finds the arriving guest's account in the deciding order of matching, or
// creates it when Enroll is on; ok is false when the guest gets no line (now).
func (e *Engine) arrivalAccount(ctx context.Context, a state.Arrival, sum *Summary, learnt *[]learned) (int64, bool, error) {
	g := e.guestFromKeys(a.Keys)
	if len(g.keys) == 0 {
		return 0, false, nil
	}
	account, found, err := e.find(ctx, g, func(key string, acc probonus.Account) {
		e.cacheMatch(key, acc.ID)
		*learnt = append(*learnt, learned{key, acc.ID})
	})
	switch {
	case err != nil:
		return 0, false, err
	case found:
		return account, true, nil
	case !e.opt.Arrivals.Enroll || e.opt.AccountGroupID <= 0:
		return 0, false, nil // an arriving guest without an account gets no line
	}
	created, err := e.opt.Ledger.CreateAccount(ctx, newAccount(&bnovo.Customer{Name: a.FirstName, Surname: a.LastName}, g, e.opt.AccountGroupID))
	if err != nil {
		// Never a second try at once: the next cycle's lookup tells whether it exists.
		e.log.Warn().Int64("booking", a.BookingID).Err(err).Msg("enrolling an arriving guest failed; looked up again next cycle")
		return 0, false, nil
	}
	sum.AccountsCreated++
	e.log.Info().Int64("booking", a.BookingID).Int64("account", created.ID).Msg("ProBonus account created for an arriving guest (arrivals.enroll)")
	for _, id := range g.identifiers() {
		e.cacheMatch(id.key, created.ID)
		*learnt = append(*learnt, learned{id.key, created.ID})
	}
	return created.ID, true, nil
}

// forgetArrivalAccount forgets an account ProBonus answered 404 for while refreshing the line of
// arrival a: in this run's cache, for a's keys even where only the state knew them (so the guest
// is looked up again at once), and among the answers learnt to persist.
func (e *Engine) forgetArrivalAccount(a state.Arrival, account int64, learnt []learned) []learned {
	e.forgetCached(account)
	for _, key := range a.Keys {
		if known, ok := e.knownAccount(key); ok && known == account {
			e.cacheMatch(key, 0)
		}
	}
	e.log.Warn().Int64("booking", a.BookingID).Int64("account", account).
		Msg("ProBonus no longer has the arriving guest's account (deleted or merged): forgotten; the guest is looked up again")
	return slices.DeleteFunc(learnt, func(l learned) bool { return l.account == account })
}

// guestFromKeys rebuilds the matching view of a guest from its account-map keys. Keys noted
// before probonus.ignore_phones or ignore_emails listed them are left out: they no longer
// identify anyone.
func (e *Engine) guestFromKeys(keys []string) guest {
	var g guest
	for _, k := range keys {
		phone, isPhone := strings.CutPrefix(k, "phone:")
		email, isEmail := strings.CutPrefix(k, "email:")
		switch {
		case isPhone && !g.phoneOK && !e.ignoredPhones[phone]:
			g.phone, g.phoneOK = phone, true
		case isEmail && !g.emailOK && !e.ignoredEmails[email]:
			g.email, g.emailOK = email, true
		default:
			continue
		}
		g.keys = append(g.keys, k)
	}
	return g
}
