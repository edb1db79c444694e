package main

import (
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// floorTime is the least time in which calls calls can be sent under every window, starting
// with all windows empty: the span from the first call to the last when each call goes at the
// earliest instant the windows allow. A window admits at most Limit calls in any span of Per,
// so call k may go no earlier than call k-Limit plus Per. The limiter's safety margin is not
// part of the floor: it is a cost the floor makes visible.
func floorTime(calls int, windows []ratelimit.Window, share float64) time.Duration {
	return floorWithMargin(calls, windows, share, 0)
}

// limiterMargin is ratelimit's default margin, which cmd/syncd uses: each call occupies its
// windows for Per plus this, so transit jitter cannot put one call too many in a window.
const limiterMargin = 250 * time.Millisecond

// floorWithMargin is floorTime with every window margin longer: the schedule the limiter aims at.
func floorWithMargin(calls int, windows []ratelimit.Window, share float64, margin time.Duration) time.Duration {
	if calls <= 1 {
		return 0
	}
	at := make([]time.Duration, calls)
	for k := 1; k < calls; k++ {
		t := at[k-1]
		for _, w := range windows {
			limit := ratelimit.EffectiveLimit(w, share)
			if k >= limit {
				t = max(t, at[k-limit]+w.Per+margin)
			}
		}
		at[k] = t
	}
	return at[calls-1]
}

// ratio is a/b, or 0 when b is 0 (nothing to compare with).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
