package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/retry"
	syncer "github.com/hotelsync/syncd/sync"
)

// runCheckConfig validates the config file: exit 0 when it is good, 2 naming each bad key.
// With -online it then tries what the daemon will do first — log in to Bnovo, read one page of
// bookings, read ProBonus's account groups — and prints one line per check (exit 1 when any
// fails). That costs two Bnovo calls (one of them a login) and one ProBonus call, and never
// touches the state file, so it is safe while the daemon runs.
func runCheckConfig(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	cfg, warnings, err := loadConfig(f.configPath, getenv)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintf(stdout, "config %s: ok\n", f.configPath)
	if !f.online {
		return nil
	}
	failed := 0
	for _, c := range onlineChecks(cfg) {
		result, err := runCheck(ctx, c.run)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: %s\n", c.name, checkFailure(err))
			continue
		}
		fmt.Fprintf(stdout, "%s: ok%s\n", c.name, result)
	}
	if failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d online check(s) failed; fix what they name, then run -check-config -online again", failed)}
	}
	return nil
}

// onlineCheckTimeout bounds one check; the clients' own retries are cut short too, so a check
// answers within seconds whatever is wrong.
const onlineCheckTimeout = 45 * time.Second

type onlineCheck struct {
	name string
	run  func(ctx context.Context) (string, error)
}

func runCheck(ctx context.Context, run func(ctx context.Context) (string, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, onlineCheckTimeout)
	defer cancel()
	return run(ctx)
}

// checkPolicy retries a 5xx or a timeout a few times within the check's time, not for minutes.
var checkPolicy = retry.Policy{Initial: time.Second, Max: 5 * time.Second, MaxElapsed: 15 * time.Second}

// onlineChecks are -check-config -online's checks, in the order they depend on each other.
// A client the config cannot build fails its checks with the reason.
func onlineChecks(cfg config.Config) []onlineCheck {
	pms, pmsErr := bnovo.New(bnovo.Config{
		BaseURL:        cfg.Bnovo.BaseURL,
		AccountID:      cfg.Bnovo.AccountID,
		APIKey:         cfg.Bnovo.APIKey.Reveal(),
		Location:       cfg.Location,
		RequestTimeout: time.Duration(cfg.Bnovo.RequestTimeout),
		PageSize:       1,
		Retry:          checkPolicy,
		Logger:         zerolog.Nop(),
	})
	ledger, ledgerErr := probonus.New(probonus.Config{
		BaseURL:        cfg.ProBonus.BaseURL,
		Token:          cfg.ProBonus.Token.Reveal(),
		TokenHeader:    cfg.ProBonus.TokenHeader,
		RequestTimeout: time.Duration(cfg.ProBonus.RequestTimeout),
		Retry:          checkPolicy,
		Logger:         zerolog.Nop(),
	})
	loggedIn := false
	return []onlineCheck{
		{"bnovo login (" + cfg.Bnovo.BaseURL + ", account " + fmt.Sprint(cfg.Bnovo.AccountID) + ")", func(ctx context.Context) (string, error) {
			if pmsErr != nil {
				return "", pmsErr
			}
			if err := pms.Login(ctx); err != nil {
				return "", err
			}
			loggedIn = true
			return "", nil
		}},
		{"bnovo read one page of bookings", func(ctx context.Context) (string, error) {
			if !loggedIn {
				return "", errors.New("skipped: the login failed")
			}
			now := time.Now().In(cfg.Location)
			total := 0
			q := bnovo.ListQuery{DataType: bnovo.ByChanged, From: now.AddDate(0, 0, -1), To: now}
			err := pms.ListBookings(ctx, q, 0, func(p bnovo.Page) error {
				total = p.Total
				return errOnePage
			})
			if err != nil && !errors.Is(err, errOnePage) {
				return "", err
			}
			return fmt.Sprintf(" (%d bookings changed since yesterday)", total), nil
		}},
		{"probonus account groups (" + cfg.ProBonus.BaseURL + ")", func(ctx context.Context) (string, error) {
			if ledgerErr != nil {
				return "", ledgerErr
			}
			groups, err := ledger.AccountGroups(ctx)
			if err != nil {
				return "", err
			}
			want := cfg.ProBonus.AccountGroupID
			var names []string
			for _, g := range groups {
				if g.ID == want {
					return fmt.Sprintf(" (probonus.account_group_id %d is %q)", g.ID, g.Name), nil
				}
				names = append(names, fmt.Sprintf("%d %q", g.ID, g.Name))
			}
			if want == 0 {
				return fmt.Sprintf(" (%d groups)", len(groups)), nil
			}
			return "", fmt.Errorf("probonus.account_group_id %d is not one of ProBonus's account groups: %s", want, strings.Join(names, ", "))
		}},
	}
}

var errOnePage = errors.New("one page is enough")

// checkFailure says what a failed check means, in the words the run itself would use: an
// unreachable API or refused credentials name the keys to fix.
func checkFailure(err error) string {
	if ce := syncer.StopError(err); ce != nil {
		return ce.Error()
	}
	return err.Error()
}
