package ratelimit

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const testMargin = 250 * time.Millisecond

// checkWindows fails the test if any sliding window (with the margin) of the admit times holds
// more calls than the window's effective limit.
func checkWindows(t *testing.T, admits []time.Time, windows []Window, share float64) {
	t.Helper()
	sorted := slices.SortedFunc(slices.Values(admits), compareTime)
	for _, w := range windows {
		limit := EffectiveLimit(w, share)
		oldest := 0
		for newest, at := range sorted {
			for !sorted[oldest].After(at.Add(-w.Per - testMargin)) {
				oldest++
			}
			if n := newest - oldest + 1; n > limit {
				t.Fatalf("window %s: %d calls in (%v, %v], limit %d", w, n,
					at.Add(-w.Per-testMargin).Format(time.StampMilli), at.Format(time.StampMilli), limit)
			}
		}
	}
}

func mustNew(t *testing.T, windows []Window, opt Options) *Limiter {
	t.Helper()
	l, err := New(windows, opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

func mustWait(t *testing.T, l *Limiter) time.Time {
	t.Helper()
	if err := l.Wait(t.Context()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return time.Now()
}

// concurrentCalls runs goroutines callers of calls calls each on l, caller i pausing gap(i, j)
// (nil: no pause) after its call j, and returns every admit time.
func concurrentCalls(t *testing.T, l *Limiter, callers, calls int, gap func(i, j int) time.Duration) []time.Time {
	t.Helper()
	var (
		mu     sync.Mutex
		admits []time.Time
		wg     sync.WaitGroup
	)
	for i := range callers {
		wg.Go(func() {
			for j := range calls {
				if err := l.Wait(t.Context()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				admits = append(admits, time.Now())
				mu.Unlock()
				if gap != nil {
					time.Sleep(gap(i, j))
				}
			}
		})
	}
	wg.Wait()
	return admits
}

func TestNewRejectsBadOptions(t *testing.T) {
	one := []Window{{1, time.Second}}
	tests := []struct {
		name    string
		windows []Window
		opt     Options
	}{
		{"no windows", nil, Options{}},
		{"zero limit", []Window{{0, time.Second}}, Options{}},
		{"zero per", []Window{{1, 0}}, Options{}},
		{"share above one", one, Options{Share: 1.5}},
		{"negative share", one, Options{Share: -0.5}},
		{"NaN share", one, Options{Share: math.NaN()}},
		{"negative margin", one, Options{Margin: -time.Second}},
		{"negative reserve", one, Options{Reserve: -1}},
		{"negative hold", one, Options{ReserveHold: -time.Second}},
		{"store load fails", one, Options{Store: failingStore{}}},
	}
	for _, tc := range tests {
		if _, err := New(tc.windows, tc.opt); err == nil {
			t.Errorf("%s: New accepted", tc.name)
		}
	}
}

// TestTwoWindowsExactSchedule checks both safety and that the limiter is not over-cautious: with
// 3/1s and 5/10s from empty, calls come in pairs of bursts exactly when the oldest call leaves.
func TestTwoWindowsExactSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{3, time.Second}, {5, 10 * time.Second}}
		l := mustNew(t, windows, Options{})
		start := time.Now()
		eta := l.ETA(20)

		var admits []time.Time
		for range 20 {
			admits = append(admits, mustWait(t, l))
		}
		checkWindows(t, admits, windows, 1)

		// 3 at 0 s, 2 at 1.25 s (the 5/10s window is then full), 3 at 10.25 s, 2 at 11.5 s, ...
		want := []time.Duration{0, 0, 0, 1250, 1250, 10250, 10250, 10250, 11500, 11500}
		for i, at := range admits[:10] {
			if got := at.Sub(start); got != want[i]*time.Millisecond {
				t.Errorf("call %d admitted at +%v, want +%v", i+1, got, want[i]*time.Millisecond)
			}
		}
		last := admits[len(admits)-1].Sub(start)
		if last != 32*time.Second {
			t.Errorf("call 20 admitted at +%v, want +32s", last)
		}
		if eta.Sub(start) != last {
			t.Errorf("ETA(20) = +%v, actual +%v", eta.Sub(start), last)
		}
	})
}

func TestShareOfLongWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{10, time.Hour}}
		l := mustNew(t, windows, Options{Share: 0.8})
		start := time.Now()
		for i := range 8 {
			if at := mustWait(t, l); !at.Equal(start) {
				t.Fatalf("call %d waited %v, want none", i+1, at.Sub(start))
			}
		}
		if u := l.Usage(); len(u) != 1 || u[0].Limit != 8 || u[0].Used != 8 || u[0].Window != windows[0] {
			t.Errorf("Usage = %+v, want limit 8 used 8", u)
		}
		if r := l.Remaining(); r != 0 {
			t.Errorf("Remaining = %d, want 0", r)
		}
		if w := l.Reserve(); w != time.Hour+testMargin {
			t.Errorf("Reserve = %v, want 1h0.25s", w)
		}
		if at := mustWait(t, l); at.Sub(start) != time.Hour+testMargin {
			t.Errorf("call 9 admitted at +%v, want +1h0.25s", at.Sub(start))
		}
	})
}

func TestPersistedLogSurvivesRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{2, time.Second}, {10, 24 * time.Hour}}
		store := &MemStore{}
		var admits []time.Time
		for restart := range 6 {
			l := mustNew(t, windows, Options{Store: store, Share: 0.5}) // 5 a day
			if restart > 0 {
				if u := l.Usage(); u[1].Used != len(admits) {
					t.Errorf("restart %d: daily window used %d after load, want %d", restart, u[1].Used, len(admits))
				}
			}
			// Each run tries to make 3 calls within a minute, then "crashes".
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			for range 3 {
				if err := l.Wait(ctx); err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("restart %d: Wait: %v", restart, err)
					}
					break
				}
				admits = append(admits, time.Now())
			}
			cancel()
			time.Sleep(time.Minute)
		}
		if len(admits) != 5 {
			t.Errorf("admitted %d calls over the restarts, want the daily 5", len(admits))
		}
		checkWindows(t, admits, windows, 0.5)
		if got := store.Calls(); len(got) != len(admits) {
			t.Errorf("store holds %d calls, want %d", len(got), len(admits))
		}

		// A day after the first call the budget is back.
		time.Sleep(time.Until(admits[0].Add(24*time.Hour + testMargin)))
		l := mustNew(t, windows, Options{Store: store, Share: 0.5})
		if w := l.Reserve(); w != 0 {
			t.Errorf("a day later Reserve = %v, want 0", w)
		}
	})
}

func TestLoadedFutureEntriesCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Slots reserved ahead before a crash are stored in the future and must count at once.
		store := &MemStore{}
		now := time.Now()
		if err := store.RecordCalls(now.Add(-5*time.Hour), now, now.Add(time.Second), now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		l := mustNew(t, []Window{{3, time.Minute}}, Options{Store: store})
		if u := l.Usage(); u[0].Used != 3 {
			t.Errorf("Used = %d, want 3", u[0].Used)
		}
		if w := l.Reserve(); w != time.Minute+testMargin {
			t.Errorf("Reserve = %v, want 1m0.25s", w)
		}
	})
}

func TestWaitCancelReturnsPromptlyAndSpendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemStore{}
		l := mustNew(t, []Window{{1, time.Hour}}, Options{Store: store})
		mustWait(t, l)

		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- l.Wait(ctx) }()
		time.Sleep(3 * time.Second)
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Wait after cancel = %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("Wait returned %v after start, want 3s", waited)
		}

		// An already-ended context spends nothing even when there is room.
		time.Sleep(2 * time.Hour)
		if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with ended ctx = %v", err)
		}
		if n := len(store.Calls()); n != 1 {
			t.Errorf("store holds %d calls, want 1", n)
		}
	})
}

func TestConcurrentWaitersNeverExceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{3, time.Second}, {5, 10 * time.Second}, {12, time.Hour}}
		l := mustNew(t, windows, Options{Store: &MemStore{}, Share: 0.9})
		admits := concurrentCalls(t, l, 20, 3, nil)
		if len(admits) != 60 {
			t.Fatalf("admitted %d calls, want 60", len(admits))
		}
		checkWindows(t, admits, windows, 0.9)
	})
}

func TestBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, []Window{{10, time.Second}}, Options{})
		start := time.Now()
		l.Block(start.Add(5 * time.Second))
		l.Block(start.Add(time.Second)) // a shorter block does not shorten the first
		if r := l.Remaining(); r != 0 {
			t.Errorf("Remaining while blocked = %d, want 0", r)
		}
		if w := l.Reserve(); w != 5*time.Second {
			t.Errorf("Reserve while blocked = %v, want 5s", w)
		}
		if at := mustWait(t, l); at.Sub(start) != 5*time.Second {
			t.Errorf("Wait returned at +%v, want +5s", at.Sub(start))
		}
		if r := l.Remaining(); r != 9 {
			t.Errorf("Remaining after the block = %d, want 9", r)
		}
	})
}

func TestETA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, []Window{{10, time.Second}}, Options{})
		start := time.Now()
		if got := l.ETA(0); !got.Equal(start) {
			t.Errorf("ETA(0) = +%v, want now", got.Sub(start))
		}
		if got := l.ETA(10); !got.Equal(start) {
			t.Errorf("ETA(10) = +%v, want now", got.Sub(start))
		}
		// 10 now, 10 at 1.25 s, 5 at 2.5 s.
		eta := l.ETA(25)
		if got := eta.Sub(start); got != 2*(time.Second+testMargin) {
			t.Errorf("ETA(25) = +%v, want +2.5s", got)
		}
		var last time.Time
		for range 25 {
			last = mustWait(t, l)
		}
		if !last.Equal(eta) {
			t.Errorf("25th call at +%v, ETA said +%v", last.Sub(start), eta.Sub(start))
		}
		// Daily-bound: 10 000/24h at 0.8 from a log already holding 7 999 calls.
		store := &MemStore{}
		for range 7999 {
			if err := store.RecordCalls(time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		daily := mustNew(t, []Window{{30, 10 * time.Second}, {10000, 24 * time.Hour}}, Options{Store: store, Share: 0.8})
		if got := daily.ETA(1); !got.Equal(time.Now()) {
			t.Errorf("daily ETA(1) = +%v, want now", time.Until(got))
		}
		if got := time.Until(daily.ETA(2)); got != 23*time.Hour+testMargin {
			t.Errorf("daily ETA(2) = +%v, want +23h0.25s", got)
		}
	})
}

// naiveETA is ETA's definition, one call at a time: the next call is admitted when, in every
// window, the limit-th latest call (past or planned) has left it.
func naiveETA(calls []time.Time, windows []Window, limits []int, margin time.Duration, now time.Time, n int) time.Time {
	all := slices.Clone(calls)
	at := now
	for range n {
		for i, w := range windows {
			if len(all) >= limits[i] {
				if free := all[len(all)-limits[i]].Add(w.Per + margin); free.After(at) {
					at = free
				}
			}
		}
		all = append(all, at)
	}
	return at
}

func TestETAMatchesCallByCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for trial := range 300 {
		var windows []Window
		for range 1 + rng.IntN(3) {
			windows = append(windows, Window{Limit: 1 + rng.IntN(40), Per: time.Duration(1+rng.IntN(5000)) * time.Millisecond})
		}
		store := &MemStore{}
		for range rng.IntN(120) {
			// Some calls share an instant, as a batch of reserved slots does.
			at := now.Add(-time.Duration(rng.IntN(6000)) * time.Millisecond)
			if err := store.RecordCalls(at, at); err != nil {
				t.Fatal(err)
			}
		}
		l := mustNew(t, windows, Options{Store: store, Now: func() time.Time { return now }})
		n := 1 + rng.IntN(300)
		want := naiveETA(l.calls, windows, l.limits, l.margin, now, n)
		if got := l.ETA(n); !got.Equal(want) {
			t.Fatalf("trial %d: windows %v, %d calls logged, ETA(%d) = %v, call by call %v", trial, windows, len(l.calls), n, got.Sub(now), want.Sub(now))
		}
	}
}

