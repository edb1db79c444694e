package ratelimit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

const (
	defaultMargin      = 250 * time.Millisecond
	defaultReserveHold = time.Second
	// shareFromPer: only windows this long or longer are shared with the hotel's other
	// integrations; short windows are a burst guard, not a budget.
	shareFromPer = time.Hour
	// storePruneEvery bounds how often the persisted log is trimmed: each prune is a durable
	// write, and a log a little longer than needed costs nothing but disk. A fast caller (a
	// backfill under roomy windows) writes thousands of entries in that time, so the log is
	// also trimmed once it has grown by as many entries as the windows still count (at least
	// storePruneMin): then the stored log is at most about twice what matters, and the prune's
	// cost per recorded call stays constant.
	storePruneEvery = 10 * time.Minute
	storePruneMin   = 1000
)

// Options tune a Limiter. The zero value is usable.
type Options struct {
	Share   float64          // applies to windows with Per >= 1h: effective limit floor(Limit*Share), min 1; default 1
	Margin  time.Duration    // a call occupies its window for Per+Margin so transit jitter cannot cross a window; default 250ms
	Store   Store            // nil = in memory only
	Now     func() time.Time // default time.Now (tests may use testing/synctest instead)
	Reserve int              // how many slots one durable write may reserve ahead (batching), default 1

	// ReserveHold is how long a slot reserved ahead stays usable; default 1s. A reserved slot
	// is logged at the end of its hold and counts in every window from the moment it is
	// reserved, so it is safe to use at any instant of the hold. Unused, it stays counted
	// until Release gives it back (a crash keeps it counted: the safe side).
	ReserveHold time.Duration
}

// Usage is one window's state: its effective limit (after Share) and the calls counted now.
type Usage struct {
	Window Window
	Limit  int // effective
	Used   int
}

// Limiter admits calls so that no window ever holds more than its effective limit.
//
// The log holds one time per call. A call at time a counts in a window at instant t while
// a > t-Per-Margin, future entries included: a slot reserved ahead is stored at the end of its
// hold and must count from the moment it was reserved. Times are wall-clock (monotonic readings
// stripped) because persisted entries have no monotonic reading and both kinds are compared.
type Limiter struct {
	windows []Window
	limits  []int // effective limit of windows[i]
	margin  time.Duration
	longest time.Duration // longest Per + margin: how far back the log matters
	store   Store
	clock   func() time.Time
	reserve int
	hold    time.Duration

	mu           sync.Mutex
	calls        []time.Time // ascending
	blockedUntil time.Time
	lastPrune    time.Time
	sincePrune   int // entries recorded in the store since lastPrune

	// Batching state (Reserve > 1): pendingN slots reserved ahead, usable until pendingUntil.
	pendingN     int
	pendingUntil time.Time
	batch        int       // size of the next durable reservation; grows while the caller is fast
	lastAdmit    time.Time // when the latest call was admitted
	// forget are log entries gone from calls (slots reserved and never used, or logged again
	// at an earlier time) and still in the Store until Release forgets them there.
	forget []slots
	// handedOut are slots reserved ahead and used: counted in calls from their use, still in
	// the Store at the end of their hold until Release logs them again at its own time.
	handedOut []slots
}

// slots are n log entries at one instant.
type slots struct {
	at time.Time
	n  int
}

