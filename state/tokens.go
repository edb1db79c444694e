package state

import (
	"fmt"
	"time"
)

// secrets cache and small values

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
