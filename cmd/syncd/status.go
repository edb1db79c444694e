package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
)

// runStatus prints the state as key: value lines.
func runStatus(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	cfg, _, err := loadConfig(f.configPath, getenv)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.State.Path); errors.Is(err, fs.ErrNotExist) {
		// Opening would create the file, and as whoever runs -status: under systemd that could
		// be a file the daemon cannot open later. Nothing has run yet, so there is nothing to show.
		_, err := fmt.Fprintf(stdout, "version: %s\ndaemon: stopped\nstate: %s (none yet: syncd has not run with this config)\n", readBuildInfo().short(), cfg.State.Path)
		return err
	}
	db, err := state.Open(cfg.State.Path, state.Options{LockTimeout: 500 * time.Millisecond})
	if err != nil {
		if isLocked(err) {
			// The daemon holds the state file: ask it over its status socket.
			return statusFromDaemon(ctx, cfg.Status.Socket, stdout)
		}
		return withDamageAdvice(fmt.Errorf("opening state: %w", err))
	}
	defer db.Close()
	var windows []ratelimit.Window
	for _, s := range cfg.Bnovo.RateLimits {
		w, err := ratelimit.ParseWindow(s)
		if err != nil {
			return usageError("bnovo.rate_limits: %v", err)
		}
		windows = append(windows, w)
	}
	limiter, err := ratelimit.New(windows, ratelimit.Options{Share: cfg.Bnovo.BudgetShare, Store: db.CallLog("bnovo")})
	if err != nil {
		return err
	}
	lines, err := statusLines(db, limiter, "stopped", "")
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, strings.Join(lines, "\n")+"\n")
	return err
}

// statusLines renders the state for -status: the same lines whether read from the file or
// served by a running daemon. health is the running daemon's health line ("ok", or "degraded:
// ..."); "" when syncd is stopped. Keys never contain a colon, so `key: value` splits at the
// first one.
func statusLines(db *state.DB, limiter *ratelimit.Limiter, daemon, health string) ([]string, error) {
	var lines []string
	add := func(k string, v any) { lines = append(lines, fmt.Sprintf("%s: %v", k, v)) }
	add("version", readBuildInfo().short())
	add("daemon", daemon)
	if health != "" {
		add("health", health)
	}
	add("state", db.Path())
	if size, err := db.Size(); err == nil {
		add("state_bytes", size)
	}
	err := db.View(func(tx *state.Tx) error {
		c := tx.Counts()
		add("bookings", c.Bookings)
		add("accounts", c.Accounts)
		add("parked", c.Parked)
		add("shortfalls", c.Shortfalls)
		add("redemption_shortfalls", c.RedeemShortfalls)
		for _, st := range []state.OpState{state.OpIntended, state.OpPosted, state.OpUnknown, state.OpFailed} {
			add("journal."+string(st), c.Ops[st])
		}
		add("queued", tx.QueueLen())
		cursors := tx.Cursors()
		names := make([]string, 0, len(cursors))
		for n := range cursors {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			add("cursor."+statusKey(n), cursors[n])
		}
		parked, err := tx.ParkedList()
		if err != nil {
			return err
		}
		for _, p := range parked {
			add("parked."+statusKey(p.Key), fmt.Sprintf("%s (since %s, seen %d times)", p.Reason, p.Since.Format(time.RFC3339), p.Count))
		}
		short, err := tx.Shortfalls()
		if err != nil {
			return err
		}
		for _, b := range short {
			add(fmt.Sprintf("shortfall.booking_%d", b.ID), fmt.Sprintf("%d kopecks over-credited on account %d (booking %s); settle by hand", b.Shortfall, b.AccountID, b.Number))
		}
		unredeemed, err := tx.RedeemShortfalls()
		if err != nil {
			return err
		}
		for _, b := range unredeemed {
			add(fmt.Sprintf("redemption_shortfall.booking_%d", b.ID), fmt.Sprintf("%d kopecks paid with bonuses not withdrawn (booking %s); top up or enrol the guest's account, then change the booking", b.RedeemShortfall, b.Number))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if limiter != nil {
		for _, u := range limiter.Usage() {
			add("budget."+u.Window.String(), fmt.Sprintf("%d/%d", u.Used, u.Limit))
		}
		if wait := limiter.Reserve(); wait > oneShotMaxWait {
			// A share spent: when the next Bnovo call may go (the daemon waits until then; a
			// one-shot run stopped and said so). A short window's few seconds are not news.
			add("budget.resumes", time.Now().Add(wait).Round(time.Second).Format(time.RFC3339))
		}
	}
	return lines, nil
}

// statusKey makes a state key (cursor.backfill:2026-01-01:2026-03-31, booking:48211734) usable
// as the key of a `key: value` line: colons become underscores.
func statusKey(k string) string { return strings.ReplaceAll(k, ":", "_") }
