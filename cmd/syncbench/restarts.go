package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// restartRun is one start of syncd in a storm of restarts.
type restartRun struct {
	Signal      syscall.Signal // what stopped it; 0 when it ran to its end
	Lived       time.Duration
	CallsBefore int // API calls the simulator had received before this start
	CallsAfter  int
}

// startOnce runs the i-th start of syncd on r. With a lifetime it is stopped after it, by
// SIGTERM on even starts and SIGKILL on odd ones (a graceful stop and a crash in turn; in
// process both cancel the run's context).
func startOnce(ctx context.Context, run runner, r *rig, args runArgs, i int, lifetime time.Duration) (restartRun, error) {
	sig := syscall.SIGTERM
	if i%2 == 1 {
		sig = syscall.SIGKILL
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lifetime > 0 {
		args.Interrupt = interruptAfter(ctx, lifetime, sig)
	}
	before := r.bn.Stats().Calls
	out, err := run.Run(ctx, r, args)
	if err != nil {
		return restartRun{}, fmt.Errorf("start %d: %w", i+1, err)
	}
	if !out.Interrupted {
		sig = 0
	}
	return restartRun{Signal: sig, Lived: out.Wall, CallsBefore: before, CallsAfter: r.bn.Stats().Calls}, nil
}

// add puts the i-th start as a row of a restarts table.
func (s restartRun) add(t *table, i int, runner string) {
	stoppedBy := "(completed)"
	if s.Signal != 0 {
		stoppedBy = s.Signal.String()
		if runner == (inProcess{}).Name() {
			stoppedBy = "context cancel"
		}
	}
	t.add(i+1, stoppedBy, s.Lived, s.CallsAfter-s.CallsBefore, s.CallsAfter)
}

type restartsResult struct {
	Runner  string
	Windows []ratelimit.Window
	Runs    []restartRun
	Span    time.Duration // from the first start to the last exit
	traffic
	Limits []int
}

// Budget is the longest window: the "daily" limit of the storm.
func (r restartsResult) Budget() (ratelimit.Window, int) {
	best := 0
	for i := range r.Windows {
		if r.Windows[i].Per > r.Windows[best].Per {
			best = i
		}
	}
	return r.Windows[best], best
}

// WithinBudget is the property measured: all the runs together never put more calls in the
// budget window than its limit, and the server never refused one.
func (r restartsResult) WithinBudget() bool {
	_, i := r.Budget()
	return r.MaxInWindow[i] <= r.Limits[i] && r.TooMany == 0
}

// runRestarts starts syncd -once restarts times in quick succession, interrupting each after a
// random moment (SIGTERM and SIGKILL in turn for a child), all within one budget window.
func runRestarts(ctx context.Context, run runner, spec rigSpec, restarts int, maxLife time.Duration, rng *rand.Rand) (restartsResult, error) {
	res := restartsResult{Runner: run.Name()}
	r, err := newRig(spec)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Windows, res.Limits = r.windows, r.limits

	start := time.Now()
	for i := range restarts {
		life := maxLife/4 + time.Duration(rng.Int64N(int64(maxLife-maxLife/4)))
		s, err := startOnce(ctx, run, r, runArgs{}, i, life)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, s)
	}
	res.Span = time.Since(start)
	res.traffic = r.traffic()
	return res, nil
}

func restartsTable(res restartsResult) *table {
	budget, bi := res.Budget()
	t := &table{
		title:  fmt.Sprintf("restarts: %d starts of syncd -once in quick succession, budget window %s (target: never over it)", len(res.Runs), budget),
		header: []string{"start", "stopped by", "lived", "calls in this start", "calls so far"},
	}
	for i, run := range res.Runs {
		run.add(t, i, res.Runner)
	}
	t.note("all %d starts within %s via %s: %d API calls + %d logins; most in any %s window: %d, limit %d -> %s; 429s: %d",
		len(res.Runs), fmtDur(res.Span), res.Runner, res.Calls, res.AuthCalls, budget, res.MaxInWindow[bi], res.Limits[bi],
		passFail(res.WithinBudget()), res.TooMany)
	for i, w := range res.Windows {
		if i != bi {
			t.note("window %s: most %d, limit %d", w, res.MaxInWindow[i], res.Limits[i])
		}
	}
	if res.Span < budget.Per {
		t.note("every start fell inside one %s window, so the calls of all of them together are what the window counted", budget)
	}
	return t
}
