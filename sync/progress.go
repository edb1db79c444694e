package sync

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

// countingPMS counts the Bnovo calls the engine asks for (a listing counts its pages through
// the pages it delivers).
type countingPMS struct {
	PMS
	calls int64
}

func (c *countingPMS) ListBookings(ctx context.Context, q bnovo.ListQuery, startOffset int, fn func(bnovo.Page) error) error {
	return c.PMS.ListBookings(ctx, q, startOffset, func(p bnovo.Page) error {
		atomic.AddInt64(&c.calls, 1)
		return fn(p)
	})
}

func (c *countingPMS) Booking(ctx context.Context, id int64) (bnovo.Booking, error) {
	atomic.AddInt64(&c.calls, 1)
	return c.PMS.Booking(ctx, id)
}

func (c *countingPMS) Payments(ctx context.Context, id int64) ([]bnovo.Payment, error) {
	atomic.AddInt64(&c.calls, 1)
	return c.PMS.Payments(ctx, id)
}

func (c *countingPMS) Guests(ctx context.Context, id int64) ([]bnovo.Guest, error) {
	atomic.AddInt64(&c.calls, 1)
	return c.PMS.Guests(ctx, id)
}

func (c *countingPMS) UpdateGuest(ctx context.Context, bookingID, guestID int64, notes string) (bnovo.Guest, error) {
	atomic.AddInt64(&c.calls, 1)
	return c.PMS.UpdateGuest(ctx, bookingID, guestID, notes)
}

// progress logs a backfill's advance after every page: bookings done of total, Bnovo calls
// spent, an estimate of the calls still needed (at the rate seen so far), the calls the budget
// allows right now, and when the backfill should finish given the budget's windows.
type progress struct {
	e          *Engine
	key        string
	startDone  int
	startCalls int64
	started    time.Time
}

func (e *Engine) newProgress(key string, offset int) *progress {
	return &progress{e: e, key: key, startDone: offset, startCalls: atomic.LoadInt64(e.pmsCalls), started: e.now()}
}

func (p *progress) page(pg bnovo.Page) {
	done := min(pg.Next, pg.Total)
	spent := atomic.LoadInt64(p.e.pmsCalls) - p.startCalls
	ev := p.e.log.Info().Str("backfill", p.key).Int("done", done).Int("total", pg.Total).Int64("calls_used", spent)
	if processed := done - p.startDone; processed > 0 && done < pg.Total {
		left := int(float64(spent) / float64(processed) * float64(pg.Total-done))
		ev = ev.Int("calls_left_estimate", left)
		if b := p.e.opt.Budget; b != nil {
			ev = ev.Int("budget_now", b.Remaining()).Time("eta", b.ETA(left))
		} else {
			rate := float64(processed) / p.e.now().Sub(p.started).Seconds()
			if rate > 0 {
				ev = ev.Time("eta", p.e.now().Add(time.Duration(float64(pg.Total-done)/rate*float64(time.Second))))
			}
		}
	}
	ev.Msg("backfill progress")
}
