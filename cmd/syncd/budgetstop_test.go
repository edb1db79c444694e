package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

var resumesLine = regexp.MustCompile(`budget: daily share spent \((\d+)/(\d+)\), resumes \d{4}-\d\d-\d\d \d\d:\d\d`)

// A -once run whose day's share runs out commits what it did, says when the budget comes back
// and exits 0 at once, instead of sleeping until tomorrow; so does the next run, without a call.
func TestOnceStopsWhenTheDaysShareIsSpent(t *testing.T) {
	r := newSimRig(t, rigOptions{bookings: 30, limits: []string{"1000/1s", "10/24h"}})

	start := time.Now()
	out, errOut, code := r.run(t, "-once")
	if took := time.Since(start); code != exitOK || took > 10*time.Second {
		t.Fatalf("-once: exit %d after %s, want 0 within seconds\n%s%s", code, took, out, errOut)
	}
	m := resumesLine.FindStringSubmatch(out)
	if m == nil || m[2] != "8" {
		t.Fatalf("no \"budget: daily share spent (N/8), resumes ...\" line in the log:\n%s", out)
	}
	spent := r.bn.Stats().Calls
	if spent > 8 || spent < 6 {
		t.Errorf("Bnovo received %d calls, the share is 8", spent)
	}
	if deposits := len(r.pb.AllOperations()); deposits == 0 {
		t.Errorf("nothing credited with the 8 calls spent")
	}

	start = time.Now()
	out, errOut, code = r.run(t, "-once")
	if took := time.Since(start); code != exitOK || took > 5*time.Second || !resumesLine.MatchString(out) {
		t.Fatalf("second -once: exit %d after %s, want 0 at once with the resumes line\n%s%s", code, took, out, errOut)
	}
	if calls := r.bn.Stats().Calls; calls > 8 {
		t.Errorf("the second run spent calls beyond the share: %d in all", calls)
	}
	status, _, _ := r.run(t, "-status")
	if v := statusValues(status)["budget.resumes"]; v == "" || !strings.HasPrefix(v, time.Now().AddDate(0, 0, 1).Format("2006-01-02")) && !strings.HasPrefix(v, time.Now().Format("2006-01-02")) {
		t.Errorf("-status budget.resumes = %q, want when the day's share comes back\n%s", v, status)
	}
}

func TestUntilBudgetGoesWithBackfill(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	if _, errOut, code := r.run(t, "-once", "-until-budget"); code != exitUsage || !strings.Contains(errOut, "-until-budget goes with -backfill") {
		t.Fatalf("-once -until-budget: exit %d, stderr %q", code, errOut)
	}
}

func TestSpentWindowNamesTheLongestFullWindow(t *testing.T) {
	resumes := time.Date(2026, 6, 25, 0, 41, 0, 0, time.UTC)
	usage := []ratelimit.Usage{
		{Window: ratelimit.Window{Limit: 30, Per: 10 * time.Second}, Limit: 30, Used: 30},
		{Window: ratelimit.Window{Limit: 1000, Per: time.Hour}, Limit: 800, Used: 120},
		{Window: ratelimit.Window{Limit: 60, Per: 24 * time.Hour}, Limit: 48, Used: 48},
	}
	got := spentWindow(usage, resumes)
	if windowName(got.Window) != "daily" || got.Used != 48 || got.Limit != 48 {
		t.Errorf("spentWindow = %+v, want the daily window 48/48", got)
	}
	if got := spentWindow(usage[1:2], resumes); got.Limit != 0 {
		t.Errorf("no full window: %+v, want none named (a 429's wait)", got)
	}
}
