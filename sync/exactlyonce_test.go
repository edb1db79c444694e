package sync

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// A deposit the server commits but answers with an error must be found by its marker, not sent
// again; one the server never executed must be sent again under a new marker.
func TestUnclearDepositsAreSettledByMarker(t *testing.T) {
	for _, fault := range []string{"commit-then-500", "commit-then-drop", "500-not-committed"} {
		t.Run(fault, func(t *testing.T) {
			h := newHarness(t, nil)
			id := h.checkedOut("+79161234567", "", "")
			h.pay(id, bnovo.PaymentIn, 1000000, card)
			switch fault {
			case "commit-then-500":
				h.pb.CommitThenFail("deposit", 1)
			case "commit-then-drop":
				h.pb.CommitThenDrop("deposit", 1)
			case "500-not-committed":
				h.pb.FailNext("deposit", 1, 500)
			}
			sum := h.cycle()
			h.wantPosted(id, 50000)
			_, ops := h.posted(id)
			if ops != 1 {
				t.Fatalf("%d operations for the booking, want exactly 1", ops)
			}
			if sum.Resolved != 1 {
				t.Fatalf("summary %+v: want the unclear operation resolved", sum)
			}
			rec := h.record(id)
			wantSeq := 1
			if fault == "500-not-committed" {
				wantSeq = 2 // #1 proven absent, then posted as #2
			}
			if rec.Seq != wantSeq || rec.Posted != 50000 {
				t.Fatalf("record %+v: want seq %d and posted 50000", rec, wantSeq)
			}
			// A second cycle changes nothing.
			h.cycle()
			if _, ops := h.posted(id); ops != 1 {
				t.Fatalf("second cycle posted again: %d operations", ops)
			}
		})
	}
}

// An operation journaled by a process that died before recording its outcome is looked up, not
// re-sent: here the journal says "intended" and the ledger already has it.
func TestIntendedOperationFromACrashIsFoundNotResent(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.crashedDeposit(id, h.eng.created.Add(-1), nil)
	h.cycle()
	if _, ops := h.posted(id); ops != 1 {
		t.Fatalf("%d operations, want the crashed one only", ops)
	}
	if rec := h.record(id); rec.Posted != 50000 || rec.Seq != 1 {
		t.Fatalf("record %+v, want posted 50000 at seq 1", rec)
	}
}

func TestFailedLookupNeverCreatesAnAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.pb.AddAccount(probonusAccount("anna@example.ru"))
	id := h.checkedOut("+79161234567", "anna@example.ru", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.pb.FailNext("find", 1_000_000, 503) // every retry of the lookup fails
	sum := h.cycle()
	if n := len(h.pb.Accounts()); n != 1 {
		t.Fatalf("%d accounts: a failed lookup led to a creation", n)
	}
	if sum.Deposits != 0 || sum.Retrying == 0 {
		t.Fatalf("summary %+v: want nothing posted and the booking retrying", sum)
	}
	h.pb.FailNext("find", 0, 0)
	h.cycle()
	h.wantPosted(id, 50000)
	if n := len(h.pb.Accounts()); n != 1 {
		t.Fatalf("%d accounts after the retry, want 1", n)
	}
}

func TestWithdrawalAboveBalanceRecordsShortfall(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	acct := h.record(id).AccountID
	h.pb.SetBalance(acct, 10000) // the guest spent most of the bonuses
	h.setStatus(id, 2, "Отменен")
	sum := h.cycle()
	if sum.Shortfalls != 1 || sum.Withdrawals != 0 {
		t.Fatalf("summary %+v: want one shortfall and no withdrawal", sum)
	}
	h.wantPosted(id, 50000)
	if a, _ := h.pb.Account(acct); a.Balance != 10000 {
		t.Fatalf("balance %d: a part was withdrawn", a.Balance)
	}
	rec := h.record(id)
	if rec.Shortfall != 50000 || rec.Posted-rec.Target != rec.Shortfall {
		t.Fatalf("record %+v: want posted − target = shortfall = 50000", rec)
	}
	// Not retried automatically.
	if sum := h.cycle(); sum.Withdrawals != 0 {
		t.Fatalf("a later cycle withdrew: %+v", sum)
	}
}

