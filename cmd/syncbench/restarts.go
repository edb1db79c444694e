package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// restartRun is one start of syncd in the restart storm.
type restartRun struct {
	Signal      syscall.Signal
	Lived       time.Duration
	CallsBefore int // API calls the simulator had received before this start
	CallsAfter  int
}

type restartsResult struct {
	Runner      string
	Windows     []ratelimit.Window
	Runs        []restartRun
	Span        time.Duration // from the first start to the last exit
	Calls       int
	AuthCalls   int
	TooMany     int
	MaxInWindow []int
	Limits      []int
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
	res.Windows = r.windows
	res.Limits = make([]int, len(r.windows))
	for i, w := range r.windows {
		res.Limits[i] = ratelimit.EffectiveLimit(w, spec.Share)
	}

	start := time.Now()
	for i := range restarts {
		sig := syscall.SIGTERM
		if i%2 == 1 {
			sig = syscall.SIGKILL
		}
		life := maxLife/4 + time.Duration(rng.Int64N(int64(maxLife-maxLife/4)))
		runCtx, cancel := context.WithCancel(ctx)
		before := r.bn.Stats().Calls
		out, err := run.Run(runCtx, r, runArgs{Interrupt: interruptAfter(runCtx, life, sig)})
		cancel()
		if err != nil {
			return res, fmt.Errorf("start %d: %w", i+1, err)
		}
		res.Runs = append(res.Runs, restartRun{Signal: sig, Lived: out.Wall, CallsBefore: before, CallsAfter: r.bn.Stats().Calls})
	}
	res.Span = time.Since(start)
	st := r.bn.Stats()
	res.Calls, res.AuthCalls, res.TooMany, res.MaxInWindow = st.Calls, st.AuthCalls, st.TooMany, st.MaxInWindow
	return res, nil
}

func restartsTable(res restartsResult) *table {
	budget, bi := res.Budget()
	t := &table{
		title:  fmt.Sprintf("restarts: %d starts of syncd -once in quick succession, budget window %s (target: never over it)", len(res.Runs), budget),
		header: []string{"start", "stopped by", "lived", "calls in this start", "calls so far"},
	}
	for i, run := range res.Runs {
		stoppedBy := run.Signal.String()
		if res.Runner == (inProcess{}).Name() {
			stoppedBy = "context cancel"
		}
		t.add(i+1, stoppedBy, run.Lived, run.CallsAfter-run.CallsBefore, run.CallsAfter)
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
