package metrics

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Health decides /healthz from the age of the daemon's last successful sync cycle.
//
// Failed cycles do not count as fresh: a daemon whose every cycle fails (Bnovo unreachable, the
// API key revoked) must turn unhealthy once the threshold passes, not stay green because it keeps
// trying. Until the first success, the age is measured from the start, so a fresh daemon gets one
// threshold's time to complete its first cycle. Safe for concurrent use.
type Health struct {
	maxAge func() time.Duration
	now    func() time.Time

	mu       sync.Mutex
	started  time.Time
	lastOK   time.Time
	failedAt time.Time
	lastErr  error
}

// NewHealth starts tracking now. maxAge gives the threshold at each check (so it can follow the
// schedule); nil or a result ≤ 0 means no threshold: always healthy.
func NewHealth(maxAge func() time.Duration) *Health {
	return newHealthAt(maxAge, time.Now)
}

func newHealthAt(maxAge func() time.Duration, now func() time.Time) *Health {
	return &Health{maxAge: maxAge, now: now, started: now()}
}

// CycleDone records a cycle that ended at `at`; err nil means it succeeded.
func (h *Health) CycleDone(at time.Time, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = at
		return
	}
	h.failedAt, h.lastErr = at, err
}

// Check is nil while the last successful cycle (or the start, before the first) is at most the
// threshold old; otherwise it says how old, and why the last cycle failed if it did.
func (h *Health) Check() error {
	if h == nil || h.maxAge == nil {
		return nil
	}
	limit := h.maxAge()
	if limit <= 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	since := h.lastOK
	if since.IsZero() {
		since = h.started
	}
	age := now.Sub(since)
	if age <= limit {
		return nil
	}
	age, limit = age.Round(time.Second), limit.Round(time.Second)
	var err error
	if h.lastOK.IsZero() {
		err = fmt.Errorf("%w: started %s ago, threshold %s", errNoCycle, age, limit)
	} else {
		err = fmt.Errorf("last successful sync cycle ended %s ago (%s), threshold %s",
			age, h.lastOK.UTC().Format(time.RFC3339), limit)
	}
	if h.lastErr != nil && h.failedAt.After(h.lastOK) {
		err = fmt.Errorf("%w; the last cycle failed %s ago: %v", err, now.Sub(h.failedAt).Round(time.Second), h.lastErr)
	}
	return err
}

// errNoCycle is wrapped by Check before the first successful cycle.
var errNoCycle = errors.New("no sync cycle has succeeded yet")
