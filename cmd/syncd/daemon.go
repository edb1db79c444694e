package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// runDaemon runs sync cycles on the schedule until SIGTERM/SIGINT, holding the state lock for
// its whole life. Under systemd (Type=notify) it reports READY once the config is valid, the
// state is open and the scheduler runs, a STATUS line after each cycle, and feeds the watchdog
// from its own loop.
func runDaemon(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	a, err := setup(f, stdout, getenv)
	if err != nil {
		return err
	}
	defer a.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	statusDone, err := serveStatus(ctx, a.cfg.Status.Socket, func() ([]string, error) {
		return statusLines(a.db, a.limits.API, "running")
	}, a.log)
	if err != nil {
		return err
	}

	cycles := make(chan string, 1)
	runCycle := func() {
		start := time.Now()
		sum, err := a.engine.Cycle(ctx)
		a.logSummary("cycle", sum, time.Since(start), err)
		line := fmt.Sprintf("last cycle %s ok: %d bookings, %d credited, %d parked; budget %s",
			start.In(a.cfg.Location).Format("15:04"), sum.Seen, sum.Deposits, sum.Parked, a.budgetLine())
		if err != nil && ctx.Err() == nil {
			line = fmt.Sprintf("last cycle %s FAILED: %s; budget %s", start.In(a.cfg.Location).Format("15:04"), firstLine(err.Error()), a.budgetLine())
		}
		select {
		case cycles <- line:
		default:
		}
	}

	c := cron.New(
		cron.WithLocation(a.cfg.Location),
		cron.WithLogger(cronLogger{a.log}),
		// SkipIfStillRunning outside, Recover inside: a panicking cycle is logged and the next one runs.
		cron.WithChain(cron.SkipIfStillRunning(cronLogger{a.log}), cron.Recover(cronLogger{a.log})),
	)
	if _, err := c.AddFunc(a.cfg.Schedule, runCycle); err != nil {
		return usageError("schedule: %v", err)
	}
	c.Start()
	a.log.Info().Str("schedule", a.cfg.Schedule).Str("timezone", a.cfg.Location.String()).Msg("syncd started")
	notify(a.log, daemon.SdNotifyReady, "STATUS=started; waiting for the first cycle ("+a.cfg.Schedule+")")

	watchdog, _ := daemon.SdWatchdogEnabled(false)
	var tick <-chan time.Time
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
			<-statusDone
			a.log.Info().Msg("syncd stopped")
			return nil
		case line := <-cycles:
			notify(a.log, "STATUS="+line)
		case <-tick:
			notify(a.log, daemon.SdNotifyWatchdog)
		}
	}
}

func (a *app) budgetLine() string {
	var parts []string
	for _, u := range a.limits.API.Usage() {
		if u.Window.Per >= time.Hour {
			parts = append(parts, fmt.Sprintf("%d/%d per %s", u.Used, u.Limit, shortDur(u.Window.Per)))
		}
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
