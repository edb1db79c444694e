package state

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// durable queue of booking ids

// ErrQueueFull is returned by Announce when the new ids would take the queue past its bound;
// nothing of that call is queued.
var ErrQueueFull = errors.New("the queue of booking ids is full")

// QueueEntry is a queued booking id, the mark of its latest enqueueing and of its first one.
// Dequeue removes an entry only while its mark is unchanged: an id queued again (a newer
// webhook) while a run was fetching it stays queued, so that change is not lost until the next
// scheduled cycle.
type QueueEntry struct {
	ID   int64
	Mark uint64 // latest enqueueing
	// First is the mark of the enqueueing that put the id in the queue: entries are served in
	// that order (oldest delivery first), and a repeated delivery keeps its place.
	First uint64
	// Announced: only a webhook queued it. A booking the engine queued itself (passing trouble)
	// is work a run owes, and is not held to the webhooks' share of the budget.
	Announced bool
}

// Queue values: mark (8 bytes), first mark (8), flags (1). Older syncds wrote 8 bytes (the
// mark) or none; those entries count as queued by the engine, in their mark's order.
const (
	queueValueLen = 17
	flagAnnounced = 1
)

func encodeQueueEntry(e QueueEntry) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, queueValueLen), e.Mark)
	v = binary.BigEndian.AppendUint64(v, e.First)
	var flags byte
	if e.Announced {
		flags |= flagAnnounced
	}
	return append(v, flags)
}

func decodeQueueEntry(k, v []byte) (QueueEntry, error) {
	if len(k) != 8 {
		return QueueEntry{}, fmt.Errorf("queue key has %d bytes, want 8", len(k))
	}
	e := QueueEntry{ID: int64(bigEndianUint64(k))}
	switch len(v) {
	case 0: // queued by a syncd before marks existed
	case 8:
		e.Mark = bigEndianUint64(v)
		e.First = e.Mark
	case queueValueLen:
		e.Mark = bigEndianUint64(v[:8])
		e.First = bigEndianUint64(v[8:16])
		e.Announced = v[16]&flagAnnounced != 0
	default:
		return QueueEntry{}, fmt.Errorf("queue entry %d has a %d-byte value, want %d", e.ID, len(v), queueValueLen)
	}
	return e, nil
}

// Enqueue queues bookings the engine owes a retry (or marks again ids already queued); each id
// is counted once however often it is queued. It is not bounded: the engine queues only
// bookings it has read.
func (tx *Tx) Enqueue(ids ...int64) error {
	return tx.enqueue(ids, false, 0)
}

// Announce queues the ids of a webhook delivery, all of them or (ErrQueueFull, when the ids not
// queued yet would take the queue past limit entries) none. An id already queued is marked again
// and keeps its place in the order.
func (tx *Tx) Announce(limit int, ids ...int64) error {
	return tx.enqueue(ids, true, limit)
}

func (tx *Tx) enqueue(ids []int64, announced bool, limit int) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id <= 0 {
			return fmt.Errorf("enqueue: booking id %d is not positive", id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	existing := make(map[int64]QueueEntry, len(ids))
	var added int64
	for _, id := range ids {
		key := int64Key(id)
		v, found := lookup(b, key)
		if !found {
			if _, dup := existing[id]; !dup {
				added++
			}
			existing[id] = QueueEntry{ID: id, Announced: announced}
			continue
		}
		e, err := decodeQueueEntry(key, v)
		if err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		existing[id] = e
	}
	if announced && tx.QueueLen()+int(added) > limit {
		return fmt.Errorf("%w: %d ids queued, %d more would pass the bound of %d", ErrQueueFull, tx.QueueLen(), added, limit)
	}
	mark, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	for id, e := range existing {
		e.Mark = mark
		if e.First == 0 {
			e.First = mark
		}
		if !announced {
			e.Announced = false // the engine owes it now, whoever queued it first
		}
		if err := b.Put(int64Key(id), encodeQueueEntry(e)); err != nil {
			return fmt.Errorf("enqueue %d: %w", id, err)
		}
	}
	if added == 0 {
		return nil
	}
	return tx.addCounter(counterQueue, added)
}

// Queued returns up to limit queued entries, oldest first (by First, then id); limit <= 0 means
// all. Every entry is read to order them: the queue is bounded (see Announce), so that is a
// few hundred kilobytes at most.
func (tx *Tx) Queued(limit int) ([]QueueEntry, error) {
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return nil, err
	}
	// The counter only sizes the slice: a damaged one must not make a huge or negative one.
	entries := make([]QueueEntry, 0, min(max(tx.QueueLen(), 0), 1<<16))
	if err := b.ForEach(func(k, v []byte) error {
		e, err := decodeQueueEntry(k, v)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b QueueEntry) int {
		return cmp.Or(cmp.Compare(a.First, b.First), cmp.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// Dequeue removes entries whose id is still queued with the same mark; ids queued again since
// they were read stay queued.
func (tx *Tx) Dequeue(entries ...QueueEntry) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return err
	}
	var removed int64
	for _, e := range entries {
		key := int64Key(e.ID)
		v, found := lookup(b, key)
		if !found {
			continue
		}
		queued, err := decodeQueueEntry(key, v)
		if err != nil {
			return fmt.Errorf("dequeue: %w", err)
		}
		if queued.Mark != e.Mark {
			continue
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("dequeue %d: %w", e.ID, err)
		}
		removed++
	}
	if removed == 0 {
		return nil
	}
	return tx.addCounter(counterQueue, -removed)
}

// QueueMark is the mark the latest Enqueue gave: entries with a larger Mark were queued after
// it was read.
func (tx *Tx) QueueMark() (uint64, error) {
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return 0, err
	}
	return b.Sequence(), nil
}

// QueueLen is the number of queued ids, from a counter.
func (tx *Tx) QueueLen() int { return int(tx.counter(counterQueue)) }
