package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ---- counters (meta bucket), changed in the same transaction as the data they count

const (
	counterBookings   = "count:bookings"
	counterAccounts   = "count:accounts"
	counterParked     = "count:parked"
	counterShortfalls = "count:shortfalls"
	counterQueue      = "count:queue"
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
	Ops        map[OpState]int // every state in AllOpStates is present
}

// Counts reads the incrementally maintained counters; it never scans.
func (tx *Tx) Counts() Counts {
	c := Counts{
		Bookings:   int(tx.counter(counterBookings)),
		Accounts:   int(tx.counter(counterAccounts)),
		Parked:     int(tx.counter(counterParked)),
		Shortfalls: int(tx.counter(counterShortfalls)),
		Ops:        make(map[OpState]int, len(AllOpStates)),
	}
	for _, s := range AllOpStates {
		c.Ops[s] = int(tx.counter(opCounter(s)))
	}
	return c
}

// ---- cursors

// Cursor returns a named cursor's value.
func (tx *Tx) Cursor(name string) (string, bool) {
	b := tx.btx.Bucket(bucketCursors)
	if b == nil {
		return "", false
	}
	raw, found := lookup(b, []byte(name))
	if !found {
		return "", false
	}
	return string(raw), true
}

// SetCursor stores a named cursor.
func (tx *Tx) SetCursor(name, value string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("set cursor: empty name")
	}
	b, err := tx.bucket(bucketCursors)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(name), []byte(value)); err != nil {
		return fmt.Errorf("set cursor %q: %w", name, err)
	}
	return nil
}

// DeleteCursor removes a named cursor; removing an absent one is not an error.
func (tx *Tx) DeleteCursor(name string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if name == "" {
		return nil
	}
	b, err := tx.bucket(bucketCursors)
	if err != nil {
		return err
	}
	if err := b.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete cursor %q: %w", name, err)
	}
	return nil
}

// Cursors returns a copy of all cursors.
func (tx *Tx) Cursors() map[string]string {
	all := map[string]string{}
	b := tx.btx.Bucket(bucketCursors)
	if b == nil {
		return all
	}
	_ = b.ForEach(func(k, v []byte) error {
		all[string(k)] = string(v)
		return nil
	})
	return all
}

// ---- guest → account map

// Account returns the account remembered for a guest key such as "phone:79161234567".
func (tx *Tx) Account(key string) (int64, bool) {
	b := tx.btx.Bucket(bucketAccounts)
	if b == nil || key == "" {
		return 0, false
	}
	raw := b.Get([]byte(key))
	if len(raw) != 8 {
		return 0, false
	}
	return int64(bigEndianUint64(raw)), true
}

// SetAccount remembers (or replaces) the account for a guest key.
func (tx *Tx) SetAccount(key string, accountID int64) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("set account: empty key")
	}
	if accountID <= 0 {
		return fmt.Errorf("set account: account id %d is not positive", accountID)
	}
	b, err := tx.bucket(bucketAccounts)
	if err != nil {
		return err
	}
	isNew := b.Get([]byte(key)) == nil
	if err := b.Put([]byte(key), int64Key(accountID)); err != nil {
		// The key holds a guest's phone or e-mail: keep it out of the error text.
		return fmt.Errorf("set account %d: %w", accountID, err)
	}
	if isNew {
		return tx.addCounter(counterAccounts, 1)
	}
	return nil
}

// ---- parked records

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

// ---- rate-limit log: one nested bucket per scope, key = time (8 bytes, order-preserving) +
// a per-scope sequence (8 bytes) so that several calls at the same instant stay separate entries.

func callTimeKey(t time.Time) ([]byte, error) {
	nanos, err := unixNanos(t)
	if err != nil {
		return nil, err
	}
	// Flipping the sign bit makes big-endian byte order match numeric order for negative values too.
	return binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(nanos)^(1<<63)), nil
}

