// Package config loads syncd's configuration the way litestream and blackbox_exporter do:
// defaults, then the YAML file (strict: unknown keys are errors), then secrets from the
// environment and systemd credentials, then validation that reports every problem at once,
// each named by its dotted key.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	// Hosts without /usr/share/zoneinfo (minimal containers) must still know Europe/Moscow.
	_ "time/tzdata"
)

// Config is syncd's whole configuration; keys are documented in configs/syncd.example.yaml.
type Config struct {
	Bnovo      Bnovo          `yaml:"bnovo"`
	ProBonus   ProBonus       `yaml:"probonus"`
	Accrual    Accrual        `yaml:"accrual"`
	Arrivals   Arrivals       `yaml:"arrivals"`
	Redemption Redemption     `yaml:"redemption"`
	Schedule   string         `yaml:"schedule"` // cron, 5 fields, default "*/5 * * * *"
	Timezone   string         `yaml:"timezone"` // IANA, default "Europe/Moscow"
	State      State          `yaml:"state"`
	Webhook    Webhook        `yaml:"webhook"`
	Status     Status         `yaml:"status"`
	Metrics    Metrics        `yaml:"metrics"`
	Log        Log            `yaml:"log"`
	Location   *time.Location `yaml:"-"` // loaded from Timezone by Validate
}

// Bnovo is the PMS API account and how hard syncd may use it.
type Bnovo struct {
	BaseURL        string   `yaml:"base_url"`        // origin; required; http(s); no path other than "/"
	AccountID      int64    `yaml:"account_id"`      // required > 0
	APIKey         Secret   `yaml:"api_key"`         // required (file, env SYNCD_BNOVO_API_KEY or credential "bnovo_api_key")
	RateLimits     []string `yaml:"rate_limits"`     // default ["30/10s","300/5m","1000/1h","10000/24h"]; each "N/duration"
	AuthRateLimit  string   `yaml:"auth_rate_limit"` // default "10/1m"
	BudgetShare    float64  `yaml:"budget_share"`    // default 0.8, in (0,1]
	RequestTimeout Duration `yaml:"request_timeout"` // default 30s
	PageSize       int      `yaml:"page_size"`       // default 50, 1..50
}

// ProBonus is the loyalty server and how guests' accounts are made there.
type ProBonus struct {
	BaseURL        string   `yaml:"base_url"`         // required origin
	Token          Secret   `yaml:"token"`            // required (env SYNCD_PROBONUS_TOKEN or credential "probonus_token")
	TokenHeader    string   `yaml:"token_header"`     // default "Authorization"
	AccountGroupID int64    `yaml:"account_group_id"` // required > 0 when create_accounts
	CreateAccounts *bool    `yaml:"create_accounts"`  // default true (pointer so an explicit false is kept)
	RequestTimeout Duration `yaml:"request_timeout"`  // default 15s
	// IgnorePhones are numbers that never identify a guest (the hotel's own, the OTAs' relay
	// numbers), in any format a guest would type; validated and normalised into IgnoredPhones.
	IgnorePhones  []string `yaml:"ignore_phones,omitempty"`
	IgnoredPhones []string `yaml:"-"` // IgnorePhones as ProBonus digits, set by Validate
	// IgnoreEmails are addresses that never identify a guest: placeholders the desk types when a
	// guest gives none ("no@mail.ru"); validated and normalised into IgnoredEmails.
	IgnoreEmails  []string `yaml:"ignore_emails,omitempty"`
	IgnoredEmails []string `yaml:"-"` // IgnoreEmails normalised as guests' e-mails are, set by Validate
}

// CreatesAccounts resolves the CreateAccounts pointer: unset means the default, true.
func (p ProBonus) CreatesAccounts() bool { return p.CreateAccounts == nil || *p.CreateAccounts }

