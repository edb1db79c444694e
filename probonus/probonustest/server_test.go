package probonustest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/probonus"
)

type reply struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, s *Server, method, path, body string) reply {
	t.Helper()
	return callWith(t, s, method, path, body, "Authorization", "Bearer test-token")
}

func callWith(t *testing.T, s *Server, method, path, body, header, value string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, strings.TrimSpace(string(data))}
}

func TestAuth(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	cases := []struct {
		header, value string
		want          int
	}{
		{"Authorization", "Bearer test-token", 200},
		{"Authorization", "bearer test-token", 200},
		{"Authorization", "test-token", 401},
		{"Authorization", "Bearer wrong", 401},
		{"X-API-Key", "test-token", 401},
		{"", "", 401},
	}
	for _, tc := range cases {
		r := callWith(t, s, "GET", "/api/v0/account_groups/list", "", tc.header, tc.value)
		if r.status != tc.want {
			t.Errorf("%s: %q → %d, want %d", tc.header, tc.value, r.status, tc.want)
		}
		if tc.want == 401 && r.body != `{"detail":"Not authenticated"}` {
			t.Errorf("401 body %s", r.body)
		}
	}

	k := NewServer(Options{Token: "k", TokenHeader: "X-API-Key"})
	defer k.Close()
	if r := callWith(t, k, "GET", "/api/v0/identifier_types/list", "", "x-api-key", "k"); r.status != 200 {
		t.Errorf("raw token in X-API-Key → %d", r.status)
	}
	if r := callWith(t, k, "GET", "/api/v0/identifier_types/list", "", "X-API-Key", "Bearer k"); r.status != 401 {
		t.Errorf("bearer in X-API-Key → %d", r.status)
	}
}

func TestCreateValidation(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	taken := s.AddAccount(probonus.Account{FirstName: "A", Email: "taken@example.ru", Phones: []string{"79160000000"}})
	cases := []struct {
		name, body string
		status     int
		detail     string // substring
	}{
		{"no firstName", `{"phones":["79161234567"]}`, 422, `"loc":["body","firstName"],"msg":"Field required","type":"missing"`},
		{"short phone", `{"firstName":"A","phones":["916123456"]}`, 422, `"loc":["body","phones",0]`},
		{"long phone", `{"firstName":"A","phones":["1234567890123456"]}`, 422, `"loc":["body","phones",0]`},
		{"phone with plus", `{"firstName":"A","phones":["+79161234567"]}`, 422, `"type":"value_error"`},
		{"phone identifier", `{"firstName":"A","identifiers":[{"identifierTypeId":2,"value":"8-916"}]}`, 422, `"loc":["body","identifiers",0,"value"]`},
		{"unknown identifier type", `{"firstName":"A","identifiers":[{"identifierTypeId":9,"value":"x"}]}`, 422, `identifierTypeId`},
		{"bad email", `{"firstName":"A","email":"nope"}`, 422, `"loc":["body","email"]`},
		{"bad json", `{"firstName":`, 422, `json_invalid`},
		{"taken phone", `{"firstName":"A","phones":["79160000000"]}`, 400, `"detail":"Идентификатор уже привязан к другому счёту"`},
		{"taken email, other case", `{"firstName":"A","email":"TAKEN@example.ru"}`, 400, `другому счёту`},
		{"taken card", `{"firstName":"A","identifiers":[{"identifierTypeId":1,"value":"2000000000001"}]}`, 400, `другому счёту`},
		{"unknown group", `{"firstName":"A","accountGroupId":77}`, 400, `Группа`},
		{"ok", `{"firstName":"B","email":"New@Example.ru","phones":["4915112345678"]}`, 200, `"email":"new@example.ru"`},
	}
	for _, tc := range cases {
		r := call(t, s, "POST", "/api/v0/accounts", tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.detail) {
			t.Errorf("%s: %d %s, want %d containing %s", tc.name, r.status, r.body, tc.status, tc.detail)
		}
	}
	accounts := s.Accounts()
	if len(accounts) != 2 || accounts[0].ID != taken {
		t.Fatalf("accounts %+v", accounts)
	}
	created := accounts[1]
	if created.AccountGroupID != 1 || created.Balance != 0 || created.DiscountLevelName != "Бронза" || !regexp.MustCompile(`^20000000\d{5}$`).MatchString(created.Card()) {
		t.Fatalf("created %+v", created)
	}
	// Phones and e-mail count as identifiers, so find sees them.
	for _, v := range []string{"4915112345678", "new@example.ru", created.Card()} {
		if r := call(t, s, "GET", "/api/v0/accounts/find?identifier="+v, ""); r.status != 200 {
			t.Errorf("find %s → %d", v, r.status)
		}
	}
	if r := call(t, s, "GET", "/api/v0/accounts/find?identifier=New@Example.ru", ""); r.status != 404 || !strings.Contains(r.body, `"detail"`) {
		t.Errorf("find is not exact: %d %s", r.status, r.body)
	}
	if r := call(t, s, "GET", "/api/v0/accounts/find", ""); r.status != 422 {
		t.Errorf("find without identifier → %d", r.status)
	}
}

