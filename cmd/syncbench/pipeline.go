package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/logging"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// bnovoReserve is ratelimit.Options.Reserve of the Bnovo API limiter: one durable write (two
// fdatasyncs) reserves up to 16 calls while the caller keeps up, instead of one write per call.
// cmd/syncd's app.go should use the same value; -limiter-reserve 1 shows the unbatched cost.
const bnovoReserve = 16

// limiterReserve is ratelimit.Options.Reserve for the in-process pipeline's Bnovo limiter.
var limiterReserve = bnovoReserve

// engineWorkers is sync.Options.Workers for the in-process pipeline: two guest groups of a
// page at once, as many as the default transport's idle connections per host. Its log is a
// file, which takes concurrent writes. cmd/syncd's app.go should use the same.
var engineWorkers = 2

// pipelineWatch, when set, times the in-process pipeline's HTTP exchanges and limiter writes.
// Only the local scenario sets it: the wrappers change nothing but add two clock reads.
var pipelineWatch *stopwatch

// httpClient is what the Bnovo and ProBonus clients build for themselves when given none (a
// client with the request timeout on the default transport), timed when pipelineWatch is set.
func httpClient(api string, timeout time.Duration) *http.Client {
	if pipelineWatch == nil {
		return nil
	}
	return &http.Client{Timeout: timeout, Transport: timedTransport{what: api + " http", watch: pipelineWatch, next: http.DefaultTransport}}
}

// pipeline is syncd in this process: state open, limiters loaded from it, clients and engine
// built. The wiring mirrors cmd/syncd's app.build, which is unexported in a main package; an
// exported constructor shared by both commands would remove this copy (see the report).
type pipeline struct {
	db     *state.DB
	limits ratelimit.Pair
	pms    *bnovo.Client
	ledger *probonus.Client
	engine *syncer.Engine
}

// loadConfig reads the rig's config file the way syncd does, with no environment.
func loadConfig(path string) (config.Config, error) {
	cfg, _, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		return cfg, fmt.Errorf("loading %s: %w", path, err)
	}
	return cfg, nil
}

// openPipeline opens the state file and builds everything on it, as one start of syncd does.
func openPipeline(cfg config.Config, logs io.Writer) (*pipeline, error) {
	log, err := logging.New(logs, cfg.Log.Level, "json")
	if err != nil {
		return nil, err
	}
	db, err := state.Open(cfg.State.Path, state.Options{LockTimeout: time.Duration(cfg.State.LockTimeout)})
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	p := &pipeline{db: db}
	if err := p.build(cfg, log); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return p, nil
}

func (p *pipeline) build(cfg config.Config, log zerolog.Logger) error {
	windows, err := ratelimit.ParseWindows(cfg.Bnovo.RateLimits)
	if err != nil {
		return fmt.Errorf("bnovo.rate_limits: %w", err)
	}
	authWindow, err := ratelimit.ParseWindow(cfg.Bnovo.AuthRateLimit)
	if err != nil {
		return fmt.Errorf("bnovo.auth_rate_limit: %w", err)
	}
	var apiLog ratelimit.Store = p.db.CallLog("bnovo")
	if pipelineWatch != nil {
		apiLog = timedStore{Store: apiLog, watch: pipelineWatch}
	}
	api, err := ratelimit.New(windows, ratelimit.Options{Share: cfg.Bnovo.BudgetShare, Store: apiLog, Reserve: limiterReserve})
	if err != nil {
		return fmt.Errorf("bnovo rate limiter: %w", err)
	}
	auth, err := ratelimit.New([]ratelimit.Window{authWindow}, ratelimit.Options{Share: cfg.Bnovo.BudgetShare, Store: p.db.CallLog("bnovo-auth")})
	if err != nil {
		return fmt.Errorf("bnovo login rate limiter: %w", err)
	}
	p.limits = ratelimit.Pair{API: api, Auth: auth}
	p.pms, err = bnovo.New(bnovo.Config{
		BaseURL:        cfg.Bnovo.BaseURL,
		AccountID:      cfg.Bnovo.AccountID,
		APIKey:         cfg.Bnovo.APIKey.Reveal(),
		Location:       cfg.Location,
		RequestTimeout: time.Duration(cfg.Bnovo.RequestTimeout),
		HTTPClient:     httpClient("bnovo", time.Duration(cfg.Bnovo.RequestTimeout)),
		PageSize:       cfg.Bnovo.PageSize,
		Limiter:        p.limits,
		Tokens:         p.db.TokenStore("bnovo"),
		Logger:         log.With().Str("api", "bnovo").Logger(),
	})
	if err != nil {
		return fmt.Errorf("bnovo: %w", err)
	}
	p.ledger, err = probonus.New(probonus.Config{
		BaseURL:        cfg.ProBonus.BaseURL,
		Token:          cfg.ProBonus.Token.Reveal(),
		TokenHeader:    cfg.ProBonus.TokenHeader,
		RequestTimeout: time.Duration(cfg.ProBonus.RequestTimeout),
		HTTPClient:     httpClient("probonus", time.Duration(cfg.ProBonus.RequestTimeout)),
		Logger:         log.With().Str("api", "probonus").Logger(),
	})
	if err != nil {
		return fmt.Errorf("probonus: %w", err)
	}
	timeout := p.ledger.RequestTimeout()
	p.engine, err = syncer.New(syncer.Options{
		PMS:            p.pms,
		Ledger:         p.ledger,
		DB:             p.db,
		Rules:          rulesFrom(cfg.Accrual),
		Location:       cfg.Location,
		LookbackDays:   cfg.Accrual.LookbackDays,
		AccountGroupID: cfg.ProBonus.AccountGroupID,
		CreateAccounts: cfg.ProBonus.CreateAccounts == nil || *cfg.ProBonus.CreateAccounts,
		WriteBack:      true,
		SettleAfter:    timeout + timeout/2 + time.Second, // as cmd/syncd's settleAfter
		Workers:        engineWorkers,
		Budget:         api,
		Logger:         log,
	})
	return err
}

func (p *pipeline) Close() error { return p.db.Close() }

// rulesFrom mirrors cmd/syncd's conversion of the accrual config.
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
