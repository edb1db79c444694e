package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// The limits property of issue 3, on the real pipeline (in process, against the simulators):
// a backfill under scaled windows gets no 429, never puts more calls in a window than allowed,
// and spends no more than 5 % above the calls its work needs; restarts in quick succession
// never spend a small budget twice.

func TestBackfillStaysWithinWindowsAndSpendsTheMinimum(t *testing.T) {
	skipLongRun(t)
	tests := []struct {
		name string
		spec rigSpec
		stop time.Duration // stop once no call came for this long (the share case)
	}{
		{"two short windows", rigSpec{Windows: []string{"8/1s", "20/3s"}, Share: 1, Bookings: 40, Seed: 7, EndDaysAgo: 31}, 0},
		{"share of an hourly window", rigSpec{Windows: []string{"8/1s", "15/1h"}, Share: 0.8, Bookings: 30, Seed: 8, EndDaysAgo: 31}, 2 * time.Second},
	}
	for _, tc := range tests {
		// Not parallel: logging.New sets zerolog's process-wide settings, once per pipeline.
		t.Run(tc.name, func(t *testing.T) {
			res, err := runLimits(t.Context(), inProcess{}, tc.spec, tc.stop)
			if err != nil {
				t.Fatal(err)
			}
			if res.TooMany != 0 {
				t.Errorf("the simulator answered %d calls with 429", res.TooMany)
			}
			for i, w := range res.Windows {
				limit := ratelimit.EffectiveLimit(w, tc.spec.Share)
				if res.MaxInWindow[i] > limit {
					t.Errorf("window %s held %d calls, syncd may use %d", w, res.MaxInWindow[i], limit)
				}
			}
			if tc.stop > 0 {
				// The work needs more than the hourly share: syncd must have stopped exactly there.
				i := longest(res.Windows)
				if want := ratelimit.EffectiveLimit(res.Windows[i], tc.spec.Share); res.MaxInWindow[i] != want || !res.Stopped {
					t.Errorf("hourly window held %d calls (stopped %v), want syncd to use its whole share %d and wait", res.MaxInWindow[i], res.Stopped, want)
				}
				return
			}
			if res.Minimum < res.Work.Earning || res.Work.Earning == 0 {
				t.Fatalf("minimum %d for %d earning bookings: the rig computed nothing", res.Minimum, res.Work.Earning)
			}
			if r := res.CallRatio(); r > 1.05 {
				t.Errorf("used %d Bnovo calls for a minimum of %d (%.3f), want <= 1.05; by route: %s", res.Used(), res.Minimum, r, byPath(res.ByPath))
			}
		})
	}
}

