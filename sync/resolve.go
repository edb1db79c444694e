package sync

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// resolveOpen settles operations whose outcome is not known (journaled before a crash, or sent
// and answered by a timeout, a 5xx or a dropped connection) by looking for their marker in the
// account's operations. Found: posted. Not found once the request can no longer be executing at
// the server (settleTime): not posted, and the booking is queued to be planned afresh. Otherwise
// it stays open; with wait, resolveOpen waits for the earliest such moment first.
func (e *Engine) resolveOpen(ctx context.Context, sum *Summary, wait bool) error {
	var open []state.Op
	var latest map[int64]state.Op
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		var err error
		if open, err = tx.OpenOps(); err != nil || len(open) == 0 {
			return err
		}
		latest, err = latestPosted(tx, open)
		return err
	}); err != nil {
		return fmt.Errorf("reading open operations: %w", err)
	}
	for _, op := range open {
		if err := ctx.Err(); err != nil {
			return err
		}
		marker := opMarker(op)
		if wait {
			if err := sleepFor(ctx, e.settleWait(op)); err != nil {
				return err
			}
		}
		// Judged before the lookup: an absence proves "not posted" only if the request could
		// no longer be executing when the lookup began.
		settled := e.settleWait(op) <= 0
		found, ok, err := e.findMarker(ctx, op, latest[op.AccountID])
		if stop := stopping(err); stop != nil {
			return stop // every other lookup would fail the same way
		}
		gone := probonus.IsNotFound(err)
		if gone {
			// The account is deleted, or merged into another: the operation went with it, or
			// lies on the survivor, where the booking's next plan finds it by marker before
			// posting anything (its record still names the gone account, so that plan reads
			// the survivor's operations in full: see checkNextMarker). Nothing can be posted
			// to the id any more: settled, as not posted here.
			err = nil
		}
		if err != nil {
			e.log.Warn().Str("marker", marker).Err(err).Msg("could not read the account's operations to settle an unclear operation; retrying next run")
			continue
		}
		switch {
		case ok:
			op.State = state.OpPosted
			op.OperationID = found.ID
			op.Balance = found.Balance
		case gone:
			op.State = state.OpFailed
			op.Err = fmt.Sprintf("account %d no longer exists in ProBonus (deleted or merged): not posted there", op.AccountID)
		case settled:
			op.State = state.OpFailed
			op.Err = "not in the account's operations after the request timeout: not posted"
		default:
			continue
		}
		op.ResolvedAt = e.now()
		sum.Resolved++
		e.log.Info().Str("marker", marker).Str("outcome", string(op.State)).Msg("unclear operation settled")
		err = e.commit(func(tx *state.Tx) error {
			rec, _, err := tx.Booking(op.BookingID)
			if err != nil {
				return err
			}
			if op.State == state.OpPosted {
				switch {
				case op.Redemption && op.Kind == probonus.OpWithdraw:
					rec.Redeemed += op.Sum
					rec.RedeemAccount = op.AccountID
				case op.Redemption:
					rec.Redeemed -= op.Sum
				case op.Kind == probonus.OpWithdraw:
					rec.Posted -= op.Sum
				default:
					rec.Posted += op.Sum
				}
			}
			if err := tx.PutOp(op); err != nil {
				return err
			}
			if gone {
				if _, err := tx.ForgetAccount(op.AccountID); err != nil {
					return err
				}
			}
			// Its booking was left unfinished: plan it again with the true posted total, even
			// unchanged in Bnovo (a booking whose only operation was a redemption was
			// finished, with its update_date, in the journal's commit).
			rec.UpdateDate = time.Time{}
			delete(e.handled, op.BookingID)
			if err := tx.PutBooking(rec); err != nil {
				return err
			}
			return e.enqueue(tx, op.BookingID)
		})
		if err != nil {
			return fmt.Errorf("settling %s: %w", marker, err)
		}
	}
	return nil
}