func TestOperationValidation(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A", Balance: 500})
	blocked := s.AddAccount(probonus.Account{FirstName: "B", Blocked: true})
	cases := []struct {
		name, path, body string
		status           int
		detail           string
	}{
		{"zero", "deposit", `{"accountId":1,"sum":0,"reason":"r"}`, 422, `greater_than`},
		{"negative", "deposit", `{"accountId":1,"sum":-5,"reason":"r"}`, 422, `greater_than`},
		{"fraction", "deposit", `{"accountId":1,"sum":1.5,"reason":"r"}`, 422, `int_from_float`},
		{"huge", "deposit", `{"accountId":1,"sum":99999999999999999999,"reason":"r"}`, 422, `less_than_equal`},
		{"no reason", "deposit", `{"accountId":1,"sum":5}`, 422, `"loc":["body","reason"]`},
		{"no account id", "deposit", `{"sum":5,"reason":"r"}`, 422, `accountId`},
		{"missing account", "deposit", `{"accountId":99,"sum":5,"reason":"r"}`, 404, `"detail":"Счёт не найден"`},
		{"blocked", "deposit", `{"accountId":2,"sum":5,"reason":"r"}`, 400, `заблокирован`},
		{"insufficient", "withdraw", `{"accountId":1,"sum":501,"reason":"r"}`, 400, `"detail":"Недостаточно бонусов"`},
		{"whole balance", "withdraw", `{"accountId":1,"sum":500,"reason":"r"}`, 200, `"balance":0`},
	}
	for _, tc := range cases {
		r := call(t, s, "POST", "/api/v0/operations/"+tc.path, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.detail) {
			t.Errorf("%s: %d %s, want %d containing %s", tc.name, r.status, r.body, tc.status, tc.detail)
		}
	}
	if ops := s.AllOperations(); len(ops) != 1 || ops[0].AccountID != id || ops[0].Type != probonus.OpWithdraw {
		t.Fatalf("operations %+v, want the one full withdrawal", ops)
	}
	if a, _ := s.Account(blocked); a.Balance != 0 {
		t.Fatalf("blocked account changed: %+v", a)
	}
	for _, q := range []string{"limit=0", "limit=1001", "offset=-1", "limit=x"} {
		if r := call(t, s, "GET", "/api/v0/accounts/1/operations?"+q, ""); r.status != 422 {
			t.Errorf("operations?%s → %d", q, r.status)
		}
	}
	if r := call(t, s, "GET", "/api/v0/accounts/abc", ""); r.status != 422 {
		t.Errorf("non-numeric id → %d", r.status)
	}
	if r := call(t, s, "GET", "/api/v0/nowhere", ""); r.status != 404 || r.body != `{"detail":"Not Found"}` {
		t.Errorf("unknown path → %d %s", r.status, r.body)
	}
}