// New builds a Limiter over windows and loads the persisted log (the calls within the longest
// window plus the margin).
func New(windows []Window, opt Options) (*Limiter, error) {
	if len(windows) == 0 {
		return nil, errNoWindows
	}
	share := opt.Share
	if share == 0 {
		share = 1
	}
	if math.IsNaN(share) || share <= 0 || share > 1 {
		return nil, fmt.Errorf("ratelimit: share %v is outside (0, 1]", opt.Share)
	}
	margin := opt.Margin
	if margin == 0 {
		margin = defaultMargin
	}
	if margin < 0 {
		return nil, fmt.Errorf("ratelimit: margin %v is negative", opt.Margin)
	}
	reserve := opt.Reserve
	if reserve == 0 {
		reserve = 1
	}
	if reserve < 0 {
		return nil, fmt.Errorf("ratelimit: reserve %d is negative", opt.Reserve)
	}
	hold := opt.ReserveHold
	if hold == 0 {
		hold = defaultReserveHold
	}
	if hold < 0 {
		return nil, fmt.Errorf("ratelimit: reserve hold %v is negative", opt.ReserveHold)
	}
	clock := opt.Now
	if clock == nil {
		clock = time.Now
	}

	l := &Limiter{
		windows: slices.Clone(windows),
		limits:  make([]int, len(windows)),
		margin:  margin,
		store:   opt.Store,
		clock:   clock,
		reserve: reserve,
		hold:    hold,
		batch:   1,
	}
	for i, w := range windows {
		if err := w.validate(); err != nil {
			return nil, err
		}
		l.limits[i] = EffectiveLimit(w, share)
		l.longest = max(l.longest, w.Per+margin)
	}

	if l.store != nil {
		now := l.now()
		loaded, err := l.store.LoadCalls(now.Add(-l.longest))
		if err != nil {
			return nil, fmt.Errorf("ratelimit: load call log: %w", err)
		}
		l.calls = make([]time.Time, 0, len(loaded))
		for _, t := range loaded {
			l.calls = append(l.calls, t.Round(0))
		}
		// The Store promises ascending order, but the whole safety of the limiter rests on it.
		slices.SortFunc(l.calls, compareTime)
		now = l.nowLocked()
		l.pruneLocked(now)
	}
	return l, nil
}

// EffectiveLimit is the number of calls syncd may spend in w: windows of an hour or longer are
// shared with other integrations (floor(Limit*share), at least 1); shorter ones are not.
func EffectiveLimit(w Window, share float64) int {
	if w.Per < shareFromPer || share >= 1 {
		return w.Limit
	}
	// The epsilon keeps float error from losing a call: 100*0.29 is 28.999999999999996.
	return max(1, int(math.Floor(float64(w.Limit)*share+1e-9)))
}

func (l *Limiter) now() time.Time { return l.clock().Round(0) }

// nowLocked is now, with the log made fit for it: an entry can lie in the future by a reserved
// slot's hold at most, unless the clock ran ahead when it was written and has been stepped back
// since. Such an entry would fill its windows until the clock caught up with it (a day's step:
// a day without budget); it is counted from now+hold instead, which still counts its call (made
// before now) for at least a whole window.
func (l *Limiter) nowLocked() time.Time {
	now := l.now()
	latest := now.Add(l.hold)
	for i := len(l.calls) - 1; i >= 0 && l.calls[i].After(latest); i-- {
		l.calls[i] = latest // the tail stays ascending: every earlier entry is at or before it
	}
	return now
}

// Wait blocks until every window has room, records the call durably and returns. The call
// counts as spent from then on, even if the caller crashes before sending it: over-counting is
// the safe side. When ctx ends first, Wait returns ctx.Err() and spends nothing.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		if err := ctx.Err(); err != nil {
			l.mu.Unlock()
			return err
		}
		now := l.nowLocked()
		if l.takeReservedLocked(now) {
			l.mu.Unlock()
			return nil
		}
		delay := l.delayLocked(now)
		if delay <= 0 {
			// The durable write happens under the lock: concurrent waiters then see every
			// admitted call, and the Store need not be safe for concurrent use.
			err := l.admitLocked(now)
			l.mu.Unlock()
			return err
		}
		l.mu.Unlock()

		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// admitLocked records the call admitted at now, plus any slots reserved ahead, in one durable
// write.
func (l *Limiter) admitLocked(now time.Time) error {
	extra := l.extraSlotsLocked(now)
	slots := make([]time.Time, 0, 1+extra)
	slots = append(slots, now)
	reservedUntil := now.Add(l.hold)
	for range extra {
		slots = append(slots, reservedUntil)
	}
	// In memory first: if the write fails half-way, counting the calls anyway is the safe side.
	for _, t := range slots {
		l.calls = insertSorted(l.calls, t)
	}
	l.lastAdmit = now
	l.pruneLocked(now)
	if l.store != nil {
		if err := l.store.RecordCalls(slots...); err != nil {
			return fmt.Errorf("ratelimit: record call: %w", err)
		}
		l.sincePrune += len(slots)
		l.pruneStoreLocked(now)
	}
	if extra > 0 {
		l.pendingN = extra
		l.pendingUntil = reservedUntil
	}
	return nil
}