// settleWait is how long until an absent operation is proven not posted: SettleAfter after it
// was sent, measured on this process's monotonic clock, so no step of the wall clock can
// shorten it. An operation this process did not send (journaled by an earlier process, or never
// handed to the client) was sent, if at all, before this engine was created; after a restart
// there is no monotonic reading of its send, and that is the conservative stand-in.
func (e *Engine) settleWait(op state.Op) time.Duration {
	e.sentMu.Lock()
	sent, ok := e.sentAt[opMarker(op)]
	e.sentMu.Unlock()
	if !ok {
		sent = 0
	}
	return e.opt.SettleAfter - (e.elapsed() - sent)
}

// markSent records, on the monotonic clock, that op is about to be sent.
func (e *Engine) markSent(op state.Op) {
	e.sentMu.Lock()
	defer e.sentMu.Unlock()
	if e.sentAt == nil {
		e.sentAt = make(map[string]time.Duration)
	}
	e.sentAt[opMarker(op)] = e.elapsed()
}

// elapsed is the monotonic time since the engine was created.
func (e *Engine) elapsed() time.Duration { return time.Since(e.created) }

// markerHorizon bounds the search back in time: operations are listed newest first, and ours
// cannot be older than its journal entry (a day's margin covers any clock skew).
const markerHorizon = 24 * time.Hour

// evidenceWindow bounds how long before an unclear operation was journaled another operation
// of the journal's, posted on the same account, may have been posted to prove a list fresh even
// when the search for the marker stops at markerHorizon: well inside it, so the search reads as
// far back as that operation. An older one proves it only when the search reads the whole list.
const evidenceWindow = markerHorizon / 2

// latestPosted is, for every account an open operation is on, the operation the journal holds
// as posted there most recently (the zero Op when there is none): what a fresh list of that
// account's operations shows (see findMarker).
func latestPosted(tx *state.Tx, open []state.Op) (map[int64]state.Op, error) {
	latest := make(map[int64]state.Op)
	for _, op := range open {
		latest[op.AccountID] = state.Op{}
	}
	err := tx.ForEachOp(func(op state.Op) error {
		if last, ok := latest[op.AccountID]; ok && op.State == state.OpPosted && op.ResolvedAt.After(last.ResolvedAt) {
			latest[op.AccountID] = op
		}
		return nil
	})
	return latest, err
}

// findMarker searches op's account's operations for op's marker. evidence is the operation the
// journal holds as posted on the account most recently (zero: none). A list that does not show
// it is a stale copy (a caching proxy's) or a partial one: the marker's absence from it proves
// nothing, and is an error — unless the search stopped at the horizon, short of evidence's time.
func (e *Engine) findMarker(ctx context.Context, op state.Op, evidence state.Op) (probonus.Operation, bool, error) {
	marker := opMarker(op)
	want := ""
	if evidence.State == state.OpPosted && !evidence.ResolvedAt.IsZero() {
		want = opMarker(evidence)
	}
	var found probonus.Operation
	var ok, sawEvidence, horizon bool
	err := e.readOperations(ctx, op.AccountID, func() { sawEvidence, horizon = false, false }, func(ops []probonus.Operation) bool {
		for _, o := range ops {
			if HasMarker(o.Reason, marker) {
				found, ok = o, true
				return false
			}
			sawEvidence = sawEvidence || (want != "" && HasMarker(o.Reason, want))
		}
		if len(ops) == 0 {
			return true
		}
		// A journal time later than now was written while the clock ran ahead: the operation
		// cannot be younger than now.
		intended := op.IntendedAt
		if now := e.now(); intended.After(now) {
			intended = now
		}
		// The horizon ends the search only on a page that is newest first, as the contract
		// says: on a page in another order, its last operation being old proves nothing about
		// the pages after it.
		last := ops[len(ops)-1].CreatedAt
		horizon = !last.IsZero() && last.Before(intended.Add(-markerHorizon)) && newestFirst(ops)
		return !horizon
	})
	recent := !evidence.ResolvedAt.Before(op.IntendedAt.Add(-evidenceWindow))
	if err == nil && !ok && want != "" && !sawEvidence && (!horizon || recent) {
		err = fmt.Errorf("account %d's operations do not show %s, which the journal holds as posted there: a stale or partial list (a caching proxy?), or an operation deleted by hand in ProBonus, proves nothing about %s", op.AccountID, want, marker)
	}
	return found, ok, err
}

