package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// rate-limit log: one nested bucket per scope, key = time (8 bytes, order-preserving) +
// a per-scope sequence (8 bytes) so that several calls at the same instant stay separate entries.

func callTimeKey(t time.Time) ([]byte, error) {
	nanos, err := unixNanos(t)
	if err != nil {
		return nil, err
	}
	// Flipping the sign bit makes big-endian byte order match numeric order for negative values too.
	return binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(nanos)^(1<<63)), nil
}

func callKeyTime(k []byte) (time.Time, error) {
	if len(k) != 16 {
		return time.Time{}, fmt.Errorf("call log key has %d bytes, want 16", len(k))
	}
	return time.Unix(0, int64(bigEndianUint64(k[:8])^(1<<63))).UTC(), nil
}

// rangeKey clamps t into the storable range, for use as a seek bound.
func rangeKey(t time.Time) []byte {
	switch {
	case t.Before(minStorableTime):
		t = minStorableTime
	case t.After(maxStorableTime):
		t = maxStorableTime
	}
	k, _ := callTimeKey(t)
	return k
}

func (tx *Tx) callScope(scope string, create bool) (*bolt.Bucket, error) {
	if scope == "" {
		return nil, fmt.Errorf("call log: empty scope")
	}
	parent, err := tx.bucket(bucketCalls)
	if err != nil {
		return nil, err
	}
	var b *bolt.Bucket
	if create {
		if b, err = parent.CreateBucketIfNotExists([]byte(scope)); err != nil {
			return nil, fmt.Errorf("call log scope %q: %w", scope, err)
		}
	} else {
		b = parent.Bucket([]byte(scope))
	}
	if b != nil && tx.btx.Writable() {
		b.FillPercent = callsFillPercent
	}
	return b, nil
}

// AppendCalls records call timestamps; duplicates of the same instant are kept as separate entries.
func (tx *Tx) AppendCalls(scope string, at ...time.Time) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if len(at) == 0 {
		return nil
	}
	b, err := tx.callScope(scope, true)
	if err != nil {
		return err
	}
	for _, t := range at {
		key, err := callTimeKey(t)
		if err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
		key = binary.BigEndian.AppendUint64(key, seq)
		if err := b.Put(key, nil); err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
	}
	return nil
}

// Calls returns the scope's call times at or after since, ascending.
func (tx *Tx) Calls(scope string, since time.Time) ([]time.Time, error) {
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil {
		return nil, err
	}
	var list []time.Time
	c := b.Cursor()
	for k, _ := c.Seek(rangeKey(since)); k != nil; k, _ = c.Next() {
		t, err := callKeyTime(k)
		if err != nil {
			return nil, fmt.Errorf("call log %q: %w", scope, err)
		}
		list = append(list, t)
	}
	return list, nil
}

// PruneCalls deletes the scope's call times strictly before the given time.
func (tx *Tx) PruneCalls(scope string, before time.Time) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil {
		return err
	}
	limit := rangeKey(before)
	// Keys are collected first: deleting while a bbolt cursor walks can skip entries.
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], limit) < 0; k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("call log %q prune: %w", scope, err)
		}
	}
	return nil
}

// ForgetCalls deletes up to n of the scope's calls logged at exactly at; the rest of the log,
// other entries at that instant included, is kept.
func (tx *Tx) ForgetCalls(scope string, at time.Time, n int) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil || n <= 0 {
		return err
	}
	instant, err := callTimeKey(at)
	if err != nil {
		return fmt.Errorf("call log %q: %w", scope, err)
	}
	// Keys are collected first: deleting while a bbolt cursor walks can skip entries.
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(instant); k != nil && len(doomed) < n && bytes.HasPrefix(k, instant); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("call log %q forget: %w", scope, err)
		}
	}
	return nil
}
