package main

import (
	"testing"
	"time"
)

// -backfill -until-budget started when the day's share is already spent (a -once spent it)
// stops at once with exit 0 and the resumes line, and sends Bnovo nothing: it does not wait
// for tomorrow, and spends nothing the hotel's other integrations were left.
func TestUntilBudgetBackfillWithTheShareAlreadySpent(t *testing.T) {
	r := newSimRig(t, rigOptions{bookings: 30, limits: []string{"1000/1s", "10/24h"}})
	if _, _, code := r.run(t, "-once"); code != exitOK {
		t.Fatalf("-once: exit %d", code)
	}
	spent := r.bn.Stats().Calls
	month := time.Now().AddDate(0, -1, 0)
	rng := month.Format("2006-01") + "-01:" + month.Format("2006-01") + "-28"
	start := time.Now()
	out, errOut, code := r.run(t, "-backfill", rng, "-until-budget")
	if took := time.Since(start); code != exitOK || took > 5*time.Second || !resumesLine.MatchString(out) {
		t.Fatalf("-backfill -until-budget on a spent share: exit %d after %s, want 0 at once with the resumes line\n%s%s", code, took, out, errOut)
	}
	if calls := r.bn.Stats().Calls; calls != spent {
		t.Errorf("the backfill sent %d Bnovo calls on a spent share", calls-spent)
	}
}
