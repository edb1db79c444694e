package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustUpdate(t testing.TB, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t testing.TB, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func checkIntegrity(t testing.TB, db *DB) {
	t.Helper()
	mustView(t, db, func(tx *Tx) error { return tx.CheckIntegrity() })
}

var t0 = time.Date(2026, 5, 13, 12, 0, 0, 123456789, time.UTC)

func sampleBooking(id int64) Booking {
	return Booking{
		ID: id, Number: "US9PM_130526", UpdateDate: t0.Add(-time.Hour),
		Target: 112500, Posted: 112500, Seq: 1, AccountID: 5001, GuestID: 777,
		NotesLine: "ProBonus: карта 2000000000123, баланс 1 125 бонусов, уровень Серебро",
	}
}

func sampleOp(bookingID int64, seq int, st OpState) Op {
	return Op{
		BookingID: bookingID, Seq: seq, AccountID: 5001, Kind: KindDeposit, Sum: 112500,
		Reason: "Проживание US9PM_130526 (bnovo:48211734#1), 5% от 22 500 ₽",
		State:  st, IntendedAt: t0, SentAt: t0.Add(3 * time.Millisecond),
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	b := sampleBooking(48211734)
	b.Shortfall, b.Seq = 300, 2
	op := sampleOp(48211734, 1, OpPosted)
	op.ResolvedAt = t0.Add(time.Second)
	op.OperationID, op.Balance, op.Err = 99, 112500, "earlier timeout"
	parked := Parked{Key: ParkKeyBooking(7), BookingID: 7, Reason: "no phone or e-mail", Since: t0, Last: t0.Add(time.Minute)}
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(
			tx.SetCursor("changed", "2026-05-13T12:00:00+03:00"),
			tx.SetAccount("phone:79161234567", 5001),
			tx.PutBooking(b),
			tx.PutOp(op),
			tx.PutOp(sampleOp(48211734, 2, OpUnknown)),
			tx.Park(parked),
			tx.AppendCalls("bnovo", t0, t0),
			tx.SetToken("bnovo", "secret-token", t0.Add(time.Hour)),
			tx.Enqueue(3, 1, 2),
		)
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode %o, want 600", mode)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustView(t, db, func(tx *Tx) error {
		if v, ok := tx.Cursor("changed"); !ok || v != "2026-05-13T12:00:00+03:00" {
			t.Errorf("cursor = %q %v", v, ok)
		}
		if id, ok := tx.Account("phone:79161234567"); !ok || id != 5001 {
			t.Errorf("account = %d %v", id, ok)
		}
		gotB, ok, err := tx.Booking(b.ID)
		if err != nil || !ok || !reflect.DeepEqual(gotB, b) {
			t.Errorf("booking = %+v %v %v, want %+v", gotB, ok, err, b)
		}
		gotOp, ok, err := tx.Op(op.BookingID, 1)
		if err != nil || !ok || !reflect.DeepEqual(gotOp, op) {
			t.Errorf("op = %+v %v %v, want %+v", gotOp, ok, err, op)
		}
		list, err := tx.ParkedList()
		if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], Parked{Key: parked.Key, BookingID: 7, Reason: parked.Reason, Since: t0, Last: t0.Add(time.Minute), Count: 1}) {
			t.Errorf("parked = %+v %v", list, err)
		}
		calls, err := tx.Calls("bnovo", time.Time{})
		if err != nil || len(calls) != 2 || !calls[0].Equal(t0) {
			t.Errorf("calls = %v %v", calls, err)
		}
		if v, exp, ok := tx.Token("bnovo"); !ok || v != "secret-token" || !exp.Equal(t0.Add(time.Hour)) {
			t.Errorf("token = %q %v %v", v, exp, ok)
		}
		if q, err := tx.Queued(0); err != nil || !slices.Equal(queueIDs(q), []int64{1, 2, 3}) {
			t.Errorf("queue = %v %v", q, err)
		}
		want := Counts{Bookings: 1, Accounts: 1, Parked: 1, Shortfalls: 1,
			Ops: map[OpState]int{OpIntended: 0, OpPosted: 1, OpUnknown: 1, OpFailed: 0}}
		if got := tx.Counts(); !reflect.DeepEqual(got, want) {
			t.Errorf("counts = %+v, want %+v", got, want)
		}
		if tx.QueueLen() != 3 {
			t.Errorf("QueueLen = %d", tx.QueueLen())
		}
		return tx.CheckIntegrity()
	})
	if size, err := db.Size(); err != nil || size <= 0 {
		t.Errorf("Size = %d %v", size, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchemaKey, int64Key(SchemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "schema 2") {
		t.Errorf("error should name the path and version: %v", err)
	}
	// The refused open must have released the lock.
	db, err = Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if errors.Is(err, ErrLocked) {
		t.Fatalf("lock leaked after refused open: %v", err)
	}
	if db != nil {
		_ = db.Close()
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not bolt ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage, Options{}); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("Open garbage: err = %v, want an error naming the path", err)
	}

	other := filepath.Join(dir, "other.db")
	raw, err := bolt.Open(other, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err }); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	if _, err := Open(other, Options{}); err == nil || !strings.Contains(err.Error(), "not a syncd state file") {
		t.Errorf("Open foreign bolt file: err = %v", err)
	}

	if _, err := Open(filepath.Join(dir, "missing-dir", "state.db"), Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestFailingFnRollsBack(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.SetCursor("changed", "before") })
	boom := errors.New("boom")
	err := db.Update(func(tx *Tx) error {
		if err := errors.Join(
			tx.SetCursor("changed", "after"),
			tx.SetAccount("email:anna@example.ru", 1),
			tx.PutBooking(sampleBooking(10)),
			tx.PutOp(sampleOp(10, 1, OpIntended)),
			tx.Park(Parked{Key: ParkKeyBooking(11), Reason: "x"}),
			tx.AppendCalls("bnovo", t0),
			tx.SetToken("bnovo", "tok", t0),
			tx.Enqueue(10),
		); err != nil {
			return err
		}
		if got := tx.Counts().Ops[OpIntended]; got != 1 {
			t.Errorf("inside the transaction intended = %d, want 1", got)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update err = %v, want boom", err)
	}
	mustView(t, db, func(tx *Tx) error {
		if v, _ := tx.Cursor("changed"); v != "before" {
			t.Errorf("cursor = %q, want before", v)
		}
		if _, ok := tx.Account("email:anna@example.ru"); ok {
			t.Error("account survived rollback")
		}
		if _, ok, _ := tx.Booking(10); ok {
			t.Error("booking survived rollback")
		}
		if ops, _ := tx.OpenOps(); len(ops) != 0 {
			t.Errorf("open ops survived rollback: %v", ops)
		}
		if p, _ := tx.ParkedList(); len(p) != 0 {
			t.Errorf("parked survived rollback: %v", p)
		}
		if c, _ := tx.Calls("bnovo", time.Time{}); len(c) != 0 {
			t.Errorf("calls survived rollback: %v", c)
		}
		if _, _, ok := tx.Token("bnovo"); ok {
			t.Error("token survived rollback")
		}
		want := Counts{Ops: map[OpState]int{OpIntended: 0, OpPosted: 0, OpUnknown: 0, OpFailed: 0}}
		if got := tx.Counts(); !reflect.DeepEqual(got, want) || tx.QueueLen() != 0 {
			t.Errorf("counts = %+v queue %d, want zero", got, tx.QueueLen())
		}
		return tx.CheckIntegrity()
	})
}

func TestWritesInViewFail(t *testing.T) {
	db := openTemp(t)
	mustView(t, db, func(tx *Tx) error {
		for name, err := range map[string]error{
			"SetCursor":   tx.SetCursor("a", "b"),
			"PutBooking":  tx.PutBooking(sampleBooking(1)),
			"PutOp":       tx.PutOp(sampleOp(1, 1, OpIntended)),
			"Park":        tx.Park(Parked{Key: "k"}),
			"AppendCalls": tx.AppendCalls("bnovo", t0),
			"ForgetCalls": tx.ForgetCalls("bnovo", t0, 1),
			"Enqueue":     tx.Enqueue(1),
		} {
			if err == nil {
				t.Errorf("%s in a read-only transaction succeeded", name)
			}
		}
		return nil
	})
}

// TestForgetCalls: a limiter's Release forgets the slots it reserved and did not use, which
// are entries at one instant; only up to n of them go, and nothing else.
func TestForgetCalls(t *testing.T) {
	db := openTemp(t)
	log := db.CallLog("bnovo")
	at := func(ns int) time.Time { return t0.Add(time.Duration(ns)) }
	if err := log.RecordCalls(at(0), at(5), at(5), at(5), at(5), at(6), at(10)); err != nil {
		t.Fatal(err)
	}
	if err := db.CallLog("bnovo-auth").RecordCalls(at(5)); err != nil {
		t.Fatal(err)
	}
	nanos := func(scope string) []int {
		calls, err := db.CallLog(scope).LoadCalls(time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, c := range calls {
			out = append(out, int(c.Sub(t0)))
		}
		return out
	}
	steps := []struct {
		at   time.Time
		n    int
		want []int
	}{
		{at(5), 3, []int{0, 5, 6, 10}},
		{at(5), 3, []int{0, 6, 10}}, // fewer stored than asked
		{at(5), 1, []int{0, 6, 10}}, // none left: nothing to do
		{at(7), 1, []int{0, 6, 10}}, // between entries
		{at(10), 0, []int{0, 6, 10}},
		{at(10), 1, []int{0, 6}},
	}
	for i, s := range steps {
		if err := log.ForgetCalls(s.at, s.n); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := nanos("bnovo"); !slices.Equal(got, s.want) {
			t.Errorf("step %d: after ForgetCalls(%d, %d): %v, want %v", i, int(s.at.Sub(t0)), s.n, got, s.want)
		}
	}
	if got := nanos("bnovo-auth"); !slices.Equal(got, []int{5}) {
		t.Errorf("ForgetCalls touched another scope: %v", got)
	}
	if err := db.CallLog("nobody").ForgetCalls(at(5), 1); err != nil {
		t.Errorf("ForgetCalls on an empty scope: %v", err)
	}
	// A forgotten instant takes new entries again (the sequence keeps keys unique).
	if err := log.RecordCalls(at(5)); err != nil {
		t.Fatal(err)
	}
	if got := nanos("bnovo"); !slices.Equal(got, []int{0, 5, 6}) {
		t.Errorf("after re-recording: %v", got)
	}
}

func TestOpLifecycle(t *testing.T) {
	tests := []struct {
		name  string
		steps []OpState
		// after the last step:
		wantOpen   bool
		wantCounts map[OpState]int
	}{
		{"intended only", []OpState{OpIntended}, true, map[OpState]int{OpIntended: 1}},
		{"intended→posted", []OpState{OpIntended, OpPosted}, false, map[OpState]int{OpPosted: 1}},
		{"intended→unknown", []OpState{OpIntended, OpUnknown}, true, map[OpState]int{OpUnknown: 1}},
		{"intended→unknown→posted", []OpState{OpIntended, OpUnknown, OpPosted}, false, map[OpState]int{OpPosted: 1}},
		{"intended→unknown→failed", []OpState{OpIntended, OpUnknown, OpFailed}, false, map[OpState]int{OpFailed: 1}},
		{"unknown rewritten as unknown", []OpState{OpIntended, OpUnknown, OpUnknown}, true, map[OpState]int{OpUnknown: 1}},
		{"failed found later by marker", []OpState{OpIntended, OpFailed, OpPosted}, false, map[OpState]int{OpPosted: 1}},
		{"posted updated again", []OpState{OpIntended, OpPosted, OpPosted}, false, map[OpState]int{OpPosted: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTemp(t)
			// A neighbour op that stays open checks the index is keyed per op, not per booking.
			mustUpdate(t, db, func(tx *Tx) error { return tx.PutOp(sampleOp(5, 1, OpIntended)) })
			for i, st := range tt.steps {
				op := sampleOp(5, 2, st)
				op.Err = "step " + string(st)
				mustUpdate(t, db, func(tx *Tx) error {
					if err := tx.PutOp(op); err != nil {
						t.Fatalf("step %d (%s): %v", i, st, err)
					}
					return nil
				})
			}
			mustView(t, db, func(tx *Tx) error {
				open, err := tx.OpenOps()
				if err != nil {
					return err
				}
				var openSeqs []int
				for _, op := range open {
					openSeqs = append(openSeqs, op.Seq)
				}
				wantSeqs := []int{1}
				if tt.wantOpen {
					wantSeqs = append(wantSeqs, 2)
				}
				if !slices.Equal(openSeqs, wantSeqs) {
					t.Errorf("open ops seqs = %v, want %v", openSeqs, wantSeqs)
				}
				want := map[OpState]int{OpIntended: 0, OpPosted: 0, OpUnknown: 0, OpFailed: 0}
				for s, n := range tt.wantCounts {
					want[s] = n
				}
				want[OpIntended]++ // the neighbour
				if got := tx.Counts().Ops; !reflect.DeepEqual(got, want) {
					t.Errorf("op counts = %v, want %v", got, want)
				}
				got, ok, err := tx.Op(5, 2)
				last := tt.steps[len(tt.steps)-1]
				if err != nil || !ok || got.State != last || got.Err != "step "+string(last) {
					t.Errorf("Op(5,2) = %+v %v %v", got, ok, err)
				}
				return tx.CheckIntegrity()
			})
		})
	}
}

func TestPutOpRejects(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.PutOp(sampleOp(5, 1, OpPosted)) })
	mutate := func(f func(*Op)) Op { op := sampleOp(5, 1, OpPosted); f(&op); return op }
	tests := []struct {
		name     string
		op       Op
		conflict bool
	}{
		{"zero booking", mutate(func(o *Op) { o.BookingID = 0; o.Seq = 9 }), false},
		{"seq 0", mutate(func(o *Op) { o.Seq = 0 }), false},
		{"bad kind", mutate(func(o *Op) { o.Seq = 9; o.Kind = "refund" }), false},
		{"zero sum", mutate(func(o *Op) { o.Seq = 9; o.Sum = 0 }), false},
		{"bad state", mutate(func(o *Op) { o.Seq = 9; o.State = "done" }), false},
		{"changed sum", mutate(func(o *Op) { o.Sum++ }), true},
		{"changed account", mutate(func(o *Op) { o.AccountID++ }), true},
		{"changed reason", mutate(func(o *Op) { o.Reason += "!" }), true},
		{"changed kind", mutate(func(o *Op) { o.Kind = KindWithdraw }), true},
		{"posted back to unknown", mutate(func(o *Op) { o.State = OpUnknown }), true},
		{"posted to failed", mutate(func(o *Op) { o.State = OpFailed }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Update(func(tx *Tx) error { return tx.PutOp(tt.op) })
			if err == nil {
				t.Fatal("PutOp succeeded")
			}
			if got := errors.Is(err, ErrOpConflict); got != tt.conflict {
				t.Errorf("errors.Is(ErrOpConflict) = %v, want %v (%v)", got, tt.conflict, err)
			}
		})
	}
	checkIntegrity(t, db)
}

