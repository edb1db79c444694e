// Package pipeline builds one syncd on a config: the state file, the Bnovo limiters loaded
// from it, both API clients and the sync engine. cmd/syncd runs what it builds and
// cmd/syncbench measures the same thing, so the two cannot drift apart.
package pipeline

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// syncd's production settings.
const (
	// BnovoReserve is ratelimit.Options.Reserve of the Bnovo API limiter: one durable write
	// (two fdatasyncs) reserves up to 16 calls while the caller keeps up, instead of one write
	// per call (more when the windows are roomy, see apiReserve). The engine gives back what a
	// run reserved and did not use (Limiter.Release).
	BnovoReserve = 16
	// EngineWorkers is sync.Options.Workers: two guest groups of a page at once, as many as
	// the default transport keeps idle connections per host.
	EngineWorkers = 2
	// DaemonChangedEvery is sync.Options.ChangedEvery of the daemon: every other cycle lists
	// the whole changed stream, the cycles between only today's departures (README: "A steady
	// day"). A one-shot run's single cycle lists everything.
	DaemonChangedEvery = 2
	// WebhookShare is the part of every Bnovo window (of its effective limit) that fetching the
	// ids webhooks announce may use (spec §8): a flood of deliveries, even of valid ids, cannot
	// spend the budget the cycles need.
	WebhookShare = 0.5
)

// API names given to Options.HTTPClient (the same as metrics.APIBnovo and APIProBonus).
const (
	APIBnovo    = "bnovo"
	APIProBonus = "probonus"
)

// Options are what differs between the commands that build a pipeline.
type Options struct {
	// Logger must take concurrent writes when Workers > 1 (logging.New's loggers do).
	Logger zerolog.Logger
	DryRun bool // compute and log; write nothing to either API nor to the engine's state (the limiters and the token store still record what was spent)
	// HTTPClient gives the *http.Client of the API named APIBnovo or APIProBonus, e.g. one
	// instrumented for metrics. nil, or a nil result: the API client builds its own.
	HTTPClient func(api string) *http.Client
	// WrapLimiter wraps the Bnovo limiter pair as the Bnovo client sees it (e.g. to log long
	// waits). nil: the pair itself.
	WrapLimiter func(ratelimit.Pair) bnovo.Limiter
	// WrapCallLog wraps the Bnovo API limiter's persisted log (e.g. to time its writes). The
	// wrapper must pass ratelimit.Forgetter on, or unused reservations stay spent. nil: the
	// state file's log itself.
	WrapCallLog func(ratelimit.Store) ratelimit.Store
	Reserve     int    // ratelimit.Options.Reserve of the Bnovo API limiter; 0 = 1 (BnovoReserve in production)
	Workers     int    // sync.Options.Workers; 0 = 1 (EngineWorkers in production)
	Progress    func() // sync.Options.Progress: the engine committed work (the daemon's watchdog)
	// ChangedEvery is sync.Options.ChangedEvery; 0 = 1 (DaemonChangedEvery in the daemon).
	ChangedEvery int
}

// Pipeline is one configured syncd: state open (and locked), limiters loaded from it, clients
// and engine built.
type Pipeline struct {
	DB     *state.DB
	Limits ratelimit.Pair
	// Webhook is the webhooks' share of Limits.API (WebhookShare of each window), counting the
	// engine's fetches of announced ids. In memory: a restart starts it afresh, and Limits.API,
	// which is persisted, still bounds every call.
	Webhook *ratelimit.Limiter
	PMS     *bnovo.Client
	Ledger  *probonus.Client
	Engine  *syncer.Engine
}

// ConfigError is a config value that the clients or limiters refused; its message names the
// key. A command reports it as bad usage.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configError(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// Open opens the state file named by cfg and builds everything on it. Errors: state.ErrLocked
// (through errors.Is) when another process holds the file, *ConfigError for a bad config
// value, others for state trouble.
func Open(cfg config.Config, opt Options) (*Pipeline, error) {
	db, err := state.Open(cfg.State.Path, state.Options{LockTimeout: time.Duration(cfg.State.LockTimeout)})
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	p, err := build(db, cfg, opt)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return p, nil
}

