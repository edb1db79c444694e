package main

import (
	"strings"
	"testing"
	"time"
)

// A daemon started with -dry-run holds the lock; an operator's real -backfill is handed to it
// over the control socket. It answered "accepted" and exited 0, but a dry run commits nothing:
// the backfill was never recorded, never run, and nobody was told.
func TestBackfillHandedToADryRunDaemonIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon")
	}
	r := newSimRig(t, rigOptions{bookings: 3})
	startDaemon(t, r, "-dry-run")
	month := time.Now().AddDate(0, -1, 0)
	rng := month.Format("2006-01") + "-01:" + month.Format("2006-01") + "-28"
	stdout, stderr, code := r.run(t, "-backfill", rng)
	if code != exitFailed || !strings.Contains(stderr, "-dry-run") {
		t.Errorf("-backfill to a -dry-run daemon: exit %d, stdout %q, stderr %q; want exit %d saying the daemon runs -dry-run", code, stdout, stderr, exitFailed)
	}
}