func TestOpsOfOrderAndIsolation(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error {
		// Seq 256 and 1<<24 catch little-endian or string keys, which would misorder them.
		for _, k := range []struct {
			id  int64
			seq int
		}{{7, 256}, {7, 2}, {8, 1}, {6, 3}, {7, 1 << 24}, {7, 1}} {
			if err := tx.PutOp(sampleOp(k.id, k.seq, OpPosted)); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, db, func(tx *Tx) error {
		ops, err := tx.OpsOf(7)
		if err != nil {
			return err
		}
		var seqs []int
		for _, op := range ops {
			if op.BookingID != 7 {
				t.Errorf("OpsOf(7) returned booking %d", op.BookingID)
			}
			seqs = append(seqs, op.Seq)
		}
		if !slices.Equal(seqs, []int{1, 2, 256, 1 << 24}) {
			t.Errorf("OpsOf(7) seqs = %v", seqs)
		}
		if ops, _ := tx.OpsOf(9); len(ops) != 0 {
			t.Errorf("OpsOf(9) = %v", ops)
		}
		var all []int64
		err = tx.ForEachOp(func(op Op) error { all = append(all, op.BookingID); return nil })
		if err != nil || !slices.Equal(all, []int64{6, 7, 7, 7, 7, 8}) {
			t.Errorf("ForEachOp bookings = %v %v", all, err)
		}
		stop := errors.New("stop")
		n := 0
		if err := tx.ForEachOp(func(Op) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("ForEachOp did not stop: n=%d err=%v", n, err)
		}
		return nil
	})
}

func TestShortfallIndex(t *testing.T) {
	db := openTemp(t)
	put := func(id, shortfall int64) {
		t.Helper()
		b := sampleBooking(id)
		b.Shortfall = shortfall
		mustUpdate(t, db, func(tx *Tx) error { return tx.PutBooking(b) })
	}
	expect := func(wantIDs []int64) {
		t.Helper()
		mustView(t, db, func(tx *Tx) error {
			list, err := tx.Shortfalls()
			if err != nil {
				return err
			}
			var ids []int64
			for _, b := range list {
				ids = append(ids, b.ID)
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("shortfalls = %v, want %v", ids, wantIDs)
			}
			if c := tx.Counts(); c.Shortfalls != len(wantIDs) || c.Bookings != 3 {
				t.Errorf("counts = %+v", c)
			}
			return tx.CheckIntegrity()
		})
	}
	put(1, 0)
	put(2, 500)
	put(3, 0)
	expect([]int64{2})
	put(2, 700) // still short: indexed once, counted once
	put(3, 100)
	expect([]int64{2, 3})
	put(2, 0)
	expect([]int64{3})
	mustView(t, db, func(tx *Tx) error {
		list, _ := tx.Shortfalls()
		if len(list) != 1 || list[0].Shortfall != 100 || list[0].Number != "US9PM_130526" {
			t.Errorf("shortfall record = %+v", list)
		}
		return nil
	})
	if err := db.Update(func(tx *Tx) error { return tx.PutBooking(Booking{ID: 0}) }); err == nil {
		t.Error("PutBooking with id 0 succeeded")
	}
}

func TestParkUpsert(t *testing.T) {
	db := openTemp(t)
	key := ParkKeyBooking(48211734)
	if key != "booking:48211734" {
		t.Errorf("ParkKeyBooking = %q", key)
	}
	if k := ParkKeyPosition("changed", 17); k != "position:changed@17" {
		t.Errorf("ParkKeyPosition = %q", k)
	}
	first := Parked{Key: key, BookingID: 48211734, Reason: "no phone", Last: t0, Count: 42}
	mustUpdate(t, db, func(tx *Tx) error { return tx.Park(first) })
	second := Parked{Key: key, Reason: "still no phone", Since: t0.Add(time.Hour), Last: t0.Add(2 * time.Hour)}
	mustUpdate(t, db, func(tx *Tx) error { return tx.Park(second) })
	mustUpdate(t, db, func(tx *Tx) error {
		return tx.Park(Parked{Key: ParkKeyPosition("changed", 3), Reason: "unreadable"})
	})
	mustView(t, db, func(tx *Tx) error {
		list, err := tx.ParkedList()
		if err != nil {
			return err
		}
		if len(list) != 2 {
			t.Fatalf("parked = %+v", list)
		}
		want := Parked{Key: key, BookingID: 48211734, Reason: "still no phone", Since: t0, Last: t0.Add(2 * time.Hour), Count: 2}
		if !reflect.DeepEqual(list[0], want) {
			t.Errorf("upserted = %+v\nwant       %+v", list[0], want)
		}
		pos := list[1]
		if pos.Count != 1 || pos.Since.IsZero() || !pos.Since.Equal(pos.Last) || time.Since(pos.Last) > time.Minute {
			t.Errorf("new entry without times = %+v, want Since=Last≈now, Count 1", pos)
		}
		if tx.Counts().Parked != 2 {
			t.Errorf("parked count = %d", tx.Counts().Parked)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(tx.Unpark(key), tx.Unpark(key), tx.Unpark("booking:404"))
	})
	mustView(t, db, func(tx *Tx) error {
		list, _ := tx.ParkedList()
		if len(list) != 1 || tx.Counts().Parked != 1 {
			t.Errorf("after unpark: %+v count %d", list, tx.Counts().Parked)
		}
		return tx.CheckIntegrity()
	})
	// Parking again after unpark starts over.
	mustUpdate(t, db, func(tx *Tx) error { return tx.Park(Parked{Key: key, Reason: "again", Last: t0.Add(5 * time.Hour)}) })
	mustView(t, db, func(tx *Tx) error {
		list, _ := tx.ParkedList()
		if list[0].Key != key || list[0].Count != 1 || !list[0].Since.Equal(t0.Add(5*time.Hour)) {
			t.Errorf("re-parked = %+v", list[0])
		}
		return nil
	})
	if err := db.Update(func(tx *Tx) error { return tx.Park(Parked{}) }); err == nil {
		t.Error("Park with empty key succeeded")
	}
}

func TestCallsLog(t *testing.T) {
	db := openTemp(t)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(
			tx.AppendCalls("bnovo", at(10), at(0), at(5)),
			tx.AppendCalls("bnovo", at(5), at(5)), // same instant three times in total
			tx.AppendCalls("bnovo-auth", at(7)),
			tx.AppendCalls("bnovo"), // nothing
			tx.AppendCalls("old", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), at(1)),
		)
	})
	secs := func(ts []time.Time) []int {
		var out []int
		for _, ts := range ts {
			out = append(out, int(ts.Sub(t0)/time.Second))
		}
		return out
	}
	tests := []struct {
		scope string
		since time.Time
		want  []int
	}{
		{"bnovo", time.Time{}, []int{0, 5, 5, 5, 10}},
		{"bnovo", at(5), []int{5, 5, 5, 10}}, // at >= since
		{"bnovo", at(5).Add(time.Nanosecond), []int{10}},
		{"bnovo", at(11), nil},
		{"bnovo-auth", time.Time{}, []int{7}},
		{"nobody", time.Time{}, nil},
	}
	mustView(t, db, func(tx *Tx) error {
		for _, tt := range tests {
			got, err := tx.Calls(tt.scope, tt.since)
			if err != nil {
				return err
			}
			if !slices.Equal(secs(got), tt.want) {
				t.Errorf("Calls(%s, %v) = %v, want %v", tt.scope, tt.since, secs(got), tt.want)
			}
		}
		old, _ := tx.Calls("old", time.Time{})
		if len(old) != 2 || old[0].Year() != 1960 {
			t.Errorf("pre-1970 call misordered: %v", old)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(tx.PruneCalls("bnovo", at(5)), tx.PruneCalls("nobody", at(5)))
	})
	mustView(t, db, func(tx *Tx) error {
		got, _ := tx.Calls("bnovo", time.Time{})
		if !slices.Equal(secs(got), []int{5, 5, 5, 10}) {
			t.Errorf("after prune before 5s: %v", secs(got))
		}
		if auth, _ := tx.Calls("bnovo-auth", time.Time{}); len(auth) != 1 {
			t.Errorf("prune touched another scope: %v", auth)
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error { return tx.PruneCalls("bnovo", at(100)) })
	mustUpdate(t, db, func(tx *Tx) error { return tx.AppendCalls("bnovo", at(5)) })
	mustView(t, db, func(tx *Tx) error {
		got, _ := tx.Calls("bnovo", time.Time{})
		if !slices.Equal(secs(got), []int{5}) {
			t.Errorf("after prune all and re-append: %v", secs(got))
		}
		return nil
	})
	if err := db.Update(func(tx *Tx) error { return tx.AppendCalls("", t0) }); err == nil {
		t.Error("AppendCalls with empty scope succeeded")
	}
	if err := db.Update(func(tx *Tx) error { return tx.ForgetCalls("", t0, 1) }); err == nil {
		t.Error("ForgetCalls with empty scope succeeded")
	}
	if err := db.Update(func(tx *Tx) error { return tx.AppendCalls("bnovo", time.Time{}) }); err == nil {
		t.Error("AppendCalls with an unrepresentable time succeeded")
	}
}

func TestQueueDedupe(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(30, 10, 10, 20) })
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(20, 40) })
	var first []QueueEntry
	mustView(t, db, func(tx *Tx) error {
		first, _ = tx.Queued(0)
		two, _ := tx.Queued(2)
		if !slices.Equal(queueIDs(first), []int64{10, 20, 30, 40}) || !slices.Equal(queueIDs(two), []int64{10, 20}) || tx.QueueLen() != 4 {
			t.Errorf("queued = %v, first two %v, len %d", first, two, tx.QueueLen())
		}
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error {
		return tx.Dequeue(append(first[:2:2], first[1], QueueEntry{ID: 99})...)
	})
	mustView(t, db, func(tx *Tx) error {
		all, _ := tx.Queued(0)
		if !slices.Equal(queueIDs(all), []int64{30, 40}) || tx.QueueLen() != 2 {
			t.Errorf("after dequeue = %v, len %d", all, tx.QueueLen())
		}
		return tx.CheckIntegrity()
	})
	if err := db.Update(func(tx *Tx) error { return tx.Enqueue(50, -1) }); err == nil {
		t.Error("Enqueue of a negative id succeeded")
	}
	mustView(t, db, func(tx *Tx) error {
		if tx.QueueLen() != 2 {
			t.Errorf("failed Enqueue changed the queue: len %d", tx.QueueLen())
		}
		return nil
	})
}

