package pipeline

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/metrics"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
)

// testConfig is a valid config whose APIs are never called: Open talks to neither.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "syncd.yaml")
	yaml := `bnovo: {base_url: "http://127.0.0.1:1", account_id: 1, api_key: test-key}
probonus: {base_url: "http://127.0.0.1:2", token: test-token, account_group_id: 1}
state: {path: ` + filepath.Join(dir, "state.db") + `, lock_timeout: 100ms}
`
	return loadConfig(t, path, yaml)
}

// loadConfig writes yaml to path and loads it as syncd's config.
func loadConfig(t *testing.T, path, yaml string) config.Config {
	t.Helper()
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOpenBuildsOnTheStateFile(t *testing.T) {
	cfg := testConfig(t)
	var wrappedLog, wrappedLimiter int
	apis := map[string]bool{}
	p, err := Open(cfg, Options{
		Reserve:    BnovoReserve,
		Workers:    EngineWorkers,
		HTTPClient: func(api string) *http.Client { apis[api] = true; return nil },
		WrapCallLog: func(s ratelimit.Store) ratelimit.Store {
			wrappedLog++
			return s
		},
		WrapLimiter: func(pair ratelimit.Pair) bnovo.Limiter {
			wrappedLimiter++
			return pair
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Limits.API == nil || p.Limits.Auth == nil || p.PMS == nil || p.Ledger == nil || p.Engine == nil {
		t.Fatalf("incomplete pipeline: %+v", p)
	}
	if wrappedLog != 1 || wrappedLimiter != 1 || !apis[APIBnovo] || !apis[APIProBonus] {
		t.Errorf("wrappers called: call log %d, limiter %d, HTTP clients for %v; want each once, both APIs", wrappedLog, wrappedLimiter, apis)
	}
	// The limiter's calls reach the state file: a second pipeline on it counts them.
	if err := p.Limits.Wait(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if used := again.Limits.API.Usage()[0].Used; used != 1 {
		t.Errorf("reopened: the API limiter counts %d calls, want the 1 made", used)
	}
}

func TestOpenErrorsSayWhatToFix(t *testing.T) {
	cfg := testConfig(t)
	bad := cfg
	bad.Bnovo.RateLimits = []string{"30/10s", "thirty per minute"}
	_, err := Open(bad, Options{})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "bnovo.rate_limits[1]") {
		t.Errorf("bad rate limit: %v; want a ConfigError naming bnovo.rate_limits[1]", err)
	}
	bad = cfg
	bad.Bnovo.AuthRateLimit = "10"
	if _, err := Open(bad, Options{}); !errors.As(err, &ce) || !strings.Contains(err.Error(), "bnovo.auth_rate_limit") {
		t.Errorf("bad auth rate limit: %v; want a ConfigError naming bnovo.auth_rate_limit", err)
	}

	// A failed Open leaves the state file closed; a second process finds it locked.
	p, err := Open(cfg, Options{})
	if err != nil {
		t.Fatalf("after failed opens: %v", err)
	}
	defer p.Close()
	start := time.Now()
	_, err = Open(cfg, Options{})
	if !errors.Is(err, state.ErrLocked) || errors.As(err, &ce) {
		t.Errorf("second Open = %v; want state.ErrLocked, not a config error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("waited %v for the lock; state.lock_timeout is 100ms", took)
	}
}

// The HTTPClient hook is called with these names; cmd/syncd hands them to its metrics.
func TestAPINamesAreTheMetricsNames(t *testing.T) {
	if APIBnovo != metrics.APIBnovo || APIProBonus != metrics.APIProBonus {
		t.Errorf("API names %q, %q; metrics uses %q, %q", APIBnovo, APIProBonus, metrics.APIBnovo, metrics.APIProBonus)
	}
}

// Roomy windows get larger reservations; Bnovo's published limits keep the one asked for.
func TestAPIReserve(t *testing.T) {
	parse := func(s ...string) []ratelimit.Window {
		w, err := ratelimit.ParseWindows(s)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, c := range []struct {
		reserve int
		windows []ratelimit.Window
		share   float64
		want    int
	}{
		{BnovoReserve, parse("30/10s", "300/5m", "1000/1h", "10000/24h"), 1, BnovoReserve},
		{BnovoReserve, parse("50000/1s"), 1, 512},
		{BnovoReserve, parse("6400/1s"), 1, 100},
		{BnovoReserve, parse("50000/1s", "100000/24h"), 0.1, 156},
		{1, parse("50000/1s"), 1, 1},
		{0, parse("50000/1s"), 1, 0},
	} {
		if got := apiReserve(c.reserve, c.windows, c.share); got != c.want {
			t.Errorf("apiReserve(%d, %v, %v) = %d, want %d", c.reserve, c.windows, c.share, got, c.want)
		}
	}
}

// A value a client refuses (config.Validate catches these first) is a *ConfigError whose message
// carries the client's prefix once.
func TestClientRefusalIsAConfigErrorPrefixedOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.ProBonus.Token = "abc\x01def"
	_, err := Open(cfg, Options{})
	var bad *ConfigError
	if !errors.As(err, &bad) || !strings.HasPrefix(err.Error(), "probonus: token contains") || strings.Contains(err.Error(), "probonus: probonus:") {
		t.Fatalf("err = %v, want a *ConfigError starting with one probonus:", err)
	}
}
