package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/probonus"
)

var probonusHostile = map[string]hostile.Answer{
	"wrong shape":   hostile.WrongShape,
	"success false": hostile.SuccessFalse,
	"HTML page":     hostile.HTMLPage,
	"{}":            hostile.EmptyObject,
	"redirect":      hostile.Redirect,
	"proxy 404":     hostile.NotFoundPage,
	"empty page":    hostile.EmptyPage,
}

// Issue 11 item 1: a deposit whose outcome is unclear is looked up in the account's operations;
// an operations answer that is not the documented one proves nothing, so the deposit is neither
// taken as absent nor sent again, however long the answer stays hostile.
func TestHostileOperationsAnswerNeverDoublesAnUnclearDeposit(t *testing.T) {
	t.Parallel()
	eachAnswer(t, probonusHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.pb.CommitThenFail("deposit", 1)
		h.pb.HostileNext("operations", lots, answer)
		for range 2 {
			// The deposit cannot be settled while the answers are hostile: the run says so.
			var unsettled *UnsettledError
			if _, err := h.eng.Cycle(context.Background()); !errors.As(err, &unsettled) {
				t.Fatalf("cycle: %v, want an UnsettledError naming the deposit", err)
			}
		}
		if _, ops := h.posted(id); ops != 1 {
			t.Fatalf("%d operations for the booking, want the one committed deposit", ops)
		}
		h.wantNothingParked()
		h.wantNoCapture()

		h.pb.FailNext("operations", 0, 0)
		sum := h.cycle()
		if _, ops := h.posted(id); ops != 1 || sum.Resolved != 1 {
			t.Fatalf("%d operations, summary %+v: want the deposit found by its marker", ops, sum)
		}
		if rec := h.record(id); rec.Posted != 50000 || rec.Seq != 1 {
			t.Fatalf("record %+v: want posted 50000 under #1", rec)
		}
	})
}

// A state restored from an older backup adopts the booking's operations from the ledger; a
// hostile operations answer must not read as "none there" and credit the stay again.
func TestHostileOperationsAnswerNeverDoublesAfterARestore(t *testing.T) {
	t.Parallel()
	eachAnswer(t, probonusHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.cycle()
		h.wantPosted(id, 50000)

		h.restore(filepath.Join(t.TempDir(), "restored.db"))
		h.pb.HostileNext("operations", lots, answer)
		h.cycle()
		if _, ops := h.posted(id); ops != 1 {
			t.Fatalf("%d operations after a restore with hostile operations answers, want 1", ops)
		}
		h.wantNothingParked()
		h.wantNoCapture()

		h.pb.FailNext("operations", 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
		if _, ops := h.posted(id); ops != 1 {
			t.Fatalf("%d operations once ProBonus answered properly, want 1", ops)
		}
	})
}

// Issue 11 item 14: a lookup answered {} (or any hostile 200) is neither account 0 nor "not
// found": nothing is created, posted or parked until ProBonus answers properly.
func TestHostileLookupAnswerIsNeitherAccountZeroNorNotFound(t *testing.T) {
	t.Parallel()
	eachAnswer(t, probonusHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		guest := probonusAccount("x@example.ru")
		guest.Phones = []string{"79161234567"}
		acct := h.pb.AddAccount(guest)
		id := h.paidStay("Анна", "+79161234567", "")
		h.pb.HostileNext("find", lots, answer)
		h.cycle()
		h.wantPosted(id, 0)
		if n := h.pb.Stats().ByEndpoint["create"]; n != 0 {
			t.Fatalf("%d accounts created on a hostile lookup answer", n)
		}
		if rec := h.record(id); rec.AccountID != 0 {
			t.Fatalf("record %+v: matched to an account on a hostile answer", rec)
		}
		h.wantNothingParked()
		h.wantNoCapture()

		h.pb.FailNext("find", 0, 0)
		h.cycle()
		h.wantPosted(id, 50000)
		if ops := h.pb.Operations(acct); len(ops) != 1 {
			t.Fatalf("%d operations on the guest's account, want 1", len(ops))
		}
	})
}

