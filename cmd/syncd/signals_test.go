package main

import (
	"syscall"
	"testing"
	"time"

	syncer "github.com/hotelsync/syncd/sync"
)

// SIGTERM twice (an impatient operator, systemctl stop then Ctrl-C) while a deposit is in
// flight: the second signal must not cut the first one's "finish the operation in flight"
// short. The run ends with exit 0, and the next run posts what is left, nothing twice.
func TestSIGTERMTwiceDuringADepositPostsNothingTwice(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 20})
	r.pb.SetLatency(150 * time.Millisecond)

	p := startDaemonProc(t, bin, r, []string{"-once"})
	deadline := time.Now().Add(30 * time.Second)
	for r.pb.Stats().ByEndpoint["deposit"] < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no deposit within 30 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.signal(syscall.SIGTERM)
	time.Sleep(20 * time.Millisecond)
	p.signal(syscall.SIGTERM)
	if !p.hasExited(15 * time.Second) {
		t.Fatal("syncd did not exit within 15 s of two SIGTERMs")
	}
	if code := p.exitCode(); code != exitOK {
		t.Errorf("exit %d after two SIGTERMs, want 0", code)
	}
	before := len(r.pb.AllOperations())

	r.pb.SetLatency(0)
	r.runOK(t, "-once")
	seen := map[string]int{}
	for _, op := range r.pb.AllOperations() {
		for _, id := range r.ids {
			for n := 1; n <= 3; n++ {
				if syncer.HasMarker(op.Reason, syncer.Marker(id, n)) {
					seen[syncer.Marker(id, n)]++
				}
			}
		}
	}
	for marker, n := range seen {
		if n != 1 {
			t.Errorf("%s posted %d times", marker, n)
		}
	}
	if len(r.pb.AllOperations()) <= before && before == 0 {
		t.Error("nothing was posted at all: nothing was tested")
	}
}
