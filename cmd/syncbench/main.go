// Command syncbench measures syncd against the simulators: how close it sits to Bnovo's rate
// limits without crossing them, how few calls it spends, how it survives restarts and long
// backfills, and what the pipeline costs locally (issue 3).
//
//	go run ./cmd/syncbench                      # every scenario at small sizes (< 2 min)
//	go run ./cmd/syncbench -limits -n 200       # one scenario, bigger
//	go run ./cmd/syncbench -local -big          # local pipeline at 10k and 100k bookings
//
// By default syncd runs as the real binary (built from this module) in a child process, so the
// pipeline is wired exactly as cmd/syncd wires it; -inproc runs it in this process instead.
// The local scenario runs in process too (for allocation counts), and as a child unless -inproc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	limits, restarts, long, local, big bool
	day, oneShots, dayLoop             bool
	inproc                             bool
	syncdBin                           string
	seed                               int64
	n                                  int
	windows                            string
	repeat                             int
	cpuProfile                         string
	localSizes                         string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("syncbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.limits, "limits", false, "scenario 1: a backfill under scaled windows, and one with budget_share on a 1h window")
	fs.BoolVar(&o.restarts, "restarts", false, "scenario 2: five restarts of syncd -once in quick succession under a small budget")
	fs.BoolVar(&o.long, "longbackfill", false, "scenario 3: a backfill needing ~3 budget windows, stopped at random and started again")
	fs.BoolVar(&o.local, "local", false, "scenario 4: the local pipeline's cost at 10k bookings (and 100k with -big)")
	fs.BoolVar(&o.day, "day", false, "scenario 5: a steady day of a 100-room hotel (simulated clock, cycles every 5 min), Bnovo calls split by kind")
	fs.BoolVar(&o.oneShots, "oneshots", false, "scenario 6: five syncd -once runs, each SIGTERMed after 5 s, under 30/10s + 60/24h at budget_share 0.8 (issue 13)")
	fs.BoolVar(&o.dayLoop, "day-loop", false, "scenario 7: the steady day with the loyalty loop on (arrivals' lines, redemption of 5 bonus payments)")
	fs.BoolVar(&o.big, "big", false, "with -local: also 100k bookings")
	fs.BoolVar(&o.inproc, "inproc", false, "run syncd in this process instead of the real binary in a child process")
	fs.StringVar(&o.syncdBin, "syncd", "", "syncd binary to run (default: build ./cmd/syncd of this module)")
	fs.Int64Var(&o.seed, "seed", 2026, "seed of the simulated hotel and of the random stops")
	fs.IntVar(&o.n, "n", 80, "bookings in the -limits backfill")
	fs.StringVar(&o.windows, "windows", "6/1s,30/10s", "bnovo.rate_limits of the -limits backfill (the simulator enforces the same)")
	fs.IntVar(&o.repeat, "repeat", 1, "repeat each measurement this many times and report each (take the median)")
	fs.StringVar(&o.localSizes, "local-n", "", "with -local: comma-separated booking counts (default 10000 with -local, 2000 when every scenario runs; -big adds 100000)")
	fs.IntVar(&limiterReserve, "limiter-reserve", limiterReserve, "in-process pipeline only: ratelimit Options.Reserve of the Bnovo limiter")
	fs.IntVar(&engineWorkers, "workers", engineWorkers, "in-process pipeline only: sync Options.Workers (bookings of a page planned and sent at once)")
	fs.BoolVar(&keepRigs, "keep", false, "keep each scenario's directory (config, state file, syncd's JSON log)")
	fs.StringVar(&heapProfile, "memprofile", "", "with -local: write a heap profile at the end of each in-process backfill to this file (N appended)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.n < 1 || o.repeat < 1 {
		return o, errors.New("-n and -repeat must be at least 1")
	}
	if !o.limits && !o.restarts && !o.long && !o.local && !o.day && !o.oneShots && !o.dayLoop {
		o.limits, o.restarts, o.long, o.local, o.day, o.dayLoop = true, true, true, true, true, true
		if o.localSizes == "" {
			// With the simulators as they are, 10 000 bookings take minutes (see the report).
			o.localSizes = "2000"
		}
	}
	if o.localSizes == "" {
		o.localSizes = "10000"
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "syncbench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "syncbench: load average %s at start\n\n", loadAverage())

	var bin string
	runner := runner(inProcess{})
	if !o.inproc {
		bin = o.syncdBin
		if bin == "" {
			dir, err := os.MkdirTemp("", "syncbench-bin-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if bin, err = buildSyncd(dir); err != nil {
				fmt.Fprintf(stderr, "syncbench: cannot build syncd (%v); running in process\n", err)
			}
		}
	}
	if bin != "" {
		runner = child{bin: bin}
	}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 0x5eed))

	for range o.repeat {
		if o.limits {
			if err := scenarioLimits(ctx, stdout, runner, o); err != nil {
				return fmt.Errorf("limits: %w", err)
			}
		}
		if o.restarts {
			res, err := runRestarts(ctx, runner, restartsSpec(o.seed), 5, 4*time.Second, rng)
			if err != nil {
				return fmt.Errorf("restarts: %w", err)
			}
			restartsTable(res).print(stdout)
		}
		if o.long {
			res, err := runLongBackfill(ctx, runner, longSpec(o.seed), 4, [2]time.Duration{2 * time.Second, 8 * time.Second}, rng)
			if err != nil {
				return fmt.Errorf("longbackfill: %w", err)
			}
			for _, t := range longTable(res) {
				t.print(stdout)
			}
		}
		if o.oneShots {
			spec := oneShotsSpec(o.seed)
			res, err := runOneShots(ctx, runner, spec, 5, 5*time.Second)
			if err != nil {
				return fmt.Errorf("oneshots: %w", err)
			}
			oneShotsTable(res, spec).print(stdout)
		}
		if o.day {
			if err := scenarioDay(ctx, stdout, o); err != nil {
				return fmt.Errorf("day: %w", err)
			}
		}
		if o.dayLoop {
			if err := scenarioDayLoop(ctx, stdout, o); err != nil {
				return fmt.Errorf("day-loop: %w", err)
			}
		}
		if o.local {
			if err := scenarioLocal(ctx, stdout, bin, o); err != nil {
				return fmt.Errorf("local: %w", err)
			}
		}
	}
	fmt.Fprintf(stdout, "syncbench: load average %s at the end\n", loadAverage())
	return nil
}

