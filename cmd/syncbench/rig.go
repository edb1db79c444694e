package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// rigSpec describes one measured setup: the limits syncd is configured with (the simulator
// enforces the same ones), and the bookings the simulated hotel holds.
type rigSpec struct {
	Windows     []string // bnovo.rate_limits, e.g. "6/1s"
	AuthWindow  string   // bnovo.auth_rate_limit
	Share       float64  // bnovo.budget_share
	Bookings    int      // how many to seed
	Days        int      // departures spread over Days days ...
	EndDaysAgo  int      // ... ending this many days before today (default 1: yesterday)
	Seed        int64
	BnovoDelay  time.Duration // simulated latency of every Bnovo request
	LedgerDelay time.Duration // simulated latency of every ProBonus request
	LogLevel    string        // syncd's log.level; default info
	PageSize    int           // bnovo.page_size; default 50, the API's maximum
	// BnovoClockLag sets the simulated Bnovo's clock this far behind ours, so the changes syncd
	// itself makes (write-backs move update_date) are older than the engine's UpdateDateTrust
	// (2 min) at once, as they are in the daemon whose cycles run 5 minutes apart.
	BnovoClockLag time.Duration
}

// rig is the simulated world of one scenario: both simulators, the config file syncd reads and
// the state file it keeps.
type rig struct {
	spec      rigSpec
	loc       *time.Location
	dir       string
	cfgPath   string
	statePath string
	logPath   string
	bn        *bnovotest.Server
	pb        *probonustest.Server
	ids       []int64
	from, to  time.Time // seeded departures, and the backfill range
	windows   []ratelimit.Window
	limits    []int        // per window, the limit syncd may use (after the share)
	rules     syncer.Rules // the accrual rules syncd applies with the rig's config
}

// hotelZone is the zone of the simulated hotel, as in config's default.
const hotelZone = "Europe/Moscow"

func newRig(spec rigSpec) (*rig, error) {
	loc, err := time.LoadLocation(hotelZone)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", hotelZone, err)
	}
	if spec.Share == 0 {
		spec.Share = 1
	}
	if spec.AuthWindow == "" {
		spec.AuthWindow = "10/1m"
	}
	if spec.Days <= 0 {
		spec.Days = 30
	}
	if spec.EndDaysAgo <= 0 {
		spec.EndDaysAgo = 1
	}
	if spec.LogLevel == "" {
		spec.LogLevel = "info"
	}
	if spec.PageSize <= 0 {
		spec.PageSize = bnovo.MaxPageSize
	}
	windows, err := ratelimit.ParseWindows(spec.Windows)
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	authWindow, err := ratelimit.ParseWindow(spec.AuthWindow)
	if err != nil {
		return nil, fmt.Errorf("auth rate limit: %w", err)
	}
	dir, err := os.MkdirTemp("", "syncbench-")
	if err != nil {
		return nil, err
	}
	r := &rig{
		spec:      spec,
		loc:       loc,
		dir:       dir,
		cfgPath:   filepath.Join(dir, "syncd.yaml"),
		statePath: filepath.Join(dir, "state.db"),
		logPath:   filepath.Join(dir, "syncd.log"),
		windows:   windows,
		limits:    make([]int, len(windows)),
	}
	for i, w := range windows {
		r.limits[i] = ratelimit.EffectiveLimit(w, spec.Share)
	}
	simWindows := make([]bnovotest.Window, len(windows))
	for i, w := range windows {
		simWindows[i] = bnovotest.Window{Limit: w.Limit, Per: w.Per}
	}
	lag := spec.BnovoClockLag
	r.bn = bnovotest.NewServer(bnovotest.Options{
		Now:        func() time.Time { return time.Now().Add(-lag) },
		Location:   loc,
		Windows:    simWindows,
		AuthWindow: bnovotest.Window{Limit: authWindow.Limit, Per: authWindow.Per},
	})
	r.pb = probonustest.NewServer(probonustest.Options{})
	r.bn.SetLatency(spec.BnovoDelay)
	r.pb.SetLatency(spec.LedgerDelay)

	today := dayOf(time.Now().In(loc))
	r.to = today.AddDate(0, 0, -spec.EndDaysAgo)
	r.from = r.to.AddDate(0, 0, 1-spec.Days)
	// Departures at noon on days before today: every seeded booking lies in the backfill range.
	r.ids = r.bn.Seed(spec.Bookings, spec.Seed, r.from, r.to)
	if err := os.WriteFile(r.cfgPath, []byte(r.configYAML()), 0o600); err != nil {
		r.Close()
		return nil, err
	}
	cfg, err := loadConfig(r.cfgPath)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.rules = pipeline.RulesFrom(cfg.Accrual)
	return r, nil
}

