package state

import (
	"fmt"
	"strconv"
	"time"
)

// parked records

// Parked is a record that could not be processed, kept for staff and for retries.
type Parked struct {
	Key       string // ParkKeyBooking(id) or ParkKeyPosition(listing, pos)
	BookingID int64  // 0 when unknown
	Reason    string
	Since     time.Time // first parked
	Last      time.Time // last time it was seen still failing
	Count     int       // times seen
}

// ParkKeyBooking is the park key of a booking known by id.
func ParkKeyBooking(id int64) string { return "booking:" + strconv.FormatInt(id, 10) }

// ParkKeyPosition is the park key of a record whose id could not even be read.
func ParkKeyPosition(listing string, pos int) string {
	return "position:" + listing + "@" + strconv.Itoa(pos)
}

func encodeParked(p Parked) ([]byte, error) {
	if p.Count < 0 {
		return nil, fmt.Errorf("negative count %d", p.Count)
	}
	e := newEncoder()
	e.varint(p.BookingID)
	e.string(p.Reason)
	if err := e.time(p.Since, 0); err != nil {
		return nil, fmt.Errorf("since: %w", err)
	}
	if err := e.time(p.Last, baseNanos(p.Since)); err != nil {
		return nil, fmt.Errorf("last: %w", err)
	}
	e.uvarint(uint64(p.Count))
	return e.buf, nil
}

func decodeParked(key string, raw []byte) (Parked, error) {
	d := newDecoder(raw)
	p := Parked{Key: key}
	p.BookingID = d.varint()
	p.Reason = d.string()
	p.Since = d.time(0)
	p.Last = d.time(baseNanos(p.Since))
	p.Count = d.int()
	if err := d.finish(); err != nil {
		return Parked{}, fmt.Errorf("decode parked %q: %w", key, err)
	}
	return p, nil
}

// Park upserts a parked record. Last is p.Last, or now when zero. A new entry starts with
// Count 1 and Since = p.Since (or Last when zero); an existing entry keeps its Since (and its
// BookingID when p's is 0), takes p's Reason and gets Count+1. p.Count is ignored.
func (tx *Tx) Park(p Parked) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if p.Key == "" {
		return fmt.Errorf("park: empty key")
	}
	b, err := tx.bucket(bucketParked)
	if err != nil {
		return err
	}
	if p.Last.IsZero() {
		p.Last = time.Now()
	}
	key := []byte(p.Key)
	raw := b.Get(key)
	if raw != nil {
		old, err := decodeParked(p.Key, raw)
		if err != nil {
			return fmt.Errorf("park: %w", err)
		}
		p.Since = old.Since
		p.Count = old.Count + 1
		if p.BookingID == 0 {
			p.BookingID = old.BookingID
		}
	} else {
		if p.Since.IsZero() {
			p.Since = p.Last
		}
		p.Count = 1
	}
	enc, err := encodeParked(p)
	if err != nil {
		return fmt.Errorf("park %q: %w", p.Key, err)
	}
	if err := b.Put(key, enc); err != nil {
		return fmt.Errorf("park %q: %w", p.Key, err)
	}
	if raw == nil {
		return tx.addCounter(counterParked, 1)
	}
	return nil
}

// Unpark removes a parked record; removing an absent one is not an error.
func (tx *Tx) Unpark(key string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketParked)
	if err != nil {
		return err
	}
	if key == "" || b.Get([]byte(key)) == nil {
		return nil
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("unpark %q: %w", key, err)
	}
	return tx.addCounter(counterParked, -1)
}

// ParkedList returns all parked records in key order.
func (tx *Tx) ParkedList() ([]Parked, error) {
	b, err := tx.bucket(bucketParked)
	if err != nil {
		return nil, err
	}
	var list []Parked
	err = b.ForEach(func(k, v []byte) error {
		p, err := decodeParked(string(k), v)
		if err != nil {
			return err
		}
		list = append(list, p)
		return nil
	})
	return list, err
}