func TestOperationWireShape(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	s := NewServer(Options{Now: func() time.Time { return time.Date(2026, 6, 24, 12, 6, 1, 500, moscow) }})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	r := call(t, s, "POST", "/api/v0/operations/deposit", `{"accountId":1,"sum":112500,"reason":"Проживание"}`)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got["createdAt"] != "2026-06-24T12:06:01+03:00" || got["balance"] != float64(112500) || got["type"] != "deposit" || got["accountId"] != float64(id) {
		t.Fatalf("operation %s", r.body)
	}
	if a, _ := s.Account(id); a.DiscountLevelName != "Серебро" {
		t.Fatalf("1 125 bonuses → level %q, want Серебро", a.DiscountLevelName)
	}
	page := call(t, s, "GET", "/api/v0/accounts/1/operations", "")
	if !strings.Contains(page.body, `"total":1`) || !strings.Contains(page.body, `"items":[{`) {
		t.Fatalf("page %s", page.body)
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	body := `{"accountId":1,"sum":100,"reason":"r"}`

	s.FailNext("deposit", 1, 503)
	s.CommitThenFail("deposit", 1)
	if r := call(t, s, "POST", "/api/v0/operations/deposit", body); r.status != 503 || len(s.Operations(id)) != 0 {
		t.Fatalf("FailNext: %d, %d ops", r.status, len(s.Operations(id)))
	}
	if r := call(t, s, "POST", "/api/v0/operations/deposit", body); r.status != 500 || len(s.Operations(id)) != 1 {
		t.Fatalf("CommitThenFail: %d, %d ops", r.status, len(s.Operations(id)))
	}

	s.CommitThenDrop("deposit", 1)
	req, _ := http.NewRequest("POST", s.URL+"/api/v0/operations/deposit", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("CommitThenDrop answered %d", resp.StatusCode)
	}
	if len(s.Operations(id)) != 2 {
		t.Fatalf("CommitThenDrop did not commit: %d ops", len(s.Operations(id)))
	}

	s.FailNext("find", 5, 500)
	s.FailNext("find", 0, 0) // clears
	if r := call(t, s, "GET", "/api/v0/accounts/find?identifier=x", ""); r.status != 404 {
		t.Fatalf("after clearing faults find → %d", r.status)
	}
	s.FailNext("account", 1, 0) // not a status: 500
	if r := call(t, s, "GET", "/api/v0/accounts/1", ""); r.status != 500 {
		t.Fatalf("FailNext with status 0 → %d", r.status)
	}

	st := s.Stats()
	if st.Calls != 5 || st.ByEndpoint["deposit"] != 3 || st.ByEndpoint["find"] != 1 || st.ByEndpoint["account"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	st.ByEndpoint["deposit"] = 100
	if s.Stats().ByEndpoint["deposit"] != 3 {
		t.Fatal("Stats shares its map with the server")
	}
}

func TestRateLimitWindow(t *testing.T) {
	now := time.Date(2026, 6, 24, 12, 0, 0, 0, time.UTC)
	s := NewServer(Options{RateLimit: &Window{Limit: 2, Per: 10 * time.Second}, Now: func() time.Time { return now }})
	defer s.Close()
	path := "/api/v0/identifier_types/list"
	call(t, s, "GET", path, "")
	now = now.Add(4 * time.Second)
	call(t, s, "GET", path, "")
	r := call(t, s, "GET", path, "")
	if r.status != 429 || r.header.Get("Retry-After") != "6" {
		t.Fatalf("third call: %d Retry-After %q, want 429 and 6", r.status, r.header.Get("Retry-After"))
	}
	now = now.Add(6 * time.Second) // the first call leaves the window
	if r := call(t, s, "GET", path, ""); r.status != 200 {
		t.Fatalf("after the window slid: %d", r.status)
	}
	if st := s.Stats(); st.TooMany != 1 || st.Calls != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAddAccount(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	a := s.AddAccount(probonus.Account{FirstName: "A", Identifiers: []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "2000000000001"}}})
	b := s.AddAccount(probonus.Account{ID: 40, FirstName: "B", Balance: 2_000_000})
	c := s.AddAccount(probonus.Account{FirstName: "C"})
	if a != 1 || b != 40 || c != 41 {
		t.Fatalf("ids %d %d %d", a, b, c)
	}
	ca, _ := s.Account(c)
	if ca.Card() == "" || ca.Card() == "2000000000001" {
		t.Fatalf("card %q: want a fresh card", ca.Card())
	}
	if bb, _ := s.Account(b); bb.DiscountLevelName != "Золото" {
		t.Fatalf("level %q", bb.DiscountLevelName)
	}
	s.SetBalance(b, 100)
	if bb, _ := s.Account(b); bb.Balance != 100 || bb.DiscountLevelName != "Бронза" || len(s.Operations(b)) != 0 {
		t.Fatalf("after SetBalance %+v", bb)
	}
	got, _ := s.Account(a)
	got.Identifiers[0].Value = "changed"
	if again, _ := s.Account(a); again.Card() != "2000000000001" {
		t.Fatal("Account returns shared storage")
	}
}

// Lookups and operation lists are served from indexes; they must answer as a scan would.
func TestIndexesFollowChanges(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	a := s.AddAccount(probonus.Account{FirstName: "A", Phones: []string{"79160000001"}})
	b := s.AddAccount(probonus.Account{FirstName: "B", Email: "b@example.ru"})
	find := func(identifier string) int {
		t.Helper()
		return call(t, s, "GET", "/api/v0/accounts/find?identifier="+identifier, "").status
	}
	if find("79160000001") != 200 || find("b@example.ru") != 200 || find("79160000002") != 404 {
		t.Fatal("lookups before any change")
	}
	// Replacing an account drops the values it no longer holds.
	s.AddAccount(probonus.Account{ID: a, FirstName: "A", Phones: []string{"79160000002"}})
	if find("79160000001") != 404 || find("79160000002") != 200 {
		t.Fatal("lookups after replacing an account")
	}
	created := call(t, s, "POST", "/api/v0/accounts", `{"firstName":"C","phones":["79160000003"]}`)
	if created.status != 200 || find("79160000003") != 200 {
		t.Fatalf("created account not found: %d %s", created.status, created.body)
	}
	for i, acc := range []int64{a, b, a, a} {
		body := fmt.Sprintf(`{"accountId":%d,"sum":%d,"reason":"r%d"}`, acc, 100*(i+1), i)
		if r := call(t, s, "POST", "/api/v0/operations/deposit", body); r.status != 200 {
			t.Fatalf("deposit %d: %d %s", i, r.status, r.body)
		}
	}
	if ops := s.Operations(a); len(ops) != 3 || ops[0].Reason != "r0" || ops[2].Reason != "r3" {
		t.Fatalf("Operations(a) %+v", ops)
	}
	page := call(t, s, "GET", fmt.Sprintf("/api/v0/accounts/%d/operations?offset=1&limit=1", a), "")
	if !strings.Contains(page.body, `"total":3`) || !strings.Contains(page.body, `"reason":"r2"`) || strings.Contains(page.body, `"r3"`) {
		t.Fatalf("second newest operation of a: %s", page.body)
	}
}

// The account changes staff make in the admin: delete, merge, block, move a phone.
func TestAccountChangesByStaff(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	a := s.AddAccount(probonus.Account{FirstName: "A", Phones: []string{"79160000001"}})
	b := s.AddAccount(probonus.Account{FirstName: "B", Email: "b@example.ru"})
	c := s.AddAccount(probonus.Account{FirstName: "C", Phones: []string{"79160000003", "79160000004"}})
	deposit := func(account int64) int {
		return call(t, s, "POST", apiPrefix+"/operations/deposit", fmt.Sprintf(`{"accountId": %d, "sum": 100, "reason": "x"}`, account)).status
	}
	if got := deposit(a); got != 200 {
		t.Fatalf("deposit: %d", got)
	}

	s.MergeAccount(a, b)
	if got := call(t, s, "GET", fmt.Sprintf("%s/accounts/%d", apiPrefix, a), "").status; got != 404 {
		t.Fatalf("merged account answers %d, want 404", got)
	}
	r := call(t, s, "GET", apiPrefix+"/accounts/find?identifier=79160000001", "")
	if r.status != 200 || !strings.Contains(r.body, fmt.Sprintf(`"id":%d`, b)) || !strings.Contains(r.body, `"balance":100`) {
		t.Fatalf("the merged phone finds %d %s, want account %d with the balance", r.status, r.body, b)
	}
	if ops := s.Operations(b); len(ops) != 1 {
		t.Fatalf("the survivor has %d operations, want the merged one", len(ops))
	}

	s.SetBlocked(b, true)
	if got := deposit(b); got != 400 {
		t.Fatalf("deposit to a blocked account: %d, want 400", got)
	}
	s.SetBlocked(b, false)
	if got := deposit(b); got != 200 {
		t.Fatalf("deposit after unblocking: %d", got)
	}

	s.MovePhone("79160000004", b)
	r = call(t, s, "GET", apiPrefix+"/accounts/find?identifier=79160000004", "")
	if !strings.Contains(r.body, fmt.Sprintf(`"id":%d`, b)) {
		t.Fatalf("the moved phone finds %s, want account %d", r.body, b)
	}

	s.DeleteAccount(c)
	if got := call(t, s, "GET", apiPrefix+"/accounts/find?identifier=79160000003", "").status; got != 404 {
		t.Fatalf("a deleted account's phone answers %d, want 404", got)
	}
	if got := deposit(c); got != 404 {
		t.Fatalf("deposit to a deleted account: %d, want 404", got)
	}
}

func TestCommitUnclearly(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	body := `{"accountId":1,"sum":100,"reason":"r"}`
	s.CommitUnclearly("deposit", 30, 20, 50*time.Millisecond, 1)
	failed, slow := 0, 0
	for range 40 {
		start := time.Now()
		r := call(t, s, "POST", "/api/v0/operations/deposit", body)
		switch {
		case r.status == 500:
			failed++
		case time.Since(start) >= 50*time.Millisecond:
			slow++
		}
	}
	if len(s.Operations(id)) != 40 {
		t.Fatalf("%d of 40 deposits committed, want all", len(s.Operations(id)))
	}
	if failed == 0 || slow == 0 || failed+slow > 30 {
		t.Fatalf("%d answered 500 and %d hung, want about 12 and 8 of 40", failed, slow)
	}
	s.CommitUnclearly("deposit", 0, 0, 0, 0)
	if r := call(t, s, "POST", "/api/v0/operations/deposit", body); r.status != 200 {
		t.Fatalf("after stopping: %d", r.status)
	}
}

// Tests queue "every request from now on" as a huge n: that must cost nothing to set, and the
// faults queued after it still come in order once it runs out.
func TestFaultForManyRequestsIsOneEntry(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	allocs := testing.AllocsPerRun(5, func() {
		s.FailNext("find", 1<<30, 503)
		s.FailNext("find", 0, 0)
	})
	if allocs > 2 {
		t.Fatalf("queueing a fault for 2^30 requests allocates %v times", allocs)
	}

	s.FailNext("find", 2, 503)
	s.FailNext("find", 1, 502)
	want := []int{503, 503, 502, 404}
	for i, status := range want {
		if r := call(t, s, "GET", "/api/v0/accounts/find?identifier=x", ""); r.status != status {
			t.Fatalf("find call %d → %d, want %d", i+1, r.status, status)
		}
	}
}

// OperationBetweenPages shifts the list under a reader: the first page is read as it was, the
// next starts with the last operation of the first again, and the balance takes the operation.
func TestOperationBetweenPages(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	for i := range 3 {
		if r := call(t, s, "POST", apiPrefix+"/operations/deposit", fmt.Sprintf(`{"accountId": %d, "sum": 100, "reason": "r%d"}`, id, i)); r.status != 200 {
			t.Fatalf("deposit: %d %s", r.status, r.body)
		}
	}
	s.OperationBetweenPages(id, 1)
	page := func(offset int) (ids []int64, total int) {
		var p struct {
			Items []struct{ ID int64 } `json:"items"`
			Total int                  `json:"total"`
		}
		r := call(t, s, "GET", fmt.Sprintf("%s/accounts/%d/operations?offset=%d&limit=2", apiPrefix, id, offset), "")
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatalf("%d %s: %v", r.status, r.body, err)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		return ids, p.Total
	}
	first, total := page(0)
	if len(first) != 2 || total != 3 {
		t.Fatalf("first page %v of %d, want 2 of 3", first, total)
	}
	second, total := page(2)
	if len(second) != 2 || total != 4 || second[0] != first[1] {
		t.Fatalf("second page %v of %d, want 2 of 4 starting with %d again", second, total, first[1])
	}
	if again, _ := page(2); again[0] != second[0] {
		t.Fatalf("a later read %v shifted again after the one operation asked for", again)
	}
	if a, _ := s.Account(id); a.Balance != 400 {
		t.Fatalf("balance %d, want 400 with the restaurant's operation", a.Balance)
	}
}

// StaleOperations serves the list as it stood: later operations execute but are not listed
// until it ends.
func TestStaleOperations(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	deposit := func() {
		t.Helper()
		if r := call(t, s, "POST", apiPrefix+"/operations/deposit", fmt.Sprintf(`{"accountId": %d, "sum": 100, "reason": "r"}`, id)); r.status != 200 {
			t.Fatalf("deposit: %d %s", r.status, r.body)
		}
	}
	list := func() string {
		return call(t, s, "GET", fmt.Sprintf("%s/accounts/%d/operations", apiPrefix, id), "").body
	}
	deposit()
	s.StaleOperations(id, true)
	deposit()
	if got := list(); !strings.Contains(got, `"total":1`) {
		t.Fatalf("stale list %s, want the one operation posted before", got)
	}
	if a, _ := s.Account(id); a.Balance != 200 {
		t.Fatalf("balance %d: the later deposit must still execute", a.Balance)
	}
	s.StaleOperations(id, false)
	if got := list(); !strings.Contains(got, `"total":2`) {
		t.Fatalf("list %s after the stale copy ended, want both operations", got)
	}
}

// ReplayNext answers with the last executed operation and executes nothing.
func TestReplayNext(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A"})
	deposit := func(reason string) reply {
		return call(t, s, "POST", apiPrefix+"/operations/deposit", fmt.Sprintf(`{"accountId": %d, "sum": 100, "reason": %q}`, id, reason))
	}
	s.ReplayNext("deposit", 1)
	if r := deposit("first"); r.status != 500 {
		t.Fatalf("a replay with nothing to replay answered %d %s, want 500", r.status, r.body)
	}
	if r := deposit("second"); r.status != 200 {
		t.Fatalf("deposit: %d %s", r.status, r.body)
	}
	s.ReplayNext("deposit", 1)
	if r := deposit("third"); r.status != 200 || !strings.Contains(r.body, `"reason":"second"`) {
		t.Fatalf("replay answered %d %s, want the second deposit's answer", r.status, r.body)
	}
	if ops := s.Operations(id); len(ops) != 1 {
		t.Fatalf("%d operations, want the one executed", len(ops))
	}
}

// ReportBalanceAbove shows the balance off by what was asked, above or below, on reads only.
func TestReportBalanceAbove(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	id := s.AddAccount(probonus.Account{FirstName: "A", Balance: 50000})
	read := func() string { return call(t, s, "GET", fmt.Sprintf("%s/accounts/%d", apiPrefix, id), "").body }
	s.ReportBalanceAbove(id, -50000)
	if got := read(); !strings.Contains(got, `"balance":0`) {
		t.Fatalf("read %s, want the balance shown 500 bonuses below", got)
	}
	s.ReportBalanceAbove(id, 10000)
	if got := read(); !strings.Contains(got, `"balance":60000`) {
		t.Fatalf("read %s, want the balance shown 100 bonuses above", got)
	}
	if a, _ := s.Account(id); a.Balance != 50000 {
		t.Fatalf("balance %d: the real one must not change", a.Balance)
	}
}
