package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The state file deleted, or another file moved to its path, is noticed by CheckFile, and a
// second Open of the path meanwhile finds the lock file held instead of a fresh file to use.
func TestCheckFileNoticesASwappedStateFile(t *testing.T) {
	for _, swap := range []string{"deleted", "replaced", "lock file deleted"} {
		t.Run(swap, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.CheckFile(); err != nil {
				t.Fatalf("CheckFile on the file just opened: %v", err)
			}
			switch swap {
			case "deleted":
				err = os.Remove(path)
			case "replaced":
				backup := filepath.Join(dir, "backup.db")
				if err := os.WriteFile(backup, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				err = os.Rename(backup, path)
			case "lock file deleted":
				err = os.Remove(path + lockSuffix)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CheckFile(); !errors.Is(err, ErrReplaced) {
				t.Fatalf("CheckFile after the file was %s: %v, want ErrReplaced", swap, err)
			}
			if swap == "lock file deleted" {
				return
			}
			second, err := Open(path, Options{LockTimeout: 100e6})
			if err == nil {
				second.Close()
				t.Fatal("a second Open of the swapped path succeeded: two syncds could post for one hotel")
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("second Open: %v, want ErrLocked", err)
			}
		})
	}
}

// A backup copied over the state file in place keeps its inode, so the identity check cannot
// see it; bbolt would read the copy's pages through its map and write its own free-page list
// into them. CheckFile notices, and Update writes nothing into the copy.
func TestCheckFileNoticesAFileCopiedOverIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setCursor := func(value string) error {
		return db.Update(func(tx *Tx) error { return tx.SetCursor("changed", value) })
	}
	if err := setCursor("backed up"); err != nil {
		t.Fatal(err)
	}
	backup, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := setCursor("after the backup"); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckFile(); err != nil {
		t.Fatalf("CheckFile after this DB's own writes: %v", err)
	}

	if err := os.WriteFile(path, backup, 0o600); err != nil { // cp backup.db state.db
		t.Fatal(err)
	}
	err = db.CheckFile()
	if !errors.Is(err, ErrReplaced) || !strings.Contains(err.Error(), "overwritten in place") {
		t.Fatalf("CheckFile after a copy over the file: %v, want ErrReplaced saying it was overwritten", err)
	}
	if err := setCursor("into the copy"); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Update into the copied-over file: %v, want ErrReplaced", err)
	}
	if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, backup) {
		t.Fatalf("the copied-over file changed after a refused Update (%v)", err)
	}
}

// Only another writer trips the check: this DB's own writes from many goroutines, with checks
// between them, never do.
func TestCheckFileTakesConcurrentOwnWritesAsOwn(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := db.Update(func(tx *Tx) error { return tx.SetCursor(fmt.Sprint("w", w), fmt.Sprint(i)) }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			if err := db.CheckFile(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("own writes: %v", err)
	}
}