// Accrual says which bookings earn bonuses and how many.
type Accrual struct {
	Percent             Percent            `yaml:"percent"`               // default 5; 0 < p <= 100; at most 2 decimals (7.5, "7.25")
	Statuses            []string           `yaml:"statuses"`              // default ["Выехал"]; an all-digits entry matches a status id
	SourcePercent       map[string]Percent `yaml:"source_percent"`        // by source name
	ExcludePaymentTypes []string           `yaml:"exclude_payment_types"` // default ["Бонусы"]; an explicit empty list is kept empty
	MinPaid             int64              `yaml:"min_paid"`              // kopecks, default 0, >= 0
	LookbackDays        int                `yaml:"lookback_days"`         // default 30, 1..3650
}

// Arrivals says which arriving guests get the ProBonus line in their notes (spec §3).
type Arrivals struct {
	Days   int  `yaml:"days"`   // default 1: arrivals today and tomorrow; 0 turns the line at check-in off; 0..30
	Enroll bool `yaml:"enroll"` // default false: create an account for an arriving guest without one
}

// Redemption says how a stay paid with bonuses is taken off the guest's account (spec §7).
type Redemption struct {
	Enabled      bool     `yaml:"enabled"`       // default false
	Since        string   `yaml:"since"`         // YYYY-MM-DD, hotel time; required when enabled: payments created before it are not redeemed
	PaymentTypes []string `yaml:"payment_types"` // default ["Бонусы"]; each must be in accrual.exclude_payment_types
	BonusValue   Rubles   `yaml:"bonus_value"`   // rubles one bonus pays for; default 1; above 0, at most two decimals

	SinceDate time.Time `yaml:"-"` // Since at 00:00 in the hotel's time zone, set by Validate
}

// State is the bbolt file that holds cursors, the journal and the rate-limit log.
type State struct {
	Path        string   `yaml:"path"`         // default "/var/lib/syncd/state.db"; $STATE_DIRECTORY/state.db when that env var is set and path not given
	LockTimeout Duration `yaml:"lock_timeout"` // default 2s
}

// Webhook is the optional receiver of Bnovo's change notifications.
type Webhook struct {
	Listen  string `yaml:"listen"`   // "" = off (default); host:port
	Secret  Secret `yaml:"secret"`   // path segment; required when listen set (env SYNCD_WEBHOOK_SECRET / credential "webhook_secret"); >= 16 chars
	MaxBody int64  `yaml:"max_body"` // default 65536
}

// Status is where a running daemon answers -status.
type Status struct {
	Socket string `yaml:"socket"` // unix socket for -status while running; default "$RUNTIME_DIRECTORY/status.sock" when set, else next to the state file: "<state dir>/syncd.sock"
}

// Metrics is the optional local metrics endpoint.
type Metrics struct {
	Listen string `yaml:"listen"` // "" = off; must be a loopback address when set
}

// Log sets the process logger (see package logging).
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error, default info
	Format string `yaml:"format"` // auto|json|console, default auto (console on a terminal)
}

// Names of the environment variables and systemd credentials that may carry secrets.
const (
	EnvBnovoAPIKey    = "SYNCD_BNOVO_API_KEY"
	EnvProBonusToken  = "SYNCD_PROBONUS_TOKEN"
	EnvWebhookSecret  = "SYNCD_WEBHOOK_SECRET"
	CredBnovoAPIKey   = "bnovo_api_key"
	CredProBonusToken = "probonus_token"
	CredWebhookSecret = "webhook_secret"
)

// DefaultStatePath is state.path outside systemd (or when it sets no STATE_DIRECTORY).
const DefaultStatePath = "/var/lib/syncd/state.db"

// File names used inside systemd's StateDirectory and RuntimeDirectory, and next to the state file.
const (
	stateFileName      = "state.db"
	runtimeSocketName  = "status.sock"
	stateDirSocketName = "syncd.sock"
)

// maxFileSize bounds what Load reads: a config or credential larger than this is a mistake
// (a wrong path), not a configuration.
const maxFileSize = 1 << 20

