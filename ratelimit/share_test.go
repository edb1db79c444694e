package ratelimit

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// The share lowered between runs (0.8 → 0.3) with the day's log written under the bigger share:
// the calls already logged count against the smaller limit, so the new run sends nothing until
// enough of them have left the window.
func TestLoweredShareCountsTheCallsLoggedUnderTheBiggerOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{10, 24 * time.Hour}}
		store := &MemStore{}
		before := mustNew(t, windows, Options{Store: store, Share: 0.8}) // 8 a day
		var admits []time.Time
		for range 8 {
			if err := before.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			admits = append(admits, time.Now())
			time.Sleep(time.Minute)
		}
		after := mustNew(t, windows, Options{Store: store, Share: 0.3}) // 3 a day
		if u := after.Usage(); u[0].Used != 8 || u[0].Limit != 3 {
			t.Fatalf("after lowering the share: usage %+v, want 8 used of 3", u[0])
		}
		ctx, cancel := context.WithTimeout(t.Context(), 23*time.Hour)
		defer cancel()
		if err := after.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call admitted within the day with 8 logged and a limit of 3: %v", err)
		}
		if err := after.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The sixth of the logged calls must have left the day: only then are 2 left in it.
		if leave := admits[5].Add(24 * time.Hour); time.Now().Before(leave) {
			t.Fatalf("admitted at %v, before the 6th logged call left the window at %v", time.Now(), leave)
		}
	})
}
