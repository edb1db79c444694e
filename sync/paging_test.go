package sync

import (
	"context"
	"fmt"
	"testing"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
)

// restaurantBills posts n operations of another system (r_keeper) to the account, as a regular
// guest's restaurant bills are.
func (h *harness) restaurantBills(account int64, n int) {
	h.t.Helper()
	for i := range n {
		if _, err := h.ledger.Deposit(context.Background(), account, 100, fmt.Sprintf("r_keeper: чек %d", i)); err != nil {
			h.t.Fatal(err)
		}
	}
}

// creditedAfterBackup is a regular's stay credited (#1, 500 bonuses) after the state was
// backed up, with 5 restaurant bills before it and after bills after: it returns the account,
// the booking and the backup.
func (h *harness) creditedAfterBackup(after int) (account, booking int64, backup string) {
	h.t.Helper()
	account = h.pb.AddAccount(member("Ева", []string{"79161010103"}, ""))
	h.restaurantBills(account, 5)
	h.cycle()
	backup = h.backup()
	booking = h.paidStay("Ева", "+79161010103", "")
	h.cycle()
	h.wantPosted(booking, 50000)
	h.restaurantBills(account, after)
	return account, booking, backup
}

// takenThenCancelled is Анна's stay (her account holding 1 000 bonuses) paid 300 ₽ with bonuses
// (#r1), with 5 restaurant bills before the withdrawal and 99 after it (#r1 is the last
// operation of the first page of 100), then cancelled: it returns the account and the booking.
func (h *harness) takenThenCancelled() (account, booking int64) {
	h.t.Helper()
	account, booking = h.annaInHouse(100000)
	h.restaurantBills(account, 5)
	h.pay(booking, bnovo.PaymentIn, 30000, bonusPay)
	h.cycle()
	h.wantRedeemed(booking, 30000, 1)
	h.restaurantBills(account, 99)
	h.setStatus(booking, bnovotest.StatusCancelled, bnovotest.StatusNames[bnovotest.StatusCancelled])
	return account, booking
}

// A cancelled stay gives back the bonuses it took, once. The give-back reads the guest's
// operations for the booking's #r markers; a regular's account holds more than a page of them,
// and the restaurant posting a bill between syncd's reads of two pages shifts the list by one:
// the withdrawal at the end of the first page comes again at the top of the second. Counted
// twice, it would give back twice what was taken.
func TestGiveBackCountsAWithdrawalOnceWhenTheListShiftsBetweenPages(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.takenThenCancelled()
	h.pb.OperationBetweenPages(account, 1)
	h.cycle()
	h.wantRedeemed(id, 0, 2)
	if got, want := h.balance(account), int64(100000+(5+99+1)*100); got != want {
		t.Fatalf("balance %d, want %d: what was taken given back once", got, want)
	}
	if rec := h.record(id); rec.Redeemed != 0 {
		t.Fatalf("record %+v: want nothing redeemed", rec)
	}
}

// The accrual's side of the same shift: a state restored from a backup older than a stay's
// credit finds that credit by marker when the stay is cancelled. Counted twice (the list shifted
// between two pages), the adopted credit is more than the guest holds: a shortfall of twice the
// credit would be recorded and nothing withdrawn, the cancelled stay's bonuses left with the
// guest.
func TestRestoredStateAdoptsACreditOnceWhenTheListShiftsBetweenPages(t *testing.T) {
	h := newHarness(t, nil)
	acct, id, backup := h.creditedAfterBackup(99)
	h.setStatus(id, 2, "Отменен")

	h.restore(backup)
	h.pb.OperationBetweenPages(acct, 1)
	h.cycle()
	h.wantPosted(id, 0)
	if rec := h.record(id); rec.Posted != 0 || rec.Shortfall != 0 || rec.Seq != 2 {
		t.Fatalf("record %+v: want #1 adopted once and withdrawn by #2, no shortfall", rec)
	}
}

// A list that keeps moving while it is read proves nothing: nothing is given back (nor taken)
// until a read sees it still, and then once.
func TestGiveBackWaitsForAListThatKeepsMoving(t *testing.T) {
	h := redemptionHarness(t, nil)
	account, id := h.takenThenCancelled()
	h.pb.OperationBetweenPages(account, lots)
	sum := h.cycle()
	h.wantRedeemed(id, 30000, 1)
	if sum.Retrying == 0 {
		t.Fatalf("summary %+v: want the booking queued while the list moves", sum)
	}
	h.wantNothingParked()

	h.pb.OperationBetweenPages(account, 0)
	h.cycle()
	h.wantRedeemed(id, 0, 2)
}

// cappedPageLedger answers at most 50 operations a page, whatever was asked, as an API whose
// page size has a lower ceiling than syncd asks for.
type cappedPageLedger struct{ Ledger }

func (l cappedPageLedger) Operations(ctx context.Context, accountID int64, offset, limit int) ([]probonus.Operation, int, error) {
	return l.Ledger.Operations(ctx, accountID, offset, min(limit, 50))
}

// A server that caps the page below what syncd asks must not have operations skipped: the next
// page starts after what the last one held. Skipped, a restored state's credit would be posted
// again under the same marker.
func TestRestoredStateFindsACreditOnAServerThatCapsThePageSize(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Ledger = cappedPageLedger{o.Ledger} })
	_, id, backup := h.creditedAfterBackup(60)

	h.restore(backup)
	h.pay(id, bnovo.PaymentIn, 500000, card) // 15 000 ₽ → 750 bonuses: #2 deposits 250
	h.cycle()
	h.wantPosted(id, 75000)
	if _, ops := h.posted(id); ops != 2 {
		t.Fatalf("%d operations for the booking, want #1 adopted and #2", ops)
	}
}
