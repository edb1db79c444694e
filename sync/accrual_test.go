package sync

import (
	"testing"

	"github.com/hotelsync/syncd/bnovo"
)

func TestTarget(t *testing.T) {
	rules := Rules{
		Statuses:            []string{"Выехал", "7"},
		Percent:             500,
		SourcePercent:       map[string]int64{"Островок!": 750},
		ExcludePaymentTypes: []string{"Бонусы"},
		MinPaid:             100000,
	}
	in := func(k int64, typ string) bnovo.Payment {
		return bnovo.Payment{Type: bnovo.PaymentIn, Amount: k, PaymentTypeName: typ}
	}
	out := func(k int64) bnovo.Payment {
		return bnovo.Payment{Type: bnovo.PaymentOut, Amount: k, PaymentTypeName: "Банковская карта"}
	}
	tests := []struct {
		name     string
		source   string
		payments []bnovo.Payment
		want     int64
	}{
		{"5% of 22 500 ₽", "", []bnovo.Payment{in(2250000, "Карта")}, 112500},
		{"rounded down to whole bonuses", "", []bnovo.Payment{in(2251900, "Карта")}, 112500},
		{"refund subtracts", "", []bnovo.Payment{in(2250000, "Карта"), out(250000)}, 100000},
		{"bonus payments excluded", "", []bnovo.Payment{in(2000000, "Карта"), in(250000, "Бонусы")}, 100000},
		{"source percent 7.5", "Островок!", []bnovo.Payment{in(1000000, "Карта")}, 75000},
		{"7.5% needs exact integer math", "Островок!", []bnovo.Payment{in(133333, "Карта")}, 9900},
		{"below min paid earns nothing", "", []bnovo.Payment{in(99999, "Карта")}, 0},
		{"exactly min paid earns", "", []bnovo.Payment{in(100000, "Карта")}, 5000},
		{"fully refunded", "", []bnovo.Payment{in(500000, "Карта"), out(500000)}, 0},
		{"refund above payments", "", []bnovo.Payment{in(500000, "Карта"), out(600000)}, 0},
		{"no payments", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bnovo.Booking{StatusName: "Выехал", SourceName: tt.source}
			if got := rules.Target(b, tt.payments).Target; got != tt.want {
				t.Fatalf("target = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestEarns(t *testing.T) {
	rules := Rules{Statuses: []string{"Выехал", "7"}}
	tests := []struct {
		id   int64
		name string
		want bool
	}{
		{5, "Выехал", true},
		{7, "Что-то", true},
		{2, "Отменен", false},
		{4, "Заселен", false},
		{5, "выехал", false}, // names match exactly
	}
	for _, tt := range tests {
		if got := rules.Earns(bnovo.Booking{StatusID: tt.id, StatusName: tt.name}); got != tt.want {
			t.Errorf("Earns(%d %q) = %v, want %v", tt.id, tt.name, got, tt.want)
		}
	}
}

func TestHasMarker(t *testing.T) {
	tests := []struct {
		reason, marker string
		want           bool
	}{
		{"Проживание X (bnovo:1#1), 5%", "bnovo:1#1", true},
		{"Проживание X (bnovo:1#12), 5%", "bnovo:1#1", false},
		{"(bnovo:1#12) and (bnovo:1#1)", "bnovo:1#1", true},
		{"bnovo:1#1", "bnovo:1#1", true},
		{"bnovo:11#1", "bnovo:1#1", false},
		{"", "bnovo:1#1", false},
	}
	for _, tt := range tests {
		if got := HasMarker(tt.reason, tt.marker); got != tt.want {
			t.Errorf("HasMarker(%q, %q) = %v, want %v", tt.reason, tt.marker, got, tt.want)
		}
	}
}

func TestReasonText(t *testing.T) {
	got := reasonText("first", "US9PM_130526", Marker(48211734, 1), Accrual{NetPaid: 2250000, Percent: 500})
	want := "Проживание US9PM_130526 (bnovo:48211734#1), 5% от 22 500 ₽"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := formatPercent(750); got != "7,5" {
		t.Errorf("formatPercent(750) = %q", got)
	}
	if got := formatRubles(123456789); got != "1 234 567,89" {
		t.Errorf("formatRubles = %q", got)
	}
}

// Money code distrusts amounts it cannot positively understand (issue 11 item 11): amounts
// beyond any stay, negative ones, unknown payment types, totals that would overflow and percents
// outside 0–100 % earn nothing (Accrue says why; the engine parks the booking with that reason).
func TestTargetRefusesAmountsItCannotTrust(t *testing.T) {
	const huge = 1 << 62
	rules := Rules{Statuses: []string{"Выехал"}, Percent: 500, SourcePercent: map[string]int64{"broken": 1_000_000}}
	in := func(k int64) bnovo.Payment { return bnovo.Payment{ID: 1, Type: bnovo.PaymentIn, Amount: k} }
	tests := []struct {
		name     string
		source   string
		payments []bnovo.Payment
	}{
		{"one payment beyond the bound", "", []bnovo.Payment{in(bnovo.MaxAmount + 1)}},
		{"a total that overflows int64", "", []bnovo.Payment{in(huge), in(huge), in(huge)}},
		{"a product that overflows int64", "", []bnovo.Payment{in(huge / 1000)}},
		{"many payments adding up beyond the bound", "", []bnovo.Payment{in(bnovo.MaxAmount), in(bnovo.MaxAmount), in(1)}},
		{"a negative payment", "", []bnovo.Payment{in(1000000), in(-500000)}},
		{"an unknown payment type", "", []bnovo.Payment{in(1000000), {ID: 2, Type: "refund", Amount: 900000}}},
		{"a percent above 100", "broken", []bnovo.Payment{in(1000000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bnovo.Booking{StatusName: "Выехал", SourceName: tt.source}
			if got := rules.Target(b, tt.payments).Target; got != 0 {
				t.Fatalf("target = %d kopecks, want 0: the payments cannot be trusted", got)
			}
			if _, err := rules.Accrue(b, tt.payments); err == nil {
				t.Fatal("Accrue gave no reason")
			}
		})
	}
	// The bound itself is a payment like any other.
	a, err := rules.Accrue(bnovo.Booking{StatusName: "Выехал"}, []bnovo.Payment{in(bnovo.MaxAmount)})
	if err != nil || a.Target != bnovo.MaxAmount/20 {
		t.Fatalf("at the bound: %+v, %v; want 5 %% of it", a, err)
	}
}
