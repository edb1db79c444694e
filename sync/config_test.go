package sync

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

// restartWith starts a new engine (a new process) on the same state with the options changed.
func (h *harness) restartWith(change func(*Options)) {
	h.t.Helper()
	change(&h.opt)
	var err error
	if h.eng, err = New(h.opt); err != nil {
		h.t.Fatal(err)
	}
}

// Redemption switched off for a while (the operator had trouble) and on again: a bonus payment
// refunded meanwhile is given back once redemption is on again, though the booking has not
// changed since the run that saw the refund with redemption off.
func TestRedemptionBackOnGivesBackARefundMadeWhileItWasOff(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.restartWith(func(o *Options) { o.Redemption.Enabled = false })
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(id, 30000, 1)

	h.restartWith(func(o *Options) { o.Redemption.Enabled = true })
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	if got := h.balance(account); got != 100000 {
		t.Fatalf("balance %d, want 100000: the refunded bonus payment given back", got)
	}
}

// The same after the clock ran days ahead during the last run with redemption on (and was
// stepped back): the changed cursor that run left lies in the future, and the first run with
// redemption on again must not take it for when redemption was switched off.
func TestRedemptionBackOnAfterTheClockRanAhead(t *testing.T) {
	var ahead atomic.Int64
	h := redemptionHarness(t, func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	_, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	ahead.Store(int64(72 * time.Hour))
	h.cycle()
	h.wantRedeemed(id, 30000, 1)
	ahead.Store(0)

	h.restartWith(func(o *Options) { o.Redemption.Enabled = false })
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	h.restartWith(func(o *Options) { o.Redemption.Enabled = true })
	h.cycle()
	h.wantRedeemed(id, 0, 2)
}
