package probonus

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// The fuzz targets below feed arbitrary bodies to the decoders of ProBonus's answers. None may
// panic; whatever they accept must satisfy the invariants money code relies on (an account has
// an id, a page's total covers its items); an accepted answer written out again in the
// documented shape must decode to the same values. Seeds are in testdata/fuzz/<name> and in
// f.Add, so they run in every `go test`.

var accountSeeds = []string{
	`{"id": 12, "firstName": "Анна", "lastName": "Петрова", "middleName": "", "email": "anna@example.ru", "phones": ["79161234567"], "accountGroupId": 1, "identifiers": [{"identifierTypeId": 2, "value": "79161234567"}, {"identifierTypeId": 1, "value": "2000000000123"}], "balance": 112500, "discountLevelName": "Серебро", "blocked": false}`,
	`{"id": 12, "balance": null, "email": null}`,
	`{"id": 12, "balance": 1.5}`,
	`{"id": 0, "balance": 0}`,
	`{}`, `{"detail": "Not Found"}`, `{"detail": [{"loc": ["query", "identifier"], "msg": "field required", "type": "value_error.missing"}]}`,
	`{"success": false}`, `<html>502</html>`, `[]`, ``,
}

func FuzzAccountAnswer(f *testing.F) {
	for _, s := range accountSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decodeAccountAnswer(body)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("an account answer fails only as an unexpected answer, got %v", err)
			}
			return
		}
		if a.ID <= 0 {
			t.Fatalf("account id %d accepted", a.ID)
		}
		back, err := decodeAccountAnswer(encodeAccount(t, a))
		if err != nil || back.ID != a.ID || back.Balance != a.Balance || back.Email != a.Email || len(back.Phones) != len(a.Phones) || back.Blocked != a.Blocked {
			t.Fatalf("round trip: %+v → %+v, %v", a, back, err)
		}
	})
}

func FuzzFoundAccount(f *testing.F) {
	for _, s := range accountSeeds {
		f.Add([]byte(s), "79161234567")
		f.Add([]byte(s), "anna@example.ru")
	}
	f.Fuzz(func(t *testing.T, body []byte, identifier string) {
		a, err := decodeFoundAccount(body, identifier)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("a lookup fails only as an unexpected answer, got %v", err)
			}
			return
		}
		if a.ID <= 0 || !holds(a, identifier) {
			t.Fatalf("lookup of %q accepted account %+v, which does not hold it", identifier, a)
		}
	})
}

func FuzzBalanceAnswer(f *testing.F) {
	for _, s := range accountSeeds {
		f.Add([]byte(s), int64(12))
	}
	f.Fuzz(func(t *testing.T, body []byte, want int64) {
		a, err := decodeBalanceAnswer(body, want)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("a balance answer fails only as an unexpected answer, got %v", err)
			}
			return
		}
		if a.ID != want || want <= 0 {
			t.Fatalf("asked for account %d, accepted %d", want, a.ID)
		}
		back, err := decodeBalanceAnswer(encodeAccount(t, a), want)
		if err != nil || back.Balance != a.Balance {
			t.Fatalf("round trip: balance %d → %d, %v", a.Balance, back.Balance, err)
		}
	})
}

