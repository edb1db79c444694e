package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
	"github.com/hotelsync/syncd/webhook"
)

// runDaemon runs sync cycles on the schedule until SIGTERM/SIGINT, holding the state lock for
// its whole life. Between cycles it advances pending backfills a page at a time with the budget
// the cycles leave, and syncs the bookings a webhook announced as soon as they are queued. Under
// systemd (Type=notify) it reports READY once the config is valid, the state is open and the
// scheduler runs, a STATUS line after each cycle, and feeds the watchdog while the engine is
// idle, waiting for budget, or committing work (see liveness).
func runDaemon(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	// systemd's reload and log rotation scripts send SIGHUP, whose default action would end the
	// daemon. syncd reads its config and credentials only at start; a restart applies them.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a, err := setup(f, stdout, getenv, true)
	if err != nil {
		return err
	}
	defer a.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &daemonState{
		cancel:       cancel,
		app:          a,
		cycles:       make(chan string, 1),
		backfillKick: make(chan struct{}, 1),
		drainKick:    make(chan struct{}, 1),
	}

	// Listeners first: a port that cannot be bound is a failure before READY, not a surprise
	// found later in the journal.
	controlDone, err := serveControl(ctx, a.cfg.Status.Socket, d.control, a.log)
	if err != nil {
		return err
	}
	a.metrics.watch(a)
	metricsDone, err := a.metrics.serve(ctx, a.cfg.Metrics.Listen, func() error { return d.outages.degraded(a.cfg.Location) }, a.log)
	if err != nil {
		return err
	}
	webhookDone, err := d.serveWebhook(ctx)
	if err != nil {
		return err
	}

	schedule, err := cron.ParseStandard(a.cfg.Schedule)
	if err != nil {
		return usageError("schedule: %v", err)
	}
	c := cron.New(cron.WithLocation(a.cfg.Location), cron.WithLogger(cronLogger{a.log}))
	// SkipIfStillRunning outside, Recover inside. A panic in the engine is already an error by
	// then (withEngine); Recover only guards the few lines around it. The first cycle, at
	// start, goes through the same chain, so a tick that comes while it runs is skipped rather
	// than queued behind it.
	cycle := cron.NewChain(cron.SkipIfStillRunning(cronLogger{a.log}), cron.Recover(cronLogger{a.log})).
		Then(cron.FuncJob(func() { d.cycle(ctx) }))
	entry := scheduleCycles(c, schedule, cycle)
	c.Start()
	// A fresh daemon syncs (and finds a wrong URL or key) at once, not at the first tick.
	var firstCycle gosync.WaitGroup
	firstCycle.Go(cycle.Run)
	var workers gosync.WaitGroup
	workers.Go(func() { d.backfills(ctx) })
	workers.Go(func() { d.drains(ctx) })
	workers.Go(func() {
		watchWallClock(ctx, clockCheckEvery, clockStepThreshold, readClock, func(step time.Duration) {
			a.log.Warn().Str("step", step.Round(time.Second).String()).
				Msg("the wall clock stepped: the next cycle is scheduled from the new time")
			entry.reschedule()
		})
	})
	// Bookings queued before a restart (a webhook received just before it, or passing trouble)
	// need not wait for the first scheduled cycle.
	d.kickDrain()

	a.log.Info().Str("schedule", a.cfg.Schedule).Str("timezone", a.cfg.Location.String()).Msg("syncd started: a cycle now, then on the schedule")
	notify(a.log, daemon.SdNotifyReady, "STATUS=started; first cycle running (then "+a.cfg.Schedule+")")

	watchdog, _ := daemon.SdWatchdogEnabled(false)
	var tick <-chan time.Time
	starving := false
	if watchdog > 0 {
		t := time.NewTicker(watchdog / 2)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			notify(a.log, daemon.SdNotifyStopping, "STATUS=stopping: finishing the operation in flight")
			a.log.Info().Msg("stopping: finishing the operation in flight")
			<-c.Stop().Done()
			firstCycle.Wait()
			workers.Wait()
			<-controlDone
			<-metricsDone
			<-webhookDone
			if err := d.fatal(); err != nil {
				a.log.Error().Err(err).Msg("syncd stopped")
				return err
			}
			a.log.Info().Msg("syncd stopped")
			return nil
		case line := <-d.cycles:
			notify(a.log, "STATUS="+line)
		case <-tick:
			if since, stalled := a.live.stalled(stallGrace(watchdog)); stalled {
				// Not fed: systemd kills the daemon (SIGABRT, every goroutine's stack in the
				// journal) and restarts it; the journal makes that safe.
				if !starving {
					a.log.Error().Str("no_progress_for", since.Round(time.Second).String()).
						Msg("the engine has made no progress for too long: no longer feeding the watchdog, so systemd restarts syncd")
				}
				starving = true
				continue
			}
			starving = false
			notify(a.log, daemon.SdNotifyWatchdog)
		case <-hup:
			a.log.Warn().Msg("SIGHUP ignored: syncd reads its config and credentials only at start; to apply a change, run systemctl restart syncd")
		}
	}
}

