package sync

import (
	"context"
	"errors"
	"testing"
)

// A caching proxy in front of ProBonus serves the guest's operations list as it stood before
// this process credited her first stay. Her second stay's deposit is committed but answered 500:
// its marker is looked for in that stale list, where it is absent. Absent from a list that lacks
// even the first stay's deposit, which the journal holds as posted there, proves nothing: taken
// for "not posted", the second stay would be credited twice.
func TestStaleOperationsListNeverSettlesAnUnclearDepositAsNotPosted(t *testing.T) {
	h := newHarness(t, nil)
	acct := h.pb.AddAccount(member("Анна", []string{"79161234567"}, ""))
	h.pb.StaleOperations(acct, true)
	first := h.paidStay("Анна", "+79161234567", "")
	h.cycle()
	h.wantPosted(first, 50000)

	second := h.paidStay("Анна", "+79161234567", "")
	h.pb.CommitThenFail("deposit", 1)
	for range 2 {
		_, err := h.eng.Cycle(context.Background())
		if _, ops := h.posted(second); ops != 1 {
			t.Fatalf("%d operations for the second stay, want the one committed deposit", ops)
		}
		if unsettled, ok := errors.AsType[*UnsettledError](err); !ok {
			t.Fatalf("cycle: %v, want an UnsettledError naming the deposit", err)
		} else if len(unsettled.Markers) != 1 {
			t.Fatalf("unsettled %v, want the second stay's deposit", unsettled.Markers)
		}
	}

	h.pb.StaleOperations(acct, false)
	h.cycle()
	h.wantPosted(second, 50000)
	if _, ops := h.posted(second); ops != 1 {
		t.Fatalf("%d operations for the second stay once the list is fresh, want 1", ops)
	}
	if rec := h.record(second); rec.Posted != 50000 || rec.Seq != 1 {
		t.Fatalf("record %+v: want the deposit found as #1", rec)
	}
}