func TestETAIsCheapForRoomyWindows(t *testing.T) {
	l := mustNew(t, []Window{{50000, time.Second}, {1_000_000, 24 * time.Hour}}, Options{})
	var eta time.Time
	allocs := testing.AllocsPerRun(10, func() { eta = l.ETA(200_000) })
	if allocs > 20 {
		t.Errorf("ETA(200000) made %.0f allocations, want a handful", allocs)
	}
	if got := time.Until(eta); got < 3*time.Second || got > 5*time.Second {
		t.Errorf("ETA(200000) at 50000/1s = +%v, want about +4s", got)
	}
}

func TestReserveBatchingCutsWrites(t *testing.T) {
	roomy := []Window{{100, time.Second}, {1000, time.Hour}}
	tight := []Window{{10, time.Second}, {30, 10 * time.Second}}
	run := func(t *testing.T, windows []Window, reserve int, gap time.Duration, calls int) *MemStore {
		store := &MemStore{}
		l := mustNew(t, windows, Options{Store: store, Reserve: reserve})
		var admits []time.Time
		for range calls {
			admits = append(admits, mustWait(t, l))
			time.Sleep(gap) // the request itself
		}
		checkWindows(t, admits, windows, 1)
		return store
	}
	synctest.Test(t, func(t *testing.T) {
		store := run(t, roomy, 1, 100*time.Millisecond, 60)
		if store.Writes() != 60 || len(store.Calls()) != 60 {
			t.Errorf("Reserve 1: %d writes of %d calls, want 60 of 60", store.Writes(), len(store.Calls()))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Batches of 1, 2, 4, then 5: about a quarter of the writes.
		store := run(t, roomy, 5, 100*time.Millisecond, 60)
		if w := store.Writes(); w > 16 {
			t.Errorf("Reserve 5, fast caller: %d writes for 60 calls, want at most 16", w)
		}
		// Unused reserved slots are spent, but a fast caller wastes few.
		if n := len(store.Calls()); n < 60 || n > 64 {
			t.Errorf("Reserve 5, fast caller: %d calls stored, want 60..64", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// When the windows are the bottleneck, slots free one at a time and batching helps
		// little, but it must stay safe.
		store := run(t, tight, 5, 100*time.Millisecond, 60)
		if w := store.Writes(); w >= 60 {
			t.Errorf("Reserve 5, throttled caller: %d writes for 60 calls, want fewer", w)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Short bursts: the batch grows only as fast as slots get used, so each burst's end
		// wastes at most one slot instead of Reserve-1.
		store := &MemStore{}
		l := mustNew(t, roomy, Options{Store: store, Reserve: 5})
		for range 5 {
			mustWait(t, l)
			time.Sleep(100 * time.Millisecond)
			mustWait(t, l)
			time.Sleep(5 * time.Second)
		}
		if n := len(store.Calls()); n > 15 {
			t.Errorf("Reserve 5, bursts of 2: %d calls stored for 10 made, want at most 15", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// A caller slower than the hold gets no slots ahead, so wastes none.
		store := run(t, roomy, 5, 3*time.Second, 10)
		if store.Writes() != 10 || len(store.Calls()) != 10 {
			t.Errorf("Reserve 5, slow caller: %d writes of %d calls, want 10 of 10", store.Writes(), len(store.Calls()))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Concurrent callers share reserved slots and still never exceed.
		store := &MemStore{}
		l := mustNew(t, tight, Options{Store: store, Reserve: 4})
		admits := concurrentCalls(t, l, 8, 10, func(int, int) time.Duration { return 50 * time.Millisecond })
		checkWindows(t, admits, tight, 1)
		if store.Writes() >= 80 {
			t.Errorf("Reserve 4, 8 callers: %d writes for 80 calls, want fewer", store.Writes())
		}
	})
}

func TestExpiredReservedSlotIsNotUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{3, time.Second}}
		store := &MemStore{}
		l := mustNew(t, windows, Options{Store: store, Reserve: 3})
		admits := []time.Time{mustWait(t, l)}
		time.Sleep(100 * time.Millisecond)
		admits = append(admits, mustWait(t, l)) // fast: reserves one slot ahead, held for 1s
		if n := len(store.Calls()); n != 3 {
			t.Fatalf("store holds %d calls, want 2 made + 1 reserved", n)
		}
		// The reserved slot's hold ends while the caller is away; by then the log no longer
		// counts it, so using it would send a call nobody counted.
		time.Sleep(3 * time.Second)
		for range 4 {
			admits = append(admits, mustWait(t, l))
			time.Sleep(10 * time.Millisecond)
		}
		checkWindows(t, admits, windows, 1)
		if n := len(store.Calls()); n < len(admits)+1 {
			t.Errorf("store holds %d calls for %d made, want the expired slot counted extra", n, len(admits))
		}
	})
}

func TestRecordFailureIsReportedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyStore{fail: true}
		l := mustNew(t, []Window{{2, time.Minute}}, Options{Store: store})
		err := l.Wait(t.Context())
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("Wait = %v, want the store's error", err)
		}
		// The failed call may have reached the disk or the wire: it stays counted.
		if u := l.Usage(); u[0].Used != 1 {
			t.Errorf("Used after failed record = %d, want 1", u[0].Used)
		}
		store.fail = false
		mustWait(t, l)
		if w := l.Reserve(); w != time.Minute+testMargin {
			t.Errorf("Reserve = %v, want 1m0.25s", w)
		}
	})
}

