package state

import (
	"bytes"
	"fmt"
)

// guest → account map

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

// ForgetAccount removes every guest key remembered for accountID (ProBonus no longer has the
// account: deleted, or merged into another) and reports how many there were. It scans the map:
// it runs once per vanished account.
func (tx *Tx) ForgetAccount(accountID int64) (int, error) {
	if err := tx.writable(); err != nil {
		return 0, err
	}
	b, err := tx.bucket(bucketAccounts)
	if err != nil {
		return 0, err
	}
	want := int64Key(accountID)
	var keys [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if bytes.Equal(v, want) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("forget account %d: %w", accountID, err)
		}
	}
	if len(keys) > 0 {
		if err := tx.addCounter(counterAccounts, -int64(len(keys))); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// ForgetKey removes one guest key from the map (ProBonus's answer for it has changed).
func (tx *Tx) ForgetKey(key string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	b, err := tx.bucket(bucketAccounts)
	if err != nil {
		return err
	}
	if b.Get([]byte(key)) == nil {
		return nil
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("forget a guest key: %w", err)
	}
	return tx.addCounter(counterAccounts, -1)
}
