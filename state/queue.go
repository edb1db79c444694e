package state

import (
	"encoding/binary"
	"fmt"
)

// durable queue of booking ids

// QueueEntry is a queued booking id and the mark of its latest enqueueing. Dequeue removes an
// entry only while its mark is unchanged: an id queued again (a newer webhook) while a run was
// fetching it stays queued, so that change is not lost until the next scheduled cycle.
type QueueEntry struct {
	ID   int64
	Mark uint64
}

// Enqueue adds booking ids to the queue, or marks again ids already queued; each id is counted
// once however often it is queued.
func (tx *Tx) Enqueue(ids ...int64) error {
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
	mark, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	value := binary.BigEndian.AppendUint64(nil, mark)
	var added int64
	for _, id := range ids {
		key := int64Key(id)
		if !has(b, key) {
			added++
		}
		if err := b.Put(key, value); err != nil {
			return fmt.Errorf("enqueue %d: %w", id, err)
		}
	}
	if added == 0 {
		return nil
	}
	return tx.addCounter(counterQueue, added)
}

// Queued returns up to limit queued entries, by ascending id; limit <= 0 means all.
func (tx *Tx) Queued(limit int) ([]QueueEntry, error) {
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return nil, err
	}
	var entries []QueueEntry
	c := b.Cursor()
	for k, v := c.First(); k != nil && (limit <= 0 || len(entries) < limit); k, v = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("queue key has %d bytes, want 8", len(k))
		}
		e := QueueEntry{ID: int64(bigEndianUint64(k))}
		switch len(v) {
		case 0: // queued by a syncd before marks existed
		case 8:
			e.Mark = bigEndianUint64(v)
		default:
			return nil, fmt.Errorf("queue entry %d has a %d-byte mark, want 8", e.ID, len(v))
		}
		entries = append(entries, e)
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
		var mark uint64
		if len(v) == 8 {
			mark = bigEndianUint64(v)
		}
		if mark != e.Mark {
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