func TestStoreIsPruned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemStore{}
		l := mustNew(t, []Window{{100, time.Minute}}, Options{Store: store})
		for range 5 {
			mustWait(t, l)
		}
		time.Sleep(time.Hour)
		mustWait(t, l)
		if n := len(store.Calls()); n != 1 {
			t.Errorf("store holds %d calls an hour later, want the 1 still counted", n)
		}
	})
}

// A fast caller must not leave minutes of expired entries in the store between the periodic
// prunes: the state file would grow with the backfill's size.
func TestStoreIsPrunedByGrowthToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemStore{}
		l := mustNew(t, []Window{{500, time.Second}}, Options{Store: store})
		for range 20 * storePruneMin {
			mustWait(t, l)
		}
		// 20 000 calls in about a minute, well inside storePruneEvery.
		if n := len(store.Calls()); n > 2*storePruneMin+500 {
			t.Errorf("store holds %d calls, want at most about %d", n, 2*storePruneMin+500)
		}
	})
}

func TestPair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := mustNew(t, []Window{{30, 10 * time.Second}}, Options{})
		auth := mustNew(t, []Window{{10, time.Minute}}, Options{})
		p := Pair{API: api, Auth: auth}
		for _, isAuth := range []bool{false, false, true} {
			if err := p.Wait(t.Context(), isAuth); err != nil {
				t.Fatal(err)
			}
		}
		if got := api.Usage()[0].Used; got != 2 {
			t.Errorf("API used %d, want 2", got)
		}
		if got := auth.Usage()[0].Used; got != 1 {
			t.Errorf("auth used %d, want 1", got)
		}
		if err := (Pair{API: api}).Wait(t.Context(), true); err == nil {
			t.Error("Pair without an auth limiter admitted a login")
		}
	})
}

