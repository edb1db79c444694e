package sync

import (
	"strconv"
	"sync"

	"github.com/hotelsync/syncd/state"
)

// defaultWorkers keeps a page's bookings one after another unless the caller asks for more
// (see Options.Workers): concurrent workers log concurrently, which only a writer safe for
// concurrent use can take.
const defaultWorkers = 1

// guestGroups splits the bookings of a page that need planning into groups that may be planned
// and sent at the same time. Bookings whose customers share a phone or an e-mail, or whose
// accounts are known to be the same (from the booking's record or the account map), land in
// one group, in page order: the second booking of a new guest then finds the account the first
// one created instead of racing it to create another, and one account's withdrawals (which
// check its balance) and deposits go out in page order.
//
// What grouping cannot see is an account that only a lookup during planning will reveal (two
// guests with different contacts whose one ProBonus account holds both). Such bookings are new
// to syncd's account map and have no account in their record, so all they can plan is a
// deposit (see plan); deposits commute, and only raise the balance a withdrawal checked.
func (e *Engine) guestGroups(plans []*plan) ([][]*plan, error) {
	keysOf := make([][]string, len(plans))
	err := e.opt.DB.View(func(tx *state.Tx) error {
		for i, p := range plans {
			keys := p.guest.keys
			if p.rec.AccountID != 0 {
				keys = append(keys[:len(keys):len(keys)], accountKey(p.rec.AccountID))
			}
			for _, k := range p.guest.keys {
				id, ok := e.cachedAccount(k)
				if !ok {
					id, ok = tx.Account(k)
				}
				if ok {
					keys = append(keys[:len(keys):len(keys)], accountKey(id))
				}
			}
			keysOf[i] = keys
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Union-find over plan indexes: plans sharing a key share a root.
	parent := make([]int, len(plans))
	for i := range parent {
		parent[i] = i
	}
	root := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	firstWith := make(map[string]int)
	for i, keys := range keysOf {
		for _, k := range keys {
			if j, ok := firstWith[k]; ok {
				a, b := root(i), root(j)
				parent[max(a, b)] = min(a, b) // the earlier plan stays the root
			} else {
				firstWith[k] = i
			}
		}
	}
	var groups [][]*plan
	at := make(map[int]int) // root → index in groups
	for i, p := range plans {
		r := root(i)
		g, ok := at[r]
		if !ok {
			g = len(groups)
			at[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], p)
	}
	return groups, nil
}

func accountKey(id int64) string { return "account:" + strconv.FormatInt(id, 10) }

// withOpsOnly keeps, of every group, the plans with an operation (accrual or redemption) to send.
func withOpsOnly(groups [][]*plan) [][]*plan {
	var out [][]*plan
	for _, g := range groups {
		var kept []*plan
		for _, p := range g {
			if p.op != nil || p.redeemOp() != nil {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

// forEachGroup calls fn for every group, on at most Options.Workers goroutines at once, and
// returns when all calls have returned. One group is always handled by one call.
//
// A panic in fn is the one rule for the engine's workers: it is recovered where it happens
// (a panic on a worker goroutine would otherwise end the process), the other groups still run,
// and the first one is returned as a *PanicError, which fails the batch before anything more of
// it is committed. Operations already journaled stay open and are settled by their markers, so
// failing here never doubles one.
func (e *Engine) forEachGroup(groups [][]*plan, fn func([]*plan)) error {
	var (
		mu    sync.Mutex
		first error
	)
	guarded := func(g []*plan) {
		defer func() {
			if r := recover(); r != nil {
				err := newPanicError(r)
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
		fn(g)
	}
	workers := min(e.opt.Workers, len(groups))
	if workers <= 1 {
		for _, g := range groups {
			guarded(g)
		}
		return first
	}
	next := make(chan []*plan)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for g := range next {
				guarded(g)
			}
		})
	}
	for _, g := range groups {
		next <- g
	}
	close(next)
	wg.Wait()
	return first
}
