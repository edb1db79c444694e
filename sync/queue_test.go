package sync

import (
	"context"
	"testing"

	"github.com/hotelsync/syncd/state"
)

// TestDrainSyncsQueuedBookingsAndDropsUnknownIDs is the webhook path: queued ids are fetched
// and synced without any listing; an id Bnovo does not know and syncd never saw (a forged or
// mistyped delivery) is dropped, not parked for a person to puzzle over.
func TestDrainSyncsQueuedBookingsAndDropsUnknownIDs(t *testing.T) {
	h := newHarness(t, nil)
	id := h.checkedOut("+7 912 345-67-01", "", "")
	h.pay(id, "in", 1000000, "Наличные")
	const unknown = 987654321
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(id, unknown) }); err != nil {
		t.Fatal(err)
	}
	before := h.bn.Stats().ByPath["GET /api/v1/bookings"]

	sum, err := h.eng.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wantPosted(id, 50000)
	if sum.Deposits != 1 {
		t.Errorf("drain posted %d deposits, want 1", sum.Deposits)
	}
	if listed := h.bn.Stats().ByPath["GET /api/v1/bookings"] - before; listed != 0 {
		t.Errorf("a drain listed bookings %d times; it should fetch the queued ones only", listed)
	}
	if parked := h.parked(); len(parked) != 0 {
		t.Errorf("parked %v; an id unknown to both sides should be dropped", parked)
	}
	_ = h.db.View(func(tx *state.Tx) error {
		if n := tx.QueueLen(); n != 0 {
			t.Errorf("%d ids still queued after the drain", n)
		}
		return nil
	})
}