// daemonState is what the daemon's goroutines share. The engine is not safe for concurrent
// use: every run (cycle, backfill page, queue drain) holds engine, so a webhook's drain never
// overlaps a scheduled cycle.
type daemonState struct {
	app          *app
	engine       gosync.Mutex  // taken only through withEngine
	panics       atomic.Int64  // runs that ended in a panic, since start
	cycles       chan string   // STATUS lines for the main loop
	backfillKick chan struct{} // a backfill was requested
	drainKick    chan struct{} // a webhook queued bookings
	outages      outages       // APIs the daemon cannot reach, for warnings, /healthz and -status

	cancel  context.CancelFunc // ends the daemon's context
	stopMu  gosync.Mutex
	stopErr error // why the daemon stops on its own (stopWith)
}

// withEngine runs fn holding the engine. A panic in fn (or one an engine worker recovered and
// returned) becomes fn's error, logged with its stack and counted: the engine is released
// whatever happens, so later cycles, drains and shutdown are never stuck behind a lock a
// panicking run kept. what names the run in the log.
func (d *daemonState) withEngine(what string, fn func() error) (err error) {
	d.engine.Lock()
	defer d.engine.Unlock()
	if d.app.live != nil {
		defer d.app.live.run()()
	}
	defer func() {
		if r := recover(); r != nil {
			err = syncer.Recovered(r)
		}
		if errors.Is(err, state.ErrReplaced) {
			d.stopWith(err)
		}
		if pe, ok := errors.AsType[*syncer.PanicError](err); ok {
			n := d.panics.Add(1)
			d.app.log.Error().Str("run", what).Int64("panics_since_start", n).Str("stack", string(pe.Stack)).
				Msgf("%s panicked: %v; it counts as failed, and the next run goes on", what, pe.Value)
		}
	}()
	return fn()
}

// stopWith ends the daemon with err, as SIGTERM would (the operation in flight is finished),
// but exiting 1. Only a state file swapped under the daemon does that: going on would write
// into a file that is gone, beside a syncd that may have opened its replacement.
func (d *daemonState) stopWith(err error) {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	if d.stopErr != nil {
		return
	}
	d.stopErr = fmt.Errorf("%w: stopping, so that two syncds never post for one hotel. "+
		"Start syncd again once the right file is in place: it opens the file now at that path "+
		"and finds in ProBonus, by their markers, whatever was posted meanwhile", err)
	if d.cancel != nil {
		d.cancel()
	}
}

// fatal is why the daemon stopped on its own; nil after SIGTERM/SIGINT.
func (d *daemonState) fatal() error {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	return d.stopErr
}

func (d *daemonState) cycle(ctx context.Context) {
	a := d.app
	start := time.Now()
	var sum syncer.Summary
	err := d.withEngine("cycle", func() (err error) {
		sum, err = a.engine.Cycle(ctx)
		return err
	})
	d.logCycle(sum, time.Since(start), err)
	a.metrics.cycleDone(sum, err)
	at := start.In(a.cfg.Location).Format("15:04")
	line := fmt.Sprintf("last cycle %s ok: %s; budget %s", at, cycleCounts(sum), a.budgetLine())
	if err != nil && ctx.Err() == nil {
		line = fmt.Sprintf("last cycle %s FAILED: %s; budget %s", at, firstLine(err.Error()), a.budgetLine())
	}
	select {
	case d.cycles <- line:
	default:
	}
}

// logCycle writes a cycle's summary line and follows outages: the first cycle that cannot
// reach an API warns with the cause, the next ones stay quiet until a cycle succeeds again.
func (d *daemonState) logCycle(sum syncer.Summary, took time.Duration, err error) {
	a := d.app
	if errors.Is(err, context.Canceled) {
		a.logSummary("cycle", sum, took, err)
		return
	}
	began, ended := d.outages.observe(err, time.Now())
	ue, unreachable := errors.AsType[*syncer.UnreachableError](err)
	if began {
		d.warnOutage(ue)
	}
	a.logRun("cycle", sum, took, err, unreachable && !began)
	for api, lasted := range ended {
		a.log.Info().Str("api", api).Str("outage", lasted.Round(time.Second).String()).Msgf("%s reachable again", api)
	}
}

