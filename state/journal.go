package state

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Booking is syncd's record of one Bnovo booking.
type Booking struct {
	ID         int64
	Number     string
	UpdateDate time.Time // the booking's update_date when last fully processed
	Target     int64     // kopecks syncd aims to have posted for it
	Posted     int64     // net kopecks confirmed posted (deposits − withdrawals)
	Shortfall  int64     // kopecks over-credited that could not be withdrawn (recorded for staff)
	Seq        int       // highest operation number n issued for this booking (marker bnovo:<id>#<n>)
	AccountID  int64     // 0 until matched
	GuestID    int64     // Bnovo customer id
	NotesLine  string    // last "ProBonus:" line written back to Bnovo (write-back bookkeeping)
	// WroteFrom and WroteTo bound, in syncd's clock, its last write to the booking's guest: the
	// write moves the booking's update_date, and an update_date within them is syncd's own change.
	WroteFrom, WroteTo time.Time

	// Redemption (spec §7): paying with bonuses, a sequence of its own (bnovo:<id>#r<n>).
	RedeemTarget    int64 // kopecks of balance syncd aims to have withdrawn for the booking's bonus payments
	Redeemed        int64 // net kopecks confirmed withdrawn (withdrawals − deposits back)
	RedeemSeq       int   // highest redemption operation number issued
	RedeemShortfall int64 // kopecks that could not be withdrawn (short balance, no account); 0 when none stands
	RedeemAccount   int64 // the account the booking's redemptions were taken from (while Redeemed is not 0)
	// Stranded is what stays posted on accounts the booking's bonuses moved away from (its guest
	// changed) because the withdrawal there fell short; it is part of Shortfall, and Posted
	// counts only the current account (AccountID).
	Stranded int64
}

// OpState is where a journaled operation stands.
type OpState string

const (
	OpIntended OpState = "intended" // written before sending; outcome not yet known
	OpPosted   OpState = "posted"   // the server has it (confirmed by response or found by marker)
	OpUnknown  OpState = "unknown"  // sent, outcome unclear (timeout, 5xx, dropped connection)
	OpFailed   OpState = "failed"   // the server surely does not have it
)

// AllOpStates lists the valid states in lifecycle order.
var AllOpStates = []OpState{OpIntended, OpPosted, OpUnknown, OpFailed}

// Open reports whether the operation still needs resolving (intended or unknown).
func (s OpState) Open() bool { return s == OpIntended || s == OpUnknown }

// Op is one journaled ProBonus operation, keyed by (BookingID, Redemption, Seq).
type Op struct {
	BookingID   int64
	Seq         int  // n of the marker
	Redemption  bool // a redemption operation (marker bnovo:<id>#r<n>), numbered apart from accruals
	AccountID   int64
	Kind        string // "deposit" or "withdraw"
	Sum         int64  // kopecks, > 0
	Reason      string // full reason text sent (contains the marker)
	State       OpState
	IntendedAt  time.Time // when journaled, just before sending
	SentAt      time.Time // zero if surely never sent
	ResolvedAt  time.Time
	OperationID int64 // server's id once known
	Balance     int64 // account balance after, when known
	Err         string
}

// SeqName is the operation's number as its marker writes it: "3", or "r3" for a redemption.
func (op Op) SeqName() string {
	if op.Redemption {
		return "r" + strconv.Itoa(op.Seq)
	}
	return strconv.Itoa(op.Seq)
}

const (
	KindDeposit  = "deposit"
	KindWithdraw = "withdraw"
)

// One-byte codes keep op records small; they are part of the file format, so never renumber.
var (
	kindCodes  = map[string]byte{KindDeposit: 1, KindWithdraw: 2}
	kindNames  = map[byte]string{1: KindDeposit, 2: KindWithdraw}
	stateCodes = map[OpState]byte{OpIntended: 1, OpPosted: 2, OpUnknown: 3, OpFailed: 4}
	stateNames = map[byte]OpState{1: OpIntended, 2: OpPosted, 3: OpUnknown, 4: OpFailed}
)

// ---- bookings

