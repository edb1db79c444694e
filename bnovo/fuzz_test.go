package bnovo

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// The fuzz targets below feed arbitrary bodies to the decoders of Bnovo's answers. None may
// panic; whatever they accept must satisfy the invariants money code relies on; and an accepted
// answer written out again in the documented shape must decode to the same values. Seeds are in
// testdata/fuzz/<name> and in f.Add, so they run in every `go test`.

var msk = time.FixedZone("MSK", 3*3600)

// wantBookingSane checks what every decoded booking must satisfy.
func wantBookingSane(t *testing.T, b Booking) {
	t.Helper()
	if b.ID <= 0 {
		t.Fatalf("decoded booking id %d", b.ID)
	}
	if b.Amount < 0 || b.Amount > MaxAmount {
		t.Fatalf("booking %d: amount %d kopecks outside 0..MaxAmount", b.ID, b.Amount)
	}
	if total := b.PaymentsTotal; total.Kopecks < -MaxAmount || total.Kopecks > MaxAmount ||
		(total.Shown && total.Unreadable != "") || (!total.Shown && total.Kopecks != 0) {
		t.Fatalf("booking %d: payments total %+v: beyond ±MaxAmount, or a figure not shown", b.ID, total)
	}
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

func FuzzListAnswer(f *testing.F) {
	addSeeds(f,
		`{"data":{"bookings":[{"id":1,"amount":"22500.50","dates":{"departure":"2026-06-24 12:00:00+03"}}],"meta":{"total":1,"limit":50,"offset":0}}}`,
		`{"data":{"bookings":[],"meta":{"total":0}}}`,
		`{"data":{"bookings":[{"id":"7"},{"id":-1},{"amount":1e3},null,5],"meta":{"total":9}}}`,
		`{"success":false,"data":{"bookings":[],"meta":{"total":0}}}`,
		`{"detail":"temporarily unavailable"}`,
		`<html><body>maintenance</body></html>`,
		`{}`, `{"data":{}}`, `{"data":[]}`, `{"data":{"bookings":null,"meta":{"total":0}}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		records, total, err := decodeListAnswer(body)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("a listing fails only as an unexpected answer, got %v", err)
			}
			return
		}
		if total < 0 {
			t.Fatalf("meta.total %d accepted", total)
		}
		for _, rec := range records {
			b, id, err := decodeBooking(rec, msk)
			if err == nil {
				wantBookingSane(t, b)
				if id != b.ID {
					t.Fatalf("decodeBooking id %d for booking %d", id, b.ID)
				}
			} else if id < 0 {
				t.Fatalf("negative id %d for an unreadable record", id)
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // the records are compared byte for byte below
		if err := enc.Encode(map[string]any{"data": map[string]any{"bookings": records, "meta": map[string]int{"total": total}}}); err != nil {
			t.Fatalf("re-encoding accepted records: %v", err)
		}
		again := buf.Bytes()
		records2, total2, err := decodeListAnswer(again)
		if err != nil || total2 != total || len(records2) != len(records) {
			t.Fatalf("round trip: %d records total %d, %v; want %d records total %d", len(records2), total2, err, len(records), total)
		}
		for i := range records {
			var a, b bytes.Buffer
			if json.Compact(&a, records[i]) != nil || json.Compact(&b, records2[i]) != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("round trip changed record %d: %s → %s", i, records[i], records2[i])
			}
		}
	})
}

func FuzzBookingAnswer(f *testing.F) {
	for _, s := range []string{
		`{"data":{"id":48211734,"number":"US9PM_130526","status":{"id":5,"name":"Выехал"},"customer":{"id":9912345,"phone":"+7 (916) 123-45-67"},"dates":{"arrival":"2026-06-21 14:00:00+03","departure":"2026-06-24 12:00:00+03","cancel_date":null},"amount":22500,"payments_total":"15000.00"}}`,
		`{"data":{"id":"48211734","amount":"-1"}}`,
		`{"data":{"id":48211734,"amount":10000000001}}`,
		`{"data":{"id":48211735}}`,
		`{"data":{"id":48211734,"payments_total":-2500.5}}`,
		`{"data":{"id":48211734,"payments_total":{"in":1}}}`,
		`{"data":{}}`, `{}`, `[]`, `{"success":false,"message":"x"}`,
	} {
		f.Add([]byte(s), int64(48211734))
	}
	f.Fuzz(func(t *testing.T, body []byte, want int64) {
		b, err := decodeBookingAnswer(body, want, msk)
		switch {
		case err == nil:
			wantBookingSane(t, b)
			if b.ID != want {
				t.Fatalf("asked for booking %d, accepted %d", want, b.ID)
			}
		case !errors.Is(err, ErrUnexpectedAnswer) && want <= 0:
			t.Fatalf("a record error (%v) for booking %d: only a readable record of the booking asked for is its own fault", err, want)
		}
	})
}

func FuzzPaymentsAnswer(f *testing.F) {
	for _, s := range []string{
		`{"data":{"payments":[{"id":7781,"booking_id":48211734,"type":"in","amount":15000.00,"payment_type":{"id":2,"name":"Банковская карта"},"date":"2026-06-21 14:10:00+03","create_date":"2026-06-21 14:10:03+03","comment":""}]}}`,
		`{"data":{"payments":[{"id":1,"type":"out","amount":"0.01","date":"2026-06-21 14:10"},{"id":2,"type":"in","amount":"100000000.00"}]}}`,
		`{"data":{"payments":[{"id":1,"type":"in","amount":"NaN"}]}}`,
		`{"data":{"payments":[{"id":1,"type":"in","amount":100},{"id":1,"type":"in","amount":100}]}}`,
		`{"data":{"payments":[{"id":1,"booking_id":5,"type":"in","amount":100}]}}`,
		`{"data":{"payments":[]}}`, `{"data":{"payments":null}}`, `{"data":{}}`,
		`{"success":false,"message":"Ошибка"}`, `<!DOCTYPE html><html></html>`,
	} {
		f.Add([]byte(s), int64(48211734))
	}
	f.Fuzz(func(t *testing.T, body []byte, bookingID int64) {
		payments, err := decodePaymentsAnswer(body, bookingID, msk)
		if err != nil {
			return
		}
		seen := map[int64]bool{}
		wire := make([]map[string]any, 0, len(payments))
		for _, p := range payments {
			switch {
			case p.ID <= 0 || seen[p.ID]:
				t.Fatalf("payment id %d accepted (seen before: %v)", p.ID, seen[p.ID])
			case p.BookingID != bookingID:
				t.Fatalf("payment %d of booking %d accepted for booking %d", p.ID, p.BookingID, bookingID)
			case p.Type != PaymentIn && p.Type != PaymentOut:
				t.Fatalf("payment %d: type %q accepted", p.ID, p.Type)
			case p.Amount < 0 || p.Amount > MaxAmount:
				t.Fatalf("payment %d: amount %d kopecks outside 0..MaxAmount", p.ID, p.Amount)
			}
			seen[p.ID] = true
			wire = append(wire, map[string]any{
				"id": p.ID, "booking_id": p.BookingID, "type": p.Type, "amount": json.RawMessage(FormatRubles(p.Amount)),
				"payment_type": map[string]any{"id": p.PaymentTypeID, "name": p.PaymentTypeName},
				"date":         FormatTime(p.Date, time.UTC),
			})
		}
		again, err := json.Marshal(map[string]any{"data": map[string]any{"payments": wire}})
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodePaymentsAnswer(again, bookingID, time.UTC)
		if err != nil || len(back) != len(payments) {
			t.Fatalf("round trip of %s: %d payments, %v", again, len(back), err)
		}
		for i := range back {
			p, q := payments[i], back[i]
			if p.ID != q.ID || p.Amount != q.Amount || p.Type != q.Type || p.PaymentTypeName != q.PaymentTypeName || !p.Date.Equal(q.Date) {
				t.Fatalf("round trip changed payment %d: %+v → %+v", i, p, q)
			}
		}
	})
}

func FuzzGuestsAnswer(f *testing.F) {
	addSeeds(f,
		`{"data":{"guests":[{"id":9912345,"name":"Анна","surname":"Петрова","phone":"+7 (916) 123-45-67","email":"Anna@Example.ru","notes":"Поздний заезд"}]}}`,
		`{"data":{"guests":[{"id":"5","phone":79161234567,"notes":null},{"id":0}]}}`,
		`{"data":{"guests":[]}}`, `{"data":{"guests":{}}}`, `{"data":{}}`, `{"error":{"code":1}}`, `null`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		guests, err := decodeGuestsAnswer(body)
		if err != nil {
			return
		}
		for _, g := range guests {
			if g.ID <= 0 {
				t.Fatalf("guest id %d accepted", g.ID)
			}
		}
		wire := make([]map[string]any, 0, len(guests))
		for _, g := range guests {
			record := map[string]any{"id": g.ID, "name": g.Name, "surname": g.Surname, "phone": g.Phone, "email": g.Email}
			if g.NotesShown {
				record["notes"] = g.Notes
			}
			wire = append(wire, record)
		}
		again, err := json.Marshal(map[string]any{"data": map[string]any{"guests": wire}})
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeGuestsAnswer(again)
		if err != nil || len(back) != len(guests) {
			t.Fatalf("round trip: %d guests, %v", len(back), err)
		}
		for i := range back {
			if back[i] != guests[i] {
				t.Fatalf("round trip changed guest %d: %+v → %+v", i, guests[i], back[i])
			}
		}
	})
}

func FuzzParseKopecks(f *testing.F) {
	for _, s := range []string{"22500", "22500.5", "-300.25", "0.01", "92233720368547758.07", "1e3", "NaN", " 7.1 ", "-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKopecks(s)
		if err != nil {
			return
		}
		back, err := ParseKopecks(FormatRubles(k))
		if err != nil || back != k {
			t.Fatalf("%q → %d kopecks → %q → %d, %v", s, k, FormatRubles(k), back, err)
		}
	})
}

func FuzzAuthAnswer(f *testing.F) {
	addSeeds(f,
		`{"data": {"access_token": "eyJ.a.b", "token_type": "bearer", "expires_in": 86400}}`,
		`{"data": {"access_token": "t", "expires_in": "86400"}}`, `{"data": {"access_token": "t", "expires_in": 86400.5}}`,
		`{"data": {"access_token": "t", "expires_in": -5}}`, `{"data": {"access_token": ""}}`, `{"data": {"access_token": 5}}`,
		`{"data": {}}`, `{"message": "Unauthenticated."}`, `{"success": false}`, `<html></html>`, `null`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		token, ttl, err := decodeAuthAnswer(body)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("a login answer refused with %v: every refusal must be an unexpected answer (Transient)", err)
			}
			return
		}
		if token == "" || ttl < 0 || ttl > 365*24*time.Hour {
			t.Fatalf("accepted token %q with lifetime %v", token, ttl)
		}
		again, err := json.Marshal(map[string]any{"data": map[string]any{"access_token": token, "expires_in": int64(ttl / time.Second)}})
		if err != nil {
			t.Fatal(err)
		}
		token2, ttl2, err := decodeAuthAnswer(again)
		if err != nil || token2 != token || ttl2 != ttl {
			t.Fatalf("round trip: %q %v %v, want %q %v", token2, ttl2, err, token, ttl)
		}
	})
}

func FuzzGuestAnswer(f *testing.F) {
	addSeeds(f,
		`{"data": {"id": 9912345, "name": "Анна", "phone": "+7 916 123-45-67", "notes": "ProBonus: карта 1, баланс 5 бонусов, уровень Серебро"}}`,
		`{"data": {"id": "9912345", "notes": null}}`, `{"data": {"id": 9912345}}`, `{"data": {"id": 1}}`,
		`{"data": {"id": 9912345, "notes": {}}}`, `{"data": {}}`, `{"message": "Forbidden"}`, `[]`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		const want = 9912345
		g, err := decodeGuestAnswer(body, want)
		if err != nil {
			return
		}
		if g.ID != want {
			t.Fatalf("asked to update guest %d, accepted guest %d", want, g.ID)
		}
		if !g.NotesShown && g.Notes != "" {
			t.Fatalf("notes %q accepted from an answer that did not show them", g.Notes)
		}
	})
}
