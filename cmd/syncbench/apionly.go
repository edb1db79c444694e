package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/probonus"
)

// apiOnlyWorkers is how many bookings the API-only run handles at once: more than syncd's
// workers, so that the run shows what the simulators and the clients allow, not a schedule.
const apiOnlyWorkers = 8

// apiOnlyResult is what the API work of a backfill costs with nothing of syncd around it.
type apiOnlyResult struct {
	N      int
	Wall   time.Duration
	CPU    time.Duration // this whole process: both simulators and the clients
	Trips  int           // HTTP round trips, both APIs
	Failed int           // calls that failed (a guest created twice at once, say): counted, not retried
	First  string        // the first failure's error, when any failed
}

func (r apiOnlyResult) BookingsPerSec() float64 { return float64(r.N) / r.Wall.Seconds() }

// runAPIOnly makes the calls a backfill of n bookings needs against the local rig's simulators
// through syncd's own API clients, apiOnlyWorkers bookings at a time, with no limiter, state
// file, journal or engine: list the range, then for each earning booking its payments, the
// guest's account (remembered, else looked up, else created; the operations of an account not
// created in the run are read, as syncd adopts what a lost state file no longer knows), a
// deposit, and for a stay within the 30-day lookback the write-back (account, guest, PUT,
// guest again). It bounds what any pipeline could do on this machine: syncd adds its
// bookkeeping on top of the same calls.
func runAPIOnly(ctx context.Context, n int, seed int64) (apiOnlyResult, error) {
	res := apiOnlyResult{N: n}
	r, err := newRig(localSpec(n, seed))
	if err != nil {
		return res, err
	}
	defer r.Close()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = apiOnlyWorkers
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	bn, err := bnovo.New(bnovo.Config{BaseURL: r.bn.URL, AccountID: 1, APIKey: "test-key", Location: r.loc, HTTPClient: hc})
	if err != nil {
		return res, err
	}
	pb, err := probonus.New(probonus.Config{BaseURL: r.pb.URL, Token: "test-token", HTTPClient: hc})
	if err != nil {
		return res, err
	}

	cpu0 := processCPU()
	start := time.Now()
	var bookings []bnovo.Booking
	q := bnovo.ListQuery{DataType: bnovo.ByDeparture, From: r.from, To: r.to}
	if err := bn.ListBookings(ctx, q, 0, func(p bnovo.Page) error {
		bookings = append(bookings, p.Bookings...)
		return nil
	}); err != nil {
		return res, fmt.Errorf("listing: %w", err)
	}

	var (
		accountsMu sync.Mutex
		accounts   = make(map[string]int64)
		failed     atomic.Int64
		firstErr   sync.Once
		next       atomic.Int64
		wg         sync.WaitGroup
	)
	// account finds the guest's account as syncd does: the accounts already matched by either
	// key, else a lookup by phone then e-mail, else a new account; a found one's operations
	// are read once (syncd adopts what a lost state file no longer knows).
	fail := func(what string, err error) {
		failed.Add(1)
		firstErr.Do(func() { res.First = what + ": " + err.Error() })
	}
	var keyLocks sync.Map // guest key -> *sync.Mutex
	lockKeys := func(keys []string) (unlock func()) {
		sorted := slices.Compact(slices.Sorted(slices.Values(keys))) // one order for all: no deadlock
		locks := make([]*sync.Mutex, 0, len(sorted))
		for _, k := range sorted {
			m, _ := keyLocks.LoadOrStore(k, new(sync.Mutex))
			locks = append(locks, m.(*sync.Mutex))
			locks[len(locks)-1].Lock()
		}
		return func() {
			for _, m := range slices.Backward(locks) {
				m.Unlock()
			}
		}
	}
	account := func(c *bnovo.Customer) (id int64, created, ok bool) {
		phone, hasPhone := contact.Phone(c.Phone)
		email, hasEmail := contact.Email(c.Email)
		var keys []string
		if hasPhone {
			keys = append(keys, phone)
		}
		if hasEmail {
			keys = append(keys, email)
		}
		if len(keys) == 0 {
			return 0, false, false
		}
		known := func() (int64, bool) {
			accountsMu.Lock()
			defer accountsMu.Unlock()
			for _, k := range keys {
				if id, ok := accounts[k]; ok {
					return id, true
				}
			}
			return 0, false
		}
		if id, ok := known(); ok {
			return id, false, true
		}
		// Two stays of one guest in flight at once must not both create the account (ProBonus
		// refuses the second with 400): syncd's engine keeps such stays in one worker; here the
		// guest's keys are locked while the account is found or created.
		defer lockKeys(keys)()
		if id, ok := known(); ok {
			return id, false, true
		}
		var a probonus.Account
		err := probonus.ErrNotFound
		for _, k := range keys {
			if a, err = pb.FindAccount(ctx, k); !probonus.IsNotFound(err) {
				break
			}
		}
		if probonus.IsNotFound(err) {
			na := probonus.NewAccount{FirstName: c.Name, LastName: c.Surname, AccountGroupID: 1}
			if hasPhone {
				na.Phones = []string{phone}
			}
			if hasEmail {
				na.Email = email
			}
			a, err = pb.CreateAccount(ctx, na)
			created = err == nil
		}
		if err != nil {
			fail("matching an account", err)
			return 0, false, false
		}
		accountsMu.Lock()
		for _, k := range keys {
			accounts[k] = a.ID
		}
		accountsMu.Unlock()
		return a.ID, created, true
	}
	horizon := dayOf(time.Now().In(r.loc)).AddDate(0, 0, -30)
	writeBack := func(b bnovo.Booking, id int64) error {
		a, err := pb.Account(ctx, id)
		if err != nil {
			return err
		}
		if _, err := bn.Guests(ctx, b.ID); err != nil {
			return err
		}
		if _, err := bn.UpdateGuest(ctx, b.ID, b.Customer.ID, fmt.Sprintf("ProBonus: счёт %d, баланс %d", a.ID, a.Balance)); err != nil {
			return err
		}
		_, err = bn.Guests(ctx, b.ID)
		return err
	}
	for range apiOnlyWorkers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bookings)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				b := bookings[i]
				if !r.rules.Earns(b) || b.Customer == nil {
					continue
				}
				if _, err := bn.Payments(ctx, b.ID); err != nil {
					fail("payments", err)
					continue
				}
				id, created, ok := account(b.Customer)
				if !ok {
					continue
				}
				if !created {
					if _, _, err := pb.Operations(ctx, id, 0, 100); err != nil {
						fail("operations", err)
						continue
					}
				}
				if _, err := pb.Deposit(ctx, id, 100, fmt.Sprintf("bnovo:%d#1", b.ID)); err != nil {
					fail("deposit", err)
					continue
				}
				if b.Departure.Before(horizon) {
					continue
				}
				if err := writeBack(b, id); err != nil {
					fail("write-back", err)
				}
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.CPU = processCPU() - cpu0
	res.Trips = r.bn.Stats().Calls + r.bn.Stats().AuthCalls + r.pb.Stats().Calls
	res.Failed = int(failed.Load())
	return res, ctx.Err()
}
