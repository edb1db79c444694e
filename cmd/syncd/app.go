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
	"github.com/hotelsync/syncd/logging"
	"github.com/hotelsync/syncd/metrics"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// app is one configured syncd: state open (and locked), clients built, engine ready.
type app struct {
	cfg    config.Config
	log    zerolog.Logger
	db     *state.DB
	limits ratelimit.Pair
	pms    *bnovo.Client
	ledger *probonus.Client
	engine *syncer.Engine
	// metrics is nil unless the daemon serves metrics.listen; its methods are no-ops on nil.
	metrics *daemonMetrics
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
// the engine from cfg. dm, when not nil, instruments the API clients' HTTP.
func openApp(cfg config.Config, log zerolog.Logger, dryRun bool, dm *daemonMetrics) (*app, error) {
	db, err := state.Open(cfg.State.Path, state.Options{LockTimeout: time.Duration(cfg.State.LockTimeout)})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, &exitError{code: exitLocked, err: err}
		}
		return nil, fmt.Errorf("opening state: %w", err)
	}
	a := &app{cfg: cfg, log: log, db: db, metrics: dm}
	if err := a.build(dryRun); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build(dryRun bool) error {
	cfg := a.cfg
	var windows []ratelimit.Window
	for i, s := range cfg.Bnovo.RateLimits {
		w, err := ratelimit.ParseWindow(s)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("bnovo.rate_limits[%d]: %w", i, err)}
		}
		windows = append(windows, w)
	}
	authWindow, err := ratelimit.ParseWindow(cfg.Bnovo.AuthRateLimit)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("bnovo.auth_rate_limit: %w", err)}
	}
	api, err := ratelimit.New(windows, ratelimit.Options{Share: cfg.Bnovo.BudgetShare, Store: a.db.CallLog("bnovo")})
	if err != nil {
		return fmt.Errorf("bnovo rate limiter: %w", err)
	}
	auth, err := ratelimit.New([]ratelimit.Window{authWindow}, ratelimit.Options{Share: cfg.Bnovo.BudgetShare, Store: a.db.CallLog("bnovo-auth")})
	if err != nil {
		return fmt.Errorf("bnovo login rate limiter: %w", err)
	}
	a.limits = ratelimit.Pair{API: api, Auth: auth}

	a.pms, err = bnovo.New(bnovo.Config{
		BaseURL:        cfg.Bnovo.BaseURL,
		AccountID:      cfg.Bnovo.AccountID,
		APIKey:         cfg.Bnovo.APIKey.Reveal(),
		Location:       cfg.Location,
		RequestTimeout: time.Duration(cfg.Bnovo.RequestTimeout),
		PageSize:       cfg.Bnovo.PageSize,
		HTTPClient:     a.metrics.httpClient(metrics.APIBnovo),
		Limiter:        announcingLimiter{Pair: a.limits, log: a.log},
		Tokens:         a.db.TokenStore("bnovo"),
		Logger:         a.log.With().Str("api", "bnovo").Logger(),
	})
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("bnovo: %w", err)}
	}
	a.ledger, err = probonus.New(probonus.Config{
		BaseURL:        cfg.ProBonus.BaseURL,
		Token:          cfg.ProBonus.Token.Reveal(),
		TokenHeader:    cfg.ProBonus.TokenHeader,
		RequestTimeout: time.Duration(cfg.ProBonus.RequestTimeout),
		HTTPClient:     a.metrics.httpClient(metrics.APIProBonus),
		Logger:         a.log.With().Str("api", "probonus").Logger(),
	})
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("probonus: %w", err)}
	}
	a.engine, err = syncer.New(syncer.Options{
		PMS:            a.pms,
		Ledger:         a.ledger,
		DB:             a.db,
		Rules:          rulesFrom(cfg.Accrual),
		Location:       cfg.Location,
		LookbackDays:   cfg.Accrual.LookbackDays,
		AccountGroupID: cfg.ProBonus.AccountGroupID,
		CreateAccounts: cfg.ProBonus.CreateAccounts == nil || *cfg.ProBonus.CreateAccounts,
		WriteBack:      true,
		DryRun:         dryRun,
		SettleAfter:    settleAfter(a.ledger.RequestTimeout()),
		Budget:         a.limits.API,
		Logger:         a.log,
	})
	return err
}

// settleAfter is how long after sending an unanswered operation that is absent from the
// account's operations is taken as not posted: the request timeout, plus half of it and a second
// for the server to finish what it had started and for clock differences.
func settleAfter(timeout time.Duration) time.Duration { return timeout + timeout/2 + time.Second }

func rulesFrom(c config.Accrual) syncer.Rules {
	r := syncer.Rules{
		Statuses:            c.Statuses,
		Percent:             c.Percent.Hundredths(),
		SourcePercent:       make(map[string]int64, len(c.SourcePercent)),
		ExcludePaymentTypes: c.ExcludePaymentTypes,
		MinPaid:             c.MinPaid,
	}
	for k, v := range c.SourcePercent {
		r.SourcePercent[k] = v.Hundredths()
	}
	return r
}

func (a *app) Close() error { return a.db.Close() }

// logSummary writes the one line that ends every cycle or backfill.
func (a *app) logSummary(kind string, sum syncer.Summary, took time.Duration, err error) {
	ev := a.log.Info()
	if err != nil && !errors.Is(err, context.Canceled) {
		ev = a.log.Error().Err(err)
	}
	budget := zerolog.Dict()
	for _, u := range a.limits.API.Usage() {
		budget.Str(u.Window.String(), fmt.Sprintf("%d/%d", u.Used, u.Limit))
	}
	ev.Str("run", kind).EmbedObject(&sum).Dict("budget", budget).Dur("took", took).Msgf("%s finished", kind)
}

// announcingLimiter says in the log when a Bnovo call has to wait for the budget, and until
// when, so an operator watching a long backfill or -once knows it is waiting, not stuck.
type announcingLimiter struct {
	ratelimit.Pair
	log zerolog.Logger
}

func (l announcingLimiter) Wait(ctx context.Context, auth bool) error {
	limiter := l.API
	if auth {
		limiter = l.Auth
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
	return l.Pair.Wait(ctx, auth)
}