func TestMemStore(t *testing.T) {
	base := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s := &MemStore{}
	if err := s.RecordCalls(base.Add(2*time.Second), base); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordCalls(base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadCalls(base.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Time{base.Add(time.Second), base.Add(2 * time.Second)}; !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("LoadCalls = %v, want %v", got, want)
	}
	if err := s.PruneCalls(base.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := s.Calls(); len(got) != 1 || !got[0].Equal(base.Add(2*time.Second)) {
		t.Errorf("after prune: %v", got)
	}
	if s.Writes() != 2 {
		t.Errorf("Writes = %d, want 2", s.Writes())
	}
}

var errDiskFull = errors.New("disk full")

type failingStore struct{}

func (failingStore) LoadCalls(time.Time) ([]time.Time, error) { return nil, errDiskFull }
func (failingStore) RecordCalls(...time.Time) error           { return errDiskFull }
func (failingStore) PruneCalls(time.Time) error               { return errDiskFull }

type flakyStore struct {
	MemStore
	fail bool
}

func (s *flakyStore) RecordCalls(at ...time.Time) error {
	if s.fail {
		return errDiskFull
	}
	return s.MemStore.RecordCalls(at...)
}

// fastRun makes calls calls 100ms apart with Reserve 16 (batches 1, 2, 4, 8, 16: 31 slots for
// 20 calls, so 11 are still reserved at the end) and returns their admit times.
func fastRun(t *testing.T, l *Limiter, calls int) []time.Time {
	t.Helper()
	var admits []time.Time
	for range calls {
		admits = append(admits, mustWait(t, l))
		time.Sleep(100 * time.Millisecond)
	}
	return admits
}

// futureCalls counts stored entries after now: slots reserved ahead.
func futureCalls(store *MemStore) int {
	n := 0
	for _, c := range store.Calls() {
		if c.After(time.Now()) {
			n++
		}
	}
	return n
}

func TestReleaseGivesBackReservedSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{100, time.Minute}, {1000, time.Hour}}
		store := &MemStore{}
		l := mustNew(t, windows, Options{Store: store, Reserve: 16})
		admits := fastRun(t, l, 20)
		if got := len(store.Calls()); got != 31 {
			t.Fatalf("before Release: %d stored, want 31 (20 made + 11 reserved)", got)
		}
		if got := futureCalls(store); got != 15 {
			t.Fatalf("before Release: %d future entries, want the last batch's 15 (4 used)", got)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if got := len(store.Calls()); got != 20 {
			t.Errorf("after Release: %d stored, want the 20 made", got)
		}
		if got := futureCalls(store); got != 0 {
			t.Errorf("after Release: %d future entries, want none", got)
		}
		if u := l.Usage(); u[1].Used != 20 {
			t.Errorf("after Release: hourly window counts %d, want 20", u[1].Used)
		}
		if r := l.Remaining(); r != 80 {
			t.Errorf("after Release: Remaining = %d, want 80", r)
		}

		// Nothing pending: no durable write.
		writes := store.Writes()
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if store.Writes() != writes {
			t.Errorf("a Release with nothing reserved wrote to the store")
		}

		// The next call starts a fresh batch of one.
		admits = append(admits, mustWait(t, l))
		if got := len(store.Calls()); got != 21 {
			t.Errorf("first call after Release: %d stored, want 21 (no slot ahead)", got)
		}
		checkWindows(t, admits, windows, 1)

		// A restart counts only the calls made.
		restarted := mustNew(t, windows, Options{Store: store, Reserve: 16})
		if u := restarted.Usage(); u[1].Used != 21 {
			t.Errorf("after restart: hourly window counts %d, want 21", u[1].Used)
		}
	})
}

