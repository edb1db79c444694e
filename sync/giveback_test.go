package sync

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
)

// Bonuses paid for a stay are given back when it is cancelled; the guest's account is blocked
// just then (staff investigating it). ProBonus refuses the deposit back with 400. That is the
// account's state, not the booking's fault: once the account is unblocked the bonuses must go
// back, as a blocked account's credit does (retried daily), though a cancelled booking seldom
// changes again.
func TestGiveBackToABlockedAccountIsMadeOnceItIsUnblocked(t *testing.T) {
	var later atomic.Int64
	h := redemptionHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
	})
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.pb.SetBlocked(account, true)
	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.pb.SetBlocked(account, false)
	later.Store(int64(25 * time.Hour))
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	h.wantBalance(account, 100000)
}
