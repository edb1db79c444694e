package state

import (
	"encoding/binary"
	"fmt"
	"time"
)

// OwedLine is a guest's loyalty line in Bnovo that a run left unwritten to spend the Bnovo
// budget on credits first, or because it was stopped; the stay's departure decides whether
// the line is still worth writing.
type OwedLine struct {
	BookingID int64
	Departure time.Time
	// GuestID and AccountID are the guest the line is owed to and the account it shows: the
	// line is for them only (a record from before they were kept has both 0).
	GuestID, AccountID int64
}

// OweLine records that the booking's guest line is owed; owing it again changes nothing but
// the departure.
func (tx *Tx) OweLine(l OwedLine) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if l.BookingID <= 0 {
		return fmt.Errorf("owe line: booking id %d is not positive", l.BookingID)
	}
	b, err := tx.bucket(bucketOwedLines)
	if err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(l.Departure.Unix()))
	v = binary.BigEndian.AppendUint64(v, uint64(l.GuestID))
	v = binary.BigEndian.AppendUint64(v, uint64(l.AccountID))
	return b.Put(int64Key(l.BookingID), v)
}

// PaidLine forgets an owed line (written, or no longer worth writing); unknown ids are ignored.
func (tx *Tx) PaidLine(bookingID int64) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketOwedLines)
	if err != nil {
		return err
	}
	return b.Delete(int64Key(bookingID))
}

// OwedLines returns up to limit owed lines by ascending booking id; limit <= 0 means all.
func (tx *Tx) OwedLines(limit int) ([]OwedLine, error) {
	b, err := tx.bucket(bucketOwedLines)
	if err != nil {
		return nil, err
	}
	var out []OwedLine
	c := b.Cursor()
	for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		if len(k) != 8 || (len(v) != 8 && len(v) != 24) {
			return out, fmt.Errorf("owed line %x: malformed record", k)
		}
		l := OwedLine{
			BookingID: int64(binary.BigEndian.Uint64(k)),
			Departure: time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC(),
		}
		if len(v) == 24 {
			l.GuestID = int64(binary.BigEndian.Uint64(v[8:]))
			l.AccountID = int64(binary.BigEndian.Uint64(v[16:]))
		}
		out = append(out, l)
	}
	return out, nil
}