// TestReleaseLetsTheNextCallsUseTheBudget: with a tight window, slots reserved and not
// released would make the next run wait for a whole window; released, the calls go at once,
// and the window is still never crossed.
func TestReleaseLetsTheNextCallsUseTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{8, time.Minute}}
		store := &MemStore{}
		l := mustNew(t, windows, Options{Store: store, Reserve: 4})
		// Batches of 1 and 2: 3 slots for 2 calls.
		admits := fastRun(t, l, 2)
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		admits = append(admits, fastRun(t, l, 6)...)
		if took := time.Since(start); took > time.Second {
			t.Errorf("6 calls after Release took %v; the released slot should be free", took)
		}
		if w := l.Reserve(); w <= 0 {
			t.Errorf("window full, yet Reserve = %v", w)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		admits = append(admits, mustWait(t, l)) // waits for the first call to leave
		checkWindows(t, admits, windows, 1)
		if got := len(store.Calls()); got != 9 {
			t.Errorf("%d stored for 9 calls", got)
		}
	})
}

// TestReleaseForgetsExpiredSlotsToo: a batch whose hold ended unused mid-run stops counting
// at once in memory, and Release forgets it in the Store.
func TestReleaseForgetsExpiredSlotsToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemStore{}
		l := mustNew(t, hourly, Options{Store: store, Reserve: 16})
		fastRun(t, l, 5) // batches 1, 2, 4: 2 slots reserved
		time.Sleep(5 * time.Second)
		mustWait(t, l) // the batch expired: slow again, one slot
		wantUsed(t, l, 6)
		if got := len(store.Calls()); got != 8 {
			t.Errorf("after expiry: %d stored, want 8 (the expired stay until Release)", got)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if got := len(store.Calls()); got != 6 {
			t.Errorf("after Release: %d stored, want 6", got)
		}
	})
}

// hourly is a roomy window: only the reservations decide what is counted.
var hourly = []Window{{1000, time.Hour}}

// reservedAhead returns a Limiter on store after 20 fast calls: 31 slots counted, 11 unused.
func reservedAhead(t *testing.T, store Store) *Limiter {
	t.Helper()
	l := mustNew(t, hourly, Options{Store: store, Reserve: 16})
	fastRun(t, l, 20)
	return l
}

func wantUsed(t *testing.T, l *Limiter, want int) {
	t.Helper()
	if u := l.Usage(); u[0].Used != want {
		t.Errorf("Used = %d, want %d", u[0].Used, want)
	}
}

// TestCrashKeepsReservedSlotsCounted: without a Release (a crash) the slots stay counted by
// the next Limiter on the store: the safe side.
func TestCrashKeepsReservedSlotsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemStore{}
		reservedAhead(t, store)
		restarted := mustNew(t, hourly, Options{Store: store, Reserve: 16})
		wantUsed(t, restarted, 31)
		// The new Limiter cannot tell used slots from unused ones: its Release keeps them all
		// counted (logged again at its own time, later than any of their calls).
		if err := restarted.Release(); err != nil {
			t.Fatal(err)
		}
		if got := len(store.Calls()); got != 31 {
			t.Errorf("a fresh Limiter's Release forgot %d entries it did not reserve", 31-got)
		}
		wantUsed(t, restarted, 31)
	})
}

// plainStore is a Store without ForgetCalls.
type plainStore struct{ m MemStore }

func (s *plainStore) LoadCalls(since time.Time) ([]time.Time, error) { return s.m.LoadCalls(since) }
func (s *plainStore) RecordCalls(at ...time.Time) error              { return s.m.RecordCalls(at...) }
func (s *plainStore) PruneCalls(before time.Time) error              { return s.m.PruneCalls(before) }
func (s *plainStore) Calls() []time.Time                             { return s.m.Calls() }

type flakyForgetter struct {
	MemStore
	fail bool
}

func (s *flakyForgetter) ForgetCalls(at time.Time, n int) error {
	if s.fail {
		return errDiskFull
	}
	return s.MemStore.ForgetCalls(at, n)
}

func TestReleaseWithoutForgettingStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A Store that cannot forget: memory gives the slots back, the Store keeps them.
		plain := &plainStore{}
		l := reservedAhead(t, plain)
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		wantUsed(t, l, 20)
		if got := len(plain.Calls()); got != 31 {
			t.Errorf("a Store without ForgetCalls holds %d, want 31", got)
		}

		// A failing forget is reported and retried by the next Release.
		store := &flakyForgetter{fail: true}
		l = reservedAhead(t, store)
		if err := l.Release(); !errors.Is(err, errDiskFull) {
			t.Fatalf("Release = %v, want the store's error", err)
		}
		wantUsed(t, l, 20)
		store.fail = false
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if got := len(store.Calls()); got != 20 {
			t.Errorf("after the retried Release: %d stored, want 20", got)
		}
	})
}

func TestReleaseWithoutStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := reservedAhead(t, nil)
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		wantUsed(t, l, 20)
	})
}

// TestConcurrentReleaseNeverExceeds: callers keep waiting while another goroutine releases
// now and then (a run ending while another part of the daemon still calls): no window is
// crossed, and after the last Release the store holds exactly the calls made.
func TestConcurrentReleaseNeverExceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		windows := []Window{{10, time.Second}, {30, 10 * time.Second}}
		store := &MemStore{}
		l := mustNew(t, windows, Options{Store: store, Reserve: 8})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 40 {
				if err := l.Release(); err != nil {
					t.Error(err)
				}
				time.Sleep(170 * time.Millisecond)
			}
		}()
		admits := concurrentCalls(t, l, 6, 15, func(i, j int) time.Duration {
			return time.Duration(20+(i*7+j*13)%90) * time.Millisecond
		})
		<-done
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		checkWindows(t, admits, windows, 1)
		if got := len(store.Calls()); got != len(admits) {
			t.Errorf("store holds %d entries for %d calls made", got, len(admits))
		}
		if u := l.Usage(); u[1].Used > len(admits) {
			t.Errorf("Used = %d for %d calls made", u[1].Used, len(admits))
		}
	})
}

// TestReservedSlotsDoNotSlowATightSchedule: a slot reserved ahead counts from the call that
// uses it, so batching never makes a fast caller under a tight window wait longer than it
// would unbatched. (Counted from the end of its hold, each reserved slot kept its window full
// for up to a hold longer than its call needed.)
func TestReservedSlotsDoNotSlowATightSchedule(t *testing.T) {
	windows := []Window{{6, time.Second}, {30, 10 * time.Second}}
	schedule := func(reserve int) []time.Duration {
		var at []time.Duration
		synctest.Test(t, func(t *testing.T) {
			l := mustNew(t, windows, Options{Store: &MemStore{}, Reserve: reserve})
			start := time.Now()
			var admits []time.Time
			for range 45 {
				admits = append(admits, mustWait(t, l))
				time.Sleep(time.Millisecond) // the request itself
			}
			checkWindows(t, admits, windows, 1)
			for _, a := range admits {
				at = append(at, a.Sub(start))
			}
		})
		return at
	}
	plain, batched := schedule(1), schedule(16)
	worst, lag := -1, time.Duration(0)
	for i := range plain {
		if d := batched[i] - plain[i]; d > lag {
			worst, lag = i, d
		}
	}
	if worst >= 0 {
		t.Fatalf("call %d: at +%v with Reserve 16, +%v without (%v later); last call +%v vs +%v",
			worst+1, batched[worst], plain[worst], lag, batched[len(batched)-1], plain[len(plain)-1])
	}
}

func TestLeftInShareCountsHourAndDayWindowsOnly(t *testing.T) {
	l, err := New([]Window{{Limit: 30, Per: 10 * time.Second}, {Limit: 60, Per: 24 * time.Hour}}, Options{Share: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.LeftInShare(); got != 43 {
		t.Errorf("LeftInShare = %d after 5 calls of a 48-call day, want 43", got)
	}
	short, err := New([]Window{{Limit: 30, Per: 10 * time.Second}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := short.LeftInShare(); got != math.MaxInt {
		t.Errorf("LeftInShare = %d with no window of an hour or more, want math.MaxInt", got)
	}
}
