package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Records are encoded as a version byte followed by fields in a fixed order: varints for numbers,
// length-prefixed bytes for strings, times as nanoseconds (often relative to another time of the
// same record, so they cost a byte or two). A newer layout may append fields at the end: a decoder
// that reaches the end of a record early leaves the remaining fields zero, so old records stay
// readable without rewriting the file. An incompatible change bumps the version byte.
const recordVersion = 1

var errTruncated = errors.New("record truncated")

type encoder struct{ buf []byte }

func newEncoder() *encoder {
	e := &encoder{buf: make([]byte, 0, 128)}
	e.buf = append(e.buf, recordVersion)
	return e
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) byte(v byte)      { e.buf = append(e.buf, v) }

func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// time writes t relative to base (nanoseconds since the epoch, or another time of the record):
// 0 means the zero time, otherwise zigzag(delta)+1.
func (e *encoder) time(t time.Time, base int64) error {
	if t.IsZero() {
		e.uvarint(0)
		return nil
	}
	nanos, err := unixNanos(t)
	if err != nil {
		return err
	}
	delta := nanos - base
	if (nanos >= 0) != (base >= 0) && (delta >= 0) != (nanos >= 0) {
		return fmt.Errorf("time %s too far from its reference time", t.Format(time.RFC3339Nano))
	}
	zigzag := uint64(delta<<1) ^ uint64(delta>>63)
	if zigzag == math.MaxUint64 {
		return fmt.Errorf("time %s too far from its reference time", t.Format(time.RFC3339Nano))
	}
	e.uvarint(zigzag + 1)
	return nil
}

var (
	minStorableTime = time.Unix(0, math.MinInt64)
	maxStorableTime = time.Unix(0, math.MaxInt64)
)

// unixNanos refuses times that UnixNano cannot represent (before 1678 or after 2262) instead of
// storing the garbage it would return for them.
func unixNanos(t time.Time) (int64, error) {
	if t.Before(minStorableTime) || t.After(maxStorableTime) {
		return 0, fmt.Errorf("time %s is outside the storable range", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// baseNanos is the reference for times stored relative to t; the zero time counts as the epoch.
func baseNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	n, err := unixNanos(t)
	if err != nil {
		return 0
	}
	return n
}

type decoder struct {
	buf []byte
	err error
}

func newDecoder(buf []byte) *decoder {
	d := &decoder{buf: buf}
	if len(buf) == 0 {
		d.err = errTruncated
		return d
	}
	if buf[0] != recordVersion {
		d.err = fmt.Errorf("record version %d not supported (this build reads %d)", buf[0], recordVersion)
		return d
	}
	d.buf = buf[1:]
	return d
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil || len(d.buf) == 0 {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil || len(d.buf) == 0 {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) == 0 {
		return 0
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	return v
}

// string copies the bytes: the buffer may point into bbolt's mmap.
func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return ""
	}
	if n > uint64(len(d.buf)) {
		d.err = errTruncated
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *decoder) time(base int64) time.Time {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return time.Time{}
	}
	v--
	delta := int64(v>>1) ^ -int64(v&1)
	return time.Unix(0, base+delta).UTC()
}

func (d *decoder) int() int {
	v := d.uvarint()
	if v > math.MaxInt {
		if d.err == nil {
			d.err = fmt.Errorf("value %d overflows int", v)
		}
		return 0
	}
	return int(v)
}

func (d *decoder) finish() error { return d.err }

func int64Key(v int64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)) }

// opKey is the booking id and the marker's number, big-endian (a booking's operations sort
// together, in order); a redemption operation's key has one byte more, so the two sequences
// never share a key and old files' keys stay as they were.
func opKey(bookingID int64, seq int, redemption bool) []byte {
	k := make([]byte, 0, 13)
	k = binary.BigEndian.AppendUint64(k, uint64(bookingID))
	k = binary.BigEndian.AppendUint32(k, uint32(seq))
	if redemption {
		k = append(k, redemptionKeyTag)
	}
	return k
}

const redemptionKeyTag = 'r'

func parseOpKey(k []byte) (bookingID int64, seq int, redemption bool, err error) {
	switch {
	case len(k) == 13 && k[12] == redemptionKeyTag:
		redemption = true
	case len(k) != 12:
		return 0, 0, false, fmt.Errorf("operation key has %d bytes, want 12 or 13", len(k))
	}
	return int64(binary.BigEndian.Uint64(k[:8])), int(binary.BigEndian.Uint32(k[8:12])), redemption, nil
}
