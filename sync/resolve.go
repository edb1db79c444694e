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
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		var err error
		open, err = tx.OpenOps()
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
			if err := sleepUntil(ctx, e.settleTime(op)); err != nil {
				return err
			}
		}
		found, ok, err := e.findMarker(ctx, op)
		if stop := stopping(err); stop != nil {
			return stop // every other lookup would fail the same way
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
		case !e.now().Before(e.settleTime(op)):
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
			if err := tx.PutBooking(rec); err != nil {
				return err
			}
			// Its booking was left unfinished: plan it again with the true posted total.
			return e.enqueue(tx, op.BookingID)
		})
		if err != nil {
			return fmt.Errorf("settling %s: %w", marker, err)
		}
	}
	return nil
}

// settleTime is when an absent operation is proven not posted: SettleAfter after it was sent.
// An operation journaled by an earlier process without a recorded send time was sent, if at
// all, before this process started.
func (e *Engine) settleTime(op state.Op) time.Time {
	sent := op.SentAt
	if sent.IsZero() {
		sent = op.IntendedAt
		if sent.Before(e.started) {
			sent = e.started
		}
	}
	return sent.Add(e.opt.SettleAfter)
}

// markerHorizon bounds the search back in time: operations are listed newest first, and ours
// cannot be older than its journal entry (a day's margin covers any clock skew).
const markerHorizon = 24 * time.Hour

func (e *Engine) findMarker(ctx context.Context, op state.Op) (probonus.Operation, bool, error) {
	marker := opMarker(op)
	const pageSize = 100
	for offset := 0; ; offset += pageSize {
		ops, total, err := e.opt.Ledger.Operations(ctx, op.AccountID, offset, pageSize)
		if err != nil {
			return probonus.Operation{}, false, err
		}
		for _, o := range ops {
			if HasMarker(o.Reason, marker) {
				return o, true, nil
			}
		}
		if len(ops) == 0 || offset+len(ops) >= total {
			return probonus.Operation{}, false, nil
		}
		if last := ops[len(ops)-1].CreatedAt; !last.IsZero() && last.Before(op.IntendedAt.Add(-markerHorizon)) {
			return probonus.Operation{}, false, nil
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
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

// adopt reads the account's operations for ones carrying the booking's marker and takes them
// as posted: their net sum and highest number. It is how a state file restored from an older
// backup (or lost) never leads to crediting a stay twice.
func (e *Engine) adopt(ctx context.Context, p *plan) error {
	id := strconv.FormatInt(p.b.ID, 10)
	const pageSize = 100
	var posted int64
	seq, found := 0, 0
	for offset := 0; ; offset += pageSize {
		ops, total, err := e.opt.Ledger.Operations(ctx, p.rec.AccountID, offset, pageSize)
		if err != nil {
			return err
		}
		for _, o := range ops {
			m := markerRE.FindStringSubmatch(o.Reason)
			if m == nil || m[1] != id {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			found++
			seq = max(seq, n)
			if o.Type == probonus.OpWithdraw {
				posted -= o.Sum
			} else {
				posted += o.Sum
			}
		}
		if len(ops) == 0 || offset+len(ops) >= total {
			break
		}
	}
	if found > 0 {
		p.rec.Posted, p.rec.Seq = posted, seq
		e.log.Warn().Int64("booking", p.b.ID).Int64("account", p.rec.AccountID).Int("operations", found).
			Str("bonuses", formatBonuses(posted)).
			Msg("the booking already has operations in ProBonus that the state did not know (state restored from an older backup, or lost?): adopted, not credited again")
	}
	return nil
}
