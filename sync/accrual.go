package sync

import (
	"fmt"
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

// Target is Accrue for callers whose payments are known to be sane (tools, tests): a booking
// Accrue refuses earns 0.
func (r Rules) Target(b bnovo.Booking, payments []bnovo.Payment) Accrual {
	a, err := r.Accrue(b, payments)
	if err != nil {
		return Accrual{Percent: a.Percent}
	}
	return a
}

// MaxPaid bounds what the payments of one booking may add up to, in kopecks, and what one payment
// may be: anything beyond is a slip or a corrupted record, never a stay to credit.
const MaxPaid = bnovo.MaxAmount

// Accrue computes what an earning booking should have credited, given its payments. Callers
// give a booking that does not earn a target of 0 without fetching its payments. Money code
// distrusts what it cannot positively understand: a payment of an unknown type, a negative one,
// one or a total beyond MaxPaid, or a percent outside 0–100 % is an error (the booking is
// parked with it), never a target.
func (r Rules) Accrue(b bnovo.Booking, payments []bnovo.Payment) (Accrual, error) {
	a := Accrual{Percent: r.PercentFor(b)}
	if a.Percent < 0 || a.Percent > 10000 {
		return a, fmt.Errorf("percent %s is outside 0–100", formatPercent(a.Percent))
	}
	var paidIn, paidOut int64
	for _, p := range payments {
		if p.Amount < 0 || p.Amount > MaxPaid {
			return a, fmt.Errorf("payment %d: amount %d kopecks is outside 0–%s ₽", p.ID, p.Amount, formatRubles(MaxPaid))
		}
		if p.Type != bnovo.PaymentIn && p.Type != bnovo.PaymentOut {
			return a, fmt.Errorf("payment %d: unknown type %q", p.ID, p.Type)
		}
		if slices.Contains(r.ExcludePaymentTypes, p.PaymentTypeName) {
			continue
		}
		// Each total stays within MaxPaid, so neither sum can overflow.
		if p.Type == bnovo.PaymentIn {
			paidIn += p.Amount
		} else {
			paidOut += p.Amount
		}
		if paidIn > MaxPaid || paidOut > MaxPaid {
			return a, fmt.Errorf("payments add up to more than %s ₽", formatRubles(MaxPaid))
		}
	}
	a.NetPaid = paidIn - paidOut
	if a.NetPaid <= 0 || a.NetPaid < r.MinPaid {
		return a, nil
	}
	// net × hundredths / 10000 is exact integer division (floor for positives); then down to
	// whole bonuses. With net ≤ MaxPaid (1e10) and percent ≤ 10000 the product stays below 1e14.
	raw := a.NetPaid * a.Percent / 10000
	a.Target = raw - raw%100
	return a, nil
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
