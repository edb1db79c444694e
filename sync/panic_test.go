package sync

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/hotelsync/syncd/probonus"
)

// panickingLedger panics in its first Deposit, on whichever engine worker sends it.
type panickingLedger struct {
	Ledger
	deposits atomic.Int32
}

func (l *panickingLedger) Deposit(ctx context.Context, accountID, sum int64, reason string) (probonus.Operation, error) {
	if l.deposits.Add(1) == 1 {
		panic("ledger fake: first deposit")
	}
	return l.Ledger.Deposit(ctx, accountID, sum, reason)
}

// A panic on an engine worker ends the run with a *PanicError instead of the process, and the
// next cycle credits the stay exactly once.
func TestWorkerPanicFailsTheRunNotTheProcess(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(itoa(int64(workers))+" workers", func(t *testing.T) {
			var ledger *panickingLedger
			h := newHarness(t, func(o *Options) {
				ledger = &panickingLedger{Ledger: o.Ledger}
				o.Ledger = ledger
				o.Workers = workers
			})
			ids := h.paidStays(3, "+7 912 345-67-%02d")
			_, err := h.eng.Cycle(context.Background())
			if _, ok := errors.AsType[*PanicError](err); !ok {
				t.Fatalf("cycle with a panicking deposit: %v, want a *PanicError", err)
			}
			h.cycle()
			for _, id := range ids {
				h.wantPosted(id, 50000)
				if _, ops := h.posted(id); ops != 1 {
					t.Fatalf("booking %d: %d operations after the panic, want 1", id, ops)
				}
			}
		})
	}
}
