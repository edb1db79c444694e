package sync

import (
	"context"

	"github.com/hotelsync/syncd/state"
)

// Money first: when the calls left in Bnovo's hour or day (budget_share applied) no longer
// cover the bookings a run still has to read, the guest lines of credited stays are owed rather
// than written, and written at the end of a run that has budget to spare, while the stay is
// still within the lookback window (spec §3). A stopped run owes the lines it did not write.

// shareLeft is what *ratelimit.Limiter tells of the hour's and the day's budget.
type shareLeft interface {
	LeftInShare() int
}

// writeBackCost is the Bnovo calls one guest line costs: the notes read and the PUT.
const writeBackCost = 2

// budgetShort tells whether a guest line now would take calls the run's credits still need.
func (e *Engine) budgetShort() bool {
	b, ok := e.opt.Budget.(shareLeft)
	return ok && b.LeftInShare() < e.pendingMoney+writeBackCost
}

// oweLines records guest lines left unwritten.
func (e *Engine) oweLines(owed []state.OwedLine) {
	if len(owed) == 0 || e.opt.DryRun {
		return
	}
	err := e.commit(func(tx *state.Tx) error {
		for _, l := range owed {
			if err := tx.OweLine(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn().Err(err).Int("lines", len(owed)).Msg("guest lines left unwritten could not be recorded; they are written when their bookings change")
		return
	}
	e.log.Info().Int("lines", len(owed)).Msg("guest lines deferred: the Bnovo budget goes to credits first; they are written when it allows")
}

// owedBatch bounds the owed lines one run writes, so a run's end stays short.
const owedBatch = 200

// payOwedLines writes owed guest lines while the budget allows; a stay that left the lookback
// window, or whose line Bnovo already shows, is dropped from the list.
func (e *Engine) payOwedLines(ctx context.Context, sum *Summary) {
	if !e.opt.WriteBack || e.writeBackOff || e.opt.DryRun || ctx.Err() != nil {
		return
	}
	e.pendingMoney = 0
	var owed []state.OwedLine
	if err := e.opt.DB.View(func(tx *state.Tx) (err error) {
		owed, err = tx.OwedLines(owedBatch)
		return err
	}); err != nil || len(owed) == 0 {
		return
	}
	horizon := e.day(e.now()).AddDate(0, 0, -e.opt.LookbackDays)
	written := map[int64]notesWrite{}
	var dropped []int64
	for _, l := range owed {
		if ctx.Err() != nil || e.writeBackOff || e.budgetShort() {
			break
		}
		rec, ok, err := e.record(l.BookingID)
		if err != nil {
			continue
		}
		if !ok || rec.AccountID == 0 || rec.GuestID == 0 || l.Departure.Before(horizon) {
			dropped = append(dropped, l.BookingID) // no longer worth a line
			continue
		}
		if rec.GuestID != l.GuestID || rec.AccountID != l.AccountID {
			// The booking's guest or account changed since: the line was owed to another
			// guest, or shows another account (spec §2: only the account the guest's own
			// phone or e-mail names goes into their notes). The plan that changed them
			// decides the line now.
			dropped = append(dropped, l.BookingID)
			continue
		}
		line, err := e.loyaltyLine(ctx, rec.AccountID)
		if err != nil {
			continue
		}
		if refused, ok := e.refusedLines[l.BookingID]; line == rec.NotesLine || (ok && refused == line) {
			dropped = append(dropped, l.BookingID) // shown already, or refused by Bnovo for good
			continue
		}
		w, ok := e.writeLine(ctx, l.BookingID, rec.GuestID, line, "deferred write-back failed; it stays owed")
		if !ok {
			continue // a refusal also turned write-back off, which ends the loop
		}
		sum.WriteBacks++
		written[l.BookingID] = w
	}
	e.recordWriteBacks(written)
	if len(dropped) > 0 {
		if err := e.commit(func(tx *state.Tx) error {
			for _, id := range dropped {
				if err := tx.PaidLine(id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			e.log.Warn().Err(err).Msg("dropping owed guest lines failed; they are looked at again next run")
		}
	}
}

// record reads one booking's state record.
func (e *Engine) record(id int64) (state.Booking, bool, error) {
	var rec state.Booking
	var ok bool
	err := e.opt.DB.View(func(tx *state.Tx) (err error) {
		rec, ok, err = tx.Booking(id)
		return err
	})
	return rec, ok, err
}
