package sync

import (
	"context"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// The queue of booking ids (spec §8): ids a webhook announced, and bookings a run could not
// finish. Each is fetched by id under the same limiter as everything else.

// WebhookBudget is the webhooks' share of the Bnovo budget (see Options.WebhookBudget).
type WebhookBudget interface {
	Reserve() time.Duration         // how long until a fetch would have room (0: now)
	Wait(ctx context.Context) error // count one fetch
}

// queueBatch is how many queued bookings are fetched and processed as one batch.
const queueBatch = 50

// Remembered reads (see Engine.reads): how long one is kept, and how many at most.
const (
	recentReadTTL = time.Hour
	recentReadMax = 4096
)

type recentRead struct {
	booking bnovo.Booking
	at      time.Time
}

// drainQueue processes the queue, oldest delivery first, batch after batch until it is empty
// or what is left must wait: ids only a webhook queued, while their share of the budget has no
// room; everything, once Bnovo could not be asked (trouble: next run). Each id is fetched once
// per call: one queued again meanwhile (a newer webhook, or a retry the engine owes) waits for
// the next drain, so passing trouble cannot loop here.
func (e *Engine) drainQueue(ctx context.Context, sum *Summary) error {
	tried := make(map[int64]bool)
	for !e.queueTrouble {
		next, err := e.queuedToTry(tried)
		if err != nil || len(next) == 0 {
			return err
		}
		for _, q := range next {
			tried[q.ID] = true
		}
		if err := e.processQueued(ctx, sum, next); err != nil {
			return err
		}
	}
	return nil
}

// queuedToTry is the queue's next batch, oldest first, without what drainQueue tried already
// and ids only a webhook queued while their share has no room.
func (e *Engine) queuedToTry(tried map[int64]bool) ([]state.QueueEntry, error) {
	shareLeft := e.webhookShareLeft()
	var next []state.QueueEntry
	err := e.opt.DB.View(func(tx *state.Tx) error {
		if tx.QueueLen() == 0 {
			e.shareSpentLogged = false
			return nil
		}
		entries, err := tx.Queued(0)
		for _, q := range entries {
			if tried[q.ID] || (q.Announced && !shareLeft) {
				continue
			}
			if next = append(next, q); len(next) == queueBatch {
				break
			}
		}
		return err
	})
	return next, err
}

// drainAnnounced processes, between the pages of a run, the bookings a webhook queued since the
// run began, so a checkout is credited within seconds even while a long cycle or a backfill
// holds the engine. Bookings the run queued itself (passing trouble) wait for its end, so an
// outage does not cost their calls again after every page.
func (e *Engine) drainAnnounced(ctx context.Context, sum *Summary) error {
	if e.queueTrouble {
		return nil
	}
	shareLeft := e.webhookShareLeft()
	var fresh []state.QueueEntry
	err := e.opt.DB.View(func(tx *state.Tx) error {
		if tx.QueueLen() == 0 {
			return nil
		}
		entries, err := tx.Queued(0)
		for _, q := range entries {
			if q.Mark > e.queueMark && !e.requeued[q.ID] && (shareLeft || !q.Announced) {
				fresh = append(fresh, q)
			}
		}
		return err
	})
	if err != nil || len(fresh) == 0 {
		return err
	}
	return e.processQueued(ctx, sum, fresh)
}

// processQueued fetches the queued bookings of entries and processes them in batches. An id only
// a webhook queued is fetched only while the webhooks' share has room, else it stays queued.
func (e *Engine) processQueued(ctx context.Context, sum *Summary, entries []state.QueueEntry) error {
	shareSpent := false
	for len(entries) > 0 && !e.queueTrouble {
		n := min(queueBatch, len(entries))
		chunk := entries[:n]
		entries = entries[n:]
		e.pendingMoney = len(entries)
		var bookings []bnovo.Booking
		var parks []state.Parked
		var taken []state.QueueEntry
	fetch:
		for _, q := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if q.Announced {
				room, err := e.webhookRoom(ctx)
				if err != nil {
					return err
				}
				if !room {
					shareSpent = true
					continue
				}
			}
			id := q.ID
			b, err := e.opt.PMS.Booking(ctx, id)
			switch {
			case err == nil:
				if q.Announced && e.unchangedSinceRead(b) {
					sum.Seen++
					sum.Unchanged++
					break
				}
				bookings = append(bookings, b)
			case bnovo.IsNotFound(err):
				// Dropped from the queue either way. Only a booking syncd has seen is worth a
				// person's look (bonuses may have been credited for it); an id Bnovo never had
				// came from a bad webhook.
				if known, kerr := e.known(id); kerr != nil {
					return kerr
				} else if known {
					parks = append(parks, state.Parked{Key: state.ParkKeyBooking(id), BookingID: id, Reason: "booking no longer exists in Bnovo: " + err.Error()})
				} else {
					e.log.Warn().Int64("booking", id).Msg("a queued booking id is unknown to Bnovo and to syncd: dropped (a webhook named a booking that does not exist)")
				}
			case bnovo.KindOf(err) == bnovo.Permanent:
				parks = append(parks, state.Parked{Key: state.ParkKeyBooking(id), BookingID: id, Reason: "fetching the booking failed: " + err.Error()})
			case stopping(err) != nil:
				return stopping(err) // everything stays queued
			default:
				// Bnovo trouble: this id and the rest of the queue wait for the next run, rather
				// than each paying the same retries now.
				e.log.Warn().Int64("booking", id).Err(err).Msg("queued booking could not be fetched; the queue is retried next run")
				sum.Retrying++
				e.queueTrouble = true
				break fetch
			}
			taken = append(taken, q)
		}
		if len(taken) == 0 {
			continue // nothing fetched (the share ran out): no transaction to pay for
		}
		dequeue := func(tx *state.Tx, untouched map[int64]bool) error {
			var done []state.QueueEntry
			for _, q := range taken {
				if !untouched[q.ID] {
					done = append(done, q)
				}
			}
			return tx.Dequeue(done...)
		}
		if err := e.batch(ctx, bookings, parks, dequeue, nil, sum); err != nil {
			return err
		}
	}
	if shareSpent && !e.shareSpentLogged {
		e.shareSpentLogged = true // once until the queue is empty again, not every drain of a flood
		e.log.Warn().Str("room_in", e.opt.WebhookBudget.Reserve().Round(time.Millisecond).String()).
			Msg("the webhooks' share of the Bnovo budget is spent for now: announced bookings wait in the queue, drained as the share frees (the scheduled cycle finds every change anyway)")
	}
	return nil
}

