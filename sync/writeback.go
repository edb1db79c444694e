package sync

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// loyaltyPrefix starts the one line of a Bnovo guest's notes that syncd owns (spec §3).
const loyaltyPrefix = "ProBonus:"

// ourLine is the exact form of the lines syncd writes (see loyaltyLine): a line that merely
// starts with "ProBonus:" was typed by staff and is theirs.
var ourLine = regexp.MustCompile(`^ProBonus: (?:карта [^,\r\n]+|счёт \d+), баланс -?\d{1,3}(?: \d{3})*(?:,\d{2})? бонусов(?:, уровень [^\r\n]+)?\r?\n?$`)

// writeBacks writes the guest's loyalty line into Bnovo for bookings whose operations were
// just posted or whose guest was just matched or replaced by another guest record. Only stays within the lookback window are
// written: the front desk reads recent guests, and a backfill of old stays should not spend the
// Bnovo budget rewriting notes nobody reads. Trouble here never affects accrual: the line is
// written again the next time the booking is processed.
func (e *Engine) writeBacks(ctx context.Context, plans []*plan, sum *Summary) {
	if !e.opt.WriteBack || e.writeBackOff {
		return
	}
	horizon := e.day(e.now()).AddDate(0, 0, -e.opt.LookbackDays)
	written := map[int64]notesWrite{}
	var owed []state.OwedLine
	for _, p := range plans {
		if e.writeBackOff {
			break
		}
		posted := (p.op != nil && p.op.State == state.OpPosted) || (p.redeem != nil && p.redeem.posted)
		// A guest record put on a stay that holds bonuses gets the line; one put on a cancelled
		// or unpaid stay does not (the line is for credited stays, and arrivals get theirs).
		heldFor := p.guestChanged && (p.rec.Posted > 0 || p.rec.Redeemed > 0)
		if (!posted && len(p.matched) == 0 && !heldFor) || p.rec.AccountID == 0 || p.b.Customer == nil || p.b.Departure.Before(horizon) {
			continue
		}
		if p.redeem != nil && p.redeem.retry {
			// Its redemption is queued: a write now would move update_date to syncd's own
			// write, and the queued booking would be taken as unchanged. The line follows then.
			continue
		}
		if ctx.Err() != nil || e.budgetShort() {
			// Money first: the line is owed, and written once the budget allows (owedlines.go).
			if p.identified != 0 && p.identified == p.rec.AccountID {
				owed = append(owed, state.OwedLine{BookingID: p.b.ID, Departure: p.b.Departure, GuestID: p.b.Customer.ID, AccountID: p.rec.AccountID})
			}
			continue
		}
		if !e.identifies(ctx, p) {
			// Only the account this guest's own phone or e-mail names goes into their notes:
			// never the card of the person the booking's bonuses are moving away from.
			continue
		}
		line, err := e.loyaltyLine(ctx, p.rec.AccountID)
		if err != nil {
			e.log.Warn().Int64("booking", p.b.ID).Err(err).Msg("write-back skipped: reading the ProBonus account failed")
			continue
		}
		if line == p.rec.NotesLine {
			continue // Bnovo already shows exactly this: no call spent
		}
		w, ok := e.writeLine(ctx, p.b.ID, p.b.Customer.ID, line, "write-back failed; it is tried again next time the booking is processed")
		if !ok {
			continue // a refusal also turned write-back off, which ends the loop
		}
		sum.WriteBacks++
		written[p.b.ID] = w
	}
	e.recordWriteBacks(written)
	e.oweLines(owed)
}

// notesWrite is one line written, and the span (syncd's clock) the write took: the booking's
// update_date moves within it (see ownWriteMark).
type notesWrite struct {
	line     string
	from, to time.Time
}