func encodeBooking(b Booking) ([]byte, error) {
	if b.Seq < 0 {
		return nil, fmt.Errorf("booking %d: negative Seq %d", b.ID, b.Seq)
	}
	e := newEncoder()
	e.string(b.Number)
	if err := e.time(b.UpdateDate, 0); err != nil {
		return nil, fmt.Errorf("booking %d update date: %w", b.ID, err)
	}
	e.varint(b.Target)
	e.varint(b.Posted)
	e.varint(b.Shortfall)
	e.uvarint(uint64(b.Seq))
	e.varint(b.AccountID)
	e.varint(b.GuestID)
	e.string(b.NotesLine)
	if err := e.time(b.WroteFrom, 0); err != nil {
		return nil, fmt.Errorf("booking %d write time: %w", b.ID, err)
	}
	if err := e.time(b.WroteTo, relativeTo(b.WroteFrom)); err != nil {
		return nil, fmt.Errorf("booking %d write time: %w", b.ID, err)
	}
	if b.RedeemSeq < 0 {
		return nil, fmt.Errorf("booking %d: negative RedeemSeq %d", b.ID, b.RedeemSeq)
	}
	e.varint(b.RedeemTarget)
	e.varint(b.Redeemed)
	e.uvarint(uint64(b.RedeemSeq))
	e.varint(b.RedeemShortfall)
	e.varint(b.RedeemAccount)
	e.varint(b.Stranded) // records written before it end here and read as 0
	return e.buf, nil
}

// relativeTo is the base a time of a record is encoded against: t, or the epoch for the zero time.
func relativeTo(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func decodeBooking(id int64, raw []byte) (Booking, error) {
	d := newDecoder(raw)
	b := Booking{ID: id}
	b.Number = d.string()
	b.UpdateDate = d.time(0)
	b.Target = d.varint()
	b.Posted = d.varint()
	b.Shortfall = d.varint()
	b.Seq = d.int()
	b.AccountID = d.varint()
	b.GuestID = d.varint()
	b.NotesLine = d.string()
	b.WroteFrom = d.time(0)
	b.WroteTo = d.time(relativeTo(b.WroteFrom))
	b.RedeemTarget = d.varint()
	b.Redeemed = d.varint()
	b.RedeemSeq = d.int()
	b.RedeemShortfall = d.varint()
	b.RedeemAccount = d.varint()
	b.Stranded = d.varint()
	if err := d.finish(); err != nil {
		return Booking{}, fmt.Errorf("decode booking %d: %w", id, err)
	}
	return b, nil
}

// Booking returns the stored record for a booking id.
func (tx *Tx) Booking(id int64) (Booking, bool, error) {
	bk, err := tx.bucket(bucketBookings)
	if err != nil {
		return Booking{}, false, err
	}
	raw := bk.Get(int64Key(id))
	if raw == nil {
		return Booking{}, false, nil
	}
	b, err := decodeBooking(id, raw)
	if err != nil {
		return Booking{}, false, err
	}
	return b, true, nil
}

// PutBooking inserts or replaces a booking record and keeps the shortfall index and the counters
// in step with it.
func (tx *Tx) PutBooking(b Booking) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if b.ID <= 0 {
		return fmt.Errorf("put booking: id %d is not positive", b.ID)
	}
	raw, err := encodeBooking(b)
	if err != nil {
		return fmt.Errorf("put booking: %w", err)
	}
	bk, err := tx.bucket(bucketBookings)
	if err != nil {
		return err
	}
	sf, err := tx.bucket(bucketShortfalls)
	if err != nil {
		return err
	}
	key := int64Key(b.ID)
	isNew := bk.Get(key) == nil
	if err := bk.Put(key, raw); err != nil {
		return fmt.Errorf("put booking %d: %w", b.ID, err)
	}
	if isNew {
		if err := tx.addCounter(counterBookings, 1); err != nil {
			return err
		}
	}
	if err := tx.index(sf, counterShortfalls, key, b.Shortfall > 0); err != nil {
		return fmt.Errorf("shortfall of booking %d: %w", b.ID, err)
	}
	rsf, err := tx.bucket(bucketRedeemShortfalls)
	if err != nil {
		return err
	}
	if err := tx.index(rsf, counterRedeemShortfalls, key, b.RedeemShortfall > 0); err != nil {
		return fmt.Errorf("redemption shortfall of booking %d: %w", b.ID, err)
	}
	return nil
}