func TestRestartsNeverSpendTheBudgetTwice(t *testing.T) {
	skipLongRun(t)
	spec := rigSpec{Windows: []string{"8/1s", "12/1m"}, Share: 1, Bookings: 60, Seed: 9}
	res, err := runRestarts(t.Context(), inProcess{}, spec, 5, 2*time.Second, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	budget, i := res.Budget()
	if res.Span >= budget.Per {
		t.Fatalf("the restarts took %v, longer than the %s window they must share", res.Span, budget)
	}
	if res.MaxInWindow[i] > res.Limits[i] {
		t.Errorf("%d calls in the %s window over %d restarts, limit %d", res.MaxInWindow[i], budget, len(res.Runs), res.Limits[i])
	}
	if res.TooMany != 0 {
		t.Errorf("the simulator answered %d calls with 429", res.TooMany)
	}
	// The budget must actually have been the limit, or the test shows nothing.
	if res.Calls < res.Limits[i] {
		t.Errorf("only %d calls made: the restarts never reached the %d-call budget", res.Calls, res.Limits[i])
	}
	if res.AuthCalls != 1 {
		t.Errorf("%d logins over the restarts, want 1 (the token is kept in the state file)", res.AuthCalls)
	}
}

func TestFloorTime(t *testing.T) {
	w := func(s string) ratelimit.Window {
		x, err := ratelimit.ParseWindow(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		calls   int
		windows []ratelimit.Window
		share   float64
		want    time.Duration
	}{
		{1, []ratelimit.Window{w("6/1s")}, 1, 0},
		{6, []ratelimit.Window{w("6/1s")}, 1, 0},
		{7, []ratelimit.Window{w("6/1s")}, 1, time.Second},
		// 30/10s binds after the first 30: calls 31..36 at 10 s.
		{31, []ratelimit.Window{w("6/1s"), w("30/10s")}, 1, 10 * time.Second},
		{60, []ratelimit.Window{w("6/1s"), w("30/10s")}, 1, 14 * time.Second},
		// The share cuts 10/1h to 8: the 9th call waits an hour.
		{9, []ratelimit.Window{w("10/1h")}, 0.8, time.Hour},
	}
	for _, tc := range tests {
		if got := floorTime(tc.calls, tc.windows, tc.share); got != tc.want {
			t.Errorf("floorTime(%d, %v, %v) = %v, want %v", tc.calls, tc.windows, tc.share, got, tc.want)
		}
	}
}

func TestFloorWithMarginIsTheLimiterSchedule(t *testing.T) {
	windows := []ratelimit.Window{{Limit: 6, Per: time.Second}, {Limit: 30, Per: 10 * time.Second}, {Limit: 50, Per: time.Hour}}
	// 30 calls at 6 per 1.25 s (t = 0 .. 5 s); the 31st when the first leaves 10.25 s later.
	if got, want := floorWithMargin(31, windows, 1, limiterMargin), 10250*time.Millisecond; got != want {
		t.Errorf("floorWithMargin(31) = %v, want %v", got, want)
	}
	// And it is the schedule the limiter itself plans, whatever the count and the share.
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, share := range []float64{1, 0.8} {
		l, err := ratelimit.New(windows, ratelimit.Options{Share: share, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 7, 30, 31, 59, 61, 120} {
			if got, want := floorWithMargin(n, windows, share, limiterMargin), l.ETA(n).Sub(now); got != want {
				t.Errorf("share %v: floorWithMargin(%d) = %v, the limiter's ETA +%v", share, n, got, want)
			}
		}
	}
}

// The figures the local report divides by must be real readings: the loopback ceiling counts
// round trips that were answered, and the process's CPU time grows with work done.
func TestLoopbackCeilingAndCPUAreMeasured(t *testing.T) {
	cpu0 := processCPU()
	rate, err := loopbackCeiling(t.Context(), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rate < 100 {
		t.Errorf("loopback ceiling %.0f round trips/s; even a loaded machine makes thousands", rate)
	}
	if used := processCPU() - cpu0; used <= 0 {
		t.Errorf("process CPU grew by %v over 200ms of HTTP round trips", used)
	}
}

// The API-only run makes the calls a backfill needs, and none fails: a failure would make it
// look cheaper than the work it stands for.
func TestAPIOnlyRunMakesTheBackfillsCalls(t *testing.T) {
	res, err := runAPIOnly(t.Context(), 300, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		t.Errorf("%d calls failed", res.Failed)
	}
	// Each earning booking costs a payments read and a deposit at least, most an account too,
	// and these stays are all recent, so each is written back (four calls more); at the most
	// two lookups, a creation or an operations read on top.
	if perBooking := float64(res.Trips) / float64(res.N); perBooking < 6 || perBooking > 10 {
		t.Errorf("%.2f round trips a booking, want 6..10", perBooking)
	}
	if res.Wall <= 0 || res.CPU <= 0 {
		t.Errorf("wall %v, CPU %v: not measured", res.Wall, res.CPU)
	}
}

// skipLongRun skips, under -short, a test that runs syncd against the simulator's real windows
// for seconds: the edit-test loop stays fast, and the full run (.ci/run) keeps it.
func skipLongRun(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs for seconds against real rate-limit windows")
	}
}

// Issue 13's timer scenario on the real binary: five -once runs SIGTERMed after 5 s under a
// 48-call day credit at least 30 stays (guest lines owed), never pass the day's share or get a
// 429, log in once, and the runs after the share is spent exit by themselves, saying when the
// budget comes back.
func TestOneShotsCreditWithinTheDaysShare(t *testing.T) {
	skipLongRun(t)
	bin, err := buildSyncd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := oneShotsSpec(2026)
	res, err := runOneShots(t.Context(), child{bin: bin}, spec, 5, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	day := len(res.Limits) - 1
	if res.Credited < 30 {
		t.Errorf("%d bookings credited with the day's %d calls, want at least 30", res.Credited, res.Limits[day])
	}
	if res.MaxInWindow[day] > res.Limits[day] || res.TooMany != 0 || res.AuthCalls != 1 {
		t.Errorf("day's window held %d calls (share %d), %d 429s, %d logins; want within the share, none, one", res.MaxInWindow[day], res.Limits[day], res.TooMany, res.AuthCalls)
	}
	for _, i := range []int{3, 4} {
		run := res.Runs[i]
		if !run.StoppedByItself || run.Lived > 5*time.Second || run.Resumes == "" {
			t.Errorf("run %d: lived %v, exited by itself %v, resumes line %q; want a prompt exit saying when the budget returns", i+1, run.Lived, run.StoppedByItself, run.Resumes)
		}
	}
}

// Issue 13's steady day: a 100-room hotel costs at most 1 000 Bnovo calls a day, and no money
// change is posted later than one cycle after a cycle listing everything would have posted it.
func TestSteadyDayWithinTheGoal(t *testing.T) {
	skipLongRun(t)
	res, err := runDay(t.Context(), defaultDaySpec(2026))
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls > 1000 || res.Failed > 0 {
		t.Errorf("the day cost %d Bnovo calls (%v), %d cycles failed; want at most 1 000 and none", res.Calls, res.ByKind, res.Failed)
	}
	worst := 0
	for _, l := range res.Lag {
		worst = max(worst, l)
	}
	if worst > 1 || res.Missed > 0 || len(res.Lag) == 0 {
		t.Errorf("money events: %d posted, %d missed, worst %d cycles late; want none missed, at most 1 late", len(res.Lag), res.Missed, worst)
	}
}
