package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hotelsync/syncd/state"
)

// localDensity is bookings departing per day in the local runs, so that a bigger history is
// a longer one, not a busier hotel: the work of a steady cycle should not change with it.
const localDensity = 27

// localSpec is the rig of the local runs: windows that never throttle (the measure is syncd's
// own cost, limiter bookkeeping included), zero latency, a history of n bookings at
// localDensity a day ending yesterday.
func localSpec(n int, seed int64) rigSpec {
	return rigSpec{Windows: []string{"50000/1s"}, AuthWindow: "1000/1m", Bookings: n, Days: max(1, n/localDensity),
		Seed: seed, BnovoClockLag: 3 * time.Minute}
}

type cycleCost struct {
	Wall       time.Duration
	Calls      int // Bnovo API calls
	LedgerCall int // ProBonus calls
	Mallocs    uint64
	ByPath     map[string]int // Bnovo calls by route
	Breakdown  string         // in process: where the wall time went
}

// pathDelta is after - before, per route, leaving out routes not called in between.
func pathDelta(before, after map[string]int) map[string]int {
	d := make(map[string]int)
	for k, v := range after {
		if v-before[k] != 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

type localResult struct {
	Mode      string // in-process or child
	N         int
	Days      int
	Wall      time.Duration
	CPU       time.Duration // of the backfill: in process, the whole process's (simulators included); child, syncd's alone
	Calls     int
	Minimum   int // Bnovo calls the backfill needs at the least (see limits)
	Ledger    int
	Mallocs   uint64  // whole process (in process: simulators included)
	SimShare  float64 // share of the allocations made by the simulators (sampled), in process
	PeakRSS   int64
	PeakAnon  int64  // child: the most anonymous memory seen (RSS less the mapped state file and binary)
	StateSize int64  // file size
	StateUsed int64  // pages in use
	Breakdown string // in process: where the backfill's wall time went
	FirstCyc  cycleCost
	Steady    cycleCost
}

func (r localResult) BookingsPerSec() float64 { return float64(r.N) / r.Wall.Seconds() }

// RoundTrips is how many HTTP exchanges the backfill made per booking, both APIs.
func (r localResult) RoundTrips() float64 { return float64(r.Calls+r.Ledger) / float64(r.N) }

// runLocalInProcess backfills n bookings through the whole pipeline in this process with
// zero-latency simulators, then runs two cycles: the first after the backfill, and a steady one
// with nothing changed.
func runLocalInProcess(ctx context.Context, n int, seed int64) (localResult, error) {
	res := localResult{Mode: "in-process", N: n, Days: localSpec(n, seed).Days}
	r, err := newRig(localSpec(n, seed))
	if err != nil {
		return res, err
	}
	defer r.Close()
	cfg, logs, err := r.inProcessStart()
	if err != nil {
		return res, err
	}
	defer logs.Close()

	pipelineWatch = newStopwatch()
	defer func() { pipelineWatch = nil }()
	count0, total0 := pipelineWatch.snapshot()
	profBefore := allocProfile()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	start := time.Now()
	p, err := openPipeline(cfg, logs)
	if err != nil {
		return res, err
	}
	defer p.Close()
	if _, err := p.Engine.Backfill(ctx, r.from, r.to); err != nil {
		return res, fmt.Errorf("backfill: %w", err)
	}
	res.Wall = time.Since(start)
	res.CPU = processCPU() - cpu0
	res.Breakdown = pipelineWatch.breakdown(count0, total0, res.Wall)
	if err := writeHeapProfile(n); err != nil {
		return res, err
	}
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	res.Mallocs = ms1.Mallocs - ms0.Mallocs
	res.SimShare = simulatorShare(profBefore, allocProfile())
	res.Minimum = minimumCalls(r)
	res.Calls = r.bn.Stats().Calls + r.bn.Stats().AuthCalls
	res.Ledger = r.pb.Stats().Calls

	cycle := func() (cycleCost, error) {
		var c cycleCost
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		bn0, pb0, paths0 := r.bn.Stats().Calls, r.pb.Stats().Calls, r.bn.Stats().ByPath
		count0, total0 := pipelineWatch.snapshot()
		t0 := time.Now()
		if _, err := p.Engine.Cycle(ctx); err != nil {
			return c, fmt.Errorf("cycle: %w", err)
		}
		c.Wall = time.Since(t0)
		c.Breakdown = pipelineWatch.breakdown(count0, total0, c.Wall)
		runtime.ReadMemStats(&m1)
		c.Mallocs = m1.Mallocs - m0.Mallocs
		c.Calls, c.LedgerCall = r.bn.Stats().Calls-bn0, r.pb.Stats().Calls-pb0
		c.ByPath = pathDelta(paths0, r.bn.Stats().ByPath)
		return c, nil
	}
	if res.FirstCyc, err = cycle(); err != nil {
		return res, err
	}
	if res.Steady, err = cycle(); err != nil {
		return res, err
	}
	if res.StateUsed, err = p.DB.UsedBytes(); err != nil {
		return res, err
	}
	if res.StateSize, err = p.DB.Size(); err != nil {
		return res, err
	}
	res.PeakRSS = peakRSS()
	return res, nil
}

// runLocalChild does the same with the real syncd binary, whose peak RSS is then syncd's alone.
func runLocalChild(ctx context.Context, bin string, n int, seed int64) (localResult, error) {
	res := localResult{Mode: "syncd child", N: n, Days: localSpec(n, seed).Days}
	r, err := newRig(localSpec(n, seed))
	if err != nil {
		return res, err
	}
	defer r.Close()
	run := child{bin: bin}
	out, err := run.Run(ctx, r, runArgs{Backfill: true})
	if err != nil {
		return res, err
	}
	res.Wall, res.CPU, res.PeakRSS, res.PeakAnon = out.Wall, out.CPU, out.MaxRSS, out.MaxAnon
	res.Minimum = minimumCalls(r)
	res.Calls = r.bn.Stats().Calls + r.bn.Stats().AuthCalls
	res.Ledger = r.pb.Stats().Calls
	for _, c := range []*cycleCost{&res.FirstCyc, &res.Steady} {
		bn0, pb0, paths0 := r.bn.Stats().Calls, r.pb.Stats().Calls, r.bn.Stats().ByPath
		out, err := run.Run(ctx, r, runArgs{})
		if err != nil {
			return res, err
		}
		c.Wall, c.Calls, c.LedgerCall = out.Wall, r.bn.Stats().Calls-bn0, r.pb.Stats().Calls-pb0
		c.ByPath = pathDelta(paths0, r.bn.Stats().ByPath)
		res.PeakRSS, res.PeakAnon = max(res.PeakRSS, out.MaxRSS), max(res.PeakAnon, out.MaxAnon)
	}
	db, err := state.Open(r.statePath, state.Options{})
	if err != nil {
		return res, err
	}
	res.StateUsed, err = db.UsedBytes()
	if err == nil {
		res.StateSize, err = db.Size()
	}
	return res, errors.Join(err, db.Close())
}

// heapProfile, when set, names the file each in-process backfill's heap profile is written to.
var heapProfile string

func writeHeapProfile(n int) error {
	if heapProfile == "" {
		return nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", heapProfile, n))
	if err != nil {
		return err
	}
	runtime.GC()
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}

// minimumCalls is what the backfill just run needed at the least: pages, payments of earning
// bookings, one login and three calls per guest written back.
func minimumCalls(r *rig) int {
	return r.backfillWork().Minimum(1) + writeBackCalls*r.bn.Stats().GuestWrites
}

// localTable reports the local runs, then what bounds them: the same API work with nothing of
// syncd around it (apiOnly, see runAPIOnly) and the bare loopback HTTP round trips per second
// (ceiling, see loopbackCeiling).
func localTable(results []localResult, apiOnly []apiOnlyResult, ceiling float64) *table {
	t := &table{
		title: "local: whole pipeline, zero-latency simulators, unthrottled (targets: >= 5000 bookings/s, RSS <= 64 MiB at 100k, state <= 1 KiB/booking)",
		header: []string{"mode", "N", "days", "backfill wall", "bookings/s", "CPU/booking (bookings per CPU-s)", "bnovo calls (min)", "probonus calls", "allocs/booking",
			"peak RSS", "state B/booking (file)", "cycle after backfill", "steady cycle", "verdict"},
	}
	for _, r := range results {
		allocs := "-"
		if r.Mallocs > 0 {
			perBooking := float64(r.Mallocs) / float64(r.N)
			allocs = fmt.Sprintf("%.0f (syncd ~%.0f)", perBooking, perBooking*(1-r.SimShare))
		}
		perBooking := float64(r.StateUsed) / float64(r.N)
		verdict := passFail(r.BookingsPerSec() >= 5000 && perBooking <= 1024 && (r.N < 100000 || r.PeakRSS <= 64<<20))
		rss := mib(r.PeakRSS)
		if r.PeakAnon > 0 {
			rss += fmt.Sprintf(" (anon %s)", mib(r.PeakAnon))
		}
		cpu := "-"
		if r.CPU > 0 {
			perBooking := r.CPU / time.Duration(r.N)
			cpu = fmt.Sprintf("%s (%.0f)", fmtDur(perBooking), float64(r.N)/r.CPU.Seconds())
		}
		t.add(r.Mode, r.N, r.Days, r.Wall, fmt.Sprintf("%.0f", r.BookingsPerSec()), cpu, fmt.Sprintf("%d (%d)", r.Calls, r.Minimum), r.Ledger, allocs, rss,
			fmt.Sprintf("%.0f (%.0f)", perBooking, float64(r.StateSize)/float64(r.N)),
			cycleText(r.FirstCyc), cycleText(r.Steady), verdict)
	}
	t.note("CPU/booking: user + system time of the backfill / N; in process the whole process's (both simulators and their HTTP servers included), syncd child syncd's own; in brackets the bookings one CPU-second covers")
	for _, a := range apiOnly {
		t.note("the API work alone, N=%d (the same calls as syncd's backfill: listing, payments, account find/create/operations, deposit, write-back, through syncd's clients, %d bookings at once; no limiter, state file or engine): %.0f bookings/s, %.2f round trips and %s of this process's CPU a booking, %d calls failed",
			a.N, apiOnlyWorkers, a.BookingsPerSec(), float64(a.Trips)/float64(a.N), fmtDur(a.CPU/time.Duration(a.N)), a.Failed)
		if a.First != "" {
			t.note("  first failure of the API-only run: %s (failed calls are counted, not retried)", a.First)
		}
	}
	for _, r := range results {
		if r.Mode == "in-process" {
			t.note("bare loopback HTTP on this machine after the runs: %.0f round trips/s (%d clients, a handler that only answers 90 bytes of JSON, both ends in one process); at the %.2f round trips a booking of in-process N=%d (Bnovo + ProBonus) that alone caps the pipeline at %.0f bookings/s; 5000 bookings/s needs %.0f round trips/s",
				ceiling, ceilingClients, r.RoundTrips(), r.N, ceiling/r.RoundTrips(), 5000*r.RoundTrips())
			break
		}
	}
	t.note("allocs/booking: runtime Mallocs during the backfill / N; in process the simulators allocate too, 'syncd ~' removes their share as sampled by the heap profiler")
	t.note("peak RSS: in process VmHWM of this whole process (simulators and their data included); child: syncd's own VmHWM, sampled every 20 ms, and its largest RssAnon (the rest is file-backed: the binary and bbolt's mmap of the state file)")
	t.note("in process: Bnovo limiter Reserve %d (-limiter-reserve; more under roomy windows, see pipeline.apiReserve), engine Workers %d (-workers); syncd child: as cmd/syncd wires them", limiterReserve, engineWorkers)
	t.note("the simulated Bnovo's clock lags 3 min, so syncd's own write-backs are past its 2-min update_date trust window at once, as between the daemon's 5-min cycles")
	for _, r := range results {
		if r.Breakdown != "" {
			t.note("%s N=%d backfill wall %s: %s", r.Mode, r.N, fmtDur(r.Wall), r.Breakdown)
		}
	}
	for _, r := range results {
		t.note("%s N=%d: cycle after backfill: %s; steady cycle: %s", r.Mode, r.N, byPath(r.FirstCyc.ByPath), byPath(r.Steady.ByPath))
		if r.Steady.Breakdown != "" {
			t.note("  steady cycle wall %s: %s", fmtDur(r.Steady.Wall), r.Steady.Breakdown)
		}
	}
	t.note("state B/booking: bbolt pages in use / N (file size / N in brackets); cycles: wall, Bnovo calls, ProBonus calls")
	return t
}

func cycleText(c cycleCost) string {
	return fmt.Sprintf("%s, %d bn, %d pb", fmtDur(c.Wall), c.Calls, c.LedgerCall)
}

// allocProfile returns the cumulative allocation profile, current to the last GC.
func allocProfile() []runtime.MemProfileRecord {
	// The profile lags up to two collections behind: force them so it covers the run.
	runtime.GC()
	runtime.GC()
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs := make([]runtime.MemProfileRecord, n+50)
		got, ok := runtime.MemProfile(recs, true)
		if ok {
			return recs[:got]
		}
		n = got
	}
}

// simulatorShare estimates, from two allocation profiles, which share of the objects allocated in
// between were allocated by the simulators' side (their handlers and net/http's server).
func simulatorShare(before, after []runtime.MemProfileRecord) float64 {
	type counts struct{ objects, bytes int64 }
	key := func(r runtime.MemProfileRecord) [32]uintptr { return r.Stack0 }
	base := make(map[[32]uintptr]counts, len(before))
	for _, r := range before {
		base[key(r)] = counts{r.AllocObjects, r.AllocBytes}
	}
	rate := float64(runtime.MemProfileRate)
	var sim, all float64
	for _, r := range after {
		b := base[key(r)]
		objects, bytes := r.AllocObjects-b.objects, r.AllocBytes-b.bytes
		if objects <= 0 || bytes <= 0 {
			continue
		}
		// Samples are taken per byte allocated: scale back to objects as pprof does.
		avg := float64(bytes) / float64(objects)
		est := float64(objects)
		if rate > 1 {
			est /= 1 - math.Exp(-avg/rate)
		}
		all += est
		if isSimulatorStack(r.Stack()) {
			sim += est
		}
	}
	return ratio(sim, all)
}

var simulatorFrames = []string{
	"github.com/hotelsync/syncd/bnovo/bnovotest.",
	"github.com/hotelsync/syncd/probonus/probonustest.",
	"net/http.(*conn).",
	"net/http.(*Server).",
	"net/http.serverHandler.",
	"net/http.(*response).",
	"net/http.(*chunkWriter).",
	"net/http/httptest.",
}

func isSimulatorStack(stack []uintptr) bool {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		for _, prefix := range simulatorFrames {
			if strings.HasPrefix(f.Function, prefix) {
				return true
			}
		}
		if !more {
			return false
		}
	}
}
