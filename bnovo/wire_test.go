package bnovo

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseKopecks(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"22500", 2250000, false},
		{"22500.5", 2250050, false},
		{"15000.00", 1500000, false},
		{"0.01", 1, false},
		{"0", 0, false},
		{" 7.1 ", 710, false},
		{"-300.25", -30025, false},
		{"92233720368547758.07", math.MaxInt64, false},
		{"92233720368547758.08", 0, true},
		{"1.005", 0, true},
		{"1.000", 0, true},
		{"1e3", 0, true},
		{"22 500", 0, true},
		{"15000,50", 0, true},
		{"", 0, true},
		{"-", 0, true},
		{".5", 0, true},
		{"5.", 0, true},
		{"+5", 0, true},
		{"abc", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseKopecks(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseKopecks(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMoneyFromJSON(t *testing.T) {
	tests := []struct {
		json    string
		want    int64
		wantErr bool
	}{
		{`22500`, 2250000, false},
		{`22500.5`, 2250050, false},
		{`15000.00`, 1500000, false},
		{`"15000.00"`, 1500000, false},
		{`"22500"`, 2250000, false},
		{`1.5e3`, 0, true},
		{`12.345`, 0, true},
		{`"12.345"`, 0, true},
		{`null`, 0, true},
		{`true`, 0, true},
		{`"рубль"`, 0, true},
	}
	for _, tt := range tests {
		var m wireMoney
		err := json.Unmarshal([]byte(tt.json), &m)
		if (err != nil) != tt.wantErr || int64(m) != tt.want {
			t.Errorf("money %s = %d, %v; want %d, error %v", tt.json, m, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatRublesRoundTrips(t *testing.T) {
	for _, k := range []int64{0, 1, 99, 100, 2250050, -30025, math.MaxInt64, math.MinInt64 + 1} {
		text := FormatRubles(k)
		back, err := ParseKopecks(text)
		if err != nil || back != k {
			t.Errorf("FormatRubles(%d) = %q, parsed back as %d, %v", k, text, back, err)
		}
	}
	if got := FormatRubles(2250000); got != "22500.00" {
		t.Errorf("FormatRubles(2250000) = %q, want 22500.00", got)
	}
	if got := FormatRubles(math.MinInt64); got != "-92233720368547758.08" {
		t.Errorf("FormatRubles(MinInt64) = %q", got)
	}
}

func TestParseTime(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	vladivostok := time.FixedZone("VLAT", 10*3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time // compared with Equal; zero means the zero time
		bad  bool
	}{
		{"2026-06-24 12:00:00+03", moscow, time.Date(2026, 6, 24, 9, 0, 0, 0, time.UTC), false},
		{"2026-06-24 12:00:00+03", vladivostok, time.Date(2026, 6, 24, 9, 0, 0, 0, time.UTC), false}, // the offset wins
		{"2026-06-24 12:00:00", moscow, time.Date(2026, 6, 24, 9, 0, 0, 0, time.UTC), false},
		{"2026-06-24 12:00:00", vladivostok, time.Date(2026, 6, 24, 2, 0, 0, 0, time.UTC), false},
		{"2026-06-24 12:00:00", nil, time.Date(2026, 6, 24, 12, 0, 0, 0, time.UTC), false},
		{"2026-06-24 12:00:00+05:30", moscow, time.Date(2026, 6, 24, 6, 30, 0, 0, time.UTC), false},
		{"2026-06-24 12:00:00-0200", moscow, time.Date(2026, 6, 24, 14, 0, 0, 0, time.UTC), false},
		{"2026-06-24T12:00:00Z", moscow, time.Date(2026, 6, 24, 12, 0, 0, 0, time.UTC), false},
		{"2026-06-24", moscow, time.Date(2026, 6, 23, 21, 0, 0, 0, time.UTC), false},
		{"", moscow, time.Time{}, false},
		{"  ", moscow, time.Time{}, false},
		{"24.06.2026 12:00", moscow, time.Time{}, true},
		{"2026-13-01 00:00:00+03", moscow, time.Time{}, true},
		{"garbage", moscow, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, tt.loc)
		if (err != nil) != tt.bad || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestFormatTime(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	india := time.FixedZone("IST", 5*3600+1800)
	at := time.Date(2026, 6, 24, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		loc  *time.Location
		want string
	}{
		{moscow, "2026-06-24 12:00:00+03"},
		{nil, "2026-06-24 09:00:00+00"},
		{india, "2026-06-24 14:30:00+05:30"},
	} {
		got := FormatTime(at, tt.loc)
		if got != tt.want {
			t.Errorf("FormatTime in %v = %q, want %q", tt.loc, got, tt.want)
		}
		if back, err := ParseTime(got, time.UTC); err != nil || !back.Equal(at) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", got, back, err, at)
		}
	}
	if FormatTime(time.Time{}, moscow) != "" {
		t.Error("the zero time must format as empty")
	}
}

func TestDecodeBooking(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	full := `{"id": 48211734, "number": "US9PM_130526",
	  "status": {"id": 5, "name": "Выехал", "color": "#9e9e9e"},
	  "source": {"id": 3, "name": "Островок!", "commission": 15},
	  "customer": {"id": 9912345, "name": "Анна", "surname": "Петрова", "phone": 79161234567,
	               "email": "Anna@Example.ru", "notes": null},
	  "dates": {"create_date": "2026-05-13 10:22:41+03", "update_date": "2026-06-24 12:05:10",
	            "arrival": "2026-06-21 14:00:00+03", "departure": "2026-06-24 12:00:00+03", "cancel_date": null},
	  "amount": "22500.50", "room_id": 1172843, "prices": [{"date": "2026-06-21", "price": 7500}]}`
	b, id, err := decodeBooking(json.RawMessage(full), moscow)
	if err != nil || id != 48211734 {
		t.Fatalf("decodeBooking: id %d, %v", id, err)
	}
	if b.Number != "US9PM_130526" || b.StatusID != 5 || b.StatusName != "Выехал" || b.SourceName != "Островок!" ||
		b.Amount != 2250050 || !b.CancelDate.IsZero() {
		t.Errorf("decoded %+v", b)
	}
	if b.Customer == nil || b.Customer.Phone != "79161234567" || b.Customer.Email != "Anna@Example.ru" || b.Customer.Notes != "" {
		t.Errorf("customer %+v", b.Customer)
	}
	if want := time.Date(2026, 6, 24, 9, 5, 10, 0, time.UTC); !b.UpdateDate.Equal(want) {
		t.Errorf("update_date without offset = %v, want %v (read in the hotel's zone)", b.UpdateDate, want)
	}

	bad := []struct {
		raw    string
		wantID int64
	}{
		{`{"id": 17, "dates": {"departure": "yesterday"}}`, 17},
		{`{"id": 18, "amount": "12.345"}`, 18},
		{`{"id": 19, "customer": "Иван"}`, 19},
		{`{"id": "twenty"}`, 0},
		{`{"number": "X"}`, 0},
		{`"just a string"`, 0},
		{`[1, 2]`, 0},
	}
	for _, tt := range bad {
		_, id, err := decodeBooking(json.RawMessage(tt.raw), moscow)
		if err == nil || id != tt.wantID {
			t.Errorf("decodeBooking(%s) = id %d, err %v; want id %d and an error", tt.raw, id, err, tt.wantID)
		}
	}
}

// payments_total is read beside the booking, never at its cost: one that is not an amount leaves
// the booking readable and the total marked unreadable, so only the check it serves refuses.
func TestBookingPaymentsTotal(t *testing.T) {
	for _, tt := range []struct {
		field string
		want  PaymentsTotal
	}{
		{``, PaymentsTotal{}},
		{`, "payments_total": null`, PaymentsTotal{}},
		{`, "payments_total": 15000.50`, PaymentsTotal{Kopecks: 1500050, Shown: true}},
		{`, "payments_total": "15000.00"`, PaymentsTotal{Kopecks: 1500000, Shown: true}},
		{`, "payments_total": -250`, PaymentsTotal{Kopecks: -25000, Shown: true}}, // refunds beyond payments
		{`, "payments_total": 0`, PaymentsTotal{Shown: true}},
	} {
		b, _, err := decodeBooking(json.RawMessage(`{"id": 7`+tt.field+`}`), time.UTC)
		if err != nil || b.PaymentsTotal != tt.want {
			t.Errorf("payments_total%s: %+v, %v; want %+v", tt.field, b.PaymentsTotal, err, tt.want)
		}
	}
	for _, field := range []string{`"NaN"`, `1e5`, `"12 500"`, `{"sum": 1}`, `[]`, `true`, `"100000000.01"`, `-100000000.01`} {
		b, _, err := decodeBooking(json.RawMessage(`{"id": 7, "payments_total": `+field+`}`), time.UTC)
		if err != nil || b.ID != 7 {
			t.Errorf("payments_total %s cost the booking: %v", field, err)
		}
		if b.PaymentsTotal.Shown || b.PaymentsTotal.Unreadable == "" {
			t.Errorf("payments_total %s read as %+v, want unreadable", field, b.PaymentsTotal)
		}
	}
}

func TestServerMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message": "Неверные данные"}`, "Неверные данные"},
		{`{"message": "The given data was invalid.", "errors": {"limit": "too large"}}`,
			`The given data was invalid. (errors: {"limit": "too large"})`},
		{"Internal Server Error\n", "Internal Server Error"},
		{strings.Repeat("я", 400), strings.Repeat("я", 150) + "…"},
	}
	for _, tt := range tests {
		if got := serverMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("serverMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// A PHP backend may write meta's numbers as strings; a page is not refused for that.
func TestListAnswerTakesMetaNumbersAsStrings(t *testing.T) {
	records, total, err := decodeListAnswer([]byte(`{"data":{"bookings":[{"id":1}],"meta":{"total":"137","limit":"50","offset":"0"}}}`))
	if err != nil || total != 137 || len(records) != 1 {
		t.Fatalf("got %d records, total %d, %v", len(records), total, err)
	}
	if _, _, err := decodeListAnswer([]byte(`{"data":{"bookings":[],"meta":{"total":null}}}`)); err == nil {
		t.Fatal("a null total was taken for a total")
	}
}
