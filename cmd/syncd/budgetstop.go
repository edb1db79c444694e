package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// oneShotMaxWait is the longest a one-shot run waits for Bnovo budget: a short window (30/10s)
// opens again within it; the hour's or the day's share does not, and a timer or cron job would
// kill a run that slept for it.
const oneShotMaxWait = time.Minute

// budgetSpent is why a one-shot run stopped: the budget of Window is spent until Resumes.
type budgetSpent struct {
	Window      ratelimit.Window
	Used, Limit int
	Resumes     time.Time
}

func (b *budgetSpent) Error() string {
	return fmt.Sprintf("Bnovo budget spent (%d/%d in %s) until %s", b.Used, b.Limit, b.Window, b.Resumes.Format(time.RFC3339))
}

// Is makes a stop for budget a cancellation to the engine: it finishes what is in hand and
// starts nothing new.
func (b *budgetSpent) Is(target error) bool { return target == context.Canceled }

// budgetStop ends a one-shot run, instead of waiting, when the next Bnovo call would wait longer
// than oneShotMaxWait. The daemon never arms it: it waits, and -status says until when.
type budgetStop struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc
	spent  *budgetSpent
}

// arm makes ctx's run stop for budget; the returned context is the run's.
func (s *budgetStop) arm(ctx context.Context) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	return ctx, cancel
}

// check stops the run when limiter would make the next call wait too long; it returns the
// reason then.
func (s *budgetStop) check(limiter *ratelimit.Limiter) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spent != nil {
		return s.spent
	}
	if s.cancel == nil {
		return nil
	}
	wait := limiter.Reserve()
	if wait <= oneShotMaxWait {
		return nil
	}
	s.spent = spentWindow(limiter.Usage(), time.Now().Add(wait))
	s.cancel(s.spent)
	return s.spent
}

// spentWindow names the window that holds the run back: the longest one that is full.
func spentWindow(usage []ratelimit.Usage, resumes time.Time) *budgetSpent {
	b := &budgetSpent{Resumes: resumes}
	for _, u := range usage {
		if u.Used >= u.Limit && u.Window.Per >= b.Window.Per {
			b.Window, b.Used, b.Limit = u.Window, u.Used, u.Limit
		}
	}
	return b
}

// stopped reports why the run stopped for budget, or nil.
func (s *budgetStop) stopped() *budgetSpent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// windowName is how the "resumes" line names a window: daily and hourly shares by name.
func windowName(w ratelimit.Window) string {
	switch w.Per {
	case 24 * time.Hour:
		return "daily"
	case time.Hour:
		return "hourly"
	}
	return w.String()
}

// endOneShot ends a one-shot run that stopped for budget: its unclear operations are settled
// by marker (ProBonus only) under ctx, the run's own context before the stop; one line says
// what is spent and when it comes back; exit 0 (the next run resumes where this one stopped),
// unless an operation could not be settled.
func (a *app) endOneShot(ctx context.Context, err error) error {
	spent := a.stop.stopped()
	if spent == nil || (err != nil && !errors.Is(err, context.Canceled)) {
		return err
	}
	if _, err := a.engine.SettleOpen(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	resumes := spent.Resumes.In(a.cfg.Location).Format("2006-01-02 15:04")
	if spent.Limit == 0 {
		// No window of syncd's is full: Bnovo answered 429 (another integration spent the key's
		// budget) and asked for a long wait.
		a.log.Info().Time("resumes_at", spent.Resumes).Msgf("budget: Bnovo asked syncd to wait (429), resumes %s", resumes)
		return nil
	}
	a.log.Info().Str("window", spent.Window.String()).Int("used", spent.Used).Int("limit", spent.Limit).
		Time("resumes_at", spent.Resumes).
		Msgf("budget: %s share spent (%d/%d), resumes %s", windowName(spent.Window), spent.Used, spent.Limit, resumes)
	return nil
}