// Default is the configuration before any file is read: every key that has a default set,
// required keys empty. status.socket stays empty: it follows state.path (see Validate).
func Default() Config {
	createAccounts := true
	return Config{
		Bnovo: Bnovo{
			RateLimits:     []string{"30/10s", "300/5m", "1000/1h", "10000/24h"},
			AuthRateLimit:  "10/1m",
			BudgetShare:    0.8,
			RequestTimeout: Duration(30 * time.Second),
			PageSize:       50,
		},
		ProBonus: ProBonus{
			TokenHeader:    "Authorization",
			CreateAccounts: &createAccounts,
			RequestTimeout: Duration(15 * time.Second),
		},
		Accrual: Accrual{
			Percent:             5 * percentScale,
			Statuses:            []string{"Выехал"},
			ExcludePaymentTypes: []string{"Бонусы"},
			MinPaid:             0,
			LookbackDays:        30,
		},
		Arrivals: Arrivals{Days: 1},
		Redemption: Redemption{
			PaymentTypes: []string{"Бонусы"},
			BonusValue:   100,
		},
		Schedule: "*/5 * * * *",
		Timezone: "Europe/Moscow",
		State: State{
			Path:        DefaultStatePath,
			LockTimeout: Duration(2 * time.Second),
		},
		Webhook: Webhook{MaxBody: 65536},
		Log:     Log{Level: "info", Format: "auto"},
	}
}

// Load: defaults → file (strict) → secrets → Validate. Returns config and warnings.
//
// Secrets (bnovo.api_key, probonus.token, webhook.secret) are taken, highest first, from
// $CREDENTIALS_DIRECTORY/<credential name> (systemd LoadCredential=), then the environment
// (SYNCD_BNOVO_API_KEY, SYNCD_PROBONUS_TOKEN, SYNCD_WEBHOOK_SECRET), then the file. Surrounding
// white space (a credential file's trailing newline) is dropped.
//
// When the file does not give state.path and $STATE_DIRECTORY is set (systemd StateDirectory=),
// the state file is $STATE_DIRECTORY/state.db; when it does not give status.socket and
// $RUNTIME_DIRECTORY is set, the socket is $RUNTIME_DIRECTORY/status.sock.
//
// path "" loads no file (defaults and environment only). env nil means os.Getenv. A problem with
// the configuration's content is a *ValidationError listing every problem; warnings are returned
// even then.
func Load(path string, env func(string) string) (Config, []string, error) {
	if env == nil {
		env = os.Getenv
	}
	cfg := Default()
	var warnings []string
	var fileProblems []Problem
	keyLines := map[string]int{}
	if path != "" {
		data, mode, err := readBounded(path)
		if err != nil {
			return Config{}, nil, fmt.Errorf("reading config file: %w", err)
		}
		keyLines, fileProblems, err = decodeStrict(data, &cfg)
		if err != nil {
			var invalid *ValidationError
			if errors.As(err, &invalid) {
				return Config{}, nil, err
			}
			if line := firstTabIndent(data); line > 0 {
				return Config{}, nil, fmt.Errorf("config file %s: line %d is indented with a tab; YAML indents with spaces only: %w", path, line, err)
			}
			return Config{}, nil, fmt.Errorf("config file %s: %w", path, err)
		}
		if held := fileSecrets(&cfg); len(held) > 0 && mode.Perm()&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf(
				"config file %s holds %s and is readable by group or others (mode %04o): chmod 600 it, or move the secrets to the environment or systemd credentials",
				path, strings.Join(held, ", "), mode.Perm()))
		}
	}

	origins, secretWarnings, secretProblems := applySecrets(&cfg, env)
	warnings = append(warnings, secretWarnings...)
	applyServiceDirectories(&cfg, keyLines, env)

	// Validate even when the file had mistakes: an unknown key or a badly typed value must not
	// hide the rest, so one edit can fix them all. A key the file got wrong keeps its default,
	// which Validate may also dislike; that second complaint about the same key is dropped.
	problems := append(fileProblems, secretProblems...)
	if err := cfg.Validate(); err != nil {
		var invalid *ValidationError
		if !errors.As(err, &invalid) {
			return Config{}, warnings, err
		}
		for _, p := range invalid.Problems {
			if reported(problems, p.Key) {
				continue
			}
			if from, ok := origins[p.Key]; ok {
				// The value did not come from the config file: point at where it came from.
				p.Message += " (the value comes from " + from + ")"
			} else if p.Line == 0 {
				p.Line = keyLines[p.Key]
			}
			problems = append(problems, p)
		}
	}
	for _, key := range []string{"state.path", "status.socket"} {
		value := cfg.State.Path
		if key == "status.socket" {
			value = cfg.Status.Socket
		}
		if path != "" && samePath(value, path) && !reported(problems, key) {
			problems = append(problems, Problem{Key: key, Line: keyLines[key],
				Message: fmt.Sprintf("%q is the config file itself: give it a path of its own", value)})
		}
	}
	if len(problems) > 0 {
		// Top to bottom through the file, then what no line of it holds.
		slices.SortStableFunc(problems, func(a, b Problem) int {
			return cmp.Compare(lineOrder(a.Line), lineOrder(b.Line))
		})
		return Config{}, warnings, &ValidationError{Problems: problems}
	}
	warnings = append(warnings, cfg.transportWarnings()...)
	return cfg, warnings, nil
}