// QueueTroubled tells whether the last run stopped working through the queue because Bnovo
// could not be asked about a booking.
func (e *Engine) QueueTroubled() bool { return e.queueTrouble }

// webhookShareLeft tells whether the webhooks' share has room for a fetch now.
func (e *Engine) webhookShareLeft() bool {
	return e.opt.WebhookBudget == nil || e.opt.WebhookBudget.Reserve() == 0
}

// webhookRoom counts one fetch of an announced id against the webhooks' share, when it has
// room now; false leaves the id queued for a later drain.
func (e *Engine) webhookRoom(ctx context.Context) (bool, error) {
	if e.opt.WebhookBudget == nil {
		return true, nil
	}
	if !e.webhookShareLeft() {
		return false, nil
	}
	return true, e.opt.WebhookBudget.Wait(ctx)
}

// known tells whether the state holds a record of the booking.
func (e *Engine) known(id int64) (bool, error) {
	var ok bool
	err := e.opt.DB.View(func(tx *state.Tx) error {
		var err error
		_, ok, err = tx.Booking(id)
		return err
	})
	return ok, err
}

// rememberRead keeps a finished booking whose update_date is too young to be trusted, so a
// webhook repeating its id costs one fetch while it is unchanged. The record does not trust it
// (see done): the scheduled cycles still plan it again once, which is what finds a change made
// in the very second of this read.
func (e *Engine) rememberRead(b bnovo.Booking) {
	if e.opt.DryRun {
		return
	}
	now := e.now()
	if e.reads == nil {
		e.reads = make(map[int64]recentRead)
	}
	if len(e.reads) >= recentReadMax {
		for id, r := range e.reads {
			if now.Sub(r.at) > recentReadTTL || len(e.reads) >= recentReadMax {
				delete(e.reads, id)
			}
		}
	}
	e.reads[b.ID] = recentRead{booking: b, at: now}
}

// forgetRead drops a remembered read: the booking is owed a retry, which must not be skipped.
func (e *Engine) forgetRead(id int64) { delete(e.reads, id) }

// unchangedSinceRead tells whether b is exactly as a remembered recent read saw it.
func (e *Engine) unchangedSinceRead(b bnovo.Booking) bool {
	r, ok := e.reads[b.ID]
	if !ok || e.now().Sub(r.at) > recentReadTTL {
		return false
	}
	return sameBooking(r.booking, b)
}

// sameBooking compares every field of two reads of a booking; times by instant, as two reads
// may carry different zone values for the same offset.
func sameBooking(a, b bnovo.Booking) bool {
	if a.ID != b.ID || a.Number != b.Number || a.StatusID != b.StatusID || a.StatusName != b.StatusName ||
		a.SourceID != b.SourceID || a.SourceName != b.SourceName || a.Amount != b.Amount ||
		a.PaymentsTotal != b.PaymentsTotal {
		return false
	}
	for _, pair := range [][2]time.Time{{a.CreateDate, b.CreateDate}, {a.UpdateDate, b.UpdateDate},
		{a.Arrival, b.Arrival}, {a.Departure, b.Departure}, {a.CancelDate, b.CancelDate}} {
		if !pair[0].Equal(pair[1]) {
			return false
		}
	}
	if (a.Customer == nil) != (b.Customer == nil) {
		return false
	}
	return a.Customer == nil || *a.Customer == *b.Customer
}
