package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/logging"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// app is one configured syncd: the pipeline (state open and locked, clients built, engine
// ready) and what the modes need around it.
type app struct {
	cfg  config.Config
	log  zerolog.Logger
	pipe *pipeline.Pipeline
	// db, limits and engine are the pipeline's, by the names the modes use.
	db     *state.DB
	limits ratelimit.Pair
	engine *syncer.Engine
	// metrics is nil unless the daemon serves metrics.listen; its methods are no-ops on nil.
	metrics *daemonMetrics
	// stop ends a one-shot run that would wait long for Bnovo budget (armed by the mode).
	stop *budgetStop
	// live is fed by the engine's commits and the budget waits; the daemon's watchdog reads it.
	live *liveness
	// dryRun: the engine commits nothing, so work handed over the control socket would vanish.
	dryRun bool
}

// loadConfig loads and validates the config file; any problem is a usage error (exit 2).
func loadConfig(path string, getenv func(string) string) (config.Config, []string, error) {
	cfg, warnings, err := config.Load(path, getenv)
	if err != nil {
		return cfg, nil, &exitError{code: exitUsage, err: err}
	}
	return cfg, warnings, nil
}

func newLogger(cfg config.Config, stdout io.Writer) (zerolog.Logger, error) {
	log, err := logging.New(stdout, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return log, &exitError{code: exitUsage, err: fmt.Errorf("log: %w", err)}
	}
	return log, nil
}

// openApp opens the state file (exit 3 when another syncd holds it) and builds the clients and
// the engine from cfg (exit 2 for a config value they refuse). dm, when not nil, instruments
// the API clients' HTTP. steady cycles list the changed stream every other cycle only (the
// daemon's; pipeline.DaemonChangedEvery).
func openApp(cfg config.Config, log zerolog.Logger, dryRun bool, dm *daemonMetrics, steady bool) (*app, error) {
	changedEvery := 1
	if steady {
		changedEvery = pipeline.DaemonChangedEvery
	}
	stop := &budgetStop{}
	live := newLiveness()
	p, err := pipeline.Open(cfg, pipeline.Options{
		Progress:   live.progress,
		Logger:     log,
		DryRun:     dryRun,
		HTTPClient: dm.httpClient,
		WrapLimiter: func(pair ratelimit.Pair) bnovo.Limiter {
			return announcingLimiter{Pair: pair, log: log, stop: stop, live: live}
		},
		Reserve:      pipeline.BnovoReserve,
		Workers:      pipeline.EngineWorkers,
		ChangedEvery: changedEvery,
	})
	if err != nil {
		return nil, withExitCode(err)
	}
	return &app{cfg: cfg, log: log, pipe: p, db: p.DB, limits: p.Limits, engine: p.Engine, metrics: dm, stop: stop, live: live, dryRun: dryRun}, nil
}

// withExitCode gives the pipeline's errors syncd's exit codes: 3 for a state file locked by
// another syncd, 2 for a bad config value; anything else fails with 1.
func withExitCode(err error) error {
	var bad *pipeline.ConfigError
	switch {
	case errors.Is(err, state.ErrLocked):
		return &exitError{code: exitLocked, err: err}
	case errors.As(err, &bad):
		return &exitError{code: exitUsage, err: err}
	}
	return withDamageAdvice(err)
}

// withDamageAdvice adds to a damaged state file's error what the operator can do about it. The
// file is left as it is and nothing was sent anywhere.
func withDamageAdvice(err error) error {
	var damaged *state.DamagedError
	if !errors.As(err, &damaged) {
		return err
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%w. syncd wrote nothing to it and sent nothing. "+
		"Stop syncd, then either restore the latest backup of the file, or move it aside "+
		"(mv %s %s.damaged) to start afresh: syncd then finds in ProBonus, by their markers, the "+
		"operations it already posted, and credits nothing twice", err, damaged.Path, damaged.Path)}
}

func (a *app) Close() error { return a.pipe.Close() }

// logSummary writes the one line that ends every cycle or backfill: finished, cancelled by a
// shutdown (what it did is counted; the rest resumes next run), or failed.
func (a *app) logSummary(kind string, sum syncer.Summary, took time.Duration, err error) {
	a.logRun(kind, sum, took, err, false)
}

// logRun is logSummary; quiet logs a failure at info, for a run that failed the way the
// previous one did (an outage already warned about).
func (a *app) logRun(kind string, sum syncer.Summary, took time.Duration, err error, quiet bool) {
	ev, msg := a.log.Info(), kind+" finished"
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		msg = kind + " cancelled by shutdown; the rest resumes next run"
	case quiet:
		ev, msg = a.log.Info().Err(err), kind+" failed again (same outage)"
	default:
		ev, msg = a.log.Error().Err(err), kind+" failed"
	}
	budget := zerolog.Dict()
	for _, u := range a.limits.API.Usage() {
		budget.Str(u.Window.String(), fmt.Sprintf("%d/%d", u.Used, u.Limit))
	}
	ev.Str("run", kind).EmbedObject(&sum).Dict("budget", budget).Str("took", took.Round(time.Millisecond).String()).Msg(msg)
}

// announcingLimiter says in the log when a Bnovo call has to wait for the budget, and until
// when, so an operator watching a long backfill or -once knows it is waiting, not stuck.
type announcingLimiter struct {
	ratelimit.Pair
	log  zerolog.Logger
	stop *budgetStop
	live *liveness
}

func (l announcingLimiter) Wait(ctx context.Context, auth bool) error {
	limiter := l.API
	if auth {
		limiter = l.Auth
	}
	if err := l.stop.check(limiter); err != nil {
		return err
	}
	if wait := limiter.Reserve(); wait >= 5*time.Second {
		ev := l.log.Info()
		if wait >= 10*time.Minute {
			// Not an error, but worth a look when it keeps happening: another integration may
			// be spending the same key's budget, or bnovo.budget_share is too small.
			ev = l.log.Warn()
		}
		ev.Bool("login", auth).Time("resume_at", time.Now().Add(wait)).Str("wait", wait.Round(time.Second).String()).
			Msg("Bnovo budget spent for now: waiting")
	}
	defer l.live.budgetWait()()
	return l.Pair.Wait(ctx, auth)
}
