package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// preStepSchedule stands for a schedule whose next run was computed while the wall clock was
// an hour ahead: its first Next lies an hour and a bit away; computed again, the next run is
// near, as it is on the corrected clock.
type preStepSchedule struct{ calls atomic.Int32 }

func (s *preStepSchedule) Next(t time.Time) time.Time {
	if s.calls.Add(1) == 1 {
		return t.Add(time.Hour + 5*time.Minute)
	}
	return t.Add(50 * time.Millisecond)
}

// steppingClock reads a wall clock that steps back by step after its first reading.
func steppingClock(step time.Duration) func() clockReading {
	var reads atomic.Int32
	base := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return func() clockReading {
		n := reads.Add(1)
		mono := time.Duration(n) * 10 * time.Millisecond
		wall := base.Add(mono)
		if n > 1 {
			wall = wall.Add(step)
		}
		return clockReading{wall: wall, mono: mono}
	}
}

// The wall clock steps back an hour while the daemon sleeps between cycles: the next cycle
// comes on the corrected clock's schedule, not an hour later.
func TestClockStepBackReschedulesCycles(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := cron.New(cron.WithLocation(time.UTC))
	ran := make(chan struct{}, 10)
	entry := scheduleCycles(c, &preStepSchedule{}, cron.FuncJob(func() { ran <- struct{}{} }))
	c.Start()
	defer c.Stop()
	var steps atomic.Int32
	go watchWallClock(ctx, 10*time.Millisecond, time.Minute, steppingClock(-time.Hour), func(step time.Duration) {
		if step > -time.Hour+time.Second || step < -time.Hour-time.Second {
			t.Errorf("step = %v, want about -1h", step)
		}
		steps.Add(1)
		entry.reschedule()
	})
	select {
	case <-ran:
	case <-time.After(3 * time.Second):
		t.Fatalf("no cycle within 3 s of a wall-clock step back of an hour (steps seen: %d): cron waits for the old wall time", steps.Load())
	}
	if n := len(c.Entries()); n != 1 {
		t.Errorf("cron holds %d entries after the reschedule, want 1 (cycles would run twice)", n)
	}
}

// Small differences between the clocks (NTP slewing, a slow tick) are not steps.
func TestClockWatchIgnoresJitter(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	watchWallClock(ctx, 10*time.Millisecond, time.Minute, steppingClock(30*time.Second), func(step time.Duration) {
		t.Errorf("a 30 s difference was taken for a step: %v", step)
	})
}