// firstTabIndent is the number of the first line whose indentation holds a tab, or 0.
func firstTabIndent(data []byte) int {
	for i, line := range strings.Split(string(data), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return 0
}

func lineOrder(line int) int {
	if line <= 0 {
		return math.MaxInt
	}
	return line
}

// reported says whether a problem about key (or a key inside it) is already in the list.
func reported(problems []Problem, key string) bool {
	for _, p := range problems {
		if key != "" && (p.Key == key || strings.HasPrefix(p.Key, key+".") || strings.HasPrefix(p.Key, key+"[") ||
			strings.HasPrefix(key, p.Key+".") || strings.HasPrefix(key, p.Key+"[")) {
			return true
		}
	}
	return false
}

// readBounded reads a whole file of at most maxFileSize bytes and reports its permissions.
func readBounded(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !info.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > maxFileSize {
		return nil, 0, fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)
	}
	return data, info.Mode(), nil
}

// secretSource ties a secret to the names it may be supplied under.
type secretSource struct {
	key        string
	value      *Secret
	env        string
	credential string
}

func (c *Config) secretSources() []secretSource {
	return []secretSource{
		{"bnovo.api_key", &c.Bnovo.APIKey, EnvBnovoAPIKey, CredBnovoAPIKey},
		{"probonus.token", &c.ProBonus.Token, EnvProBonusToken, CredProBonusToken},
		{"webhook.secret", &c.Webhook.Secret, EnvWebhookSecret, CredWebhookSecret},
	}
}

// fileSecrets names the secrets the config file itself holds.
func fileSecrets(c *Config) []string {
	var held []string
	for _, s := range c.secretSources() {
		if strings.TrimSpace(s.value.Reveal()) != "" {
			held = append(held, s.key)
		}
	}
	return held
}

// applySecrets overrides the file's secrets with the environment's and systemd credentials'.
// It returns, by dotted key, where each secret that did not come from the config file came
// from (a problem with it must name that, not a line of the file), warnings, and the problems
// of credential files that are unreadable, or empty with nothing to fall back to.
func applySecrets(c *Config, env func(string) string) (map[string]string, []string, []Problem) {
	var warnings []string
	var problems []Problem
	origins := map[string]string{}
	credentialsDir := firstPath(env("CREDENTIALS_DIRECTORY"))
	for _, s := range c.secretSources() {
		*s.value = Secret(strings.TrimSpace(s.value.Reveal()))
		if v := strings.TrimSpace(env(s.env)); v != "" {
			*s.value = Secret(v)
			origins[s.key] = "the environment variable " + s.env
		}
		if credentialsDir == "" {
			continue
		}
		credPath := filepath.Join(credentialsDir, s.credential)
		data, mode, err := readBounded(credPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			problems = append(problems, Problem{Key: s.key, Message: fmt.Sprintf("reading credential file %s: %v", credPath, err)})
			continue
		}
		if mode.Perm()&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf("credential file %s is readable by group or others (mode %04o)", credPath, mode.Perm()))
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			if s.value.Reveal() == "" {
				problems = append(problems, Problem{Key: s.key, Message: fmt.Sprintf("credential file %s is empty: put the value in it", credPath)})
				continue
			}
			warnings = append(warnings, fmt.Sprintf("credential file %s is empty; %s falls back to %s or the config file", credPath, s.key, s.env))
			continue
		}
		*s.value = Secret(v)
		origins[s.key] = "credential file " + credPath
	}
	return origins, warnings, problems
}

