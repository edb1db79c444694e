package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/metrics"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
	"github.com/hotelsync/syncd/webhook"
)

// startMetrics serves /metrics and /healthz on listen until ctx ends; the returned channel
// closes once the server has stopped. An empty listen means metrics are off (the channel is
// already closed). Anything but a loopback address is refused: the endpoint has no
// authentication and tells the hotel's business volume to whoever can reach it.
func startMetrics(ctx context.Context, listen string, reg *metrics.Registry, healthy func() error, log zerolog.Logger) (done <-chan struct{}, err error) {
	stopped := make(chan struct{})
	if listen == "" {
		close(stopped)
		return stopped, nil
	}
	if err := checkLoopback(listen); err != nil {
		return nil, usageError("metrics.listen: %v", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %s: %w", listen, err)
	}
	// "localhost" is resolved by the system; make sure it did resolve to loopback.
	if addr, ok := ln.Addr().(*net.TCPAddr); !ok || !addr.IP.IsLoopback() {
		ln.Close()
		return nil, usageError("metrics.listen: %s resolved to %s, which is not a loopback address", listen, ln.Addr())
	}
	log = log.With().Str("component", "metrics").Logger()
	srv := &http.Server{
		Handler:           metrics.Handler(reg, healthy),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          stdlog.New(log, "", 0),
	}
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics listener stopped; syncd goes on without it")
		}
	}()
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-serveDone:
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		<-serveDone
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics and /healthz")
	return stopped, nil
}

// checkLoopback accepts host:port whose host is "localhost" or a loopback IP; an empty host
// would listen on every interface.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", listen, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address like 127.0.0.1:9464: metrics are not for the network", listen)
}

// daemonMetrics is the daemon's metrics: nil when metrics.listen is empty, and every method is a
// no-op on nil, so call sites need no checks.
type daemonMetrics struct {
	reg    *metrics.Registry
	syncd  *metrics.Syncd
	health *metrics.Health
}

// newDaemonMetrics builds the registry, syncd's metrics and the /healthz tracker, or returns nil
// when metrics are off.
func newDaemonMetrics(cfg config.Config) (*daemonMetrics, error) {
	if cfg.Metrics.Listen == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	m, err := metrics.NewSyncd(reg)
	if err != nil {
		return nil, err
	}
	threshold, err := healthThreshold(cfg.Schedule, cfg.Location)
	if err != nil {
		return nil, err
	}
	return &daemonMetrics{reg: reg, syncd: m, health: metrics.NewHealth(threshold)}, nil
}

// healthThreshold is how old the last successful cycle may be before /healthz fails: two
// schedule intervals (one cycle may fail or be skipped without alarm) plus five minutes for a
// long cycle, e.g. 15 minutes for */5. The interval is measured at each check, so schedules with
// uneven gaps ("0 9,18 * * *") get the gap that applies now.
func healthThreshold(schedule string, loc *time.Location) (func() time.Duration, error) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, usageError("schedule: %v", err)
	}
	if loc == nil {
		loc = time.UTC
	}
	return func() time.Duration {
		next := sched.Next(time.Now().In(loc))
		interval := sched.Next(next).Sub(next)
		return 2*interval + 5*time.Minute
	}, nil
}

// httpClient is the client to give the API client named api ("bnovo", "probonus"): it times and
// classifies every request. nil when metrics are off, which the API clients read as "build
// your own".
func (d *daemonMetrics) httpClient(api string) *http.Client {
	if d == nil {
		return nil
	}
	return d.syncd.HTTPClient(api)
}

// watch makes every scrape read the Bnovo budget left and the parked records and shortfalls
// from the running app, so those gauges are current between cycles too.
func (d *daemonMetrics) watch(a *app) {
	if d == nil {
		return
	}
	d.reg.OnCollect(func() {
		for _, u := range a.limits.API.Usage() {
			d.syncd.SetBudget(u.Window.String(), u.Limit, u.Used)
		}
		_ = a.db.View(func(tx *state.Tx) error {
			c := tx.Counts()
			d.syncd.SetBacklog(c.Parked, c.Shortfalls)
			d.syncd.SetRedemptionShortfalls(c.RedeemShortfalls)
			return nil
		})
	})
}

// watchWebhook exposes the webhook receiver's counts of deliveries and ids on /metrics.
func (d *daemonMetrics) watchWebhook(srv *webhook.Server) error {
	if d == nil {
		return nil
	}
	if err := d.reg.Register(metrics.WebhookCollector(srv.Stats)); err != nil {
		return fmt.Errorf("registering the webhook metrics: %w", err)
	}
	return nil
}

// posted adds what a run (a queue drain, a backfill page) posted.
func (d *daemonMetrics) posted(sum syncer.Summary) {
	if d == nil {
		return
	}
	d.syncd.Posted(sum.Deposits, sum.Withdrawals, sum.Credited, sum.Withdrawn)
	d.syncd.Redeemed(sum.Redemptions, sum.RedemptionReturns, sum.RedemptionShortfalls)
}

// cycleDone records a finished cycle: its result, what it posted, and its end for /healthz.
func (d *daemonMetrics) cycleDone(sum syncer.Summary, err error) {
	if d == nil {
		return
	}
	// What a cycle cut short by shutdown did post was posted; only its result is no result.
	d.posted(sum)
	if errors.Is(err, context.Canceled) {
		return
	}
	d.syncd.CycleDone(err)
	d.health.CycleDone(time.Now(), err)
}

// serve starts the listener configured in metrics.listen (see startMetrics); when metrics are
// off it returns an already closed channel. /healthz fails with degraded's error while it has
// one (an API unreachable), else when cycles stopped succeeding.
func (d *daemonMetrics) serve(ctx context.Context, listen string, degraded func() error, log zerolog.Logger) (<-chan struct{}, error) {
	if d == nil {
		return startMetrics(ctx, "", nil, nil, log)
	}
	return startMetrics(ctx, listen, d.reg, func() error {
		if err := degraded(); err != nil {
			return err
		}
		return d.health.Check()
	}, log)
}
