package main

import (
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

const paymentsRoute = "GET " + bnovo.APIPrefix + "/bookings/{id}/payments"

// A -once run SIGTERMed in the middle of a page keeps what it paid for: every booking whose
// payments answer arrived is posted and recorded, so the next run reads no payments twice; and
// the run still stops promptly, with exit 0.
func TestSIGTERMMidPageKeepsFetchedPayments(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 45})
	earning := 0
	for _, id := range r.ids {
		if b, ok := r.bn.Booking(id); ok && b.StatusName == "Выехал" {
			earning++
		}
	}
	r.bn.SetLatency(60 * time.Millisecond) // the page's payments take ~1.5 s at two workers

	p := startDaemonProc(t, bin, r, []string{"-once"})
	deadline := time.Now().Add(20 * time.Second)
	for r.bn.Stats().ByPath[paymentsRoute] < 6 {
		if time.Now().After(deadline) {
			t.Fatal("syncd read no payments in 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.stop(10 * time.Second)
	first := r.bn.Stats().ByPath[paymentsRoute]
	if first >= earning {
		t.Fatalf("the first run read all %d payments before the SIGTERM took effect: nothing was tested", first)
	}
	if deposits := len(r.pb.AllOperations()); deposits == 0 {
		t.Fatalf("the first run read %d bookings' payments and posted nothing", first)
	}

	r.bn.SetLatency(0)
	r.runOK(t, "-once")
	if total := r.bn.Stats().ByPath[paymentsRoute]; total != earning {
		t.Errorf("payments read %d times for %d earning bookings (%d in the SIGTERMed run): answers paid for were thrown away and read again", total, earning, first)
	}
}
