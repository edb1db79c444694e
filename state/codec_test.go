package state

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	pre1970 := time.Date(1901, 2, 3, 4, 5, 6, 7, time.UTC)
	far := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	bookings := []Booking{
		{ID: 1},
		sampleBooking(48211734),
		{ID: math.MaxInt64, Number: "№ 5", UpdateDate: pre1970, Target: -1, Posted: math.MinInt64, Shortfall: math.MaxInt64,
			Seq: math.MaxInt32, AccountID: -5, GuestID: math.MaxInt64, NotesLine: "ProBonus: \r\n\x00 ✓"},
		{ID: 2, UpdateDate: time.Unix(0, 0).UTC()}, // the epoch itself is not the zero time
		{ID: 3, WroteFrom: time.Date(2026, 6, 24, 10, 5, 0, 1, time.UTC), WroteTo: time.Date(2026, 6, 24, 10, 5, 1, 2, time.UTC)},
		{ID: 3, Seq: 2, RedeemTarget: 150000, Redeemed: -7, RedeemSeq: math.MaxInt32, RedeemShortfall: 5, RedeemAccount: 77},
	}
	for _, b := range bookings {
		raw, err := encodeBooking(b)
		if err != nil {
			t.Fatalf("encode %+v: %v", b, err)
		}
		got, err := decodeBooking(b.ID, raw)
		if err != nil || !reflect.DeepEqual(got, b) {
			t.Errorf("booking round trip:\n got %+v (%v)\nwant %+v", got, err, b)
		}
	}
	ops := []Op{
		sampleOp(1, 1, OpIntended),
		{BookingID: 2, Seq: math.MaxUint32, AccountID: 3, Kind: KindWithdraw, Sum: math.MaxInt64, State: OpFailed,
			SentAt: far, ResolvedAt: pre1970, OperationID: -1, Balance: -100, Err: "timeout"}, // no IntendedAt
		{BookingID: 3, Seq: 1, Kind: KindDeposit, Sum: 1, State: OpUnknown, IntendedAt: far, SentAt: far.AddDate(-200, 0, 0)},
		{BookingID: 3, Seq: 1, Redemption: true, Kind: KindWithdraw, Sum: 2, State: OpIntended, IntendedAt: far},
	}
	for _, op := range ops {
		raw, err := encodeOp(op)
		if err != nil {
			t.Fatalf("encode %+v: %v", op, err)
		}
		got, err := decodeOp(opKey(op.BookingID, op.Seq, op.Redemption), raw)
		if err != nil || !reflect.DeepEqual(got, op) {
			t.Errorf("op round trip:\n got %+v (%v)\nwant %+v", got, err, op)
		}
	}
}

func TestCodecRefusesUnstorableTimes(t *testing.T) {
	for _, tm := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := encodeBooking(Booking{ID: 1, UpdateDate: tm}); err == nil {
			t.Errorf("encoded unstorable time %v", tm)
		}
	}
	// Each time alone is storable, but their distance overflows int64 nanoseconds.
	tooFar := Op{BookingID: 3, Seq: 1, Kind: KindDeposit, Sum: 1, State: OpUnknown,
		IntendedAt: time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), SentAt: time.Date(1901, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := encodeOp(tooFar); err == nil {
		t.Error("encoded times too far apart to store as a delta")
	}
}

// Damaged records must yield errors, never panics or silently wrong values.
func TestCodecDamagedRecords(t *testing.T) {
	op := sampleOp(1, 1, OpPosted)
	op.Err = "x"
	raw, err := encodeOp(op)
	if err != nil {
		t.Fatal(err)
	}
	key := opKey(1, 1, false)
	// Cutting inside the reason string must fail; cutting at a field boundary reads the rest as zero.
	if _, err := decodeOp(key, raw[:8]); err == nil {
		t.Error("decoded an op cut inside its reason")
	}
	if _, err := decodeOp(key, nil); err == nil {
		t.Error("decoded an empty op")
	}
	future := append([]byte{recordVersion + 1}, raw[1:]...)
	if _, err := decodeOp(key, future); err == nil {
		t.Error("decoded a record of a newer version")
	}
	if _, err := decodeOp(key[:5], raw); err == nil {
		t.Error("decoded an op with a short key")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		junk := make([]byte, rng.IntN(40))
		for i := range junk {
			junk[i] = byte(rng.UintN(256))
		}
		if len(junk) > 0 {
			junk[0] = recordVersion
		}
		_, _ = decodeOp(key, junk)
		_, _ = decodeBooking(1, junk)
		_, _ = decodeParked("k", junk)
	}
	for i := range raw {
		_, _ = decodeOp(key, raw[:i])
	}
}

func TestArrivalRoundTrip(t *testing.T) {
	for _, a := range []Arrival{
		{BookingID: 1},
		{BookingID: 7, Number: "US9PM", Day: time.Date(2026, 6, 24, 0, 0, 0, 0, time.UTC), GuestID: 9,
			Keys: []string{"phone:79161234567", "email:a@example.ru"}, FirstName: "Анна", LastName: "Петрова"},
	} {
		raw, err := encodeArrival(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeArrival(a.BookingID, raw)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("round trip:\n got %+v (%v)\nwant %+v", got, err, a)
		}
	}
	if _, err := decodeArrival(1, []byte{recordVersion, 0, 0, 0, 200}); err == nil {
		t.Error("a record claiming 200 keys decoded")
	}
}