// index keeps key in the index bucket (and its counter) exactly when in is true.
func (tx *Tx) index(bucket *bolt.Bucket, counter string, key []byte, in bool) error {
	indexed := has(bucket, key)
	switch {
	case in && !indexed:
		if err := bucket.Put(key, nil); err != nil {
			return err
		}
		return tx.addCounter(counter, 1)
	case !in && indexed:
		if err := bucket.Delete(key); err != nil {
			return err
		}
		return tx.addCounter(counter, -1)
	}
	return nil
}

// Shortfalls lists bookings with a recorded shortfall, by id, read through the index so the cost
// follows the number of shortfalls rather than of bookings.
func (tx *Tx) Shortfalls() ([]Booking, error) { return tx.indexed(bucketShortfalls, "shortfall") }

// RedeemShortfalls lists bookings with a standing redemption shortfall, by id, through its index.
func (tx *Tx) RedeemShortfalls() ([]Booking, error) {
	return tx.indexed(bucketRedeemShortfalls, "redemption shortfall")
}

func (tx *Tx) indexed(bucket []byte, what string) ([]Booking, error) {
	sf, err := tx.bucket(bucket)
	if err != nil {
		return nil, err
	}
	var list []Booking
	c := sf.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("%s index key has %d bytes, want 8", what, len(k))
		}
		id := int64(bigEndianUint64(k))
		b, ok, err := tx.Booking(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s index names booking %d, which is not stored", what, id)
		}
		list = append(list, b)
	}
	return list, nil
}

// ---- operations

func validateOp(op Op) error {
	switch {
	case op.BookingID <= 0:
		return fmt.Errorf("booking id %d is not positive", op.BookingID)
	case op.Seq < 1 || int64(op.Seq) > math.MaxUint32:
		return fmt.Errorf("seq %d out of range", op.Seq)
	case kindCodes[op.Kind] == 0:
		return fmt.Errorf("kind %q is neither %q nor %q", op.Kind, KindDeposit, KindWithdraw)
	case op.Sum <= 0:
		return fmt.Errorf("sum %d is not positive", op.Sum)
	case stateCodes[op.State] == 0:
		return fmt.Errorf("unknown state %q", op.State)
	}
	return nil
}

func encodeOp(op Op) ([]byte, error) {
	e := newEncoder()
	e.varint(op.AccountID)
	e.byte(kindCodes[op.Kind])
	e.varint(op.Sum)
	e.string(op.Reason)
	e.byte(stateCodes[op.State])
	if err := e.time(op.IntendedAt, 0); err != nil {
		return nil, fmt.Errorf("intended at: %w", err)
	}
	base := baseNanos(op.IntendedAt)
	if err := e.time(op.SentAt, base); err != nil {
		return nil, fmt.Errorf("sent at: %w", err)
	}
	if err := e.time(op.ResolvedAt, base); err != nil {
		return nil, fmt.Errorf("resolved at: %w", err)
	}
	e.varint(op.OperationID)
	e.varint(op.Balance)
	e.string(op.Err)
	return e.buf, nil
}

func decodeOp(key, raw []byte) (Op, error) {
	bookingID, seq, redemption, err := parseOpKey(key)
	if err != nil {
		return Op{}, err
	}
	d := newDecoder(raw)
	op := Op{BookingID: bookingID, Seq: seq, Redemption: redemption}
	op.AccountID = d.varint()
	kind := d.byte()
	op.Sum = d.varint()
	op.Reason = d.string()
	state := d.byte()
	op.IntendedAt = d.time(0)
	base := baseNanos(op.IntendedAt)
	op.SentAt = d.time(base)
	op.ResolvedAt = d.time(base)
	op.OperationID = d.varint()
	op.Balance = d.varint()
	op.Err = d.string()
	if err := d.finish(); err != nil {
		return Op{}, fmt.Errorf("decode op %d#%d: %w", bookingID, seq, err)
	}
	var ok bool
	if op.Kind, ok = kindNames[kind]; !ok {
		return Op{}, fmt.Errorf("decode op %d#%d: unknown kind code %d", bookingID, seq, kind)
	}
	if op.State, ok = stateNames[state]; !ok {
		return Op{}, fmt.Errorf("decode op %d#%d: unknown state code %d", bookingID, seq, state)
	}
	return op, nil
}

