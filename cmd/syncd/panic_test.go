package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	syncer "github.com/hotelsync/syncd/sync"
)

// panicOncePMS panics in its first listing, on the goroutine that runs the cycle.
type panicOncePMS struct {
	syncer.PMS
	listings atomic.Int32
}

func (p *panicOncePMS) ListBookings(ctx context.Context, q bnovo.ListQuery, offset int, fn func(bnovo.Page) error) error {
	if p.listings.Add(1) == 1 {
		panic("PMS fake: first listing")
	}
	return p.PMS.ListBookings(ctx, q, offset, fn)
}

// A cycle that panics is logged and counted as failed and leaves the engine free: the next
// cycle, run through the daemon's own cron chain, still runs and credits the stays.
func TestPanickingCycleLeavesTheEngineFree(t *testing.T) {
	r := newSimRig(t, rigOptions{bookings: 5})
	cfg, _, err := config.Load(r.cfgPath, r.getenv)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := zerolog.New(zerolog.SyncWriter(&logs))
	a, err := openApp(cfg, log, false, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.engine, err = syncer.New(syncer.Options{
		PMS: &panicOncePMS{PMS: a.pipe.PMS}, Ledger: a.pipe.Ledger, DB: a.db, Location: cfg.Location,
		Rules: a.engine.Rules(), AccountGroupID: 1, CreateAccounts: true, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonState{app: a, cycles: make(chan string, 1)}
	cl := cronLogger{log}
	job := cron.NewChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)).Then(cron.FuncJob(func() { d.cycle(context.Background()) }))

	status := func() string {
		select {
		case line := <-d.cycles:
			return line
		case <-time.After(20 * time.Second):
			t.Fatal("no STATUS line: the cycle did not finish")
			return ""
		}
	}
	job.Run()
	if line := status(); !strings.Contains(line, "FAILED") || !strings.Contains(line, "panic") {
		t.Errorf("STATUS after the panicking cycle: %q", line)
	}
	done := make(chan struct{})
	go func() { job.Run(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the cycle after a panicking one never ran: the engine stayed locked")
	}
	if line := status(); !strings.Contains(line, " ok: ") {
		t.Errorf("STATUS after the next cycle: %q", line)
	}
	if len(r.pb.AllOperations()) == 0 {
		t.Error("the cycle after the panic credited nothing")
	}
	if d.panics.Load() != 1 || !strings.Contains(logs.String(), `"panics_since_start":1`) || !strings.Contains(logs.String(), "panicOncePMS") {
		t.Errorf("the panic was not logged with its stack and counted:\n%s", logs.String())
	}
}
