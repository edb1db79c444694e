package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// ErrReplaced is wrapped (through *ReplacedError) by DB.CheckFile and DB.Update when the file
// at the state path (or its lock file) is no longer the one this DB opened: it was deleted,
// another file was moved there, or something other than this DB wrote into it (a backup
// copied over it in place). Whatever this process writes from then on is lost with the old
// file or mixed into the new one, and a second syncd could open the new one and post beside
// this one.
var ErrReplaced = errors.New("state file replaced while in use")

// ReplacedError says which file changed under syncd and how.
type ReplacedError struct {
	Path string
	What string // "was deleted", "was replaced by another file", "was overwritten in place ..."
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
// opened, and whether the state file is as this DB's last write left it. The engine asks
// before every run and before sending a page's operations; Update asks before every write.
func (db *DB) CheckFile() error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	return db.checkFileLocked()
}

// stamp is what a write leaves on the file: its size and modification time. Only this DB
// writes the state file while it holds the lock, so a different stamp means another writer:
// `cp backup.db state.db` keeps the inode (the identity check cannot see it) but not the stamp.
// bbolt maps the file, so from then on this DB would read the copy's pages and write its own
// free-page list into them.
type stamp struct {
	size  int64
	mtime time.Time
}

func stampOf(info os.FileInfo) stamp { return stamp{size: info.Size(), mtime: info.ModTime()} }

func (s stamp) same(t stamp) bool { return s.size == t.size && s.mtime.Equal(t.mtime) }

// noteWriteLocked records the stamp this DB's write (or opening) left. A failed stat keeps
// the old stamp: the next check then reports the file itself.
func (db *DB) noteWriteLocked() {
	if info, err := os.Stat(db.path); err == nil {
		db.written = stampOf(info)
	}
}

func (db *DB) checkFileLocked() error {
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
		case f.path == db.path && !stampOf(now).same(db.written):
			return &ReplacedError{Path: f.path, What: "was overwritten in place by something other than this syncd (a backup copied over it?)"}
		}
	}
	return nil
}
