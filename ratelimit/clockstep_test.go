package ratelimit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Calls logged while the clock ran a day ahead, before NTP stepped it back, must not keep the
// budget spent until the clock catches up with them (a day without a call), in the running
// process or after a restart; they still count for a whole window.
func TestCallsLoggedByAClockThatRanAheadCountOneWindow(t *testing.T) {
	real := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var offset atomic.Int64
	clock := func() time.Time { return real.Add(time.Duration(offset.Load())) }
	windows := []Window{{Limit: 10, Per: time.Hour}}
	store := &MemStore{}
	l := mustNew(t, windows, Options{Store: store, Now: clock})
	offset.Store(int64(24 * time.Hour))
	for range 10 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	offset.Store(0)
	limit := time.Hour + 5*time.Second // a window, the margin and a reserved slot's hold
	if wait := l.Reserve(); wait > limit {
		t.Errorf("running: the next call waits %v after the clock stepped back a day, want at most %v", wait, limit)
	}
	if l.Remaining() != 0 {
		t.Error("the calls made while the clock ran ahead are no longer counted")
	}
	restarted := mustNew(t, windows, Options{Store: store, Now: clock})
	if wait := restarted.Reserve(); wait > limit || wait == 0 {
		t.Errorf("restarted: the next call waits %v, want more than 0 and at most %v", wait, limit)
	}
}