// operationsPageSize is how many operations one read of an account's list asks for.
const operationsPageSize = 100

// operationsReadPasses bounds how often readOperations starts over on a list that moved.
const operationsReadPasses = 3

// readOperations reads an account's operations page by page, newest first, handing each page to
// visit until visit returns false or the list ends. The list can move under the reader: an
// operation another system posts meanwhile (the restaurant's r_keeper) shifts it by one, so the
// last operation of one page comes again at the top of the next; operations of the same second
// may be ordered differently by two reads, one listed twice and another never. Counted twice,
// syncd's own operation would be adopted or given back twice; missed, posted again. So a page
// that repeats an operation already read, or a total that changed, starts the read over from the
// newest (start is called before every pass, for the caller to begin its tally afresh); a list
// still moving after operationsReadPasses passes is passing trouble, as an unreadable one is.
func (e *Engine) readOperations(ctx context.Context, account int64, start func(), visit func([]probonus.Operation) bool) error {
	for range operationsReadPasses {
		start()
		if moved, err := e.readOperationsOnce(ctx, account, visit); err != nil || !moved {
			return err
		}
	}
	return fmt.Errorf("reading the operations of account %d: the list moved while it was read, %d times running", account, operationsReadPasses)
}

// readOperationsOnce is one pass of readOperations; moved says the list moved under it.
func (e *Engine) readOperationsOnce(ctx context.Context, account int64, visit func([]probonus.Operation) bool) (moved bool, err error) {
	seen := make(map[string]bool)
	first := -1
	for offset := 0; ; {
		ops, total, err := e.opt.Ledger.Operations(ctx, account, offset, operationsPageSize)
		if err != nil {
			return false, err
		}
		if first < 0 {
			first = total
		}
		if total != first {
			return true, nil
		}
		for _, o := range ops {
			key := operationKey(o)
			if seen[key] {
				return true, nil
			}
			seen[key] = true
		}
		if !visit(ops) {
			return false, nil
		}
		// By what the page held, not by what was asked: a server that caps the page size
		// would otherwise have operations skipped.
		offset += len(ops)
		if len(ops) == 0 || offset >= total {
			return false, nil
		}
	}
}

// operationKey names one operation of a list: its id, or, for an answer that carries none,
// everything it shows.
func operationKey(o probonus.Operation) string {
	if o.ID > 0 {
		return strconv.FormatInt(o.ID, 10)
	}
	return fmt.Sprintf("%s|%d|%s|%s", o.Type, o.Sum, o.CreatedAt.Format(time.RFC3339Nano), o.Reason)
}

// newestFirst reports whether no operation of ops is newer than the one before it.
func newestFirst(ops []probonus.Operation) bool {
	for i := 1; i < len(ops); i++ {
		if ops[i].CreatedAt.After(ops[i-1].CreatedAt) {
			return false
		}
	}
	return true
}

func sleepFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// checkNextMarker makes sure the booking's next marker is not already in ProBonus on the
// account about to be posted to (spec §4): a state restored from an older backup must never
// post an operation again. The proof is cheap when the state is current: the newest accrual
// marker on the account is one the journal knows there, so nothing of syncd's was posted to it
// since the state was written, and this process alone posts with this state from then on (one
// read per account per process). That proof holds against a restored state (what it does not
// know is newer), not against a merge, which puts an old account's operations below the newest:
// a booking whose account changed or answered 404 (p.distrustCurrent) reads in full. Otherwise
// too the account's operations are read to the end and the booking's own are adopted: their
// net sum and highest number. False when the plan cannot go on (the read failed).
func (e *Engine) checkNextMarker(ctx context.Context, p *plan) bool {
	account := p.rec.AccountID
	if !p.distrustCurrent && e.isCurrent(account) {
		return true
	}
	id := strconv.FormatInt(p.b.ID, 10)
	journaled, err := e.journalPosted(p.b.ID, account, false)
	if err != nil {
		e.trouble(p, "reading the journal", err, false)
		return false
	}
	var posted int64
	seq, found, newest, known := 0, 0, "", false
	var shown map[string]bool
	err = e.readOperations(ctx, account, func() { posted, seq, found, newest, shown = 0, 0, 0, "", map[string]bool{} }, func(ops []probonus.Operation) bool {
		for _, o := range ops {
			m := markerRE.FindStringSubmatch(o.Reason)
			if m == nil {
				continue
			}
			if newest == "" {
				newest = m[0]
				if !p.distrustCurrent && e.journalKnows(m, account) {
					known = true
					return false
				}
			}
			if m[1] != id {
				continue
			}
			shown[m[0]] = true
			n, _ := strconv.Atoi(m[2])
			found++
			seq = max(seq, n)
			if o.Type == probonus.OpWithdraw {
				posted -= o.Sum
			} else {
				posted += o.Sum
			}
		}
		return true
	})
	if err == nil && !known {
		err = missingFrom(account, journaled, shown)
	}
	if err != nil {
		e.trouble(p, "reading the account's operations for the booking's markers", err, false)
		return false
	}
	if known {
		e.markCurrent(account)
		return true
	}
	if newest == "" {
		e.markCurrent(account) // nothing of syncd's on the account at all
		return true
	}
	if found > 0 && (posted != p.rec.Posted || seq > p.rec.Seq) {
		e.log.Warn().Int64("booking", p.b.ID).Int64("account", account).Int("operations", found).
			Str("bonuses", formatBonuses(posted)).Str("state_knew", formatBonuses(p.rec.Posted)).
			Msg("the booking has operations in ProBonus that the state did not know (state restored from an older backup, or lost?): adopted, not posted again")
		p.rec.Posted = posted
	}
	p.rec.Seq = max(p.rec.Seq, seq)
	return true
}

// journalPosted is the markers of the booking's operations of one sequence (redemptions or
// accruals) that the journal holds as posted on account.
func (e *Engine) journalPosted(bookingID, account int64, redemption bool) ([]string, error) {
	var markers []string
	err := e.opt.DB.View(func(tx *state.Tx) error {
		ops, err := tx.OpsOf(bookingID)
		for _, op := range ops {
			if op.State == state.OpPosted && op.AccountID == account && op.Redemption == redemption {
				markers = append(markers, opMarker(op))
			}
		}
		return err
	})
	return markers, err
}

// missingFrom refuses an account's operations list, read in full to adopt a booking's
// operations from it, that does not show one the journal holds as posted there: operations do
// not vanish from an account, so it is a stale copy (a caching proxy's) or a partial one, and
// adopting what it shows would take the booking's later operations for never made.
func missingFrom(account int64, journaled []string, shown map[string]bool) error {
	for _, m := range journaled {
		if !shown[m] {
			return fmt.Errorf("account %d's operations do not show %s, which the journal holds as posted there: a stale or partial list (a caching proxy?), or an operation deleted by hand in ProBonus: nothing is adopted from it", account, m)
		}
	}
	return nil
}

// journalKnows tells whether an accrual marker found on account is an operation the journal
// holds as posted (or still being settled) on that same account.
func (e *Engine) journalKnows(m []string, account int64) bool {
	booking, err1 := strconv.ParseInt(m[1], 10, 64)
	seq, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return false
	}
	var known bool
	_ = e.opt.DB.View(func(tx *state.Tx) error {
		op, ok, err := tx.Op(booking, seq)
		known = err == nil && ok && op.AccountID == account && (op.State == state.OpPosted || op.State.Open())
		return nil
	})
	return known
}

// isCurrent tells whether the account was proven current (see checkNextMarker) in this process.
func (e *Engine) isCurrent(account int64) bool {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	return e.current[account]
}

func (e *Engine) markCurrent(account int64) {
	e.accountsMu.Lock()
	defer e.accountsMu.Unlock()
	e.current[account] = true
}