// roomLocked is how many calls every window could take at now.
func (l *Limiter) roomLocked(now time.Time) int {
	room := math.MaxInt
	for i := range l.windows {
		room = min(room, l.limits[i]-l.usedLocked(i, now))
	}
	return max(0, room)
}

// firstCountedLocked is the index of the oldest call counted in window i at now.
func (l *Limiter) firstCountedLocked(i int, now time.Time) int {
	return firstAfter(l.calls, now.Add(-l.windows[i].Per-l.margin))
}

func (l *Limiter) usedLocked(i int, now time.Time) int {
	return len(l.calls) - l.firstCountedLocked(i, now)
}

// delayLocked is how long from now until a call would be admitted: every window must hold
// fewer calls than its limit. A full window frees when its (used-limit+1)-th oldest counted
// call leaves it, at that call's time + Per + Margin; the latest of these, and the end of any
// block, is the answer.
func (l *Limiter) delayLocked(now time.Time) time.Duration {
	admitAt := now
	if l.blockedUntil.After(admitAt) {
		admitAt = l.blockedUntil
	}
	for i, w := range l.windows {
		first := l.firstCountedLocked(i, now)
		used := len(l.calls) - first
		if used < l.limits[i] {
			continue
		}
		leaving := l.calls[first+used-l.limits[i]]
		if free := leaving.Add(w.Per + l.margin); free.After(admitAt) {
			admitAt = free
		}
	}
	return admitAt.Sub(now)
}

// pruneLocked forgets calls that no window counts any more.
func (l *Limiter) pruneLocked(now time.Time) {
	cutoff := now.Add(-l.longest)
	stale := firstAfter(l.calls, cutoff)
	if stale > 0 {
		l.calls = slices.Delete(l.calls, 0, stale)
	}
	// Handed-out slots no window counts any more need no logging again either.
	for len(l.handedOut) > 0 && !l.handedOut[0].at.After(cutoff) {
		l.handedOut = l.handedOut[1:]
	}
}

// pruneStoreLocked trims the persisted log now and then. A failure is not reported: it only
// leaves old entries, which New skips on load, and the next prune retries.
func (l *Limiter) pruneStoreLocked(now time.Time) {
	if now.Sub(l.lastPrune) < storePruneEvery && l.sincePrune < max(storePruneMin, len(l.calls)) {
		return
	}
	if err := l.store.PruneCalls(now.Add(-l.longest)); err == nil {
		l.lastPrune, l.sincePrune = now, 0
	}
}

// Reserve reports, without blocking or spending anything, how long until a call would be
// admitted (0 = now).
func (l *Limiter) Reserve() (wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowLocked()
	if l.reservedUsableLocked(now) > 0 {
		return 0
	}
	return max(0, l.delayLocked(now))
}

// Block admits nothing before until: the server answered 429 because someone else's traffic
// filled a window this limiter cannot see. A shorter block never shortens a longer one.
func (l *Limiter) Block(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until = until.Round(0)
	if until.After(l.blockedUntil) {
		l.blockedUntil = until
	}
}

// Usage reports every window's effective limit and the calls it counts now (slots reserved
// ahead included until Release gives them back).
func (l *Limiter) Usage() []Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowLocked()
	usage := make([]Usage, len(l.windows))
	for i, w := range l.windows {
		usage[i] = Usage{Window: w, Limit: l.limits[i], Used: l.usedLocked(i, now)}
	}
	return usage
}

// LeftInShare is the fewest calls left in any window of an hour or longer (the windows
// budget_share applies to: what the hour and the day still allow), or math.MaxInt when there
// is none. Slots reserved ahead count as used.
func (l *Limiter) LeftInShare() int {
	left := math.MaxInt
	for _, u := range l.Usage() {
		if u.Window.Per >= time.Hour {
			left = min(left, max(0, u.Limit-u.Used))
		}
	}
	return left
}

// Remaining is how many calls could be sent right now without waiting.
func (l *Limiter) Remaining() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowLocked()
	if now.Before(l.blockedUntil) {
		return 0
	}
	return l.roomLocked(now) + l.reservedUsableLocked(now)
}

// separate Stores (or separately keyed logs).
