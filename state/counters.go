package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// counters (meta bucket), changed in the same transaction as the data they count

const (
	counterBookings   = "count:bookings"
	counterAccounts   = "count:accounts"
	counterParked     = "count:parked"
	counterShortfalls = "count:shortfalls"
	counterQueue      = "count:queue"

	counterRedeemShortfalls = "count:redeemshortfalls"
)

func opCounter(s OpState) string { return "count:op:" + string(s) }

func bigEndianUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// lookup tells a key stored with an empty value apart from a missing key, which Bucket.Get does
// not: it returns nil for both while the write is still uncommitted.
func lookup(b *bolt.Bucket, key []byte) (value []byte, found bool) {
	k, v := b.Cursor().Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, false
	}
	return v, true
}

func has(b *bolt.Bucket, key []byte) bool {
	_, found := lookup(b, key)
	return found
}

func (tx *Tx) counter(name string) int64 {
	meta := tx.btx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	raw := meta.Get([]byte(name))
	if len(raw) != 8 {
		return 0
	}
	return int64(bigEndianUint64(raw))
}

func (tx *Tx) setCounter(name string, v int64) error {
	meta, err := tx.bucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put([]byte(name), int64Key(v)); err != nil {
		return fmt.Errorf("update counter %s: %w", name, err)
	}
	return nil
}

// addCounter never lets a counter go below zero: counters only feed -status, and a drift there
// must not stop syncing. CheckIntegrity and Recount detect and repair drift.
func (tx *Tx) addCounter(name string, delta int64) error {
	return tx.setCounter(name, max(tx.counter(name)+delta, 0))
}

// Counts is a constant-time summary for -status.
type Counts struct {
	Bookings   int
	Accounts   int
	Parked     int
	Shortfalls int
	// RedeemShortfalls counts bookings whose bonus payments could not be withdrawn (spec §7).
	RedeemShortfalls int
	Ops              map[OpState]int // every state in AllOpStates is present
}

// Counts reads the incrementally maintained counters; it never scans.
func (tx *Tx) Counts() Counts {
	c := Counts{
		Bookings:         int(tx.counter(counterBookings)),
		Accounts:         int(tx.counter(counterAccounts)),
		Parked:           int(tx.counter(counterParked)),
		Shortfalls:       int(tx.counter(counterShortfalls)),
		RedeemShortfalls: int(tx.counter(counterRedeemShortfalls)),
		Ops:              make(map[OpState]int, len(AllOpStates)),
	}
	for _, s := range AllOpStates {
		c.Ops[s] = int(tx.counter(opCounter(s)))
	}
	return c
}