func callKeyTime(k []byte) (time.Time, error) {
	if len(k) != 16 {
		return time.Time{}, fmt.Errorf("call log key has %d bytes, want 16", len(k))
	}
	return time.Unix(0, int64(bigEndianUint64(k[:8])^(1<<63))).UTC(), nil
}

// rangeKey clamps t into the storable range, for use as a seek bound.
func rangeKey(t time.Time) []byte {
	switch {
	case t.Before(minStorableTime):
		t = minStorableTime
	case t.After(maxStorableTime):
		t = maxStorableTime
	}
	k, _ := callTimeKey(t)
	return k
}

func (tx *Tx) callScope(scope string, create bool) (*bolt.Bucket, error) {
	if scope == "" {
		return nil, fmt.Errorf("call log: empty scope")
	}
	parent, err := tx.bucket(bucketCalls)
	if err != nil {
		return nil, err
	}
	var b *bolt.Bucket
	if create {
		if b, err = parent.CreateBucketIfNotExists([]byte(scope)); err != nil {
			return nil, fmt.Errorf("call log scope %q: %w", scope, err)
		}
	} else {
		b = parent.Bucket([]byte(scope))
	}
	if b != nil && tx.btx.Writable() {
		b.FillPercent = callsFillPercent
	}
	return b, nil
}

// AppendCalls records call timestamps; duplicates of the same instant are kept as separate entries.
func (tx *Tx) AppendCalls(scope string, at ...time.Time) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if len(at) == 0 {
		return nil
	}
	b, err := tx.callScope(scope, true)
	if err != nil {
		return err
	}
	for _, t := range at {
		key, err := callTimeKey(t)
		if err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
		key = binary.BigEndian.AppendUint64(key, seq)
		if err := b.Put(key, nil); err != nil {
			return fmt.Errorf("call log %q: %w", scope, err)
		}
	}
	return nil
}

// Calls returns the scope's call times at or after since, ascending.
func (tx *Tx) Calls(scope string, since time.Time) ([]time.Time, error) {
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil {
		return nil, err
	}
	var list []time.Time
	c := b.Cursor()
	for k, _ := c.Seek(rangeKey(since)); k != nil; k, _ = c.Next() {
		t, err := callKeyTime(k)
		if err != nil {
			return nil, fmt.Errorf("call log %q: %w", scope, err)
		}
		list = append(list, t)
	}
	return list, nil
}

// PruneCalls deletes the scope's call times strictly before the given time.
func (tx *Tx) PruneCalls(scope string, before time.Time) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil {
		return err
	}
	limit := rangeKey(before)
	// Keys are collected first: deleting while a bbolt cursor walks can skip entries.
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], limit) < 0; k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("call log %q prune: %w", scope, err)
		}
	}
	return nil
}

// ForgetCalls deletes up to n of the scope's calls logged at exactly at; the rest of the log,
// other entries at that instant included, is kept.
func (tx *Tx) ForgetCalls(scope string, at time.Time, n int) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.callScope(scope, false)
	if err != nil || b == nil || n <= 0 {
		return err
	}
	instant, err := callTimeKey(at)
	if err != nil {
		return fmt.Errorf("call log %q: %w", scope, err)
	}
	// Keys are collected first: deleting while a bbolt cursor walks can skip entries.
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(instant); k != nil && len(doomed) < n && bytes.HasPrefix(k, instant); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("call log %q forget: %w", scope, err)
		}
	}
	return nil
}

// ---- secrets cache and small values

func encodeToken(value string, expires time.Time) ([]byte, error) {
	e := newEncoder()
	if err := e.time(expires, 0); err != nil {
		return nil, err
	}
	e.string(value)
	return e.buf, nil
}

