package sync

import (
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// shortBudget is a Bnovo budget whose hour and day have left calls left.
type shortBudget struct{ left int }

func (b *shortBudget) Remaining() int    { return b.left }
func (b *shortBudget) ETA(int) time.Time { return time.Now() }
func (b *shortBudget) Release() error    { return nil }
func (b *shortBudget) LeftInShare() int  { return b.left }

func (h *harness) owed() []state.OwedLine {
	h.t.Helper()
	var owed []state.OwedLine
	if err := h.db.View(func(tx *state.Tx) (err error) { owed, err = tx.OwedLines(0); return err }); err != nil {
		h.t.Fatal(err)
	}
	return owed
}

// When the hour's or the day's budget is short, the credits get it: the guest lines are owed,
// and written by a later run once the budget is back.
func TestGuestLinesWaitForCreditsWhenBudgetIsShort(t *testing.T) {
	budget := &shortBudget{left: 1}
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.Budget = budget })
	a := h.checkedOut("+79161234567", "", "")
	b := h.checkedOut("+79161234568", "", "")
	h.pay(a, bnovo.PaymentIn, 1000000, card)
	h.pay(b, bnovo.PaymentIn, 2000000, card)

	sum := h.cycle()
	if sum.Deposits != 2 || sum.WriteBacks != 0 || h.bn.Stats().GuestWrites != 0 {
		t.Fatalf("short budget: summary %+v, %d guest writes; want both credited and no line written", sum, h.bn.Stats().GuestWrites)
	}
	if owed := h.owed(); len(owed) != 2 {
		t.Fatalf("owed lines %+v, want both bookings'", owed)
	}

	budget.left = 1000
	if sum := h.cycle(); sum.WriteBacks != 2 {
		t.Fatalf("budget back: summary %+v, want the two owed lines written", sum)
	}
	if owed := h.owed(); len(owed) != 0 || h.bn.Stats().GuestWrites != 2 {
		t.Fatalf("after writing: owed %+v, %d guest writes", owed, h.bn.Stats().GuestWrites)
	}
}