func TestUnchangedBookingsCostNoCalls(t *testing.T) {
	h := newHarness(t, nil)
	for i := 0; i < 5; i++ {
		id := h.checkedOut("+7916123456"+itoa(int64(i)), "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
	}
	h.cycle()
	before := h.bn.Stats().ByPath
	payments := func(m map[string]int) int {
		n := 0
		for p, c := range m {
			if len(p) > 9 && p[len(p)-9:] == "/payments" {
				n += c
			}
		}
		return n
	}
	sum := h.cycle()
	after := h.bn.Stats().ByPath
	if payments(after) != payments(before) {
		t.Fatalf("second cycle fetched payments again: %d → %d", payments(before), payments(after))
	}
	if sum.Unchanged != sum.Seen || sum.Seen == 0 {
		t.Fatalf("summary %+v: want every seen booking unchanged", sum)
	}
}

func TestDryRunPostsNothingAndAdvancesNoCursor(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.DryRun = true })
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	sum := h.cycle()
	if sum.Deposits != 1 || sum.AccountsCreated != 1 {
		t.Fatalf("summary %+v: a dry run should compute the deposit and the account", sum)
	}
	if n := len(h.pb.AllOperations()); n != 0 {
		t.Fatalf("dry run posted %d operations", n)
	}
	if n := len(h.pb.Accounts()); n != 0 {
		t.Fatalf("dry run created %d accounts", n)
	}
	err := h.db.View(func(tx *state.Tx) error {
		if c := tx.Cursors(); len(c) != 0 {
			t.Errorf("dry run advanced cursors: %v", c)
		}
		if c := tx.Counts(); c.Bookings != 0 || c.Ops[state.OpIntended]+c.Ops[state.OpPosted] != 0 {
			t.Errorf("dry run journaled: %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A state file restored from an older backup does not know operations posted since; they are
// found by marker and adopted, never credited again.
func TestRestoredOlderStateDoesNotCreditTwice(t *testing.T) {
	h := newHarness(t, nil)
	old := filepath.Join(t.TempDir(), "backup.db")
	// The "backup" is an empty state; the live run credits a stay, then the backup is restored.
	backup, err := state.Open(old, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	backup.Close()
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	h.cycle()
	h.wantPosted(id, 50000)

	h.restore(old)
	h.pay(id, bnovo.PaymentIn, 500000, card) // and the stay changes: 15 000 ₽ → 750 bonuses
	h.cycle()
	h.wantPosted(id, 75000)
	if _, ops := h.posted(id); ops != 2 {
		t.Fatalf("%d operations, want the original and one top-up", ops)
	}
	if rec := h.record(id); rec.Seq != 2 || rec.Posted != 75000 {
		t.Fatalf("record %+v: want seq 2 (after the adopted #1) and posted 75000", rec)
	}
}

// crashedDeposit leaves what a process that crashed mid-send leaves for booking id (guest phone
// +79161234567): its deposit #1 of 500 bonuses committed in ProBonus, and journaled as intended
// at intendedAt, its outcome never recorded. meanwhile, when set, runs between the two (newer
// operations on the account). It returns the account.
func (h *harness) crashedDeposit(id int64, intendedAt time.Time, meanwhile func(acct int64)) int64 {
	h.t.Helper()
	guest := probonusAccount("x@example.ru")
	guest.Phones = []string{"79161234567"}
	acct := h.pb.AddAccount(guest)
	reason := reasonText("first", "N1", Marker(id, 1), Accrual{NetPaid: 1000000, Percent: 500})
	if _, err := h.ledger.Deposit(context.Background(), acct, 50000, reason); err != nil {
		h.t.Fatal(err)
	}
	if meanwhile != nil {
		meanwhile(acct)
	}
	if err := h.db.Update(func(tx *state.Tx) error {
		if err := tx.PutBooking(state.Booking{ID: id, Seq: 1, AccountID: acct}); err != nil {
			return err
		}
		return tx.PutOp(state.Op{BookingID: id, Seq: 1, AccountID: acct, Kind: "deposit", Sum: 50000,
			Reason: reason, State: state.OpIntended, IntendedAt: intendedAt})
	}); err != nil {
		h.t.Fatal(err)
	}
	return acct
}
