package sync

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// A state restored from a backup does not know the stays credited after it was taken, nor the
// accounts they went to. Markers find such a credit on the account the guest's contacts name
// (checkNextMarker); but the contacts may have changed since (a phone typo fixed), and then they
// name another account, and the stay would be credited a second time there. The one trace of
// the account the credit went to is the line syncd wrote into the guest's notes: while a run
// catches up on such a stretch, a stay the state knows no operation of has that account's
// markers read before it is first credited (one guest read, only then).

// catchUpAfter: a changed cursor older than this when a process's first runs start says the
// state missed a stretch of time (a restored backup, or a long stop) in which another syncd may
// have credited stays. A fresh state has no cursor and is not taken for one: every first credit
// of an install would cost a guest read more. Once a cycle has advanced the cursor, the process
// is caught up (a restore means a restart), whatever the schedule's interval.
const catchUpAfter = 30 * time.Minute

// noteCatchUp sets e.catchingUp for the run about to start.
func (e *Engine) noteCatchUp() {
	e.catchingUp = false
	if e.caughtUp {
		return
	}
	_ = e.opt.DB.View(func(tx *state.Tx) error {
		if v, ok := tx.Cursor(cursorChanged); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			e.catchingUp = err == nil && e.now().Sub(t) > catchUpAfter
		}
		return nil
	})
}

// shownCard reads the account name out of a line of syncd's: the card (group 1) or the id
// (group 2).
var shownCard = regexp.MustCompile(`^ProBonus: (?:карта ([^,\r\n]+)|счёт (\d+)), `)

// adoptShownCredit runs, in a run catching up, before a stay the state knows no operation of is
// first credited on decided, or taken to need no account (cancelled; decided 0 when the guest's
// contacts name none): when the guest's notes show a line of syncd's naming another account,
// that account's operations are read for the stay's markers, and what is found is adopted
// there (the bonuses then move to decided, or are withdrawn, as for any guest change). False
// when the plan cannot go on now (it is queued).
func (e *Engine) adoptShownCredit(bnovoCtx, ctx context.Context, p *plan, decided int64) bool {
	if p.rec.Seq != 0 || p.rec.AccountID != 0 || !e.mayShowAccount(p) {
		return true
	}
	shown, err := e.shownAccount(bnovoCtx, ctx, p.b)
	if err != nil {
		e.trouble(p, "reading the account the guest's notes show (a restored state may not know the stay's credit)", err, false)
		return false
	}
	if shown == 0 || shown == decided {
		return true
	}
	p.rec.AccountID, p.distrustCurrent = shown, true
	if !e.checkNextMarker(ctx, p) {
		return false
	}
	if p.rec.Posted == 0 {
		p.rec.AccountID = 0 // nothing of this stay's there (the line was another stay's)
	}
	return true
}

// mayShowAccount tells whether, in a run catching up, a line of syncd's in the booking's guest's
// notes may name an account syncd posted to for it: not for a stay still to come, nor one older
// than the lookback window (lines are written only within it).
func (e *Engine) mayShowAccount(p *plan) bool {
	return e.catchingUp && e.opt.WriteBack && p.b.Customer != nil && !p.b.Arrival.After(e.now()) &&
		!p.b.Departure.Before(e.day(e.now()).AddDate(0, 0, -e.opt.LookbackDays))
}

// adoptShownRedemptions is adoptShownCredit for bonuses taken (redemption markers), when the
// account the guest's contacts name (decided, 0 for none) held none of the booking's: it
// returns the account they are found on, else decided.
func (e *Engine) adoptShownRedemptions(ctx context.Context, p *plan, decided int64) (int64, error) {
	if p.rec.RedeemSeq != 0 || !e.mayShowAccount(p) {
		return decided, nil
	}
	shown, err := e.shownAccount(ctx, ctx, p.b)
	if err != nil || shown == 0 || shown == decided {
		return decided, err
	}
	if err := e.adoptRedemptions(ctx, p, shown); err != nil || p.rec.Redeemed == 0 {
		return decided, err
	}
	return shown, nil
}

// shownAccount is the account a line of syncd's in the booking's guest's notes names, 0 when
// there is none (or Bnovo's answer says nothing usable, or ProBonus no longer has it).
func (e *Engine) shownAccount(bnovoCtx, ctx context.Context, b bnovo.Booking) (int64, error) {
	notes, err := e.guestNotes(bnovoCtx, b.ID, b.Customer.ID)
	if err != nil {
		if kind := bnovo.KindOf(err); bnovoCtx.Err() == nil && (kind == 0 || kind == bnovo.Permanent) {
			return 0, nil // no such guest, notes not shown: nothing to learn, nothing to wait for
		}
		return 0, err
	}
	for _, l := range strings.SplitAfter(notes, "\n") {
		m := shownCard.FindStringSubmatch(l)
		if m == nil || !ourLine.MatchString(l) {
			continue
		}
		var a probonus.Account
		if m[2] != "" {
			id, _ := strconv.ParseInt(m[2], 10, 64)
			a, err = e.opt.Ledger.Account(ctx, id)
		} else {
			a, err = e.opt.Ledger.FindAccount(ctx, m[1])
		}
		switch {
		case probonus.IsNotFound(err):
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("looking up the account the notes show: %w", err)
		}
		return a.ID, nil
	}
	return 0, nil
}
