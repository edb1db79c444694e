package state

import (
	"fmt"
)

// cursors

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
