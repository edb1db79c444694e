package main

import (
	"strconv"
	"strings"
	"testing"

	syncer "github.com/hotelsync/syncd/sync"
)

// A run's line names the work of paying with bonuses (spec §6: every cycle's summary says what it
// posted), and the bookings planned only to re-check syncd's own write-back, whose Bnovo calls
// would otherwise have no name.
func TestRunLinesShowRedemptionWork(t *testing.T) {
	sum := syncer.Summary{Seen: 71, Rechecked: 64, Redemptions: 1, Redeemed: 100000, RedemptionReturns: 2, Returned: 30000,
		RedemptionShortfalls: 1, Withdrawals: 1, Withdrawn: 5000}
	line := describeRun(sum)
	for _, want := range []string{"64 bookings re-checked after syncd's own guest notes", "1 withdrawal (50 bonuses)",
		"1 withdrawal for bonus payments (1 000 bonuses)", "2 deposits back for bonus payments (300 bonuses)", "1 redemption shortfall"} {
		if !strings.Contains(line, want) {
			t.Errorf("run line %q lacks %q", line, want)
		}
	}
	status := cycleCounts(sum)
	for _, want := range []string{"71 bookings, 0 credited, 0 parked", "1 withdrawn", "1 paid with bonuses", "2 given back", "1 left short"} {
		if !strings.Contains(status, want) {
			t.Errorf("STATUS counts %q lack %q", status, want)
		}
	}
	if quiet := cycleCounts(syncer.Summary{Seen: 3, Deposits: 1}); quiet != "3 bookings, 1 credited, 0 parked" {
		t.Errorf("STATUS counts of a cycle without withdrawals: %q", quiet)
	}
}

// demoStepLine is the run line of the demo's step n (the first line after its heading that says
// what the run looked at).
func demoStepLine(t *testing.T, text string, n int) string {
	t.Helper()
	_, after, ok := strings.Cut(text, "\n== "+strconv.Itoa(n)+". ")
	if !ok {
		t.Fatalf("the demo has no step %d:\n%s", n, text)
	}
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "== ") {
			break
		}
		if strings.Contains(line, " looked at") {
			return line
		}
	}
	t.Fatalf("step %d has no run line:\n%s", n, text)
	return ""
}

// The loyalty loop's run lines say what each run did: step 6 its withdrawal for the bonus
// payment, and the steps after step 3's shortfall do not report it again (they did not cause it).
func TestDemoRunLinesReportOnlyTheirOwnWork(t *testing.T) {
	text, _ := sharedDemo(t)
	if line := demoStepLine(t, text, 3); !strings.Contains(line, "1 shortfall") {
		t.Errorf("step 3 caused the shortfall, its line does not say so: %q", line)
	}
	if line := demoStepLine(t, text, 6); !strings.Contains(line, "1 withdrawal for bonus payments (1 000 bonuses)") {
		t.Errorf("step 6's line does not show its redemption: %q", line)
	}
	// Step 6's own cost: the re-check of step 2's guest notes is step 3's, as the daemon's next
	// cycle's would be (at most the two notes of steps 3 and 4 may fall in step 6).
	line := demoStepLine(t, text, 6)
	_, tail, _ := strings.Cut(line, "; ")
	count, _, _ := strings.Cut(tail, " Bnovo calls")
	if calls, err := strconv.Atoi(count); err != nil || calls > 8 {
		t.Errorf("step 6 costs %q Bnovo calls for one bonus payment, want at most 8: %q", count, line)
	}
	if line := demoStepLine(t, text, 3); !strings.Contains(line, "re-checked after syncd's own guest notes") {
		t.Errorf("step 3, the cycle after step 2's guest notes, does not re-check them: %q", line)
	}
	for _, n := range []int{5, 6, 7} {
		if line := demoStepLine(t, text, n); strings.Contains(line, "shortfall") {
			t.Errorf("step %d reports a shortfall it did not cause: %q", n, line)
		}
	}
}
