package sync

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// batch processes a page of bookings with two commits at most: one that journals every
// operation before any is sent, and one that records their outcomes. before runs first in the
// first transaction (queue removals; it is told the bookings a stop left untouched, which must
// stay queued) and final last in the last one (cursor positions).
func (e *Engine) batch(ctx context.Context, bookings []bnovo.Booking, parks []state.Parked,
	before func(tx *state.Tx, untouched map[int64]bool) error, final func(*state.Tx) error, sum *Summary) error {
	sum.Parked += len(parks)
	if !e.opt.DryRun {
		// Matches of earlier pages were committed with their page's journal: knownAccount
		// finds them in the state, and the cache stays one page small however long the run.
		e.accounts = make(map[string]int64)
	}
	if err := e.trackArrivals(bookings); err != nil {
		return fmt.Errorf("noting arrivals: %w", err)
	}
	recs, held, err := e.loadRecords(bookings)
	if err != nil {
		return err
	}

	plans := make([]*plan, 0, len(bookings))
	var toPlan []*plan
	for _, b := range bookings {
		sum.Seen++
		e.warnZone(b)
		if held[b.ID] {
			// An unclear operation of this booking must be settled before anything else is
			// posted for it; it is queued and comes back once that is done.
			plans = append(plans, &plan{b: b, rec: recs[b.ID], retry: true})
			continue
		}
		rec, seen := recs[b.ID]
		if done, ok := e.handled[b.ID]; (ok && done.Equal(b.UpdateDate)) || (seen && e.unchanged(rec, b.UpdateDate)) {
			sum.Unchanged++
			continue
		}
		p := e.newPlan(b, rec, seen)
		if seen && e.ownWriteMark(rec, b.UpdateDate) {
			sum.Rechecked++
		}
		plans = append(plans, p)
		toPlan = append(toPlan, p)
	}
	groups, err := e.guestGroups(toPlan)
	if err != nil {
		return err
	}
	// What was paid for is carried to its end after a stop (SIGTERM, or a one-shot run out of
	// budget): the page's answer arrived, so a booking that needs no more Bnovo calls, or whose
	// payments answer arrived, is planned, posted and recorded under hand, which outlives ctx
	// by Options.StopGrace. Only what would still need a Bnovo call is left untouched, for the
	// next run to list again.
	hand, release := e.inHand(ctx)
	defer release()
	// Each group is planned in page order by one worker; groups share no guest and no known
	// account, so they may run at once (see guestGroups).
	var sumMu sync.Mutex
	panicked := e.forEachGroup(groups, func(group []*plan) {
		var s Summary
		for _, p := range group {
			if ctx.Err() != nil && e.opt.Rules.Earns(p.b) {
				p.untouched = true
				continue
			}
			e.plan(ctx, hand, p, &s)
		}
		sumMu.Lock()
		sum.add(s)
		sumMu.Unlock()
	})
	if panicked != nil {
		return fmt.Errorf("planning a page: %w", panicked) // nothing of this page was written
	}
	e.planRedemptions(ctx, plans)
	if ctx.Err() != nil && e.opt.Redemption.Enabled {
		// A stop cut redemption planning short: a booking whose redemption may not have been
		// planned waits whole for the next run.
		for _, p := range plans {
			if p.redeem == nil && !p.retry && p.refused == nil {
				p.untouched = true
			}
		}
	}
	var interrupted atomic.Bool
	untouched := make(map[int64]bool)
	for _, p := range plans {
		if p.untouched {
			untouched[p.b.ID] = true
		}
	}
	plans, groups = touchedOnly(plans, groups)
	if ctx.Err() != nil {
		interrupted.Store(true)
	}

	withOps := 0
	for _, p := range plans {
		if p.op != nil || p.redeemOp() != nil {
			withOps++
		}
	}
	if withOps > 0 {
		// A state file swapped under syncd would take this page's journal with it, and a
		// second syncd may have opened its replacement: send nothing.
		if err := e.opt.DB.CheckFile(); err != nil {
			return err
		}
	}
	// Journal every operation (and finish every booking that needs none) before sending.
	err = e.commit(func(tx *state.Tx) error {
		if before != nil {
			if err := before(tx, untouched); err != nil {
				return err
			}
		}
		for _, pk := range parks {
			if err := tx.Park(pk); err != nil {
				return err
			}
		}
		now := e.now()
		for _, p := range plans {
			if err := e.persistMatches(tx, p); err != nil {
				return err
			}
			if err := e.journalRedemption(tx, p, now); err != nil {
				return err
			}
			if p.op == nil {
				if err := e.finish(tx, p, sum); err != nil {
					return err
				}
				if p.redeemOp() == nil {
					if err := e.finishRedemption(tx, p, sum); err != nil {
						return err
					}
				}
				continue
			}
			p.rec.Seq++
			p.op.BookingID = p.b.ID
			p.op.Seq = p.rec.Seq
			p.op.Reason = reasonText(e.reasonKind(p), p.b.Number, Marker(p.b.ID, p.op.Seq), p.accrual)
			p.op.State = state.OpIntended
			p.op.IntendedAt = now
			if err := tx.PutOp(*p.op); err != nil {
				return err
			}
			if err := tx.PutBooking(p.rec); err != nil {
				return err
			}
		}
		if withOps == 0 && final != nil && !interrupted.Load() {
			return final(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journaling a page: %w", err)
	}
	if withOps == 0 {
		if err := refusal(plans); err != nil {
			return err
		}
		e.writeBacks(ctx, plans, sum)
		if interrupted.Load() {
			return ctx.Err()
		}
		return nil
	}

	// Sent group by group as planned: one account's operations go out one after another, in
	// page order (a refund's withdrawal after the deposit it corrects).
	panicked = e.forEachGroup(withOpsOnly(groups), func(group []*plan) {
		for _, p := range group {
			switch {
			case p.op == nil:
			case hand.Err() != nil:
				// Stopped, and the grace for what was in hand is over: what was not sent yet is
				// surely not posted.
				interrupted.Store(true)
				p.retry = true
				p.op.State = state.OpFailed
				p.op.Err = "not sent: shutting down"
				p.op.ResolvedAt = e.now()
			default:
				e.send(hand, p)
			}
			if p.redeemOp() != nil {
				if hand.Err() != nil {
					interrupted.Store(true)
				}
				e.sendRedemption(hand, p)
			}
		}
	})
	if panicked != nil {
		// The journal holds every operation of the page as intended: the next run settles each
		// by its marker, sent or not, rather than trusting outcomes a panic may have cut short.
		return fmt.Errorf("sending a page's operations: %w", panicked)
	}

	err = e.commit(func(tx *state.Tx) error {
		for _, p := range plans {
			if p.op != nil {
				if err := tx.PutOp(*p.op); err != nil {
					return err
				}
				if err := e.recordOutcome(tx, p, sum); err != nil {
					return err
				}
			}
			if err := e.recordRedemption(tx, p, sum); err != nil {
				return err
			}
		}
		if final != nil && !interrupted.Load() {
			return final(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording a page's operations: %w", err)
	}
	if err := refusal(plans); err != nil {
		return err
	}
	e.writeBacks(ctx, plans, sum)
	if interrupted.Load() {
		return ctx.Err()
	}
	return nil
}

// warnZone warns, once per process, when Bnovo writes a booking's update_date with another
// offset than timezone gives for that instant: Bnovo's hotel zone is not syncd's, so its
// listings' dates are not the dates syncd computes (the changed listing's day of overlap
// covers that, but the schedule, arrivals and backfill dates are then read in the wrong zone).
func (e *Engine) warnZone(b bnovo.Booking) {
	if e.zoneWarned || b.UpdateDate.IsZero() {
		return
	}
	if b.UpdateDate.Location() == e.opt.Location {
		// Written without an offset (read in timezone by the client): it says nothing of
		// Bnovo's zone, so it can neither warn nor spare the day of overlap.
		return
	}
	_, theirs := b.UpdateDate.Zone()
	_, ours := b.UpdateDate.In(e.opt.Location).Zone()
	if theirs == ours {
		e.zoneAgrees = true
		return
	}
	e.zoneAgrees = false
	e.zoneWarned = true
	e.log.Warn().Str("timezone", e.opt.Location.String()).Str("bnovo_offset", b.UpdateDate.Format("-07:00")).
		Str("timezone_offset", b.UpdateDate.In(e.opt.Location).Format("-07:00")).
		Msg("Bnovo's timestamps carry another UTC offset than timezone gives: set timezone to the hotel's zone in Bnovo")
}

func (e *Engine) loadRecords(bookings []bnovo.Booking) (map[int64]state.Booking, map[int64]bool, error) {
	recs := make(map[int64]state.Booking, len(bookings))
	held := make(map[int64]bool)
	err := e.opt.DB.View(func(tx *state.Tx) error {
		open, err := tx.OpenOps()
		if err != nil {
			return err
		}
		for _, op := range open {
			held[op.BookingID] = true
		}
		for _, b := range bookings {
			rec, ok, err := tx.Booking(b.ID)
			if err != nil {
				return fmt.Errorf("booking %d: %w", b.ID, err)
			}
			if ok {
				recs[b.ID] = rec
			}
		}
		return nil
	})
	return recs, held, err
}

// touchedOnly drops the plans a stop left untouched (see batch) from plans and groups: they are
// neither finished nor queued, and the listing shows them again next run.
func touchedOnly(plans []*plan, groups [][]*plan) ([]*plan, [][]*plan) {
	keep := func(list []*plan) []*plan {
		out := list[:0:0]
		for _, p := range list {
			if !p.untouched {
				out = append(out, p)
			}
		}
		return out
	}
	var kept [][]*plan
	for _, g := range groups {
		if g = keep(g); len(g) > 0 {
			kept = append(kept, g)
		}
	}
	return keep(plans), kept
}

// inHand returns the context of work already paid for: it ends Options.StopGrace after ctx
// does, so a stop finishes what is in hand, within a bounded time.
func (e *Engine) inHand(ctx context.Context) (context.Context, func()) {
	hand, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(e.opt.StopGrace, cancel)
	})
	return hand, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
