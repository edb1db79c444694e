package main

import (
	gosync "sync"
	"time"
)

// liveness tells an engine at work from a stuck one, for the systemd watchdog: the daemon feeds
// the watchdog only while the engine is idle, waiting for Bnovo's budget (which may rightly take
// hours), or has committed work within the grace period. A timer alone would keep feeding a
// daemon whose engine hangs for good.
type liveness struct {
	mu      gosync.Mutex
	busy    int       // runs holding the engine
	waiting int       // calls waiting for the Bnovo budget
	last    time.Time // the last sign of progress (monotonic)
}

func newLiveness() *liveness { return &liveness{last: time.Now()} }

// progress records a sign of life: a transaction committed, a run begun or ended.
func (l *liveness) progress() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
}

// run marks a run holding the engine; the returned func ends it.
func (l *liveness) run() (done func()) {
	l.mu.Lock()
	l.busy++
	l.last = time.Now()
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.busy--
		l.last = time.Now()
		l.mu.Unlock()
	}
}

// budgetWait marks a call waiting for the budget; the returned func ends the wait.
func (l *liveness) budgetWait() (done func()) {
	l.mu.Lock()
	l.waiting++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.waiting--
		l.last = time.Now()
		l.mu.Unlock()
	}
}

// stalled reports how long a busy engine has shown no progress, and whether that is longer
// than grace.
func (l *liveness) stalled(grace time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy == 0 || l.waiting > 0 {
		return 0, false
	}
	since := time.Since(l.last)
	return since, since > grace
}

// stallGrace is how long a busy engine may show no progress before the watchdog is starved:
// longer than any wait a healthy run makes without committing (a Bnovo call retried for up to
// 15 minutes during an outage, a Retry-After, the in-flight window of an unclear operation),
// and never less than ten watchdog intervals.
func stallGrace(watchdog time.Duration) time.Duration {
	if watchdog >= time.Minute {
		return max(20*time.Minute, 10*watchdog)
	}
	return 10 * watchdog // tests run with a watchdog of a fraction of a second
}
