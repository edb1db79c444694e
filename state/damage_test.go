package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A damaged state file is refused at Open with one error naming it, never a panic: torn data
// pages (bbolt would panic reading them), overwritten header pages, a file that is not bbolt's,
// and a truncated one.
func TestOpenRefusesADamagedFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error {
		for i := int64(1); i <= 2000; i++ {
			if err := tx.PutBooking(Booking{ID: i, AccountID: 5, Number: "N-12345"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	overwrite := func(from, to int) []byte {
		c := append([]byte(nil), data...)
		for i := from; i < to && i < len(c); i++ {
			c[i] = 0xAB
		}
		return c
	}
	for name, content := range map[string][]byte{
		"torn data page":    overwrite(2*page+16, 3*page),
		"torn branch pages": overwrite(3*page+16, 21*page),
		"both header pages": overwrite(0, 2*page),
		"not a bbolt file":  []byte("bnovo:\n  base_url: https://api.pms.bnovo.ru\n"),
		"truncated":         data[:len(data)/3],
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{})
			if err == nil {
				db.Close()
				t.Fatal("a damaged file was opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q: want ErrDamaged naming %s", err, path)
			}
			if after, _ := os.ReadFile(path); string(after) != string(content) {
				t.Fatal("Open changed the damaged file")
			}
		})
	}
	if db, err := Open(good, Options{}); err != nil {
		t.Fatalf("the sound file: %v", err)
	} else {
		db.Close()
	}
}