// A webhook that queues an id again while a run is fetching it must not be swallowed by that
// run's Dequeue: the run saw the booking before the change the webhook announces.
func TestQueueRequeuedWhileFetchingStays(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(7, 8) })
	var read []QueueEntry
	mustView(t, db, func(tx *Tx) (err error) { read, err = tx.Queued(0); return err })
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(7) }) // the webhook, mid-run
	mustUpdate(t, db, func(tx *Tx) error { return tx.Dequeue(read...) })
	mustView(t, db, func(tx *Tx) error {
		left, _ := tx.Queued(0)
		if !slices.Equal(queueIDs(left), []int64{7}) || tx.QueueLen() != 1 {
			t.Errorf("after the run's dequeue = %v (len %d), want [7] still queued", left, tx.QueueLen())
		}
		if left[0].Mark <= read[0].Mark {
			t.Errorf("re-queued mark %d is not newer than %d", left[0].Mark, read[0].Mark)
		}
		return tx.CheckIntegrity()
	})
}

func queueIDs(entries []QueueEntry) []int64 {
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

func TestCursorsAccountsTokens(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(
			tx.SetCursor("changed", "a"),
			tx.SetCursor("backfill:2026-01-01:2026-03-31", "offset=40"),
			tx.SetCursor("checkout", ""),
			tx.DeleteCursor("changed"),
			tx.DeleteCursor("never-set"),
			tx.SetAccount("phone:79161234567", 1),
			tx.SetAccount("phone:79161234567", 2), // replaced, not counted twice
			tx.SetAccount("email:anna@example.ru", 3),
			tx.SetToken("bnovo", "t1", t0),
			tx.SetToken("other", "t2", time.Time{}),
			tx.SetToken("gone", "t3", t0),
			tx.DeleteToken("gone"),
		)
	})
	mustView(t, db, func(tx *Tx) error {
		want := map[string]string{"backfill:2026-01-01:2026-03-31": "offset=40", "checkout": ""}
		if got := tx.Cursors(); !reflect.DeepEqual(got, want) {
			t.Errorf("Cursors = %v", got)
		}
		if v, ok := tx.Cursor("checkout"); !ok || v != "" {
			t.Errorf("empty cursor value = %q %v, want present", v, ok)
		}
		if _, ok := tx.Cursor("changed"); ok {
			t.Error("deleted cursor still present")
		}
		if id, _ := tx.Account("phone:79161234567"); id != 2 {
			t.Errorf("account = %d, want 2", id)
		}
		if _, ok := tx.Account("phone:70000000000"); ok {
			t.Error("unknown account found")
		}
		if tx.Counts().Accounts != 2 {
			t.Errorf("accounts count = %d", tx.Counts().Accounts)
		}
		if v, exp, ok := tx.Token("other"); !ok || v != "t2" || !exp.IsZero() {
			t.Errorf("token without expiry = %q %v %v", v, exp, ok)
		}
		if _, _, ok := tx.Token("gone"); ok {
			t.Error("deleted token present")
		}
		return tx.CheckIntegrity()
	})
	if err := db.Update(func(tx *Tx) error { return tx.SetAccount("phone:1", 0) }); err == nil {
		t.Error("SetAccount with id 0 succeeded")
	}
}

