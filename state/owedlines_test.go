package state

import (
	"path/filepath"
	"testing"
	"time"
)

func TestOwedLinesRoundTrip(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dep := time.Date(2026, 6, 24, 9, 0, 0, 0, time.UTC)
	if err := db.Update(func(tx *Tx) error {
		for _, id := range []int64{30, 10, 20} {
			if err := tx.OweLine(OwedLine{BookingID: id, Departure: dep, GuestID: id * 10, AccountID: id + 1}); err != nil {
				return err
			}
		}
		return tx.PaidLine(20)
	}); err != nil {
		t.Fatal(err)
	}
	var got []OwedLine
	if err := db.View(func(tx *Tx) (err error) { got, err = tx.OwedLines(0); return err }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].BookingID != 10 || got[1].BookingID != 30 || !got[0].Departure.Equal(dep) ||
		got[1].GuestID != 300 || got[1].AccountID != 31 {
		t.Fatalf("owed lines %+v, want 10 and 30 departing %s, with their guests and accounts", got, dep)
	}
}