// runFailed logs a failed queue drain or backfill page. An unreachable API is an outage: warned
// about once (by whichever run meets it first), then noted quietly until a cycle succeeds.
func (d *daemonState) runFailed(err error, msg string) {
	log := d.app.log
	ue, ok := errors.AsType[*syncer.UnreachableError](err)
	if !ok {
		log.Error().Err(err).Msg(msg)
		return
	}
	if began, _ := d.outages.observe(err, time.Now()); began {
		d.warnOutage(ue)
		return
	}
	log.Info().Err(err).Msg(msg + " (same outage)")
}

// warnOutage is the one warning of an outage: which API, why, and what to check.
func (d *daemonState) warnOutage(ue *syncer.UnreachableError) {
	d.app.log.Warn().Str("api", ue.API).Err(ue.Err).
		Msgf("%s is unreachable: check %s and the network; syncd tries again every cycle and says so once it is back", ue.API, ue.Key)
}

// serveWebhook starts the webhook receiver when webhook.listen is set; the returned channel
// closes once it has stopped (at once when it is off). Deliveries are queued in the state file
// by the receiver and wake the drain worker.
func (d *daemonState) serveWebhook(ctx context.Context) (<-chan struct{}, error) {
	a := d.app
	done := make(chan struct{})
	if a.cfg.Webhook.Listen == "" {
		close(done)
		return done, nil
	}
	srv, err := webhook.New(webhook.Options{
		Secret:  a.cfg.Webhook.Secret.Reveal(),
		MaxBody: a.cfg.Webhook.MaxBody,
		DB:      a.db,
		Notify:  d.kickDrain,
		Logger:  a.log,
	})
	if err != nil {
		return nil, usageError("webhook: %v", err)
	}
	if err := a.metrics.watchWebhook(srv); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.cfg.Webhook.Listen)
	if err != nil {
		return nil, fmt.Errorf("webhook.listen: %w", err)
	}
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			a.log.Error().Err(err).Msg("webhook receiver stopped; bookings still sync on the schedule")
		}
	}()
	return done, nil
}

// kickDrain wakes the drain worker; it never blocks, and kicks while a drain runs collapse into
// one more drain.
func (d *daemonState) kickDrain() {
	select {
	case d.drainKick <- struct{}{}:
	default:
	}
}

// drains syncs queued bookings whenever a webhook queued some. Each drain costs one Bnovo call
// per queued booking through the same limiter as everything else, so a flood of deliveries
// waits for the budget instead of crossing it; a booking announced many times is queued (and
// fetched) once.
func (d *daemonState) drains(ctx context.Context) {
	a := d.app
	again := time.NewTimer(time.Hour)
	again.Stop()
	defer again.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.drainKick:
		case <-again.C:
		}
		if queued := queueLen(a.db); queued == 0 {
			continue
		}
		start := time.Now()
		var sum syncer.Summary
		var troubled bool
		err := d.withEngine("queue", func() (err error) {
			sum, err = a.engine.Drain(ctx)
			troubled = a.engine.QueueTroubled()
			return err
		})
		a.metrics.posted(sum)
		if wait, left := d.drainAgainIn(troubled || err != nil); left {
			again.Reset(wait)
		}
		if err != nil && ctx.Err() == nil {
			d.runFailed(err, "syncing queued bookings failed; they stay queued and are tried again shortly")
			continue
		}
		if sum.Seen > 0 || sum.Parked > 0 {
			a.logSummary("queue", sum, time.Since(start), nil)
		}
	}
}

// drainRetryEvery is how soon a drain that left ids queued for another reason than the
// webhooks' share (Bnovo trouble, retries the engine owes) is tried again.
const drainRetryEvery = 30 * time.Second

// drainAgainIn tells whether a drain left ids queued and how long until draining can go on: a
// drain stops when the webhooks' share of the budget is spent, and goes on as soon as it has
// room again, so the queue is worked down to empty without waiting for a webhook or a cycle.
// After trouble, or with only retries the engine owes left, it waits drainRetryEvery instead,
// so a failing API is not asked again at once.
func (d *daemonState) drainAgainIn(troubled bool) (time.Duration, bool) {
	var left, announced int
	_ = d.app.db.View(func(tx *state.Tx) error {
		entries, err := tx.Queued(0)
		for _, q := range entries {
			left++
			if q.Announced {
				announced++
			}
		}
		return err
	})
	switch {
	case left == 0:
		return 0, false
	case troubled || announced == 0:
		return drainRetryEvery, true
	}
	return d.app.pipe.Webhook.Reserve(), true
}

func queueLen(db *state.DB) int {
	n := 0
	_ = db.View(func(tx *state.Tx) error { n = tx.QueueLen(); return nil })
	return n
}

// backfillHeadroom is the Bnovo budget a backfill page leaves untouched for the cycles: it
// starts a page only when this many calls could be sent right now.
const backfillHeadroom = 60

