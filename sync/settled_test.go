package sync

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// One -backfill run ends settled: with 10 % of deposits committed and then answered 500 and
// 5 % committed and then hung past the client's timeout, every unclear operation is settled by
// its marker within the run, every booking's invariant holds, and no marker is posted twice.
func TestBackfillEndsSettledDespiteUnclearDeposits(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the in-flight window of hung deposits")
	}
	h := newHarness(t, func(o *Options) { o.SettleAfter = 1600 * time.Millisecond })
	ids := h.paidStays(60, "+7 916 555-01-%02d")
	h.pb.CommitUnclearly("deposit", 10, 5, 1500*time.Millisecond, 13)

	now := time.Now().In(moscow)
	if _, err := h.eng.Backfill(context.Background(), now.AddDate(0, 0, -3), now); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	if open := h.openOps(); len(open) != 0 {
		t.Errorf("%d operations still unclear after the run: %+v", len(open), open)
	}
	markers := map[string]int{}
	for _, op := range h.pb.AllOperations() {
		if m := markerRE.FindString(op.Reason); m != "" {
			markers[m]++
		}
	}
	for m, n := range markers {
		if n > 1 {
			t.Errorf("marker %s posted %d times", m, n)
		}
	}
	for _, id := range ids {
		h.wantPosted(id, 50000)
	}
}

// flakyOperations fails the next reads of accounts' operations once a deposit was sent.
type flakyOperations struct {
	Ledger
	mu       sync.Mutex
	armed    bool
	failures int
}

func (f *flakyOperations) Deposit(ctx context.Context, account, sum int64, reason string) (probonus.Operation, error) {
	op, err := f.Ledger.Deposit(ctx, account, sum, reason)
	f.mu.Lock()
	f.armed = true
	f.mu.Unlock()
	return op, err
}

func (f *flakyOperations) Operations(ctx context.Context, account int64, offset, limit int) ([]probonus.Operation, int, error) {
	f.mu.Lock()
	fail := f.armed && f.failures > 0
	if fail {
		f.failures--
	}
	f.mu.Unlock()
	if fail {
		return nil, 0, errors.New("simulated: operations unreadable")
	}
	return f.Ledger.Operations(ctx, account, offset, limit)
}

// While ProBonus cannot list an account's operations, an unclear deposit cannot be settled:
// the run tries again within one more in-flight window rather than ending with it open.
func TestUnclearDepositSettledWhenOperationsComeBackWithinTheRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) {
		o.SettleAfter = 100 * time.Millisecond // rounds every 25 ms: the second one reads the operations
		o.Ledger = &flakyOperations{Ledger: o.Ledger, failures: 1}
	})
	id := h.paidStays(1, "+7 916 555-02-%02d")[0]
	h.pb.CommitThenFail("deposit", 1)

	h.cycle()
	if open := h.openOps(); len(open) != 0 {
		t.Fatalf("the cycle ended with %d operations open", len(open))
	}
	h.wantPosted(id, 50000)
	if _, ops := h.posted(id); ops != 1 {
		t.Fatalf("%d operations posted, want 1", ops)
	}
}

// An operation that stays unclear fails the run, naming its marker.
func TestUnsettledOperationFailsTheRunNamingIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) {
		o.Ledger = &flakyOperations{Ledger: o.Ledger, failures: 1000}
	})
	id := h.paidStays(1, "+7 916 555-03-%02d")[0]
	h.pb.CommitThenFail("deposit", 1)

	_, err := h.eng.Cycle(context.Background())
	var unsettled *UnsettledError
	if !errors.As(err, &unsettled) || !strings.Contains(err.Error(), Marker(id, 1)) {
		t.Fatalf("cycle: %v, want an UnsettledError naming %s", err, Marker(id, 1))
	}
}

func (h *harness) openOps() []state.Op {
	h.t.Helper()
	var open []state.Op
	if err := h.db.View(func(tx *state.Tx) (err error) { open, err = tx.OpenOps(); return err }); err != nil {
		h.t.Fatal(err)
	}
	return open
}
