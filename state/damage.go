package state

import (
	"errors"
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged is wrapped (through *DamagedError) by Open when the file is not a sound bbolt file:
// a torn or overwritten page, a truncated file, or something else entirely. Nothing is written
// to it, and nothing is sent anywhere on its word.
var ErrDamaged = errors.New("state file is damaged")

// DamagedError names the damaged file and what is wrong with it.
type DamagedError struct {
	Path     string
	Problems []string // the first few, as bbolt reports them
	More     int      // problems beyond those
}

func (e *DamagedError) Error() string {
	msg := fmt.Sprintf("state file %s is damaged: %s", e.Path, strings.Join(e.Problems, "; "))
	if e.More > 0 {
		msg += fmt.Sprintf(" (and %d more problems)", e.More)
	}
	return msg
}

func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// maxDamageShown keeps the error one readable line however torn the file is.
const maxDamageShown = 3

func damaged(path string, problems ...string) *DamagedError {
	e := &DamagedError{Path: path}
	for _, p := range problems {
		if len(e.Problems) < maxDamageShown {
			e.Problems = append(e.Problems, p)
		} else {
			e.More++
		}
	}
	return e
}

// openBolt opens the file with bbolt, which panics on some damaged files instead of answering
// an error; either way a damaged file becomes a *DamagedError.
func openBolt(path string, opt *bolt.Options) (bdb *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			bdb, err = nil, damaged(path, unreadable(r))
		}
	}()
	bdb, err = bolt.Open(path, 0o600, opt)
	for _, bad := range []error{bolterrors.ErrInvalid, bolterrors.ErrVersionMismatch, bolterrors.ErrChecksum, bolterrors.ErrInvalidMapping} {
		if errors.Is(err, bad) {
			return nil, damaged(path, err.Error()+" (not a bbolt file, or its header pages are overwritten)")
		}
	}
	return bdb, err
}

// checkPages walks every page of the file once (bbolt's consistency check) before syncd trusts
// anything in it: bbolt reads pages without checksums, and a damaged page read later would
// panic in the middle of a run, or worse, be believed.
func checkPages(path string, bdb *bolt.DB) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat state file %s: %w", path, err)
	}
	var problems []string
	err = bdb.View(func(btx *bolt.Tx) error {
		// A page beyond the end of a truncated file is not an error bbolt can report: reading
		// it through the memory map kills the process (SIGBUS). The header says how far the
		// pages reach; the file must reach that far.
		if used := btx.Size(); info.Size() < used {
			problems = append(problems, fmt.Sprintf("truncated: %d bytes, but its pages reach %d", info.Size(), used))
			return nil
		}
		for err := range btx.Check() {
			problems = append(problems, err.Error())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return damaged(path, problems...)
	}
	return nil
}

// guarded runs fn, turning a panic of bbolt's on a damaged page into a *DamagedError.
func guarded(path string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = damaged(path, unreadable(r))
		}
	}()
	return fn()
}

func unreadable(panicked any) string {
	return fmt.Sprintf("a page cannot be read (bbolt: %v)", panicked)
}
