package state

import (
	"fmt"
	"time"
)

// Arrival is a booking arriving soon whose guest gets the ProBonus line in Bnovo at check-in
// (spec §3). It holds what refreshing the line needs without a Bnovo call: whom to look up in
// ProBonus (the guest's account-map keys) and, for enrolment, the names.
type Arrival struct {
	BookingID int64
	Number    string
	Day       time.Time // the arrival date, 00:00 in the hotel's zone
	GuestID   int64
	Keys      []string // the guest's account-map keys, phone first ("phone:…", "email:…")
	FirstName string
	LastName  string
}

func encodeArrival(a Arrival) ([]byte, error) {
	e := newEncoder()
	e.string(a.Number)
	if err := e.time(a.Day, 0); err != nil {
		return nil, fmt.Errorf("arrival %d: %w", a.BookingID, err)
	}
	e.varint(a.GuestID)
	e.uvarint(uint64(len(a.Keys)))
	for _, k := range a.Keys {
		e.string(k)
	}
	e.string(a.FirstName)
	e.string(a.LastName)
	return e.buf, nil
}

// maxArrivalKeys bounds a decoded record's key count, so a damaged length cannot allocate much.
const maxArrivalKeys = 16

func decodeArrival(id int64, raw []byte) (Arrival, error) {
	d := newDecoder(raw)
	a := Arrival{BookingID: id}
	a.Number = d.string()
	a.Day = d.time(0)
	a.GuestID = d.varint()
	n := d.uvarint()
	if n > maxArrivalKeys {
		return Arrival{}, fmt.Errorf("decode arrival %d: %d keys", id, n)
	}
	for range n {
		a.Keys = append(a.Keys, d.string())
	}
	a.FirstName = d.string()
	a.LastName = d.string()
	if err := d.finish(); err != nil {
		return Arrival{}, fmt.Errorf("decode arrival %d: %w", id, err)
	}
	return a, nil
}

// PutArrival inserts or replaces an arrival.
func (tx *Tx) PutArrival(a Arrival) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if a.BookingID <= 0 || len(a.Keys) > maxArrivalKeys {
		return fmt.Errorf("put arrival %d: invalid record", a.BookingID)
	}
	raw, err := encodeArrival(a)
	if err != nil {
		return err
	}
	b, err := tx.bucket(bucketArrivals)
	if err != nil {
		return err
	}
	return b.Put(int64Key(a.BookingID), raw)
}

// DeleteArrival forgets an arrival (cancelled, moved, arrived in the past); unknown ids are fine.
func (tx *Tx) DeleteArrival(id int64) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketArrivals)
	if err != nil {
		return err
	}
	return b.Delete(int64Key(id))
}

// Arrival returns one arrival.
func (tx *Tx) Arrival(id int64) (Arrival, bool, error) {
	b, err := tx.bucket(bucketArrivals)
	if err != nil {
		return Arrival{}, false, err
	}
	raw := b.Get(int64Key(id))
	if raw == nil {
		return Arrival{}, false, nil
	}
	a, err := decodeArrival(id, raw)
	return a, err == nil, err
}

// Arrivals lists the arrivals by booking id.
func (tx *Tx) Arrivals() ([]Arrival, error) {
	b, err := tx.bucket(bucketArrivals)
	if err != nil {
		return nil, err
	}
	var list []Arrival
	err = b.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("arrival key has %d bytes, want 8", len(k))
		}
		a, err := decodeArrival(int64(bigEndianUint64(k)), v)
		if err != nil {
			return err
		}
		list = append(list, a)
		return nil
	})
	return list, err
}
