package main

import (
	"strings"
	"testing"
	"time"
)

// One -backfill run ends settled (issue 13): with 10 % of deposits committed and then answered
// 500 and 5 % committed and then hung past the client's timeout, the run waits out the
// in-flight window, settles every unclear operation by its marker, and exits 0 with no
// operation open and no marker posted twice.
func TestBackfillEndsSettledDespiteUnclearDeposits(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the in-flight window of hung deposits")
	}
	r := newSimRig(t, rigOptions{bookings: 80})
	r.pb.CommitUnclearly("deposit", 10, 5, 1500*time.Millisecond, 21)
	now := time.Now().In(moscow)
	r.runOK(t, "-backfill", now.AddDate(0, 0, -25).Format(time.DateOnly)+":"+now.Format(time.DateOnly))
	status, _, _ := r.run(t, "-status")
	values := statusValues(status)
	if values["journal.unknown"] != "0" || values["journal.intended"] != "0" {
		t.Errorf("after one -backfill: journal.unknown %s, journal.intended %s, want 0\n%s", values["journal.unknown"], values["journal.intended"], status)
	}
	markers := map[string]int{}
	for _, op := range r.pb.AllOperations() {
		if i := strings.Index(op.Reason, "bnovo:"); i >= 0 {
			markers[strings.TrimRight(op.Reason[i:], ")")]++
		}
	}
	for m, n := range markers {
		if n > 1 {
			t.Errorf("marker %s posted %d times", m, n)
		}
	}
	if len(markers) == 0 {
		t.Fatal("nothing was posted")
	}
}
