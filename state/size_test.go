package state

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// realisticBooking and realisticOp mirror what syncd stores for a typical checked-out stay, with
// Cyrillic notes and reasons at their real UTF-8 length.
func realisticBooking(id int64) Booking {
	return Booking{
		ID: id, Number: fmt.Sprintf("US9PM_%06d", id%1000000), UpdateDate: t0.Add(time.Duration(id) * time.Second),
		Target: 112500, Posted: 112500, Seq: 1, AccountID: 100000 + id, GuestID: 9000000 + id,
		NotesLine: fmt.Sprintf("ProBonus: карта 2000000%06d, баланс 1 125 бонусов, уровень Серебро", id%1000000),
	}
}

func realisticOp(id int64) Op {
	at := t0.Add(time.Duration(id) * time.Second)
	return Op{
		BookingID: id, Seq: 1, AccountID: 100000 + id, Kind: KindDeposit, Sum: 112500,
		Reason: fmt.Sprintf("Проживание US9PM_%06d (bnovo:%d#1), 5%% от 22 500 ₽", id%1000000, id),
		State:  OpPosted, IntendedAt: at, SentAt: at.Add(time.Millisecond), ResolvedAt: at.Add(250 * time.Millisecond),
		OperationID: 5000000 + id, Balance: 112500,
	}
}

// fillBookings stores n bookings, each with one posted op and its guest's account mapping, in
// batches the size of a listing page, the way the sync engine commits.
func fillBookings(tb testing.TB, db *DB, firstID int64, n int) {
	tb.Helper()
	const batch = 100
	for start := 0; start < n; start += batch {
		err := db.Update(func(tx *Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				id := firstID + int64(i)
				op := realisticOp(id)
				op.State, op.ResolvedAt, op.OperationID, op.Balance = OpIntended, time.Time{}, 0, 0
				if err := tx.PutOp(op); err != nil {
					return err
				}
				if err := tx.PutOp(realisticOp(id)); err != nil {
					return err
				}
				if err := tx.PutBooking(realisticBooking(id)); err != nil {
					return err
				}
				if err := tx.SetAccount(fmt.Sprintf("phone:7916%07d", id%10000000), 100000+id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("fill: %v", err)
		}
	}
}

const sizeBudgetPerBooking = 1024

// TestBytesPerBookingBudget keeps the encoding honest: the pages in use must stay within the
// per-booking budget (the file itself grows in power-of-two steps, which the benchmark reports).
func TestBytesPerBookingBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 10k bookings")
	}
	const n = 10000
	db := openTemp(t)
	fillBookings(t, db, 48000000, n)
	used, err := db.UsedBytes()
	if err != nil {
		t.Fatal(err)
	}
	size, err := db.Size()
	if err != nil {
		t.Fatal(err)
	}
	perBooking := float64(used) / n
	t.Logf("%d bookings: %d bytes used (%.0f/booking), file %d bytes (%.0f/booking)", n, used, perBooking, size, float64(size)/n)
	if perBooking > sizeBudgetPerBooking {
		t.Errorf("%.0f bytes used per booking, budget %d", perBooking, sizeBudgetPerBooking)
	}
	mustView(t, db, func(tx *Tx) error {
		if c := tx.Counts(); c.Bookings != n || c.Accounts != n || c.Ops[OpPosted] != n || c.Ops[OpIntended] != 0 {
			t.Errorf("counts = %+v", c)
		}
		if open, _ := tx.OpenOps(); len(open) != 0 {
			t.Errorf("%d open ops left", len(open))
		}
		return tx.CheckIntegrity()
	})
}

// BenchmarkFileBytesPerBooking reports the state file's size per booking for 10k bookings, each
// with one posted op and an account mapping.
func BenchmarkFileBytesPerBooking(b *testing.B) {
	const n = 10000
	var size, used int64
	for b.Loop() {
		db, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		fillBookings(b, db, 48000000, n)
		if size, err = db.Size(); err != nil {
			b.Fatal(err)
		}
		if used, err = db.UsedBytes(); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/n, "bytes/booking")
	b.ReportMetric(float64(used)/n, "used-bytes/booking")
}

// BenchmarkPutBookingWithOps measures the cost per booking of committing a page's work: the op
// journaled as intended, then posted, the booking record and the account mapping, 100 bookings
// per transaction.
func BenchmarkPutBookingWithOps(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	fillBookings(b, db, 1, b.N)
	b.StopTimer()
	// Only meaningful for large -benchtime=Nx runs (e.g. 100000x, the size goal's scale).
	if used, err := db.UsedBytes(); err == nil {
		b.ReportMetric(float64(used)/float64(b.N), "used-bytes/booking")
	}
	if size, err := db.Size(); err == nil {
		b.ReportMetric(float64(size)/float64(b.N), "bytes/booking")
	}
}