// A withdrawal needs the balance; a balance answer that is not the documented one is not a
// zero balance (which would record a false shortfall and never withdraw).
func TestHostileBalanceAnswerIsNotAShortfall(t *testing.T) {
	t.Parallel()
	eachAnswer(t, probonusHostile, func(t *testing.T, h *harness, answer hostile.Answer) {
		id := h.paidStay("Анна", "+79161234567", "")
		h.cycle()
		h.setStatus(id, 2, "Отменен")
		h.pb.HostileNext("account", lots, answer)
		sum := h.cycle()
		if sum.Shortfalls != 0 || sum.Withdrawals != 0 || h.record(id).Shortfall != 0 {
			t.Fatalf("summary %+v, record %+v: a hostile balance answer made a shortfall or a withdrawal", sum, h.record(id))
		}
		h.wantPosted(id, 50000)
		h.wantNothingParked()
		h.wantNoCapture()

		h.pb.FailNext("account", 0, 0)
		h.cycle()
		h.wantPosted(id, 0)
	})
}

// A caching proxy that answers every lookup with the same account must not send one guest's
// bonuses to another: the lookup is refused (the account does not hold the phone asked for),
// nothing is credited or created, and the stay is credited to the right guest once ProBonus
// answers properly.
func TestLookupAnsweredWithAnotherGuestsAccountCreditsNoOne(t *testing.T) {
	h := newHarness(t, nil)
	other := probonusAccount("other@example.ru")
	other.Phones = []string{"79160000009"}
	otherID := h.pb.AddAccount(other)
	guest := probonusAccount("x@example.ru")
	guest.Phones = []string{"79161234567"}
	guestID := h.pb.AddAccount(guest)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pb.HostileNext("find", lots, hostile.FirstAccount)
	h.cycle()
	if ops := h.pb.Operations(otherID); len(ops) != 0 {
		t.Fatalf("the stay was credited to another guest's account: %+v", ops)
	}
	if n := h.pb.Stats().ByEndpoint["create"]; n != 0 {
		t.Fatalf("%d accounts created", n)
	}
	h.wantNothingParked()

	h.pb.FailNext("find", 0, 0)
	h.cycle()
	if ops := h.pb.Operations(guestID); len(ops) != 1 || ops[0].Sum != 50000 {
		t.Fatalf("the guest's account holds %+v, want the one deposit of 500 bonuses", ops)
	}
	if ops := h.pb.Operations(otherID); len(ops) != 0 {
		t.Fatalf("another guest's account holds %+v", ops)
	}
}

// oldestFirstLedger answers operations oldest first (the contract says newest first, but it is
// modeled) and dates every operation without a marker back by days, as a guest's restaurant
// history would be.
type oldestFirstLedger struct{ Ledger }

func (l oldestFirstLedger) Operations(ctx context.Context, accountID int64, offset, limit int) ([]probonus.Operation, int, error) {
	all, total, err := l.Ledger.Operations(ctx, accountID, 0, 1000)
	if err != nil {
		return nil, 0, err
	}
	slices.Reverse(all)
	for i := range all {
		if !markerRE.MatchString(all[i].Reason) {
			all[i].CreatedAt = all[i].CreatedAt.Add(-72*time.Hour + time.Duration(i)*time.Minute)
		}
	}
	if offset >= len(all) {
		return nil, total, nil
	}
	return all[offset:min(offset+limit, len(all))], total, nil
}

// The search for an unclear deposit's marker stops at operations older than a day only when the
// page is newest first: on a page in another order that proves nothing, and stopping there
// would take a posted deposit for absent and post it again.
func TestMarkerSearchDoesNotTrustAnUnorderedPage(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Ledger = oldestFirstLedger{o.Ledger} })
	guest := probonusAccount("x@example.ru")
	guest.Phones = []string{"79161234567"}
	acct := h.pb.AddAccount(guest)
	for i := range 150 {
		if _, err := h.ledger.Deposit(context.Background(), acct, 100, fmt.Sprintf("ресторан, чек %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	id := h.paidStay("Анна", "+79161234567", "")
	h.pb.CommitThenFail("deposit", 1)
	h.cycle()
	h.cycle()
	if _, ops := h.posted(id); ops != 1 {
		t.Fatalf("%d operations for the booking, want the one committed deposit", ops)
	}
	h.wantPosted(id, 50000)
}
