package probonus

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestErrorDetail(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"string", `{"detail":"Недостаточно бонусов"}`, "Недостаточно бонусов"},
		{"validation list", `{"detail":[{"loc":["body","phones",0],"msg":"Value error, bad phone","type":"value_error"},{"loc":["query","identifier"],"msg":"Field required","type":"missing"}]}`,
			"body.phones.0: Value error, bad phone; query.identifier: Field required"},
		{"list without loc or msg", `{"detail":[{"type":"missing"}]}`, "missing"},
		{"object detail", `{"detail": {"code": 7, "text": "x"}}`, `{"code":7,"text":"x"}`},
		{"html page", "<html>\n<h1>502   Bad Gateway</h1></html>", "<html> <h1>502 Bad Gateway</h1></html>"},
		{"empty", "", ""},
		{"no detail", `{"error":"x"}`, `{"error":"x"}`},
	}
	for _, tc := range cases {
		if got := errorDetail([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWireMoney(t *testing.T) {
	var op wireOperation
	if err := json.Unmarshal([]byte(`{"sum":112500,"balance":225000,"createdAt":"2026-06-24T12:06:01+03:00"}`), &op); err != nil {
		t.Fatal(err)
	}
	got, err := op.operation()
	if err != nil || got.Sum != 112500 || got.Balance != 225000 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if want := time.Date(2026, 6, 24, 9, 6, 1, 0, time.UTC); !got.CreatedAt.Equal(want) {
		t.Fatalf("createdAt %v, want %v", got.CreatedAt, want)
	}
	for _, bad := range []string{`{"sum":1125.5}`, `{"sum":"112500"}`, `{"sum":1e3}`} {
		if err := json.Unmarshal([]byte(bad), &op); err == nil {
			t.Errorf("%s accepted as kopecks", bad)
		}
	}
	op.CreatedAt = "2026-06-24 12:06:01"
	if _, err := op.operation(); err == nil {
		t.Error("a non-RFC 3339 createdAt was accepted")
	}
	body, _ := json.Marshal(wireOperationRequest{AccountID: 12, Sum: moneyToWire(112500), Reason: "r"})
	if string(body) != `{"accountId":12,"sum":112500,"reason":"r"}` {
		t.Fatalf("request body %s", body)
	}
}

func TestSetToken(t *testing.T) {
	h := http.Header{}
	setToken(h, "authorization", "tok")
	if h.Get("Authorization") != "Bearer tok" {
		t.Fatalf("Authorization = %q", h.Get("Authorization"))
	}
	h = http.Header{}
	setToken(h, "X-API-Key", "tok")
	if h.Get("X-Api-Key") != "tok" || h.Get("Authorization") != "" {
		t.Fatalf("headers %v", h)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 24, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Wed, 24 Jun 2026 12:00:30 GMT": 30 * time.Second,
		"Wed, 24 Jun 2026 11:00:00 GMT": 0,
		// Beyond a day is read as a day: multiplied out, 9999999999 s overflowed into a
		// negative wait, and the server's "come back much later" became "retry at once".
		"9999999999": 24 * time.Hour,
		"86401":      24 * time.Hour,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: got %v, want %v", in, got, want)
		}
	}
}

func TestAccountFromWire(t *testing.T) {
	var w wireAccount
	body := `{"id": 12, "firstName": "Анна", "lastName": "Петрова", "middleName": "", "email": "anna@example.ru",
	 "phones": ["79161234567"], "accountGroupId": 1, "extra": true,
	 "identifiers": [{"identifierTypeId": 2, "value": "79161234567"}, {"identifierTypeId": 1, "value": "2000000000123"}],
	 "balance": 112500, "discountLevelName": "Серебро", "blocked": false}`
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	a := w.account()
	if a.ID != 12 || a.Email != "anna@example.ru" || a.Card() != "2000000000123" || a.Balance != 112500 || a.DiscountLevelName != "Серебро" || len(a.Phones) != 1 {
		t.Fatalf("account %+v", a)
	}
}

// An operation listed without its sum or kind is not one syncd can count: read as 0 (or as a
// deposit) it would make a booking's posted total look short when its bonuses are adopted from
// the list, and the difference would be deposited a second time.
func TestListedOperationWithoutSumOrKindIsRefused(t *testing.T) {
	const good = `"id": 7, "accountId": 12, "reason": "x (bnovo:1#1)", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 100`
	for name, item := range map[string]string{
		"sum absent":       `{` + good + `, "type": "deposit"}`,
		"sum null":         `{` + good + `, "type": "deposit", "sum": null}`,
		"sum negative":     `{` + good + `, "type": "deposit", "sum": -100}`,
		"sum zero":         `{` + good + `, "type": "deposit", "sum": 0}`,
		"type absent":      `{` + good + `, "sum": 100}`,
		"type empty":       `{` + good + `, "sum": 100, "type": ""}`,
		"type null":        `{` + good + `, "sum": 100, "type": null}`,
		"type unknown":     `{` + good + `, "sum": 100, "type": "withdrawal"}`,
		"type in capitals": `{` + good + `, "sum": 100, "type": "DEPOSIT"}`,
		"id absent":        `{"accountId": 12, "reason": "x", "createdAt": "2026-06-24T12:06:01+03:00", "type": "deposit", "sum": 100}`,
	} {
		ops, _, err := decodeOperationsAnswer([]byte(`{"items": [` + item + `], "total": 1}`))
		if err == nil {
			t.Errorf("%s: accepted as %+v", name, ops)
		}
	}
	ops, _, err := decodeOperationsAnswer([]byte(`{"items": [{` + good + `, "type": "withdraw", "sum": 100}], "total": 1}`))
	if err != nil || len(ops) != 1 || ops[0].Sum != 100 || ops[0].Type != OpWithdraw {
		t.Fatalf("a complete operation: %+v, %v", ops, err)
	}
}
