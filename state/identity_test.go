package state

import (
	"errors"
	"os"
	"path/filepath"
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