func encodeAccount(t *testing.T, a Account) []byte {
	t.Helper()
	ids := make([]wireIdentifier, 0, len(a.Identifiers))
	for _, id := range a.Identifiers {
		ids = append(ids, wireIdentifier{IdentifierTypeID: id.TypeID, Value: id.Value})
	}
	balance := moneyToWire(a.Balance)
	email := a.Email
	body, err := json.Marshal(wireAccount{ID: a.ID, FirstName: a.FirstName, LastName: a.LastName, MiddleName: a.MiddleName,
		Email: &email, Phones: a.Phones, AccountGroupID: a.AccountGroupID, Identifiers: ids, Balance: &balance,
		DiscountLevelName: a.DiscountLevelName, Blocked: a.Blocked})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func FuzzOperationsAnswer(f *testing.F) {
	for _, s := range []string{
		`{"items": [{"id": 90211, "accountId": 12, "type": "deposit", "sum": 112500, "reason": "Проживание US9PM_130526 (bnovo:48211734#1), 5% от 22 500 ₽", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 225000}], "total": 1}`,
		`{"items": [{"id": 1, "type": "withdraw", "sum": 100, "createdAt": "2026-06-24T12:06:01.123456+03:00"}], "total": 250}`,
		`{"items": [], "total": 0}`,
		`{"items": [{"id": 1, "createdAt": "yesterday"}], "total": 1}`,
		`{"items": [{"id": 1, "sum": 1.5, "createdAt": "2026-06-24T12:06:01Z"}], "total": 1}`,
		`{"items": [{"id": 1, "createdAt": "2026-06-24T12:06:01Z"}], "total": 0}`,
		`{"items": null, "total": 0}`, `{"total": 0}`, `{"items": []}`,
		`{"detail": "temporarily unavailable"}`, `{}`, `<html></html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, total, err := decodeOperationsAnswer(body)
		if err != nil {
			return
		}
		if total < len(ops) {
			t.Fatalf("total %d below the %d operations accepted", total, len(ops))
		}
		wire := make([]wireOperation, 0, len(ops))
		for _, o := range ops {
			if o.CreatedAt.IsZero() {
				t.Fatalf("operation %d accepted without createdAt", o.ID)
			}
			if o.ID <= 0 || o.Sum <= 0 || (o.Type != OpDeposit && o.Type != OpWithdraw) {
				t.Fatalf("operation accepted without an id, a positive sum or a kind: %+v", o)
			}
			wire = append(wire, wireOperation{ID: o.ID, AccountID: o.AccountID, Type: o.Type, Sum: new(moneyToWire(o.Sum)),
				Reason: o.Reason, CreatedAt: o.CreatedAt.Format(time.RFC3339Nano), Balance: moneyToWire(o.Balance)})
		}
		again, err := json.Marshal(map[string]any{"items": wire, "total": total})
		if err != nil {
			t.Fatal(err)
		}
		back, total2, err := decodeOperationsAnswer(again)
		if err != nil || total2 != total || len(back) != len(ops) {
			t.Fatalf("round trip: %d operations total %d, %v", len(back), total2, err)
		}
		for i := range back {
			p, q := ops[i], back[i]
			if p.ID != q.ID || p.Sum != q.Sum || p.Reason != q.Reason || p.Type != q.Type || !p.CreatedAt.Equal(q.CreatedAt) {
				t.Fatalf("round trip changed operation %d: %+v → %+v", i, p, q)
			}
		}
	})
}

func FuzzOperationAnswer(f *testing.F) {
	for _, s := range []string{
		`{"id": 90211, "accountId": 12, "type": "deposit", "sum": 112500, "reason": "x (bnovo:1#1)", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 225000}`,
		`{"id": 90211, "sum": 112500, "createdAt": "2026-06-24T12:06:01Z"}`,
		`{"id": 90211, "accountId": 13, "type": "deposit", "sum": 112500, "createdAt": "2026-06-24T12:06:01Z"}`,
		`{"id": 90211, "type": "withdraw", "sum": 112500, "createdAt": "2026-06-24T12:06:01Z"}`,
		`{"id": 0, "sum": 112500}`, `{"id": 1, "sum": null}`, `{}`, `{"detail": "Недостаточно бонусов"}`, ``, `<html></html>`,
	} {
		f.Add([]byte(s))
	}
	sent := wireOperationRequest{AccountID: 12, Sum: moneyToWire(112500), Reason: "x (bnovo:1#1)"}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := decodeOperationAnswer(body, OpDeposit, sent)
		if err != nil {
			// The server said 2xx: the deposit may be executed, so every refusal must leave its
			// outcome to be looked up, never read as "not posted".
			if !errors.Is(err, ErrUnexpectedAnswer) {
				t.Fatalf("refused with %v: want an unexpected answer", err)
			}
			return
		}
		if o.ID <= 0 || o.Sum != 112500 || (o.AccountID != 0 && o.AccountID != 12) || (o.Type != "" && o.Type != OpDeposit) || o.CreatedAt.IsZero() {
			t.Fatalf("accepted %+v as the answer to a deposit of 112500 on account 12", o)
		}
	})
}

func FuzzDirectoryAnswer(f *testing.F) {
	for _, s := range []string{
		`[{"id": 1, "name": "Карта"}, {"id": 2, "name": "Телефон"}, {"id": 3, "name": "E-mail"}]`,
		`[]`, `[{"id": "1"}]`, `{"items": []}`, `{"detail": "Not authenticated"}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := decodeDirectoryAnswer(body)
		if err != nil {
			return
		}
		again, err := json.Marshal(entries)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeDirectoryAnswer(again)
		if err != nil || len(back) != len(entries) {
			t.Fatalf("round trip: %d entries, %v", len(back), err)
		}
	})
}
