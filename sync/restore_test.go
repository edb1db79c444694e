package sync

import (
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
)

// A backup that knows a stay's first accrual (#1) and first redemption (#r1) is restored after
// the stay earned more (#2), had its bonus payment refunded (#r2) and was paid with bonuses again
// (#r3). Cancelled since, the stay must end with nothing posted and nothing taken: both
// sequences adopted from the ledger, each counted apart, nothing posted twice.
func TestRestoredBackupAdoptsBothSequencesBeforeACancellation(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.setStatus(id, 5, "Выехал")
	h.cycle()
	h.wantPosted(id, 50000)
	h.wantRedeemed(id, 30000, 1)
	backup := h.backup()

	h.pay(id, bnovo.PaymentIn, 500000, card) // #2: 750 bonuses in all
	h.pay(id, bnovo.PaymentOut, 30000, bonusPay)
	h.cycle()
	h.pay(id, bnovo.PaymentIn, 20000, bonusPay)
	h.cycle()
	h.wantPosted(id, 75000)
	h.wantRedeemed(id, 20000, 3)

	h.restore(backup)
	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	for range 3 {
		h.cycle()
	}
	h.wantPosted(id, 0)
	h.wantRedeemed(id, 0, 4)
	h.wantBalance(account, 100000)
	if rec := h.record(id); rec.Posted != 0 || rec.Seq != 3 || rec.Redeemed != 0 || rec.RedeemSeq != 4 || rec.Shortfall != 0 || rec.RedeemShortfall != 0 {
		t.Fatalf("record %+v: want #3 withdrawing 750 and #r4 giving back 200", rec)
	}
}

// A stay checked out, cancelled by mistake, and checked out again (Выехал → Отменен → Выехал)
// over three cycles: the credit is withdrawn and made again, the bonuses paid with are given
// back and taken again, each under the next marker of its own sequence, and the guest ends
// where one checkout would have left her.
func TestStatusFlipFlopCorrectsBothSequences(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.annaInHouse(100000)
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pay(id, bnovo.PaymentIn, 30000, bonusPay)
	h.setStatus(id, 5, "Выехал")
	h.cycle()
	h.setStatus(id, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	h.cycle()
	h.wantPosted(id, 0)
	h.wantRedeemed(id, 0, 2)
	b, _ := h.bn.Booking(id) // reinstated: checked out, its cancel_date cleared
	b.StatusID, b.StatusName, b.CancelDate, b.UpdateDate = 5, "Выехал", time.Time{}, time.Time{}
	h.tick()
	h.bn.PutBooking(b)
	h.cycle()
	h.wantPosted(id, 50000)
	h.wantRedeemed(id, 30000, 3)
	h.wantBalance(account, 100000+50000-30000)
	if _, ops := h.posted(id); ops != 3 {
		t.Fatalf("%d accrual operations, want #1, #2 and #3", ops)
	}
}
