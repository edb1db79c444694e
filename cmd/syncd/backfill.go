package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// runBackfill processes the bookings that checked out in the -backfill range, then exits.
func runBackfill(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	// A range that cannot be right is refused before anything is opened or spent.
	cfg, _, err := loadConfig(f.configPath, getenv)
	if err != nil {
		return err
	}
	if _, _, err := parseRange(f.backfill, cfg.Location); err != nil {
		return err
	}
	a, err := setup(f, stdout, getenv, false)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.code == exitLocked && !f.dryRun {
			// The daemon runs: hand it the backfill, to run between its cycles.
			return askDaemon(ctx, cfg.Status.Socket, "backfill "+f.backfill, stdout)
		}
		return err
	}
	defer a.Close()
	from, to, err := parseRange(f.backfill, a.cfg.Location)
	if err != nil {
		return err
	}
	runCtx := ctx
	if f.untilBudget {
		var cancel context.CancelCauseFunc
		runCtx, cancel = a.stop.arm(ctx)
		defer cancel(nil)
	}
	start := time.Now()
	sum, err := a.engine.Backfill(runCtx, from, to)
	a.logSummary("backfill", sum, time.Since(start), err)
	return a.endOneShot(ctx, err)
}

// checkRangeSyntax checks a -backfill argument before any config is read: an empty or
// mistyped range is bad usage, never a reason to start something else.
func checkRangeSyntax(s string) error {
	_, _, err := parseDates(s, time.UTC)
	return err
}

// parseRange reads FROM:TO (YYYY-MM-DD, both inclusive) as dates in the hotel's zone. A range
// wholly after today names stays that cannot have happened: a typo (2062 for 2026), so bad usage.
func parseRange(s string, loc *time.Location) (from, to time.Time, err error) {
	if from, to, err = parseDates(s, loc); err != nil {
		return from, to, err
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if from.After(today) {
		return from, to, usageError("-backfill %s: the whole range is after today (%s); a backfill covers stays that have ended", s, today.Format(time.DateOnly))
	}
	return from, to, nil
}

func parseDates(s string, loc *time.Location) (from, to time.Time, err error) {
	if strings.TrimSpace(s) == "" {
		return from, to, usageError("-backfill needs FROM:TO, e.g. 2026-01-01:2026-03-31")
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return from, to, usageError("-backfill %q: want FROM:TO, e.g. 2026-01-01:2026-03-31", s)
	}
	if from, err = time.ParseInLocation(time.DateOnly, a, loc); err != nil {
		return from, to, usageError("-backfill: FROM %q is not a YYYY-MM-DD date", a)
	}
	if to, err = time.ParseInLocation(time.DateOnly, b, loc); err != nil {
		return from, to, usageError("-backfill: TO %q is not a YYYY-MM-DD date", b)
	}
	if from.After(to) {
		return from, to, usageError("-backfill: FROM %s is after TO %s", a, b)
	}
	return from, to, nil
}