// PutOp inserts or updates an operation keyed by (BookingID, Seq), keeping the open-ops index and
// the per-state counters in step. An update may change the state and its bookkeeping (times,
// operation id, balance, error) but not the operation itself (account, kind, sum, reason), and a
// posted operation stays posted: both fail with ErrOpConflict.
func (tx *Tx) PutOp(op Op) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := validateOp(op); err != nil {
		return fmt.Errorf("put op %d#%s: %w", op.BookingID, op.SeqName(), err)
	}
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return err
	}
	open, err := tx.bucket(bucketOpenOps)
	if err != nil {
		return err
	}
	key := opKey(op.BookingID, op.Seq, op.Redemption)
	var oldState OpState
	if raw := ops.Get(key); raw != nil {
		old, err := decodeOp(key, raw)
		if err != nil {
			return fmt.Errorf("put op: %w", err)
		}
		if old.AccountID != op.AccountID || old.Kind != op.Kind || old.Sum != op.Sum || old.Reason != op.Reason {
			return fmt.Errorf("put op %d#%s: %w: journaled as %s %d to account %d, update says %s %d to account %d",
				op.BookingID, op.SeqName(), ErrOpConflict, old.Kind, old.Sum, old.AccountID, op.Kind, op.Sum, op.AccountID)
		}
		if old.State == OpPosted && op.State != OpPosted {
			return fmt.Errorf("put op %d#%s: %w: already posted, cannot become %s", op.BookingID, op.SeqName(), ErrOpConflict, op.State)
		}
		oldState = old.State
	}
	raw, err := encodeOp(op)
	if err != nil {
		return fmt.Errorf("put op %d#%s: %w", op.BookingID, op.SeqName(), err)
	}
	if err := ops.Put(key, raw); err != nil {
		return fmt.Errorf("put op %d#%s: %w", op.BookingID, op.SeqName(), err)
	}
	if op.State.Open() {
		err = open.Put(key, nil)
	} else {
		err = open.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("index open op %d#%s: %w", op.BookingID, op.SeqName(), err)
	}
	if oldState == op.State {
		return nil
	}
	if oldState != "" {
		if err := tx.addCounter(opCounter(oldState), -1); err != nil {
			return err
		}
	}
	return tx.addCounter(opCounter(op.State), 1)
}

// Op returns one journaled operation.
func (tx *Tx) Op(bookingID int64, seq int) (Op, bool, error) {
	if seq < 0 || int64(seq) > math.MaxUint32 {
		return Op{}, false, nil
	}
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return Op{}, false, err
	}
	key := opKey(bookingID, seq, false)
	raw := ops.Get(key)
	if raw == nil {
		return Op{}, false, nil
	}
	op, err := decodeOp(key, raw)
	if err != nil {
		return Op{}, false, err
	}
	return op, true, nil
}

// OpsOf lists a booking's operations by Seq ascending.
func (tx *Tx) OpsOf(bookingID int64) ([]Op, error) {
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return nil, err
	}
	prefix := int64Key(bookingID)
	var list []Op
	c := ops.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		op, err := decodeOp(k, v)
		if err != nil {
			return nil, err
		}
		list = append(list, op)
	}
	return list, nil
}

// OpenOps lists operations in state intended or unknown, in key order, through an index bucket so
// the cost does not grow with the journal's history.
func (tx *Tx) OpenOps() ([]Op, error) {
	open, err := tx.bucket(bucketOpenOps)
	if err != nil {
		return nil, err
	}
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return nil, err
	}
	var list []Op
	c := open.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		raw := ops.Get(k)
		if raw == nil {
			bookingID, seq, _, _ := parseOpKey(k)
			return nil, fmt.Errorf("open-ops index names op %d#%d, which is not stored", bookingID, seq)
		}
		op, err := decodeOp(k, raw)
		if err != nil {
			return nil, err
		}
		list = append(list, op)
	}
	return list, nil
}

// ForEachOp calls fn for every journaled operation in key order (booking id, then seq); an error
// from fn stops the walk and is returned.
func (tx *Tx) ForEachOp(fn func(Op) error) error {
	ops, err := tx.bucket(bucketOps)
	if err != nil {
		return err
	}
	c := ops.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		op, err := decodeOp(k, v)
		if err != nil {
			return err
		}
		if err := fn(op); err != nil {
			return err
		}
	}
	return nil
}
