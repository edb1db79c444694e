package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"syscall"
	"time"
)

// The five-restart storm of issue 13: syncd -once started by a timer and stopped by systemd
// after a few seconds, five times, under a small daily budget. Every answer paid for must be
// kept, the day's share never crossed, and once it is spent a run must say so and exit by
// itself instead of sleeping until tomorrow.

func oneShotsSpec(seed int64) rigSpec {
	// 60/24h at budget_share 0.8 is a 48-call day; 100 stays of the last 20 days (each credited
	// one is worth a guest line) need far more.
	return rigSpec{Windows: []string{"30/10s", "60/24h"}, Share: 0.8, Bookings: 100, Days: 20, Seed: seed}
}

// oneShotRun is one start of the storm.
type oneShotRun struct {
	Lived           time.Duration
	Calls           int
	StoppedByItself bool   // exited before its SIGTERM
	Resumes         string // the "budget: ... resumes ..." line it logged, if any
}

type oneShotsResult struct {
	Runs       []oneShotRun
	Credited   int // bookings with a deposit in ProBonus
	WriteBacks int
	traffic
	Limits []int
}

var resumesRE = regexp.MustCompile(`budget: [^"]* share spent \(\d+/\d+\), resumes [0-9: -]+`)

// runOneShots starts syncd -once starts times, each SIGTERMed after lifetime unless it exits
// first, one after the other.
func runOneShots(ctx context.Context, run runner, spec rigSpec, starts int, lifetime time.Duration) (oneShotsResult, error) {
	var res oneShotsResult
	r, err := newRig(spec)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Limits = r.limits
	for i := range starts {
		logged := logSize(r.logPath)
		before := r.bn.Stats().Calls
		runCtx, cancel := context.WithCancel(ctx)
		out, err := run.Run(runCtx, r, runArgs{Interrupt: interruptAfter(runCtx, lifetime, syscall.SIGTERM)})
		cancel()
		if err != nil {
			return res, fmt.Errorf("start %d: %w", i+1, err)
		}
		s := oneShotRun{Lived: out.Wall, Calls: r.bn.Stats().Calls - before, StoppedByItself: !out.Interrupted}
		if text, err := readFrom(r.logPath, logged); err == nil {
			s.Resumes = resumesRE.FindString(text)
		}
		res.Runs = append(res.Runs, s)
	}
	res.traffic = r.traffic()
	res.WriteBacks = r.bn.Stats().GuestWrites
	credited := map[string]bool{}
	for _, op := range r.pb.AllOperations() {
		if m := markerOf.FindStringSubmatch(op.Reason); m != nil {
			credited[m[1]] = true
		}
	}
	res.Credited = len(credited)
	return res, nil
}

var markerOf = regexp.MustCompile(`bnovo:(\d+)#\d+`)

func logSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func readFrom(path string, offset int64) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) < offset {
		return "", err
	}
	return string(data[offset:]), nil
}

func oneShotsTable(res oneShotsResult, spec rigSpec) *table {
	t := &table{
		title:  fmt.Sprintf("one-shots: 5 starts of syncd -once, each SIGTERMed after 5 s, under %v at budget_share %v (goal: >= 15 bookings credited, 30 with write-back deferred)", spec.Windows, spec.Share),
		header: []string{"start", "lived", "calls", "exited by itself", "resumes line"},
	}
	for i, run := range res.Runs {
		t.add(i+1, run.Lived, run.Calls, run.StoppedByItself, run.Resumes)
	}
	day := len(res.Limits) - 1
	t.note("%d bookings credited, %d guest lines written, with %d API calls + %d logins; the day's window held at most %d calls, share %d -> %s; 429s: %d",
		res.Credited, res.WriteBacks, res.Calls, res.AuthCalls, res.MaxInWindow[day], res.Limits[day], passFail(res.MaxInWindow[day] <= res.Limits[day] && res.TooMany == 0), res.TooMany)
	return t
}