func TestCheckIntegrityAndRecount(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(tx.PutBooking(sampleBooking(1)), tx.PutOp(sampleOp(1, 1, OpUnknown)), tx.Enqueue(1))
	})
	checkIntegrity(t, db)
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(tx.setCounter(counterBookings, 5), tx.setCounter(opCounter(OpUnknown), 0))
	})
	err := db.View(func(tx *Tx) error { return tx.CheckIntegrity() })
	if err == nil || !strings.Contains(err.Error(), counterBookings) || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("CheckIntegrity on drifted counters = %v", err)
	}
	mustUpdate(t, db, func(tx *Tx) error { return tx.Recount() })
	checkIntegrity(t, db)
	mustView(t, db, func(tx *Tx) error {
		if c := tx.Counts(); c.Bookings != 1 || c.Ops[OpUnknown] != 1 {
			t.Errorf("after recount: %+v", c)
		}
		return nil
	})
}

// Index entries have empty values; bbolt's Get cannot tell those from missing keys while the
// transaction that wrote them is still open, so this runs every change inside one transaction.
func TestIndexesWithinOneTransaction(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error {
		b := sampleBooking(1)
		b.Shortfall = 500
		if err := errors.Join(tx.PutBooking(b), tx.PutBooking(b)); err != nil {
			return err
		}
		if n := tx.Counts().Shortfalls; n != 1 {
			t.Errorf("shortfalls after two puts = %d, want 1", n)
		}
		b.Shortfall = 0
		if err := errors.Join(
			tx.PutBooking(b),
			tx.PutOp(sampleOp(1, 1, OpIntended)),
			tx.PutOp(sampleOp(1, 1, OpUnknown)),
			tx.PutOp(sampleOp(1, 1, OpPosted)),
			tx.SetCursor("empty", ""),
			tx.Enqueue(4, 4),
			tx.Dequeue(QueueEntry{ID: 4, Mark: 1}), // the file's first Enqueue
		); err != nil {
			return err
		}
		if v, ok := tx.Cursor("empty"); !ok || v != "" {
			t.Errorf("empty cursor in its own transaction = %q %v", v, ok)
		}
		if open, _ := tx.OpenOps(); len(open) != 0 {
			t.Errorf("open ops = %v", open)
		}
		return tx.CheckIntegrity()
	})
	checkIntegrity(t, db)
	mustView(t, db, func(tx *Tx) error {
		c := tx.Counts()
		if c.Shortfalls != 0 || c.Ops[OpPosted] != 1 || c.Ops[OpIntended] != 0 || c.Ops[OpUnknown] != 0 || tx.QueueLen() != 0 {
			t.Errorf("counts = %+v queue %d", c, tx.QueueLen())
		}
		return nil
	})
}