// Scenario sizes: small enough that all of them finish in under two minutes on two cores.

func limitsSpecs(o options) []rigSpec {
	windows := strings.Split(o.windows, ",")
	return []rigSpec{
		// Stays that checked out before the lookback window: a backfill of history, which
		// writes no guest notes back.
		{Windows: windows, Share: 1, Bookings: o.n, Seed: o.seed, EndDaysAgo: 31},
		// Recent stays: each credited guest also gets its loyalty line written back.
		{Windows: windows, Share: 1, Bookings: max(1, o.n/5), Seed: o.seed},
		// budget_share applies to windows of an hour or more only: 25/1h at 0.8 lets syncd
		// spend 20 calls an hour; the work needs more, so syncd must stop at 20 and wait.
		{Windows: []string{"6/1s", "25/1h"}, Share: 0.8, Bookings: 40, Seed: o.seed, EndDaysAgo: 31},
	}
}

func restartsSpec(seed int64) rigSpec {
	// 20/1m plays a small daily budget; a cycle over the 30-day lookback needs ~150 calls.
	return rigSpec{Windows: []string{"6/1s", "30/10s", "20/1m"}, Share: 1, Bookings: 150, Days: 30, Seed: seed}
}

func longSpec(seed int64) rigSpec {
	// 40/12s plays the daily window; ~125 calls are about three "days" of budget. Pages of 10
	// (not the API's 50) give the progress trail one line per 10 bookings.
	// Old stays: no write-back, so the calls are the backfill's own.
	return rigSpec{Windows: []string{"10/1s", "40/12s"}, Share: 1, Bookings: 125, Seed: seed, PageSize: 10, LedgerDelay: time.Millisecond, EndDaysAgo: 31}
}

func scenarioLimits(ctx context.Context, stdout io.Writer, run runner, o options) error {
	var results []limitsResult
	for _, spec := range limitsSpecs(o) {
		quiet := time.Duration(0)
		if spec.Share < 1 {
			quiet = 3 * time.Second // longer than any sub-hour window plus the limiter's margin
		}
		res, err := runLimits(ctx, run, spec, quiet)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	limitsTable(results).print(stdout)
	return nil
}

func scenarioLocal(ctx context.Context, stdout io.Writer, bin string, o options) error {
	var sizes []int
	for _, text := range strings.Split(o.localSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil || n < 1 {
			return fmt.Errorf("-local-n: %q is not a positive count", text)
		}
		sizes = append(sizes, n)
	}
	if o.big && !slices.Contains(sizes, 100_000) {
		sizes = append(sizes, 100_000)
	}
	var results []localResult
	for _, n := range sizes {
		res, err := runLocalInProcess(ctx, n, o.seed)
		if err != nil {
			return err
		}
		results = append(results, res)
		if bin != "" {
			res, err := runLocalChild(ctx, bin, n, o.seed)
			if err != nil {
				return err
			}
			results = append(results, res)
		}
	}
	var apiOnly []apiOnlyResult
	for _, n := range sizes {
		res, err := runAPIOnly(ctx, n, o.seed)
		if err != nil {
			return fmt.Errorf("API-only run of %d bookings: %w", n, err)
		}
		apiOnly = append(apiOnly, res)
	}
	ceiling, err := loopbackCeiling(ctx, 2*time.Second)
	if err != nil {
		return err
	}
	localTable(results, apiOnly, ceiling).print(stdout)
	return nil
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}