// keepRigs leaves every rig's directory (config, state file, syncd's log) for inspection.
var keepRigs bool

func (r *rig) Close() {
	r.bn.Close()
	r.pb.Close()
	if keepRigs {
		fmt.Fprintf(os.Stderr, "syncbench: kept %s\n", r.dir)
		return
	}
	_ = os.RemoveAll(r.dir)
}

// configYAML is the syncd config for this rig; both runners read it, so the in-process and
// the child-process pipelines are configured alike.
func (r *rig) configYAML() string {
	quoted := make([]string, len(r.spec.Windows))
	for i, w := range r.spec.Windows {
		quoted[i] = strconv.Quote(w)
	}
	return fmt.Sprintf(`bnovo:
  base_url: %s
  account_id: 1
  api_key: test-key
  rate_limits: [%s]
  auth_rate_limit: %q
  budget_share: %v
  request_timeout: 5s
  page_size: %d
probonus:
  base_url: %s
  token: test-token
  account_group_id: 1
  request_timeout: 1s
timezone: %s
state:
  path: %s
log:
  level: %s
  format: json
`, r.bn.URL, strings.Join(quoted, ", "), r.spec.AuthWindow, r.spec.Share, r.spec.PageSize, r.pb.URL, hotelZone, r.statePath, r.spec.LogLevel)
}

// backfillArg is the -backfill argument covering every seeded booking.
func (r *rig) backfillArg() string {
	return r.from.Format(time.DateOnly) + ":" + r.to.Format(time.DateOnly)
}

// work is what a backfill of the whole seeded range needs from Bnovo at the least.
type work struct {
	Bookings int // in the range
	Earning  int // of which earn: their payments must be read
	Pages    int // listing pages at the API's maximum page size
}

// writeBackCalls is what one guest written back costs at the least: the notes are read, the
// changed notes written, and read again to verify that a staff edit in between was not lost
// (issue 4 asks for exactly that).
const writeBackCalls = 3

// Minimum is the fewest Bnovo calls that can do the work: every page (at the configured page
// size, the API's maximum unless a scenario says otherwise), one payments call per
// earning booking, and the logins given.
func (w work) Minimum(logins int) int { return w.Pages + w.Earning + logins }

// backfillWork counts, from the simulator's own data, what a backfill of [from, to] must read.
func (r *rig) backfillWork() work {
	var w work
	fromDay, toDay := r.from.Format(time.DateOnly), r.to.Format(time.DateOnly)
	for _, id := range r.bn.BookingIDs() {
		b, ok := r.bn.Booking(id)
		if !ok {
			continue
		}
		day := b.Departure.In(r.loc).Format(time.DateOnly)
		if day < fromDay || day > toDay {
			continue
		}
		w.Bookings++
		if r.rules.Earns(b) {
			w.Earning++
		}
	}
	w.Pages = max(1, (w.Bookings+r.spec.PageSize-1)/r.spec.PageSize)
	return w
}

// traffic is what the simulated Bnovo received.
type traffic struct {
	Calls       int // API calls
	AuthCalls   int
	TooMany     int   // answered 429
	MaxInWindow []int // per window, the most calls seen in any sliding span
}

func (r *rig) traffic() traffic {
	st := r.bn.Stats()
	return traffic{Calls: st.Calls, AuthCalls: st.AuthCalls, TooMany: st.TooMany, MaxInWindow: st.MaxInWindow}
}

// openLog opens syncd's log file of the rig for appending: every start writes to it.
func (r *rig) openLog() (*os.File, error) {
	return os.OpenFile(r.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
}

// inProcessStart loads the rig's config, as syncd does at start, and opens its log, for a
// pipeline in this process. The caller closes the log.
func (r *rig) inProcessStart() (config.Config, *os.File, error) {
	cfg, err := loadConfig(r.cfgPath)
	if err != nil {
		return cfg, nil, err
	}
	logs, err := r.openLog()
	return cfg, logs, err
}

// loggedCalls is how many Bnovo API calls the state file's rate-limit log holds: what a
// limiter started now would count. Read after a run, with syncd stopped.
func (r *rig) loggedCalls() (int, error) {
	db, err := state.Open(r.statePath, state.Options{})
	if err != nil {
		return 0, err
	}
	calls, err := db.CallLog("bnovo").LoadCalls(time.Time{})
	return len(calls), errors.Join(err, db.Close())
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}
