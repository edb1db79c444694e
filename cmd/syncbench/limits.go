package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// limitsResult is one backfill under scaled windows, as the simulator saw it.
type limitsResult struct {
	Runner      string
	Stays       string // which stays were backfilled: "old" (before the lookback window) or "recent"
	Windows     []ratelimit.Window
	Share       float64
	Work        work
	Minimum     int // Bnovo calls the work needs at the least, logins and guest writes included
	GuestWrites int // guest PUTs made (write-back): each needs its read, PUT and verifying re-read (issue 4), so each counts 3 in Minimum
	traffic
	Logged      int // API calls in the state file's rate-limit log at the end (slots reserved and never used included)
	ByPath      map[string]int
	Limits      []int // per window, the limit syncd may use (after the share)
	MaxAuth     int
	Wall        time.Duration
	Floor       time.Duration // for Calls under Windows (effective limits)
	MarginFloor time.Duration // the same with the limiter's margin added to every window
	Stopped     bool          // the run was stopped when it had to wait for a long window
}

func (r limitsResult) Used() int { return r.Calls + r.AuthCalls }

// CallRatio is calls used ÷ the minimum the work needs.
func (r limitsResult) CallRatio() float64 { return ratio(float64(r.Used()), float64(r.Minimum)) }

// WallRatio is wall time ÷ the floor the windows impose on the calls made.
func (r limitsResult) WallRatio() float64 {
	return ratio(r.Wall.Seconds(), r.Floor.Seconds())
}

// WindowsKept reports whether no window ever held more calls than the server allows, nor more
// than syncd's own share.
func (r limitsResult) WindowsKept() bool {
	for i, n := range r.MaxInWindow {
		if n > r.Limits[i] {
			return false
		}
	}
	return true
}

// runLimits backfills the whole seeded range once and measures it. When stopWhenQuiet is
// positive the run is stopped (SIGTERM) once no Bnovo call has arrived for that long: the
// budget of a long window is spent and syncd waits for it.
func runLimits(ctx context.Context, run runner, spec rigSpec, stopWhenQuiet time.Duration) (limitsResult, error) {
	res := limitsResult{Runner: run.Name(), Share: spec.Share, Stays: "recent"}
	if spec.EndDaysAgo > 30 {
		res.Stays = "old"
	}
	r, err := newRig(spec)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Windows, res.Limits = r.windows, r.limits
	res.Work = r.backfillWork()
	res.Minimum = res.Work.Minimum(1)

	args := runArgs{Backfill: true}
	if stopWhenQuiet > 0 {
		watchCtx, stop := context.WithCancel(ctx)
		defer stop()
		args.Interrupt = whenQuiet(watchCtx, r, stopWhenQuiet)
	}
	out, err := run.Run(ctx, r, args)
	if err != nil {
		return res, err
	}
	res.traffic = r.traffic()
	st := r.bn.Stats()
	res.ByPath, res.GuestWrites, res.MaxAuth = st.ByPath, st.GuestWrites, st.MaxAuthInWindow
	// A write-back is read, change one line, write, re-read to verify (issue 4: staff may have
	// edited the notes in between): three calls the work needs per guest written.
	res.Minimum += writeBackCalls * st.GuestWrites
	res.Wall, res.Stopped = out.Wall, out.Interrupted
	if res.Logged, err = r.loggedCalls(); err != nil {
		return res, err
	}
	res.Floor = floorTime(res.Calls, r.windows, res.Share)
	res.MarginFloor = floorWithMargin(res.Calls, r.windows, res.Share, limiterMargin)
	return res, nil
}

// whenQuiet delivers SIGTERM once the simulator has received no call for quiet, after at least
// one call.
func whenQuiet(ctx context.Context, r *rig, quiet time.Duration) <-chan syscall.Signal {
	ch := make(chan syscall.Signal, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		last, lastChange := 0, time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			st := r.bn.Stats()
			n := st.Calls + st.AuthCalls
			if n != last {
				last, lastChange = n, time.Now()
				continue
			}
			if n > 0 && time.Since(lastChange) >= quiet {
				ch <- syscall.SIGTERM
				return
			}
		}
	}()
	return ch
}

func windowsText(ws []ratelimit.Window) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return strings.Join(parts, ",")
}

// windowCells renders "max/limit" per window, e.g. "6/6 30/30".
func (r limitsResult) windowCells() string {
	parts := make([]string, len(r.MaxInWindow))
	for i, n := range r.MaxInWindow {
		parts[i] = fmt.Sprintf("%d/%d", n, r.Limits[i])
		if r.Limits[i] != r.Windows[i].Limit {
			parts[i] += fmt.Sprintf(" (of %d)", r.Windows[i].Limit)
		}
	}
	return strings.Join(parts, " ")
}

// limitsTable prints scenario 1: one row per run.
func limitsTable(results []limitsResult) *table {
	t := &table{
		title:  "limits: backfill under scaled windows (targets: calls/min <= 1.05, wall/floor <= 1.15, 0 429s, no window over)",
		header: []string{"windows", "share", "stays", "N", "earning", "pages", "writes", "min", "used", "used/min", "logged/sent", "429s", "max-in-window/limit", "wall", "floor", "wall/floor", "floor+margin", "verdict"},
	}
	for _, r := range results {
		verdict := passFail(r.TooMany == 0 && r.WindowsKept() && (r.Stopped || r.CallRatio() <= 1.05 && r.WallRatio() <= 1.15))
		wallRatio := fmt.Sprintf("%.3f", r.WallRatio())
		if r.Stopped {
			wallRatio = "(stopped)"
		}
		callRatio := fmt.Sprintf("%.3f", r.CallRatio())
		if r.Stopped {
			callRatio = "(stopped)"
		}
		t.add(windowsText(r.Windows), r.Share, r.Stays, r.Work.Bookings, r.Work.Earning, r.Work.Pages, r.GuestWrites, r.Minimum, r.Used(),
			callRatio, fmt.Sprintf("%d/%d", r.Logged, r.Calls), r.TooMany, r.windowCells(), r.Wall, r.Floor, wallRatio, r.MarginFloor, verdict)
	}
	for _, r := range results {
		t.note("%s, share %v via %s: calls by route: %s; logins %d (max %d in the login window)",
			windowsText(r.Windows), r.Share, r.Runner, byPath(r.ByPath), r.AuthCalls, r.MaxAuth)
		if r.Stopped {
			i := longest(r.Windows)
			t.note("  stopped once syncd had to wait for the %s window: it spent %d calls there, its share %d of %d; the rest of the work waits for the window to free (the target ratios do not apply to a stopped run)",
				r.Windows[i], r.MaxInWindow[i], r.Limits[i], r.Windows[i].Limit)
		}
	}
	t.note("logged/sent: API calls in the state file's rate-limit log after the run (what the next start counts) / API calls the simulator received; more logged than sent is budget reserved ahead and never given back")
	t.note("floor+margin: the same schedule with the limiter's %v margin on every window, what syncd aims at; wall - floor+margin is start-up, login and the last page's ProBonus work", limiterMargin)
	t.note("min = listing pages (50 a page) + one payments call per earning booking + 1 login + 3 per guest written back (read, PUT, verifying re-read; stays within the 30-day lookback); floor = fastest schedule of the calls made under the windows from empty (no margin); wall includes start-up and the last page's ProBonus work")
	return t
}