// backfills advances pending backfills one page at a time, each page only when the budget has
// headroom, so the scheduled cycles keep running and keep their share.
func (d *daemonState) backfills(ctx context.Context) {
	a := d.app
	for ctx.Err() == nil {
		pending, err := a.engine.PendingBackfills()
		if err != nil {
			a.log.Error().Err(err).Msg("reading pending backfills")
		}
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-d.backfillKick:
				continue
			}
		}
		r := pending[0]
		if wait := d.headroomWait(); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
				continue
			}
		}
		start := time.Now()
		var sum syncer.Summary
		var done bool
		err = d.withEngine("backfill", func() (err error) {
			sum, done, err = a.engine.BackfillPages(ctx, r[0], r[1], 1)
			return err
		})
		a.metrics.posted(sum)
		if err != nil && ctx.Err() == nil {
			d.runFailed(err, "backfill page failed; retrying in a minute")
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
			}
		}
		if done {
			a.logSummary("backfill "+syncer.BackfillCursor(r[0], r[1]), sum, time.Since(start), err)
		}
	}
}

// headroomWait is how long until the budget can afford a backfill page beside the cycles.
func (d *daemonState) headroomWait() time.Duration {
	api := d.app.limits.API
	if api.Remaining() >= backfillHeadroom {
		return 0
	}
	return max(api.Reserve(), 5*time.Second)
}

// control answers a command of the control socket.
func (d *daemonState) control(cmd string) []string {
	a := d.app
	verb, arg, _ := strings.Cut(cmd, " ")
	switch verb {
	case "status":
		lines, err := statusLines(a.db, a.limits.API, "running", d.outages.health(a.cfg.Location))
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return lines
	case "backfill":
		if a.dryRun {
			// A dry run commits nothing: the request would be neither kept nor run.
			return []string{"error: the running daemon was started with -dry-run and keeps nothing: stop it, then run the backfill again"}
		}
		from, to, err := parseRange(arg, a.cfg.Location)
		if err == nil {
			err = d.withEngine("backfill request", func() error { return a.engine.RequestBackfill(from, to) })
		}
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		select {
		case d.backfillKick <- struct{}{}:
		default:
		}
		a.log.Info().Str("range", arg).Msg("backfill requested over the control socket; it runs between cycles")
		return []string{"backfill " + arg + ": accepted; the running daemon works on it between its cycles (journalctl -u syncd shows its progress)"}
	default:
		return []string{fmt.Sprintf("error: unknown command %q", cmd)}
	}
}

// cycleCounts is what a cycle did, for its STATUS line: bookings, deposits and parked always;
// withdrawals and paying with bonuses (spec §7) when the cycle made any.
func cycleCounts(sum syncer.Summary) string {
	line := fmt.Sprintf("%d bookings, %d credited, %d parked", sum.Seen, sum.Deposits, sum.Parked)
	for _, c := range []struct {
		n    int
		what string
	}{
		{sum.Withdrawals, "withdrawn"},
		{sum.Redemptions, "paid with bonuses"},
		{sum.RedemptionReturns, "given back"},
		{sum.Shortfalls + sum.RedemptionShortfalls, "left short"},
	} {
		if c.n > 0 {
			line += fmt.Sprintf(", %d %s", c.n, c.what)
		}
	}
	return line
}

// budgetLine is the Bnovo budget for STATUS: the windows of an hour or more, which are the
// budget (shorter ones are burst guards), or the longest window when none is that long.
func (a *app) budgetLine() string {
	usage := a.limits.API.Usage()
	var parts []string
	for _, u := range usage {
		if u.Window.Per >= time.Hour {
			parts = append(parts, fmt.Sprintf("%d/%d per %s", u.Used, u.Limit, shortDur(u.Window.Per)))
		}
	}
	if len(parts) == 0 && len(usage) > 0 {
		longest := usage[0]
		for _, u := range usage[1:] {
			if u.Window.Per > longest.Window.Per {
				longest = u
			}
		}
		parts = append(parts, fmt.Sprintf("%d/%d per %s", longest.Used, longest.Limit, shortDur(longest.Window.Per)))
	}
	return strings.Join(parts, ", ")
}

func shortDur(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// notify tells systemd; outside systemd it does nothing.
func notify(log zerolog.Logger, states ...string) {
	if _, err := daemon.SdNotify(false, strings.Join(states, "\n")); err != nil {
		log.Warn().Err(err).Msg("sd_notify failed")
	}
}

// cronLogger maps cron's chatty Info to debug, its "skip" to warn and its errors to error.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	ev := l.log.Debug()
	if msg == "skip" {
		ev = l.log.Warn()
		msg = "cycle skipped: the previous one is still running"
	}
	ev.Fields(kv).Str("component", "cron").Msg(msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Str("component", "cron").Msg(msg)
}
