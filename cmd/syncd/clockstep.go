package main

import (
	"context"
	gosync "sync"
	"time"

	"github.com/robfig/cron/v3"
)

// robfig/cron sleeps until the wall time of its next run: after the wall clock steps back an
// hour (an admin fixing a clock set to the wrong zone, a VM restored) it runs no cycle for that
// hour, after a step back of a day for a day, and nothing notices (the engine is idle, so the
// watchdog is fed). The daemon therefore watches the wall clock against the monotonic one and,
// on a step, has cron compute the next run from the new wall time.

// clockReading is one look at both clocks: the wall time and the monotonic time elapsed.
type clockReading struct {
	wall time.Time     // without its monotonic reading, so Sub compares wall times
	mono time.Duration // since processStart, on the monotonic clock
}

var processStart = time.Now()

func readClock() clockReading {
	now := time.Now()
	return clockReading{wall: now.Round(0), mono: now.Sub(processStart)}
}

// Checking twice a minute finds a step well before a 5-minute schedule's next run; a step
// smaller than a minute (NTP's slews never are steps) changes no run worth rescheduling.
const (
	clockCheckEvery    = 30 * time.Second
	clockStepThreshold = time.Minute
)

// watchWallClock calls stepped with the size of every wall-clock step (wall time elapsed minus
// monotonic time elapsed) larger than threshold, until ctx ends.
func watchWallClock(ctx context.Context, every, threshold time.Duration, read func() clockReading, stepped func(step time.Duration)) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	last := read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := read()
		step := now.wall.Sub(last.wall) - (now.mono - last.mono)
		last = now
		if step > threshold || step < -threshold {
			stepped(step)
		}
	}
}

// cycleEntry is the daemon's one cron entry, which can be put back to have its next run
// computed again from the current wall time.
type cycleEntry struct {
	mu       gosync.Mutex
	cron     *cron.Cron
	schedule cron.Schedule
	job      cron.Job
	id       cron.EntryID
}

func scheduleCycles(c *cron.Cron, schedule cron.Schedule, job cron.Job) *cycleEntry {
	return &cycleEntry{cron: c, schedule: schedule, job: job, id: c.Schedule(schedule, job)}
}

// reschedule replaces the entry by one whose next run cron computes from now. The job is the
// same wrapped job, so SkipIfStillRunning still keeps cycles from overlapping.
func (e *cycleEntry) reschedule() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cron.Remove(e.id)
	e.id = e.cron.Schedule(e.schedule, e.job)
}