// firstPath takes the first entry of a systemd directory variable, which lists several
// colon-separated paths when the unit names several directories.
func firstPath(list string) string {
	first, _, _ := strings.Cut(list, ":")
	return strings.TrimSpace(first)
}

func applyServiceDirectories(c *Config, keyLines map[string]int, env func(string) string) {
	givenStatePath := keyLines["state.path"] > 0 && c.State.Path != ""
	if dir := firstPath(env("STATE_DIRECTORY")); dir != "" && !givenStatePath {
		c.State.Path = filepath.Join(dir, stateFileName)
	}
	if c.State.Path == "" {
		c.State.Path = DefaultStatePath
	}
	if dir := firstPath(env("RUNTIME_DIRECTORY")); dir != "" && c.Status.Socket == "" {
		c.Status.Socket = filepath.Join(dir, runtimeSocketName)
	}
}

// transportWarnings flags secrets that would cross a network in clear text. Plain http is
// allowed (ProBonus often runs on a LAN host without TLS) but worth a line in the log.
func (c *Config) transportWarnings() []string {
	var warnings []string
	for _, o := range []struct{ key, raw, secret string }{
		{"bnovo.base_url", c.Bnovo.BaseURL, "the API key"},
		{"probonus.base_url", c.ProBonus.BaseURL, "the token"},
	} {
		u, err := url.Parse(o.raw)
		if err != nil || !strings.EqualFold(u.Scheme, "http") || isLoopbackHost(u.Hostname()) {
			continue
		}
		warnings = append(warnings, fmt.Sprintf("%s is plain http to %s: %s and guests' data travel unencrypted", o.key, u.Host, o.secret))
	}
	return warnings
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MarshalZerologObject logs the settings that explain a run's behaviour, without secrets:
// for those only whether they are set.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str("bnovo_base_url", c.Bnovo.BaseURL).
		Int64("bnovo_account_id", c.Bnovo.AccountID).
		Bool("bnovo_api_key_set", c.Bnovo.APIKey != "").
		Strs("bnovo_rate_limits", c.Bnovo.RateLimits).
		Float64("bnovo_budget_share", c.Bnovo.BudgetShare).
		Str("probonus_base_url", c.ProBonus.BaseURL).
		Bool("probonus_token_set", c.ProBonus.Token != "").
		Bool("probonus_create_accounts", c.ProBonus.CreatesAccounts()).
		Int64("probonus_account_group_id", c.ProBonus.AccountGroupID).
		Stringer("accrual_percent", c.Accrual.Percent).
		Strs("accrual_statuses", c.Accrual.Statuses).
		Int("accrual_lookback_days", c.Accrual.LookbackDays).
		Int("arrivals_days", c.Arrivals.Days).
		Bool("arrivals_enroll", c.Arrivals.Enroll).
		Bool("redemption_enabled", c.Redemption.Enabled).
		Str("redemption_since", c.Redemption.Since).
		Strs("redemption_payment_types", c.Redemption.PaymentTypes).
		Stringer("redemption_bonus_value", c.Redemption.BonusValue).
		Str("schedule", c.Schedule).
		Str("timezone", c.Timezone).
		Str("state_path", c.State.Path).
		Str("webhook_listen", c.Webhook.Listen).
		Str("metrics_listen", c.Metrics.Listen).
		Str("status_socket", c.Status.Socket)
}