// Token returns a cached value and its expiry as stored; deciding whether it is still usable is
// the caller's business.
func (tx *Tx) Token(name string) (value string, expires time.Time, ok bool) {
	b := tx.btx.Bucket(bucketTokens)
	if b == nil || name == "" {
		return "", time.Time{}, false
	}
	raw := b.Get([]byte(name))
	if raw == nil {
		return "", time.Time{}, false
	}
	d := newDecoder(raw)
	expires = d.time(0)
	value = d.string()
	if d.finish() != nil {
		// An unreadable cache entry is as good as none: the caller logs in again.
		return "", time.Time{}, false
	}
	return value, expires, true
}

// SetToken caches a value with its expiry.
func (tx *Tx) SetToken(name, value string, expires time.Time) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("set token: empty name")
	}
	raw, err := encodeToken(value, expires)
	if err != nil {
		return fmt.Errorf("set token %q: %w", name, err)
	}
	b, err := tx.bucket(bucketTokens)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(name), raw); err != nil {
		return fmt.Errorf("set token %q: %w", name, err)
	}
	return nil
}

// DeleteToken drops a cached value (e.g. after the server rejected it).
func (tx *Tx) DeleteToken(name string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketTokens)
	if err != nil {
		return err
	}
	if name == "" {
		return nil
	}
	if err := b.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete token %q: %w", name, err)
	}
	return nil
}

// ---- durable queue of booking ids

// QueueEntry is a queued booking id and the mark of its latest enqueueing. Dequeue removes an
// entry only while its mark is unchanged: an id queued again (a newer webhook) while a run was
// fetching it stays queued, so that change is not lost until the next scheduled cycle.
type QueueEntry struct {
	ID   int64
	Mark uint64
}

// Enqueue adds booking ids to the queue, or marks again ids already queued; each id is counted
// once however often it is queued.
func (tx *Tx) Enqueue(ids ...int64) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id <= 0 {
			return fmt.Errorf("enqueue: booking id %d is not positive", id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	mark, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	value := binary.BigEndian.AppendUint64(nil, mark)
	var added int64
	for _, id := range ids {
		key := int64Key(id)
		if !has(b, key) {
			added++
		}
		if err := b.Put(key, value); err != nil {
			return fmt.Errorf("enqueue %d: %w", id, err)
		}
	}
	if added == 0 {
		return nil
	}
	return tx.addCounter(counterQueue, added)
}

// Queued returns up to limit queued entries, by ascending id; limit <= 0 means all.
func (tx *Tx) Queued(limit int) ([]QueueEntry, error) {
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return nil, err
	}
	var entries []QueueEntry
	c := b.Cursor()
	for k, v := c.First(); k != nil && (limit <= 0 || len(entries) < limit); k, v = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("queue key has %d bytes, want 8", len(k))
		}
		e := QueueEntry{ID: int64(bigEndianUint64(k))}
		switch len(v) {
		case 0: // queued by a syncd before marks existed
		case 8:
			e.Mark = bigEndianUint64(v)
		default:
			return nil, fmt.Errorf("queue entry %d has a %d-byte mark, want 8", e.ID, len(v))
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Dequeue removes entries whose id is still queued with the same mark; ids queued again since
// they were read stay queued.
func (tx *Tx) Dequeue(entries ...QueueEntry) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return err
	}
	var removed int64
	for _, e := range entries {
		key := int64Key(e.ID)
		v, found := lookup(b, key)
		if !found {
			continue
		}
		var mark uint64
		if len(v) == 8 {
			mark = bigEndianUint64(v)
		}
		if mark != e.Mark {
			continue
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("dequeue %d: %w", e.ID, err)
		}
		removed++
	}
	if removed == 0 {
		return nil
	}
	return tx.addCounter(counterQueue, -removed)
}

// QueueMark is the mark the latest Enqueue gave: entries with a larger Mark were queued after
// it was read.
func (tx *Tx) QueueMark() (uint64, error) {
	b, err := tx.bucket(bucketQueue)
	if err != nil {
		return 0, err
	}
	return b.Sequence(), nil
}

// QueueLen is the number of queued ids, from a counter.
func (tx *Tx) QueueLen() int { return int(tx.counter(counterQueue)) }