// A booking's redemption operations are numbered apart from its accrual operations: #1 and #r1
// are two records, and a redemption shortfall has its own index and count.
func TestRedemptionOpsAndShortfallsApart(t *testing.T) {
	db := openTemp(t)
	now := time.Now()
	accrual := Op{BookingID: 9, Seq: 1, AccountID: 4, Kind: KindDeposit, Sum: 500, Reason: "bnovo:9#1", State: OpPosted, IntendedAt: now}
	redeem := Op{BookingID: 9, Seq: 1, Redemption: true, AccountID: 4, Kind: KindWithdraw, Sum: 300, Reason: "bnovo:9#r1", State: OpIntended, IntendedAt: now}
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutBooking(Booking{ID: 9, Seq: 1, RedeemSeq: 1, RedeemShortfall: 300}); err != nil {
			return err
		}
		if err := tx.PutOp(accrual); err != nil {
			return err
		}
		return tx.PutOp(redeem)
	})
	if err := db.View(func(tx *Tx) error {
		ops, err := tx.OpsOf(9)
		if err != nil {
			return err
		}
		if len(ops) != 2 || ops[0].Redemption || !ops[1].Redemption || ops[1].SeqName() != "r1" {
			t.Fatalf("ops of booking 9: %+v", ops)
		}
		open, err := tx.OpenOps()
		if err != nil || len(open) != 1 || !open[0].Redemption {
			t.Fatalf("open ops %+v, %v: want the redemption alone", open, err)
		}
		if c := tx.Counts(); c.RedeemShortfalls != 1 || c.Shortfalls != 0 {
			t.Fatalf("counts %+v", c)
		}
		list, err := tx.RedeemShortfalls()
		if err != nil || len(list) != 1 || list[0].RedeemShortfall != 300 {
			t.Fatalf("redemption shortfalls %+v, %v", list, err)
		}
		return tx.CheckIntegrity()
	}); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, func(tx *Tx) error { return tx.PutBooking(Booking{ID: 9, Seq: 1, RedeemSeq: 1}) })
	if err := db.View(func(tx *Tx) error {
		if c := tx.Counts(); c.RedeemShortfalls != 0 {
			t.Fatalf("a withdrawn shortfall is still counted: %+v", c)
		}
		return tx.CheckIntegrity()
	}); err != nil {
		t.Fatal(err)
	}
}

