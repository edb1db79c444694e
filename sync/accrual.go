package sync

import (
	"slices"
	"strconv"

	"github.com/hotelsync/syncd/bnovo"
)

// Rules decide what a booking earns (spec §1). Percents are hundredths of a percent (7.5 % = 750)
// so every computation stays in integers.
type Rules struct {
	Statuses            []string         // status names, or ids when all digits
	Percent             int64            // hundredths of a percent
	SourcePercent       map[string]int64 // by source name, hundredths of a percent
	ExcludePaymentTypes []string         // payment type names that earn nothing
	MinPaid             int64            // kopecks
}

// Earns reports whether the booking's status is one that earns bonuses.
func (r Rules) Earns(b bnovo.Booking) bool {
	id := strconv.FormatInt(b.StatusID, 10)
	for _, s := range r.Statuses {
		if s == b.StatusName || (allDigits(s) && s == id) {
			return true
		}
	}
	return false
}

// Accrual is how a booking's target was reached, kept for the reason text and the logs.
type Accrual struct {
	NetPaid int64 // kopecks, after exclusions; may be negative
	Percent int64 // hundredths of a percent applied
	Target  int64 // kopecks, a multiple of 100
}

// PercentFor is the percent that applies to a booking's source.
func (r Rules) PercentFor(b bnovo.Booking) int64 {
	if p, ok := r.SourcePercent[b.SourceName]; ok {
		return p
	}
	return r.Percent
}

// Target computes what an earning booking should have credited, given its payments. Callers
// give a booking that does not earn a target of 0 without fetching its payments.
func (r Rules) Target(b bnovo.Booking, payments []bnovo.Payment) Accrual {
	a := Accrual{Percent: r.PercentFor(b)}
	for _, p := range payments {
		if slices.Contains(r.ExcludePaymentTypes, p.PaymentTypeName) {
			continue
		}
		switch p.Type {
		case bnovo.PaymentIn:
			a.NetPaid += p.Amount
		case bnovo.PaymentOut:
			a.NetPaid -= p.Amount
		}
	}
	if a.NetPaid <= 0 || a.NetPaid < r.MinPaid {
		return a
	}
	// net × hundredths / 10000 is exact integer division (floor for positives); then down to
	// whole bonuses. Kopecks up to 1e12 times 10000 stays far below int64's range.
	raw := a.NetPaid * a.Percent / 10000
	a.Target = raw - raw%100
	return a
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
