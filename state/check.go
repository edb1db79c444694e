package state

import (
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// scanned holds what a full scan finds, to compare with (or rebuild) the incremental counters.
type scanned struct {
	counters map[string]int64
	problems []string
}

func (tx *Tx) scan() (scanned, error) {
	s := scanned{counters: map[string]int64{}}
	count := func(name []byte) (int64, error) {
		b, err := tx.bucket(name)
		if err != nil {
			return 0, err
		}
		// Bucket.Stats reads committed pages only; counting through a cursor also sees this
		// transaction's own changes.
		var n int64
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return n, nil
	}
	for counter, bucket := range map[string][]byte{
		counterBookings:   bucketBookings,
		counterAccounts:   bucketAccounts,
		counterParked:     bucketParked,
		counterShortfalls: bucketShortfalls,
		counterQueue:      bucketQueue,

		counterRedeemShortfalls: bucketRedeemShortfalls,
	} {
		n, err := count(bucket)
		if err != nil {
			return s, err
		}
		s.counters[counter] = n
	}
	for _, st := range AllOpStates {
		s.counters[opCounter(st)] = 0
	}

	bookings, err := tx.bucket(bucketBookings)
	if err != nil {
		return s, err
	}
	shortfalls, err := tx.bucket(bucketShortfalls)
	if err != nil {
		return s, err
	}
	redeemShortfalls, err := tx.bucket(bucketRedeemShortfalls)
	if err != nil {
		return s, err
	}
	open, err := tx.bucket(bucketOpenOps)
	if err != nil {
		return s, err
	}
	err = bookings.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			s.problems = append(s.problems, fmt.Sprintf("booking key of %d bytes", len(k)))
			return nil
		}
		b, err := decodeBooking(int64(bigEndianUint64(k)), v)
		if err != nil {
			s.problems = append(s.problems, err.Error())
			return nil
		}
		if indexed := has(shortfalls, k); indexed != (b.Shortfall > 0) {
			s.problems = append(s.problems, fmt.Sprintf("booking %d: shortfall %d but indexed=%t", b.ID, b.Shortfall, indexed))
		}
		if indexed := has(redeemShortfalls, k); indexed != (b.RedeemShortfall > 0) {
			s.problems = append(s.problems, fmt.Sprintf("booking %d: redemption shortfall %d but indexed=%t", b.ID, b.RedeemShortfall, indexed))
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	for name, index := range map[string]*bolt.Bucket{"shortfall": shortfalls, "redemption shortfall": redeemShortfalls} {
		err = index.ForEach(func(k, _ []byte) error {
			if bookings.Get(k) == nil {
				s.problems = append(s.problems, fmt.Sprintf("%s index key %x names no booking", name, k))
			}
			return nil
		})
		if err != nil {
			return s, err
		}
	}
	err = tx.ForEachOp(func(op Op) error {
		s.counters[opCounter(op.State)]++
		key := opKey(op.BookingID, op.Seq, op.Redemption)
		if indexed := has(open, key); indexed != op.State.Open() {
			s.problems = append(s.problems, fmt.Sprintf("op %d#%s: state %s but open-indexed=%t", op.BookingID, op.SeqName(), op.State, indexed))
		}
		if raw := bookings.Get(int64Key(op.BookingID)); raw != nil {
			if b, err := decodeBooking(op.BookingID, raw); err == nil {
				highest := b.Seq
				if op.Redemption {
					highest = b.RedeemSeq
				}
				if op.Seq > highest {
					s.problems = append(s.problems, fmt.Sprintf("op %d#%s: number above the booking's highest %d", op.BookingID, op.SeqName(), highest))
				}
			}
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return s, err
	}
	err = open.ForEach(func(k, _ []byte) error {
		if ops.Get(k) == nil {
			s.problems = append(s.problems, fmt.Sprintf("open-ops index key %x names no op", k))
		}
		return nil
	})
	return s, err
}

// CheckIntegrity scans everything and reports counters, indexes and records that disagree. It
// costs a full read of the file: meant for tests, -status diagnostics and after a crash, not for
// every cycle.
func (tx *Tx) CheckIntegrity() error {
	s, err := tx.scan()
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	problems := s.problems
	for name, want := range s.counters {
		if got := tx.counter(name); got != want {
			problems = append(problems, fmt.Sprintf("counter %s is %d, scan finds %d", name, got, want))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %w", errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// Recount rebuilds every counter from a full scan, repairing drift CheckIntegrity reported.
func (tx *Tx) Recount() error {
	if err := tx.writable(); err != nil {
		return err
	}
	s, err := tx.scan()
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	for name, n := range s.counters {
		if err := tx.setCounter(name, n); err != nil {
			return fmt.Errorf("recount: %w", err)
		}
	}
	return nil
}
