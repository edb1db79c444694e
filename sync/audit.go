package sync

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/hotelsync/syncd/probonus"
)

// AuditReport compares what ProBonus holds with what every booking should have earned.
type AuditReport struct {
	Bookings   int      // bookings checked
	Parked     int      // of which parked: checked only never to exceed their target
	Expected   int64    // Σ targets of bookings not parked, kopecks
	Posted     int64    // Σ posted for them by syncd (deposits − withdrawals), kopecks
	Mismatches []string // bookings whose posted total is not target + recorded shortfall
	Duplicates []string // markers that appear on more than one operation
}

// OK is true when the invariant holds for every booking and no operation is doubled.
func (r AuditReport) OK() bool { return len(r.Mismatches) == 0 && len(r.Duplicates) == 0 }

var markerRE = regexp.MustCompile(`bnovo:(\d+)#(\d+)`)

// Audit checks the invariant of spec §1 from the outside: for every booking, the sum of the
// ledger's operations carrying its marker equals its target (plus its recorded shortfall), and
// no marker is on two operations. targets holds every booking that should be checked (target 0
// included); ops are all operations of the ledger. A parked booking (one that cannot be
// credited until staff fix it) must only never exceed its target.
func Audit(targets, shortfalls map[int64]int64, parked map[int64]bool, ops []probonus.Operation) AuditReport {
	var r AuditReport
	posted := tally(ops, markerRE, 1, &r)
	for id := range posted {
		if _, ok := targets[id]; !ok {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("booking %d: %d kopecks posted for a booking not expected", id, posted[id]))
		}
	}
	for id, target := range targets {
		r.Bookings++
		got, want := posted[id], target+shortfalls[id]
		if !parked[id] {
			r.Expected += target
			r.Posted += got
		}
		if parked[id] {
			r.Parked++
			if got > want {
				r.Mismatches = append(r.Mismatches, fmt.Sprintf("parked booking %d: posted %d kopecks, above its target %d", id, got, target))
			}
			continue
		}
		if got != want {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("booking %d: posted %d kopecks, target %d, shortfall %d", id, got, target, shortfalls[id]))
		}
	}
	sort.Strings(r.Mismatches)
	sort.Strings(r.Duplicates)
	return r
}

// AuditRedemption checks the redemption invariant of spec §7 from the outside: for every
// booking in takes (what its bonus payments take now, 0 included), the ledger's operations
// carrying its redemption markers (#r<n>: withdrawals minus deposits back) equal that, less the
// redemption shortfall recorded for it, and no redemption marker is on two operations.
// Accrual markers are not counted here, nor redemption markers by Audit.
func AuditRedemption(takes, shortfalls map[int64]int64, ops []probonus.Operation) AuditReport {
	var r AuditReport
	taken := tally(ops, redemptionMarkerRE, -1, &r)
	for id, got := range taken {
		if _, ok := takes[id]; !ok {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("booking %d: %d kopecks redeemed for a booking not expected", id, got))
		}
	}
	for id, take := range takes {
		r.Bookings++
		r.Expected += take
		r.Posted += taken[id]
		if got, want := taken[id], take-shortfalls[id]; got != want {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("booking %d: redeemed %d kopecks, bonus payments take %d, shortfall %d", id, got, take, shortfalls[id]))
		}
	}
	sort.Strings(r.Mismatches)
	sort.Strings(r.Duplicates)
	return r
}

// tally sums, per booking, the operations whose reason carries a marker of one sequence (marker
// finds it: booking id first), deposits counted with sign and withdrawals against it, and
// reports every marker found on more than one operation in r.
func tally(ops []probonus.Operation, marker *regexp.Regexp, sign int64, r *AuditReport) map[int64]int64 {
	sums := make(map[int64]int64)
	seen := make(map[string]int)
	for _, op := range ops {
		m := marker.FindStringSubmatch(op.Reason)
		if m == nil {
			continue
		}
		seen[m[0]]++
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if op.Type == probonus.OpWithdraw {
			sums[id] -= sign * op.Sum
		} else {
			sums[id] += sign * op.Sum
		}
	}
	for m, n := range seen {
		if n > 1 {
			r.Duplicates = append(r.Duplicates, fmt.Sprintf("%s on %d operations", m, n))
		}
	}
	return sums
}
