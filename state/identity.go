package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrReplaced is wrapped (through *ReplacedError) by DB.CheckFile when the file at the state
// path (or its lock file) is no longer the one this DB opened: it was deleted, or another file
// was moved there. Whatever this process writes from then on is lost with the old file, and a
// second syncd could open the new one and post beside this one.
var ErrReplaced = errors.New("state file replaced while in use")

// ReplacedError says which file changed under syncd and how.
type ReplacedError struct {
	Path string
	What string // "was deleted", "was replaced by another file"
}

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("state file %s %s while syncd was using it", e.Path, e.What)
}

func (e *ReplacedError) Is(target error) bool { return target == ErrReplaced }

// lockSuffix names the lock file beside the state file. bbolt locks the state file itself, but
// that lock goes with the file: once it is deleted or renamed over, a second syncd gets a fresh
// file and a lock of its own. The lock file stays put when the state file is swapped, so the
// second syncd finds it held and exits.
const lockSuffix = ".lock"

// CheckFile tells whether the state path (and its lock file) still name the files this DB
// opened. The engine asks before every run and before sending a page's operations.
func (db *DB) CheckFile() error {
	for _, f := range []struct {
		path string
		was  os.FileInfo
	}{{db.path, db.opened}, {db.lockPath, db.lockOpened}} {
		if f.was == nil {
			continue
		}
		now, err := os.Stat(f.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &ReplacedError{Path: f.path, What: "was deleted"}
		case err != nil:
			return fmt.Errorf("checking state file %s: %w", f.path, err)
		case !os.SameFile(now, f.was):
			return &ReplacedError{Path: f.path, What: "was replaced by another file"}
		}
	}
	return nil
}
