package sync

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

// steppedClock is the wall clock plus an offset a test moves, as NTP steps a clock that ran
// ahead or behind. The monotonic clock is untouched, as on a real machine.
type steppedClock struct{ offset atomic.Int64 }

func (c *steppedClock) now() time.Time       { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *steppedClock) step(d time.Duration) { c.offset.Add(int64(d)) }

// After the clock ran days ahead for one cycle and was stepped back, the cursors that cycle
// wrote lie in the future: later cycles must neither fail nor skip checkouts.
func TestCursorsFromAClockThatRanAheadAreNotTrusted(t *testing.T) {
	var clock steppedClock
	h := newHarness(t, func(o *Options) { o.Now = clock.now })
	clock.step(72 * time.Hour)
	h.cycle()
	clock.step(-72 * time.Hour)

	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, "in", 1000000, card)
	if _, err := h.eng.Cycle(context.Background()); err != nil {
		t.Fatalf("the first cycle after the clock stepped back failed: %v", err)
	}
	h.wantPosted(id, 50000)
}

// lateLedger plays a deposit still executing at ProBonus when the client gave up: the first
// deposit answers "outcome unknown" at once, steps the wall clock an hour ahead (NTP) and lands
// at the server only a moment later.
type lateLedger struct {
	Ledger
	clock   *steppedClock
	stop    context.CancelFunc // the run is stopped (SIGTERM) right after the send
	lag     time.Duration
	once    sync.Once
	landed  chan struct{}
	landErr error
}

func (l *lateLedger) Deposit(ctx context.Context, accountID, sum int64, reason string) (probonus.Operation, error) {
	first := false
	l.once.Do(func() { first = true })
	if !first {
		return l.Ledger.Deposit(ctx, accountID, sum, reason)
	}
	l.clock.step(time.Hour)
	l.stop()
	go func() {
		defer close(l.landed)
		time.Sleep(l.lag)
		_, l.landErr = l.Ledger.Deposit(context.WithoutCancel(ctx), accountID, sum, reason)
	}()
	return probonus.Operation{}, &probonus.Error{Op: "POST /operations/deposit", Kind: probonus.Transient, Sent: true, Err: context.DeadlineExceeded}
}

// A forward step of the wall clock must not end an unclear deposit's in-flight window early.
// The deposit is still executing at ProBonus when the run stops; the next run in the same
// process must not take its absence for "not posted" before SettleAfter of real (monotonic)
// time has passed, or it posts the stay again beside the late deposit.
func TestClockStepDoesNotShortenTheInFlightWindow(t *testing.T) {
	var clock steppedClock
	var late *lateLedger
	h := newHarness(t, func(o *Options) {
		o.Now = clock.now
		o.SettleAfter = 500 * time.Millisecond
		late = &lateLedger{Ledger: o.Ledger, clock: &clock, lag: 100 * time.Millisecond, landed: make(chan struct{})}
		o.Ledger = late
	})
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, "in", 1000000, card)
	ctx, cancel := context.WithCancel(context.Background())
	late.stop = cancel
	_, _ = h.eng.Cycle(ctx) // stopped with the deposit's outcome unclear
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-late.landed
	if late.landErr != nil {
		t.Fatal(late.landErr)
	}
	h.cycle()
	if net, ops := h.posted(id); ops != 1 || net != 50000 {
		t.Fatalf("%d operations for %d kopecks, want the late deposit alone (50000)", ops, net)
	}
}

// An operation journaled while the clock ran days ahead must still be found by its marker when
// newer operations push it off the first page of the account's list.
func TestMarkerSearchReachesPastAJournalTimeInTheFuture(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+79161234567", "", "")
	h.pay(id, "in", 1000000, card)
	// Other stays of the same guest, credited after ours, push it off the first page.
	h.crashedDeposit(id, time.Now().Add(72*time.Hour), func(acct int64) {
		for i := range 120 {
			if _, err := h.ledger.Deposit(context.Background(), acct, 100, "other "+itoa(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
	})
	h.cycle()
	if net, ops := h.posted(id); ops != 1 || net != 50000 {
		t.Fatalf("%d operations for %d kopecks, want the journaled one alone", ops, net)
	}
	var op state.Op
	if err := h.db.View(func(tx *state.Tx) (err error) {
		op, _, err = tx.Op(id, 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if op.State != state.OpPosted {
		t.Fatalf("the journaled operation was settled %q, want posted: its marker was not found", op.State)
	}
}
