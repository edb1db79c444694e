//go:build !unix

package state

import (
	"os"
	"time"
)

// lockBeside is unix-only; elsewhere bbolt's own lock on the state file is all there is.
func lockBeside(string, time.Duration) (*os.File, error) { return nil, nil }