// TestQueueServesOldestDeliveryFirst: the queue hands out ids in the order they were first
// queued, not by id, and a repeated delivery keeps its place (issue 11 item 10: lowest id first
// left a real checkout behind a flood of lower ids).
func TestQueueServesOldestDeliveryFirst(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(900) })
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(5, 70) })
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(900) }) // delivered again
	mustView(t, db, func(tx *Tx) error {
		all, err := tx.Queued(0)
		if err != nil {
			return err
		}
		if !slices.Equal(queueIDs(all), []int64{900, 5, 70}) {
			t.Errorf("queued in order %v, want [900 5 70] (oldest delivery first)", queueIDs(all))
		}
		if two, _ := tx.Queued(2); !slices.Equal(queueIDs(two), []int64{900, 5}) {
			t.Errorf("first two %v, want [900 5]", queueIDs(two))
		}
		return tx.CheckIntegrity()
	})
}

// TestAnnounceIsBoundedAndAllOrNothing: a delivery whose new ids would pass the bound queues
// none of them; ids already queued cost no room; the engine's own retries are not refused.
func TestAnnounceIsBoundedAndAllOrNothing(t *testing.T) {
	db := openTemp(t)
	const bound = 3
	mustUpdate(t, db, func(tx *Tx) error { return tx.Announce(bound, 1, 2) })
	mustUpdate(t, db, func(tx *Tx) error { return tx.Announce(bound, 2, 3) })
	err := db.Update(func(tx *Tx) error { return tx.Announce(bound, 3, 4) })
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("announcing a 4th id into a queue bounded at 3: %v, want ErrQueueFull", err)
	}
	mustUpdate(t, db, func(tx *Tx) error { return tx.Announce(bound, 1, 3) }) // all queued already
	mustView(t, db, func(tx *Tx) error {
		all, _ := tx.Queued(0)
		if !slices.Equal(queueIDs(all), []int64{1, 2, 3}) || tx.QueueLen() != 3 {
			t.Errorf("queued %v (len %d), want [1 2 3]", queueIDs(all), tx.QueueLen())
		}
		for _, e := range all {
			if !e.Announced {
				t.Errorf("id %d announced by a webhook is not flagged so", e.ID)
			}
		}
		return tx.CheckIntegrity()
	})
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(2, 9) }) // the engine's retries
	mustView(t, db, func(tx *Tx) error {
		all, _ := tx.Queued(0)
		if !slices.Equal(queueIDs(all), []int64{1, 2, 3, 9}) {
			t.Errorf("queued %v, want [1 2 3 9]: a retry keeps its first place", queueIDs(all))
		}
		for _, e := range all {
			if want := e.ID == 1 || e.ID == 3; e.Announced != want {
				t.Errorf("id %d: announced %t, want %t (a retry the engine owes is not the webhooks')", e.ID, e.Announced, want)
			}
		}
		return tx.CheckIntegrity()
	})
}

// A damaged queue counter only sizes a slice: Queued still answers, without panicking.
func TestQueuedSurvivesADamagedCounter(t *testing.T) {
	db := openTemp(t)
	mustUpdate(t, db, func(tx *Tx) error { return tx.Enqueue(4, 2) })
	for _, bad := range []int64{-5, 1 << 50} {
		mustUpdate(t, db, func(tx *Tx) error { return tx.setCounter(counterQueue, bad) })
		mustView(t, db, func(tx *Tx) error {
			all, err := tx.Queued(0)
			if err != nil || !slices.Equal(queueIDs(all), []int64{2, 4}) {
				t.Errorf("counter %d: Queued = %v, %v", bad, queueIDs(all), err)
			}
			return nil
		})
	}
}