// recordWriteBacks remembers the lines written, so an unchanged line costs no call next time.
// One booking whose record is gone or unreadable must not cost the others their record: they
// would be written again, and each write spends Bnovo budget.
func (e *Engine) recordWriteBacks(written map[int64]notesWrite) {
	if len(written) == 0 {
		return
	}
	err := e.commit(func(tx *state.Tx) error {
		for id, w := range written {
			rec, ok, err := tx.Booking(id)
			if err != nil || !ok {
				e.log.Warn().Int64("booking", id).Err(err).Msg("write-back not recorded: the booking's record is missing or unreadable; the line may be written again")
				continue
			}
			rec.NotesLine, rec.WroteFrom, rec.WroteTo = w.line, w.from, w.to
			if err := tx.PutBooking(rec); err != nil {
				return err
			}
			if err := tx.PaidLine(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn().Err(err).Msg("recording write-backs failed; they may be written again")
	}
}

// identifies tells whether the booking's guest's own phone or e-mail names the booking's
// account: decided while planning, or (when planning needed no account) asked now in the
// deciding order.
func (e *Engine) identifies(ctx context.Context, p *plan) bool {
	if p.identified == 0 {
		p.identified, _, _ = e.find(ctx, p.guest, func(key string, a probonus.Account) { e.cacheMatch(key, a.ID) })
	}
	return p.identified == p.rec.AccountID
}

func (e *Engine) loyaltyLine(ctx context.Context, accountID int64) (string, error) {
	a, err := e.opt.Ledger.Account(ctx, accountID)
	if err != nil {
		return "", err
	}
	return lineOf(a), nil
}

// lineOf is the loyalty line showing account a.
func lineOf(a probonus.Account) string {
	byID := "счёт " + fmt.Sprint(a.ID)
	balance := fmt.Sprintf(", баланс %s бонусов", formatBonuses(a.Balance))
	level := ""
	if a.DiscountLevelName != "" {
		level = ", уровень " + a.DiscountLevelName
	}
	// The line must read as ours next time, or every write would add one more: a card or level
	// text ProBonus sends that breaks the form (a comma, a line break) falls back to the
	// account id, and then to no level.
	candidates := []string{byID + balance + level, byID + balance}
	if c := a.Card(); c != "" {
		candidates = append([]string{"карта " + c + balance + level}, candidates...)
	}
	for _, c := range candidates {
		if line := loyaltyPrefix + " " + c; ourLine.MatchString(line) {
			return line
		}
	}
	return loyaltyPrefix + " " + byID + balance
}

// writeNotesLine reads the guest's notes, puts our line in and writes them back. The PUT's
// answer shows the notes as stored: that verifies the write, and only an answer without notes,
// or without our line, costs a read more. If staff saved the notes in between and our line is
// missing, it is done once more.
// writeLine writes line into the notes of a booking's guest and returns what was written with
// the span the write took. A refusal (403: a read-only API v1 account) turns write-back off
// for the process; any other failure is logged with retry, which says when the line comes again.
func (e *Engine) writeLine(ctx context.Context, bookingID, guestID int64, line, retry string) (notesWrite, bool) {
	from := e.now()
	if err := e.writeNotesLine(ctx, bookingID, guestID, line); err != nil {
		switch {
		case bnovo.IsForbidden(err):
			e.writeBackOff = true
			e.log.Warn().Err(err).Msg("Bnovo refused to write guest notes (a read-only API v1 account?): write-back is off until syncd restarts; accrual goes on")
		case bnovo.KindOf(err) == bnovo.Permanent:
			e.refusedLines[bookingID] = line
			e.log.Warn().Int64("booking", bookingID).Err(err).Msg("Bnovo refused the guest line; it is tried again when the line or the booking changes")
		default:
			e.log.Warn().Int64("booking", bookingID).Err(err).Msg(retry)
		}
		return notesWrite{}, false
	}
	delete(e.refusedLines, bookingID)
	return notesWrite{line: line, from: from, to: e.now()}, true
}

func (e *Engine) writeNotesLine(ctx context.Context, bookingID, guestID int64, line string) error {
	notes, err := e.guestNotes(ctx, bookingID, guestID)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 2; attempt++ {
		updated := notesWith(notes, line)
		if updated == notes {
			return nil
		}
		stored, err := e.opt.PMS.UpdateGuest(ctx, bookingID, guestID, updated)
		if err != nil {
			return err
		}
		if e.opt.DryRun {
			return nil
		}
		notes = stored.Notes
		if !stored.NotesShown || notesWith(notes, line) != notes {
			// The answer shows the guest right after our write, so notes without our line are
			// not staff's later edit: a server that does not reload the field ("notes": null)
			// or answers from a stale copy. Writing from them would drop staff lines or write
			// twice; only Bnovo's own read says what is stored.
			if notes, err = e.guestNotes(ctx, bookingID, guestID); err != nil {
				return err
			}
		}
	}
	if notesWith(notes, line) == notes {
		return nil
	}
	return fmt.Errorf("guest %d of booking %d: the notes keep changing while being written", guestID, bookingID)
}

func (e *Engine) guestNotes(ctx context.Context, bookingID, guestID int64) (string, error) {
	guests, err := e.opt.PMS.Guests(ctx, bookingID)
	if err != nil {
		return "", err
	}
	for _, g := range guests {
		if g.ID == guestID {
			if !g.NotesShown {
				// Writing notes syncd cannot see would wipe what staff wrote.
				return "", fmt.Errorf("booking %d: Bnovo's answer shows guest %d without notes", bookingID, guestID)
			}
			return g.Notes, nil
		}
	}
	return "", fmt.Errorf("booking %d has no guest %d", bookingID, guestID)
}

// notesWith is notes showing line (see withLoyaltyLine), or none of syncd's lines when line is
// "": the card shown is no longer the guest's.
func notesWith(notes, line string) string {
	if line == "" {
		return withoutLoyaltyLine(notes)
	}
	return withLoyaltyLine(notes, line)
}

// withoutLoyaltyLine drops the notes' lines of ours (ourLine), each with its own line ending;
// every other line is kept byte for byte.
func withoutLoyaltyLine(notes string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(notes, "\n") {
		if !ourLine.MatchString(l) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// withLoyaltyLine puts line in place of the notes' first line of ours (ourLine), drops any
// further ones, or appends it when there is none. Every other line is kept byte for
// byte with its own line ending.
func withLoyaltyLine(notes, line string) string {
	var b strings.Builder
	placed := false
	newline := "\n"
	for rest := notes; rest != ""; {
		var l string
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i+1], rest[i+1:]
		} else {
			l, rest = rest, ""
		}
		ending := ""
		switch {
		case strings.HasSuffix(l, "\r\n"):
			ending, newline = "\r\n", "\r\n"
		case strings.HasSuffix(l, "\n"):
			ending = "\n"
		}
		if !ourLine.MatchString(l) {
			b.WriteString(l)
			continue
		}
		if !placed {
			b.WriteString(line + ending)
			placed = true
		}
	}
	if !placed {
		if notes != "" && !strings.HasSuffix(notes, "\n") {
			b.WriteString(newline)
		}
		b.WriteString(line)
	}
	return b.String()
}

// ownWriteMark tells whether a booking's update_date is the mark of syncd's own last write-back:
// it lies between the second the write began (less OwnWriteSkew, for a Bnovo clock behind ours)
// and the moment its answer came. Such a mark hides every change made between the reads the
// write was planned on and the write itself (update_date shows only the latest change), so the
// booking is planned once more after it (spec §3: that plan finds nothing to do and writes
// nothing, so nothing loops), but only once the mark's second is over (see unchanged); that
// plan's record keeps the mark (see done), and the booking is not planned again until it
// changes.
func (e *Engine) ownWriteMark(rec state.Booking, updated time.Time) bool {
	if rec.WroteFrom.IsZero() {
		return false
	}
	return !updated.Before(rec.WroteFrom.Truncate(time.Second).Add(-e.opt.OwnWriteSkew)) && !updated.After(rec.WroteTo)
}

// unchanged tells whether a listed booking needs no plan now: it is as it was when last
// finished, or its update_date is syncd's own write still in its second (with OwnWriteSkew for
// Bnovo's clock). Reads made then could precede a person's change in that same second, which
// the mark would then hide for good (update_date has one-second resolution); the mark lies
// after the run's start, so the next listing of the changed stream shows it again, old enough.
func (e *Engine) unchanged(rec state.Booking, updated time.Time) bool {
	if rec.UpdateDate.Equal(updated) {
		return true
	}
	return e.ownWriteMark(rec, updated) && e.now().Before(updated.Truncate(time.Second).Add(time.Second+e.opt.OwnWriteSkew))
}
