//go:build unix

package state

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockBeside takes an exclusive lock on path (created empty when missing), waiting at most
// timeout for another process to let go of it. It is opened read-only: flock needs no more,
// and a lock file created by root (syncd -status run as root) still opens for the daemon's
// user.
func lockBeside(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state lock file %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, errLockHeld
			}
			return nil, fmt.Errorf("state lock file %s: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
