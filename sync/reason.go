package sync

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hotelsync/syncd/state"
)

// Marker names one operation of one booking uniquely: bnovo:<booking id>#<n>. It is how syncd
// finds its own operations again after a crash and how staff trace a bonus to its stay.
func Marker(bookingID int64, n int) string {
	return "bnovo:" + strconv.FormatInt(bookingID, 10) + "#" + strconv.Itoa(n)
}

// RedemptionMarker names one redemption operation of a booking: bnovo:<booking id>#r<n>,
// numbered apart from the accrual markers (spec §7).
func RedemptionMarker(bookingID int64, n int) string {
	return "bnovo:" + strconv.FormatInt(bookingID, 10) + "#r" + strconv.Itoa(n)
}

// opMarker is the marker a journaled operation carries.
func opMarker(op state.Op) string {
	if op.Redemption {
		return RedemptionMarker(op.BookingID, op.Seq)
	}
	return Marker(op.BookingID, op.Seq)
}

// HasMarker reports whether reason carries exactly this marker: "bnovo:1#1" must not match a
// reason that carries "bnovo:1#12" (nor "bnovo:1#r1", which the marker's text cannot match).
func HasMarker(reason, marker string) bool {
	for i := 0; ; {
		j := strings.Index(reason[i:], marker)
		if j < 0 {
			return false
		}
		end := i + j + len(marker)
		if end == len(reason) || reason[end] < '0' || reason[end] > '9' {
			return true
		}
		i = end
	}
}

// reasonText is what staff read in ProBonus reports and the guest sees in the bot.
func reasonText(kind string, number string, marker string, a Accrual) string {
	var prefix string
	switch kind {
	case "first":
		prefix = "Проживание"
	case "deposit":
		prefix = "Доначисление: проживание"
	case "move":
		prefix = "Перенос на счёт другого гостя: проживание"
	default:
		prefix = "Корректировка: проживание"
	}
	if number == "" {
		number = "без номера"
	}
	return fmt.Sprintf("%s %s (%s), %s%% от %s ₽", prefix, number, marker, formatPercent(a.Percent), formatRubles(max(a.NetPaid, 0)))
}

// formatRubles renders kopecks as "22 500" or "22 500,50".
func formatRubles(kopecks int64) string {
	neg := kopecks < 0
	if neg {
		kopecks = -kopecks
	}
	whole := strconv.FormatInt(kopecks/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	if k := kopecks % 100; k != 0 {
		fmt.Fprintf(&b, ",%02d", k)
	}
	return b.String()
}

// formatBonuses renders kopecks as whole bonuses, "1 125".
func formatBonuses(kopecks int64) string { return formatRubles(kopecks - kopecks%100) }

func formatPercent(hundredths int64) string {
	s := strconv.FormatInt(hundredths/100, 10)
	if f := hundredths % 100; f != 0 {
		frac := fmt.Sprintf("%02d", f)
		s += "," + strings.TrimRight(frac, "0")
	}
	return s
}

// FormatBonuses renders kopecks as whole bonuses the way syncd writes them for people,
// "212 129".
func FormatBonuses(kopecks int64) string { return formatBonuses(kopecks) }