// BnovoTokenName names the Bnovo access token in the state file after the account and origin it
// was issued for, so a token kept for another (bnovo.account_id or base_url changed, a state
// file brought from another install) is never sent: it would read another hotel's bookings, or
// hand one host's credential to another.
func BnovoTokenName(accountID int64, baseURL string) string {
	return "bnovo:" + strconv.FormatInt(accountID, 10) + "@" + strings.TrimSuffix(strings.ToLower(baseURL), "/")
}

// Close closes the state file; the rest holds no resources of its own.
func (p *Pipeline) Close() error { return p.DB.Close() }

func build(db *state.DB, cfg config.Config, opt Options) (*Pipeline, error) {
	p := &Pipeline{DB: db}
	var err error
	if p.Limits, err = limits(db, cfg.Bnovo, opt); err != nil {
		return nil, err
	}
	if p.Webhook, err = webhookLimiter(p.Limits.API); err != nil {
		return nil, err
	}
	var limiter bnovo.Limiter = p.Limits
	if opt.WrapLimiter != nil {
		limiter = opt.WrapLimiter(p.Limits)
	}
	p.PMS, err = bnovo.New(bnovo.Config{
		BaseURL:        cfg.Bnovo.BaseURL,
		AccountID:      cfg.Bnovo.AccountID,
		APIKey:         cfg.Bnovo.APIKey.Reveal(),
		Location:       cfg.Location,
		RequestTimeout: time.Duration(cfg.Bnovo.RequestTimeout),
		PageSize:       cfg.Bnovo.PageSize,
		HTTPClient:     opt.httpClient(APIBnovo),
		Limiter:        limiter,
		Tokens:         db.TokenStore(BnovoTokenName(cfg.Bnovo.AccountID, cfg.Bnovo.BaseURL)),
		Logger:         opt.Logger.With().Str("api", "bnovo").Logger(),
	})
	if err != nil {
		// The client's message starts with "bnovo:" already; config.Validate names the key of
		// everything a client refuses, so this is only a guard.
		return nil, configError("%w", err)
	}
	p.Ledger, err = probonus.New(probonus.Config{
		BaseURL:        cfg.ProBonus.BaseURL,
		Token:          cfg.ProBonus.Token.Reveal(),
		TokenHeader:    cfg.ProBonus.TokenHeader,
		RequestTimeout: time.Duration(cfg.ProBonus.RequestTimeout),
		HTTPClient:     opt.httpClient(APIProBonus),
		Logger:         opt.Logger.With().Str("api", "probonus").Logger(),
	})
	if err != nil {
		return nil, configError("%w", err) // starts with "probonus:" already
	}
	p.Engine, err = syncer.New(syncer.Options{
		PMS:            p.PMS,
		Ledger:         p.Ledger,
		DB:             db,
		Rules:          RulesFrom(cfg.Accrual),
		Location:       cfg.Location,
		LookbackDays:   cfg.Accrual.LookbackDays,
		AccountGroupID: cfg.ProBonus.AccountGroupID,
		CreateAccounts: cfg.ProBonus.CreateAccounts == nil || *cfg.ProBonus.CreateAccounts,
		IgnorePhones:   cfg.ProBonus.IgnoredPhones,
		IgnoreEmails:   cfg.ProBonus.IgnoredEmails,
		WriteBack:      true,
		Redemption:     RedemptionFrom(cfg.Redemption),
		Arrivals:       syncer.Arrivals{Days: cfg.Arrivals.Days, Enroll: cfg.Arrivals.Enroll},
		DryRun:         opt.DryRun,
		SettleAfter:    settleAfter(p.Ledger.RequestTimeout()),
		Workers:        opt.Workers,
		Progress:       opt.Progress,
		ChangedEvery:   opt.ChangedEvery,
		Budget:         p.Limits.API,
		WebhookBudget:  p.Webhook,
		Logger:         opt.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("sync engine: %w", err)
	}
	return p, nil
}

// limits builds the Bnovo limiter pair on the state file's two call logs: logins have their
// own limit and do not count against the API windows.
func limits(db *state.DB, cfg config.Bnovo, opt Options) (ratelimit.Pair, error) {
	windows := make([]ratelimit.Window, 0, len(cfg.RateLimits))
	for i, s := range cfg.RateLimits {
		w, err := ratelimit.ParseWindow(s)
		if err != nil {
			return ratelimit.Pair{}, configError("bnovo.rate_limits[%d]: %w", i, err)
		}
		windows = append(windows, w)
	}
	authWindow, err := ratelimit.ParseWindow(cfg.AuthRateLimit)
	if err != nil {
		return ratelimit.Pair{}, configError("bnovo.auth_rate_limit: %w", err)
	}
	var apiLog ratelimit.Store = db.CallLog("bnovo")
	if opt.WrapCallLog != nil {
		apiLog = opt.WrapCallLog(apiLog)
	}
	api, err := ratelimit.New(windows, ratelimit.Options{Share: cfg.BudgetShare, Store: apiLog, Reserve: apiReserve(opt.Reserve, windows, cfg.BudgetShare)})
	if err != nil {
		return ratelimit.Pair{}, fmt.Errorf("bnovo rate limiter: %w", err)
	}
	// Logins are rare and never come in bursts: batching them would only waste the login limit.
	auth, err := ratelimit.New([]ratelimit.Window{authWindow}, ratelimit.Options{Share: cfg.BudgetShare, Store: db.CallLog("bnovo-auth")})
	if err != nil {
		return ratelimit.Pair{}, fmt.Errorf("bnovo login rate limiter: %w", err)
	}
	return ratelimit.Pair{API: api, Auth: auth}, nil
}

// webhookLimiter is WebhookShare of every window of api, by its effective limit (at least one
// call per window).
func webhookLimiter(api *ratelimit.Limiter) (*ratelimit.Limiter, error) {
	var windows []ratelimit.Window
	for _, u := range api.Usage() {
		windows = append(windows, ratelimit.Window{Limit: max(1, int(float64(u.Limit)*WebhookShare)), Per: u.Window.Per})
	}
	l, err := ratelimit.New(windows, ratelimit.Options{})
	if err != nil {
		return nil, fmt.Errorf("webhook share of the bnovo rate limiter: %w", err)
	}
	return l, nil
}

// Roomy windows allow larger reservations: up to 1/reserveShareOf of the smallest effective
// window per durable write, at most reserveMax. Under Bnovo's published limits (30/10s) this is
// nothing, and Reserve alone applies.
const (
	reserveShareOf = 64
	reserveMax     = 512
)

// apiReserve is the Bnovo API limiter's Reserve: the one asked for, or more when every window
// is large enough that a bigger batch is a small part of it. The limiter still never reserves
// more than every window has room for, grows a batch only while the caller keeps up, and
// Release gives back what a run did not use.
func apiReserve(reserve int, windows []ratelimit.Window, share float64) int {
	if reserve <= 1 || len(windows) == 0 {
		return reserve // batching off stays off
	}
	if share == 0 {
		share = 1
	}
	smallest := math.MaxInt
	for _, w := range windows {
		smallest = min(smallest, ratelimit.EffectiveLimit(w, share))
	}
	return max(reserve, min(smallest/reserveShareOf, reserveMax))
}

func (opt Options) httpClient(api string) *http.Client {
	if opt.HTTPClient == nil {
		return nil
	}
	return opt.HTTPClient(api)
}

// settleAfter is how long after sending an unanswered operation that is absent from the
// account's operations is taken as not posted: the request timeout, plus half of it and a second
// for the server to finish what it had started and for clock differences.
func settleAfter(timeout time.Duration) time.Duration { return timeout + timeout/2 + time.Second }

// RedemptionFrom converts the redemption config into the engine's rules.
func RedemptionFrom(c config.Redemption) syncer.Redemption {
	return syncer.Redemption{
		Enabled:      c.Enabled,
		Since:        c.SinceDate,
		PaymentTypes: c.PaymentTypes,
		BonusValue:   c.BonusValue.Kopecks(),
	}
}

// RulesFrom converts the accrual config into the engine's rules.
func RulesFrom(c config.Accrual) syncer.Rules {
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
