package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hotelsync/syncd/state"
)

// A backfill resumed on another day finds the listing shorter: a stay before its saved offset
// left the range (its departure was moved). Every later booking then sits one place earlier, and
// resuming at the saved offset skipped the one now just before it, for good.
func TestResumedBackfillRestartsWhenTheListingShrankMeanwhile(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now().In(moscow)
	from, to := now.AddDate(0, 0, -120), now.AddDate(0, 0, -60)
	h.tick()
	ids := h.bn.Seed(120, 7, from, to)
	slices.Sort(ids)
	if _, done, err := h.eng.BackfillPages(context.Background(), from, to, 1); err != nil || done {
		t.Fatalf("first page: done %v, %v", done, err)
	}
	boundary := ids[50] // first of the second page, not read yet
	moved, ok := h.bn.Booking(ids[3])
	if !ok {
		t.Fatal("seeded booking missing")
	}
	moved.Departure = now.AddDate(0, 0, -10)
	moved.UpdateDate = time.Time{}
	h.bn.PutBooking(moved)
	h.tick()
	for steps, done := 0, false; !done; steps++ {
		if steps > 10 {
			t.Fatal("backfill did not finish in 10 steps")
		}
		var err error
		if _, done, err = h.eng.BackfillPages(context.Background(), from, to, 1); err != nil {
			t.Fatal(err)
		}
	}
	parked := h.parked()
	if h.record(boundary).UpdateDate.IsZero() && parked[state.ParkKeyBooking(boundary)] == "" {
		t.Fatalf("booking %d, at the saved offset's edge when the listing shrank, was never processed", boundary)
	}
}
