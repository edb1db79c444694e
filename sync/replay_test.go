package sync

import "testing"

// A proxy in front of ProBonus answers a deposit with a stored answer: the guest's previous
// deposit, same account, same sum, same kind, and nothing executed. Only the reason tells it
// apart: it carries another booking's marker. Believed, the second stay would be recorded as
// credited and the guest would never get its bonuses.
func TestDepositAnsweredWithAnotherOperationIsLookedUpByMarker(t *testing.T) {
	h := newHarness(t, nil)
	first := h.paidStay("Анна", "+79161234567", "")
	h.cycle()
	h.wantPosted(first, 50000)

	second := h.paidStay("Анна", "+79161234567", "")
	h.pb.ReplayNext("deposit", 1)
	h.cycle()
	h.wantPosted(first, 50000)
	h.wantPosted(second, 50000)
	if _, ops := h.posted(second); ops != 1 {
		t.Fatalf("%d operations for the second stay, want 1", ops)
	}
	if rec := h.record(second); rec.Posted != 50000 {
		t.Fatalf("record %+v: want the second stay credited", rec)
	}
}
