// Package probonustest is a ProBonus API simulator on a real HTTP listener (127.0.0.1), for tests
// and for `syncd -demo`. It enforces the modeled contract of /work/shared/api/probonus.md (token
// header, exact identifier lookup, FastAPI error bodies, no de-duplication of operations) and
// can inject the faults that make exactly-once delivery hard: failures before and after commit,
// dropped connections, slow commits and rate limiting; and the changes staff make to accounts
// that matching must survive: a deleted or merged account (404 from then on), a blocked one
// (operations refused with 400), a phone moved to another account, accounts in another group.
//
// Modeled choices the contract leaves open:
//   - discount levels by balance: below 1 000 bonuses "Бронза", below 10 000 "Серебро", from
//     10 000 "Золото" (so the docs' 1 125-bonus example reads "Серебро");
//   - account groups 1 "Гости отеля" and 2 "Персонал"; accountGroupId 0 or absent means 1,
//     any other group answers 400;
//   - firstName absent or blank → 422; e-mail must contain one "@" (422), stored lower-cased;
//   - created accounts list their phones and e-mail among identifiers too, and get a card number
//     "20000000NNNNN" unless a card identifier was sent;
//   - operations on a blocked account → 400; sums above 100 000 000 000 kopecks → 422.
package probonustest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/probonus"
)

// Options configures a Server.
type Options struct {
	Token       string  // default "test-token"
	TokenHeader string  // default "Authorization" (Bearer); else raw token in that header
	RateLimit   *Window // optional: answer 429 with Retry-After when over (sliding)
	Now         func() time.Time
}

// Window is a sliding rate limit: at most Limit admitted requests in any Per.
type Window struct {
	Limit int
	Per   time.Duration
}

// Stats counts what the server received.
type Stats struct {
	Calls      int            // every request, including those answered 401 or 429
	ByEndpoint map[string]int // by endpoint name ("find", "deposit", ...; "unknown" for other paths)
	TooMany    int            // requests answered 429 by the rate limit
}

// maxOperationSum keeps balances far from int64 overflow.
const maxOperationSum = 100_000_000_000

type faultKind int

const (
	faultStatus faultKind = iota + 1
	faultCommitThenFail
	faultCommitThenDrop
	faultHang
	faultHostile
	faultCommitThenHang
	faultReplay
)

// faultRun is a fault for the next left requests: tests queue "every request from now on"
// as a large n, which must cost nothing.
type faultRun struct {
	fault
	left int
}

type fault struct {
	kind    faultKind
	status  int
	delay   time.Duration
	hostile hostile.Answer // faultHostile: which answer
	commit  bool           // faultHostile: execute the request first
}

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	URL string // origin, e.g. http://127.0.0.1:41234 (no /api/v0)

	opts      Options
	ts        *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu            sync.Mutex
	accounts      map[int64]*probonus.Account
	ops           []probonus.Operation // oldest first
	opsOf         map[int64][]int      // account id → indexes into ops, oldest first
	nextAccountID int64
	nextOpID      int64
	nextCard      int64
	faults        map[string][]faultRun
	capture       *hostile.Capture              // where Redirect points; started by the first one
	unclear       map[string]*unclearRate       // see CommitUnclearly
	staleBy       map[int64]int64               // see ReportBalanceAbove
	betweenPages  map[int64]int                 // see OperationBetweenPages
	frozen        map[int64]int                 // see StaleOperations: how many operations reads show
	lastOp        map[string]probonus.Operation // see ReplayNext: the last operation each kind executed
	latency       time.Duration
	stats         Stats
	admitted      []time.Time // arrival times inside the rate-limit window
	// holders indexes every identifying value to the lowest id of an account holding it, so a
	// lookup does not scan every account; nil means rebuild it from the accounts.
	holders map[string]int64
}

// NewServer starts a simulator on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	if opts.TokenHeader == "" {
		opts.TokenHeader = "Authorization"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:          opts,
		closing:       make(chan struct{}),
		accounts:      make(map[int64]*probonus.Account),
		opsOf:         make(map[int64][]int),
		nextAccountID: 1,
		nextOpID:      90001,
		nextCard:      1,
		faults:        make(map[string][]faultRun),
		stats:         Stats{ByEndpoint: make(map[string]int)},
	}
	s.ts = httptest.NewServer(s.routes())
	s.URL = s.ts.URL
	return s
}

// Close stops the server. Hanging and slow requests are cut short rather than waited for.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		// Connections first, so a handler cut short by closing has nobody left to answer.
		s.ts.CloseClientConnections()
		close(s.closing)
		s.ts.Close()
		s.mu.Lock()
		if s.capture != nil {
			s.capture.Close()
		}
		s.mu.Unlock()
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+apiPrefix+"/accounts/find", s.endpoint("find", s.handleFind))
	mux.Handle("POST "+apiPrefix+"/accounts", s.endpoint("create", s.handleCreate))
	mux.Handle("GET "+apiPrefix+"/accounts/{id}", s.endpoint("account", s.handleAccount))
	mux.Handle("GET "+apiPrefix+"/accounts/{id}/operations", s.endpoint("operations", s.handleOperations))
	mux.Handle("POST "+apiPrefix+"/operations/deposit", s.endpoint("deposit", s.handleOperation(probonus.OpDeposit)))
	mux.Handle("POST "+apiPrefix+"/operations/withdraw", s.endpoint("withdraw", s.handleOperation(probonus.OpWithdraw)))
	mux.Handle("GET "+apiPrefix+"/identifier_types/list", s.endpoint("identifier_types", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, identifierTypes)
	}))
	mux.Handle("GET "+apiPrefix+"/account_groups/list", s.endpoint("account_groups", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, accountGroups)
	}))
	mux.Handle("/", s.endpoint("unknown", func(w http.ResponseWriter, _ *http.Request) {
		writeDetail(w, http.StatusNotFound, "Not Found")
	}))
	return mux
}

// endpoint wraps a handler with what every request goes through, in the order a real deployment
// would apply it: latency, rate limit (a gateway in front), authentication, then injected faults.
func (s *Server) endpoint(name string, handle http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Calls++
		s.stats.ByEndpoint[name]++
		latency := s.latency
		s.mu.Unlock()
		if !s.sleep(latency) {
			return
		}
		if wait, ok := s.admit(); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeDetail(w, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		if !s.authorized(r) {
			writeDetail(w, http.StatusUnauthorized, "Not authenticated")
			return
		}
		f, faulty := s.takeFault(name)
		if !faulty {
			handle(w, r)
			return
		}
		switch f.kind {
		case faultStatus:
			if f.status == http.StatusUnauthorized {
				writeDetail(w, f.status, "Not authenticated")
				return
			}
			writeDetail(w, f.status, http.StatusText(f.status))
		case faultHang:
			// The commit happens even if the client gave up meanwhile: that is the point.
			s.sleep(f.delay)
			handle(w, r)
		case faultCommitThenFail:
			handle(httptest.NewRecorder(), r)
			writeDetail(w, http.StatusInternalServerError, "Internal Server Error")
		case faultCommitThenDrop:
			handle(httptest.NewRecorder(), r)
			dropConnection(w)
		case faultHostile:
			s.writeHostile(w, r, f, handle)
		case faultReplay:
			s.mu.Lock()
			op, ok := s.lastOp[name]
			s.mu.Unlock()
			if !ok {
				writeDetail(w, http.StatusInternalServerError, "Internal Server Error")
				return
			}
			writeJSON(w, http.StatusOK, operationJSON(op))
		case faultCommitThenHang:
			done := httptest.NewRecorder()
			handle(done, r)
			if !s.sleep(f.delay) {
				return
			}
			for k, v := range done.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(done.Code)
			_, _ = w.Write(done.Body.Bytes())
		}
	})
}

// dropConnection closes the connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (cannot happen with httptest's HTTP/1.1 server). ErrAbortHandler is
		// net/http's own signal to abort a response: it closes the connection, unlogged.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// sleep waits d, cut short by Close; false when the server is closing.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closing:
		return false
	}
}

// admit applies the sliding rate limit; when over it, it returns the whole seconds until a slot
// frees. Only admitted requests are counted, so a client that honours Retry-After gets through.
func (s *Server) admit() (retryAfter int, ok bool) {
	lim := s.opts.RateLimit
	if lim == nil || lim.Limit <= 0 || lim.Per <= 0 {
		return 0, true
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-lim.Per)
	kept := s.admitted[:0]
	for _, at := range s.admitted {
		if at.After(cutoff) {
			kept = append(kept, at)
		}
	}
	s.admitted = kept
	if len(s.admitted) >= lim.Limit {
		s.stats.TooMany++
		wait := s.admitted[0].Add(lim.Per).Sub(now)
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	s.admitted = append(s.admitted, now)
	return 0, true
}

func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get(s.opts.TokenHeader)
	if http.CanonicalHeaderKey(s.opts.TokenHeader) != "Authorization" {
		return got == s.opts.Token
	}
	scheme, token, ok := strings.Cut(got, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && token == s.opts.Token
}

func (s *Server) takeFault(endpoint string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.faults[endpoint]
	if len(queue) == 0 {
		return s.unclear[endpoint].roll()
	}
	f := queue[0].fault
	if queue[0].left--; queue[0].left == 0 {
		s.faults[endpoint] = queue[1:]
	}
	return f, true
}

func (s *Server) queueFault(endpoint string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.faults, endpoint)
		return
	}
	s.faults[endpoint] = append(s.faults[endpoint], faultRun{fault: f, left: n})
}

// FailNext makes the next n requests to endpoint ("find", "create", "account", "operations",
// "deposit", "withdraw", "identifier_types", "account_groups") answer status without doing
// anything. Faults queue per endpoint in the order they were set; n ≤ 0 clears the endpoint's
// pending faults of every kind. A status that is not an HTTP status code means 500.
func (s *Server) FailNext(endpoint string, n int, status int) {
	if status < 100 || status > 599 {
		status = http.StatusInternalServerError
	}
	s.queueFault(endpoint, n, fault{kind: faultStatus, status: status})
}

// CommitThenFail makes the next n requests to endpoint execute (deposit/withdraw: the operation
// IS committed) and then answer 500.
func (s *Server) CommitThenFail(endpoint string, n int) {
	s.queueFault(endpoint, n, fault{kind: faultCommitThenFail})
}

// CommitThenDrop makes the next n requests to endpoint execute and then close the connection
// without any response.
func (s *Server) CommitThenDrop(endpoint string, n int) {
	s.queueFault(endpoint, n, fault{kind: faultCommitThenDrop})
}

// ReplayNext makes the next n requests to endpoint ("deposit" or "withdraw") answer 200 with the
// operation that endpoint last executed, without executing anything, as a proxy replaying a
// stored answer would; with none executed yet they answer 500.
func (s *Server) ReplayNext(endpoint string, n int) {
	s.queueFault(endpoint, n, fault{kind: faultReplay})
}

// HangNext makes the next n requests to endpoint wait d, then execute and answer, whether or not
// the client is still waiting.
func (s *Server) HangNext(endpoint string, n int, d time.Duration) {
	s.queueFault(endpoint, n, fault{kind: faultHang, delay: d})
}

// SetLatency delays every request by d before it is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Stats returns a snapshot of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint = make(map[string]int, len(s.stats.ByEndpoint))
	for k, v := range s.stats.ByEndpoint {
		st.ByEndpoint[k] = v
	}
	return st
}

// AddAccount stores a as is (test data may deliberately break the server's own rules, such as a
// mixed-case e-mail or an identifier shared by two accounts). It assigns an id when a.ID is 0
// (a given id replaces any account with that id), adds a card identifier when a has none, and
// sets the discount level from the balance when none is given.
func (s *Server) AddAccount(a probonus.Account) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a = cloneAccount(a)
	if a.ID == 0 {
		a.ID = s.nextAccountID
	}
	s.nextAccountID = max(s.nextAccountID, a.ID+1)
	if a.Card() == "" {
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierCard, Value: s.newCardLocked()})
	}
	if a.DiscountLevelName == "" {
		a.DiscountLevelName = levelFor(a.Balance)
	}
	if _, replaced := s.accounts[a.ID]; replaced {
		s.holders = nil // the replaced account's values may no longer be held
	}
	s.accounts[a.ID] = &a
	s.indexLocked(&a)
	return a.ID
}

// Account returns a copy of one account.
func (s *Server) Account(id int64) (probonus.Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return probonus.Account{}, false
	}
	return cloneAccount(*a), true
}

// Accounts returns copies of all accounts, by id.
func (s *Server) Accounts() []probonus.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]probonus.Account, 0, len(s.accounts))
	for _, id := range s.accountIDsLocked() {
		out = append(out, cloneAccount(*s.accounts[id]))
	}
	return out
}

// Operations returns one account's operations, oldest first.
func (s *Server) Operations(accountID int64) []probonus.Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []probonus.Operation
	for _, i := range s.opsOf[accountID] {
		out = append(out, s.ops[i])
	}
	return out
}

// AllOperations returns every operation, oldest first.
func (s *Server) AllOperations() []probonus.Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops)
}

// SetBalance sets an account's balance directly, as spending at the restaurant through r_keeper
// would, without an operation that syncd could mistake for its own. Unknown accounts are ignored.
func (s *Server) SetBalance(accountID, kopecks int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[accountID]; ok {
		a.Balance = kopecks
		a.DiscountLevelName = levelFor(kopecks)
	}
}

// DeleteAccount removes an account as staff deleting it in the admin would: every call naming
// it answers 404 from then on, and its identifiers are free again. Its operations stay in
// AllOperations (for tests to inspect). Unknown accounts are ignored.
func (s *Server) DeleteAccount(accountID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, accountID)
	delete(s.opsOf, accountID)
	s.holders = nil
}

// MergeAccount merges account from into account into, as staff merging a guest's duplicate
// accounts would: into gets from's phones, e-mail (when it has none) and identifiers other
// than cards, its balance and its operations (newest first still by time); from answers 404
// from then on.
func (s *Server) MergeAccount(from, into int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, okFrom := s.accounts[from]
	b, okInto := s.accounts[into]
	if !okFrom || !okInto || from == into {
		return
	}
	b.Phones = append(b.Phones, a.Phones...)
	if b.Email == "" {
		b.Email = a.Email
	}
	for _, id := range a.Identifiers {
		if id.TypeID != probonus.IdentifierCard {
			b.Identifiers = appendIdentifier(b.Identifiers, id)
		}
	}
	b.Balance += a.Balance
	b.DiscountLevelName = levelFor(b.Balance)
	merged := append(s.opsOf[into], s.opsOf[from]...)
	slices.Sort(merged) // indexes into s.ops, which is oldest first
	s.opsOf[into] = merged
	delete(s.opsOf, from)
	delete(s.accounts, from)
	s.holders = nil
}

// SetBlocked blocks or unblocks an account: a blocked account refuses every deposit and
// withdrawal with 400. Unknown accounts are ignored.
func (s *Server) SetBlocked(accountID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[accountID]; ok {
		a.Blocked = blocked
	}
}

// MovePhone takes a phone identifier from whichever account holds it and gives it to account
// to, as staff correcting whose number it is would.
func (s *Server) MovePhone(phone string, to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		a.Phones = slices.DeleteFunc(a.Phones, func(p string) bool { return p == phone })
		a.Identifiers = slices.DeleteFunc(a.Identifiers, func(id probonus.Identifier) bool { return id.Value == phone })
	}
	if a, ok := s.accounts[to]; ok {
		a.Phones = append(a.Phones, phone)
	}
	s.holders = nil
}

// levelFor names the discount level of a balance in kopecks.
func levelFor(balance int64) string {
	switch bonuses := balance / 100; {
	case bonuses < 1_000:
		return "Бронза"
	case bonuses < 10_000:
		return "Серебро"
	default:
		return "Золото"
	}
}

func cloneAccount(a probonus.Account) probonus.Account {
	a.Phones = slices.Clone(a.Phones)
	a.Identifiers = slices.Clone(a.Identifiers)
	return a
}

func (s *Server) accountIDsLocked() []int64 {
	ids := make([]int64, 0, len(s.accounts))
	for id := range s.accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// newCardLocked returns an unused card number of the form 20000000NNNNN.
func (s *Server) newCardLocked() string {
	for {
		card := fmt.Sprintf("20000000%05d", s.nextCard)
		s.nextCard++
		if s.holderLocked(card) == 0 {
			return card
		}
	}
}

// identifierValues lists every value that identifies a: phones, e-mail and identifiers.
func identifierValues(a *probonus.Account) []string {
	vals := slices.Clone(a.Phones)
	if a.Email != "" {
		vals = append(vals, a.Email)
	}
	for _, id := range a.Identifiers {
		vals = append(vals, id.Value)
	}
	return vals
}

// indexLocked records a's values in the index (when there is one).
func (s *Server) indexLocked(a *probonus.Account) {
	if s.holders == nil {
		return
	}
	for _, v := range identifierValues(a) {
		if h := s.holders[v]; h == 0 || a.ID < h {
			s.holders[v] = a.ID
		}
	}
}

// holderLocked returns the lowest id of an account holding value exactly, 0 when none.
func (s *Server) holderLocked(value string) int64 {
	if value == "" {
		return 0
	}
	if s.holders == nil {
		s.holders = make(map[string]int64, len(s.accounts))
		for _, a := range s.accounts {
			s.indexLocked(a)
		}
	}
	return s.holders[value]
}

func (s *Server) handleFind(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("identifier") {
		writeValidation(w, validationIssue{Loc: []any{"query", "identifier"}, Msg: "Field required", Type: "missing"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.holderLocked(q.Get("identifier"))
	if id == 0 {
		writeDetail(w, http.StatusNotFound, "Счёт с таким идентификатором не найден")
		return
	}
	writeJSON(w, http.StatusOK, accountJSON(*s.accounts[id]))
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.accounts[id]
	if !found {
		writeDetail(w, http.StatusNotFound, "Счёт не найден")
		return
	}
	shown := *a
	shown.Balance += s.staleBy[id]
	writeJSON(w, http.StatusOK, accountJSON(shown))
}

// ReportBalanceAbove makes reads of one account show a balance kopecks above the real one, as
// a read answered just before the guest spent bonuses elsewhere would: the withdrawal that
// trusts it is then refused with 400 for a short balance. Negative kopecks show it below, as a
// stale copy from before a credit would. 0 ends it.
func (s *Server) ReportBalanceAbove(accountID, kopecks int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.staleBy == nil {
		s.staleBy = make(map[int64]int64)
	}
	s.staleBy[accountID] = kopecks
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeValidation(w, validationIssue{Loc: []any{"path", "id"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
		return 0, false
	}
	return id, true
}

func (s *Server) handleOperations(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var issues []validationIssue
	offset := queryInt(q.Get("offset"), 0, "offset", 0, math.MaxInt32, &issues)
	limit := queryInt(q.Get("limit"), 100, "limit", 1, 1000, &issues)
	if len(issues) > 0 {
		writeValidation(w, issues...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, found := s.accounts[id]; !found {
		writeDetail(w, http.StatusNotFound, "Счёт не найден")
		return
	}
	if offset > 0 && s.betweenPages[id] > 0 {
		s.betweenPages[id]--
		s.recordLocked(s.accounts[id], probonus.OpDeposit, 100, "r_keeper: начисление по чеку")
	}
	mine := s.opsOf[id] // oldest first; the page is newest first
	if n, stale := s.frozen[id]; stale {
		mine = mine[:min(n, len(mine))]
	}
	page := operationsPage{Items: []jsonOperation{}, Total: len(mine)}
	for i := offset; i < len(mine) && i < offset+limit; i++ {
		page.Items = append(page.Items, operationJSON(s.ops[mine[len(mine)-1-i]]))
	}
	writeJSON(w, http.StatusOK, page)
}

func queryInt(raw string, def int, name string, lo, hi int, issues *[]validationIssue) int {
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		*issues = append(*issues, validationIssue{Loc: []any{"query", name}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
	case n < lo:
		*issues = append(*issues, validationIssue{Loc: []any{"query", name}, Msg: fmt.Sprintf("Input should be greater than or equal to %d", lo), Type: "greater_than_equal"})
	case n > hi:
		*issues = append(*issues, validationIssue{Loc: []any{"query", name}, Msg: fmt.Sprintf("Input should be less than or equal to %d", hi), Type: "less_than_equal"})
	}
	return n
}

func decodeJSON(r *http.Request, v any) *validationIssue {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return &validationIssue{Loc: []any{"body"}, Msg: "JSON decode error: " + err.Error(), Type: "json_invalid"}
	}
	return nil
}

func validPhone(p string) bool {
	if len(p) < 10 || len(p) > 15 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(domain, "@ ") && !strings.Contains(local, " ")
}

const phoneMsg = "Value error, телефон должен состоять из 10–15 цифр"

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if issue := decodeJSON(r, &req); issue != nil {
		writeValidation(w, *issue)
		return
	}
	var issues []validationIssue
	switch {
	case req.FirstName == nil:
		issues = append(issues, validationIssue{Loc: []any{"body", "firstName"}, Msg: "Field required", Type: "missing"})
	case strings.TrimSpace(*req.FirstName) == "":
		issues = append(issues, validationIssue{Loc: []any{"body", "firstName"}, Msg: "String should have at least 1 character", Type: "string_too_short"})
	}
	for i, p := range req.Phones {
		if !validPhone(p) {
			issues = append(issues, validationIssue{Loc: []any{"body", "phones", i}, Msg: phoneMsg, Type: "value_error"})
		}
	}
	email := strings.ToLower(req.Email)
	if email != "" && !validEmail(email) {
		issues = append(issues, validationIssue{Loc: []any{"body", "email"}, Msg: "value is not a valid email address: An email address must have an @-sign.", Type: "value_error"})
	}
	idents := make([]probonus.Identifier, 0, len(req.Identifiers)+len(req.Phones)+2)
	for i, id := range req.Identifiers {
		loc := []any{"body", "identifiers", i}
		switch id.IdentifierTypeID {
		case probonus.IdentifierPhone:
			if !validPhone(id.Value) {
				issues = append(issues, validationIssue{Loc: append(loc, "value"), Msg: phoneMsg, Type: "value_error"})
			}
		case probonus.IdentifierEmail:
			id.Value = strings.ToLower(id.Value)
			if !validEmail(id.Value) {
				issues = append(issues, validationIssue{Loc: append(loc, "value"), Msg: "value is not a valid email address", Type: "value_error"})
			}
		case probonus.IdentifierCard:
			if id.Value == "" {
				issues = append(issues, validationIssue{Loc: append(loc, "value"), Msg: "String should have at least 1 character", Type: "string_too_short"})
			}
		default:
			issues = append(issues, validationIssue{Loc: append(loc, "identifierTypeId"), Msg: "Value error, неизвестный тип идентификатора", Type: "value_error"})
		}
		idents = appendIdentifier(idents, probonus.Identifier{TypeID: id.IdentifierTypeID, Value: id.Value})
	}
	if len(issues) > 0 {
		writeValidation(w, issues...)
		return
	}
	group := req.AccountGroupID
	if group == 0 {
		group = defaultAccountGroupID
	}
	if !slices.ContainsFunc(accountGroups, func(g directoryEntry) bool { return g.ID == group }) {
		writeDetail(w, http.StatusBadRequest, "Группа счетов не найдена")
		return
	}
	for _, p := range req.Phones {
		idents = appendIdentifier(idents, probonus.Identifier{TypeID: probonus.IdentifierPhone, Value: p})
	}
	if email != "" {
		idents = appendIdentifier(idents, probonus.Identifier{TypeID: probonus.IdentifierEmail, Value: email})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range idents {
		if s.holderLocked(id.Value) != 0 {
			writeDetail(w, http.StatusBadRequest, "Идентификатор уже привязан к другому счёту")
			return
		}
	}
	a := probonus.Account{
		ID:                s.nextAccountID,
		FirstName:         *req.FirstName,
		LastName:          req.LastName,
		MiddleName:        req.MiddleName,
		Email:             email,
		Phones:            slices.Clone(req.Phones),
		AccountGroupID:    group,
		Identifiers:       idents,
		DiscountLevelName: levelFor(0),
	}
	s.nextAccountID++
	if a.Card() == "" {
		a.Identifiers = append(a.Identifiers, probonus.Identifier{TypeID: probonus.IdentifierCard, Value: s.newCardLocked()})
	}
	s.accounts[a.ID] = &a
	s.indexLocked(&a)
	writeJSON(w, http.StatusOK, accountJSON(a))
}

// appendIdentifier adds id unless the same value is already listed: a phone repeated in
// identifiers is one identifier.
func appendIdentifier(list []probonus.Identifier, id probonus.Identifier) []probonus.Identifier {
	if slices.ContainsFunc(list, func(x probonus.Identifier) bool { return x.Value == id.Value }) {
		return list
	}
	return append(list, id)
}

func (s *Server) handleOperation(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req operationRequest
		if issue := decodeJSON(r, &req); issue != nil {
			writeValidation(w, *issue)
			return
		}
		var issues []validationIssue
		accountID := bodyInt(req.AccountID, "accountId", 1, math.MaxInt64, &issues)
		sum := bodyInt(req.Sum, "sum", 1, maxOperationSum, &issues)
		if req.Reason == nil {
			issues = append(issues, validationIssue{Loc: []any{"body", "reason"}, Msg: "Field required", Type: "missing"})
		}
		if len(issues) > 0 {
			writeValidation(w, issues...)
			return
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		a, found := s.accounts[accountID]
		switch {
		case !found:
			writeDetail(w, http.StatusNotFound, "Счёт не найден")
			return
		case a.Blocked:
			writeDetail(w, http.StatusBadRequest, "Счёт заблокирован")
			return
		case kind == probonus.OpWithdraw && sum > a.Balance:
			writeDetail(w, http.StatusBadRequest, "Недостаточно бонусов")
			return
		}
		op := s.recordLocked(a, kind, sum, *req.Reason)
		if s.lastOp == nil {
			s.lastOp = make(map[string]probonus.Operation)
		}
		s.lastOp[kind] = op
		writeJSON(w, http.StatusOK, operationJSON(op))
	}
}

// recordLocked executes one operation on account a. Called under s.mu.
func (s *Server) recordLocked(a *probonus.Account, kind string, sum int64, reason string) probonus.Operation {
	if kind == probonus.OpWithdraw {
		a.Balance -= sum
	} else {
		a.Balance += sum
	}
	a.DiscountLevelName = levelFor(a.Balance)
	op := probonus.Operation{
		ID:        s.nextOpID,
		AccountID: a.ID,
		Type:      kind,
		Sum:       sum,
		Reason:    reason,
		CreatedAt: s.createdAt(),
		Balance:   a.Balance,
	}
	s.nextOpID++
	s.opsOf[a.ID] = append(s.opsOf[a.ID], len(s.ops))
	s.ops = append(s.ops, op)
	return op
}

// StaleOperations makes reads of one account's operations answer the list as it stands now,
// whatever is posted later, as a caching proxy in front of ProBonus serving a stored copy would
// (operations are still executed, and the account shows its true balance); false ends it.
func (s *Server) StaleOperations(accountID int64, stale bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !stale {
		delete(s.frozen, accountID)
		return
	}
	if s.frozen == nil {
		s.frozen = make(map[int64]int)
	}
	s.frozen[accountID] = len(s.opsOf[accountID])
}

// OperationBetweenPages makes the next n reads of a later page (offset > 0) of one account's
// operations first record an operation of another system on it (r_keeper crediting the guest
// one bonus for a restaurant bill), as if it was posted between a client's reads of two pages:
// the list, newest first, shifts by one, and the last operation of the page read before comes
// again at the top of the next. n ≤ 0 ends it.
func (s *Server) OperationBetweenPages(accountID int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.betweenPages == nil {
		s.betweenPages = make(map[int64]int)
	}
	s.betweenPages[accountID] = max(n, 0)
}

// createdAt is the current time as the wire carries it (whole seconds, RFC 3339), so what the
// simulator stores equals what a client parses.
func (s *Server) createdAt() time.Time {
	now := s.opts.Now()
	t, err := time.Parse(time.RFC3339, now.Format(time.RFC3339))
	if err != nil {
		return now.Truncate(time.Second)
	}
	return t
}

func bodyInt(n *json.Number, name string, lo, hi int64, issues *[]validationIssue) int64 {
	loc := []any{"body", name}
	if n == nil {
		*issues = append(*issues, validationIssue{Loc: loc, Msg: "Field required", Type: "missing"})
		return 0
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		msg, typ := "Input should be a valid integer", "int_type"
		var ne *strconv.NumError
		if f, ferr := n.Float64(); ferr == nil && f != math.Trunc(f) {
			msg, typ = "Input should be a valid integer, got a number with a fractional part", "int_from_float"
		} else if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			msg, typ = fmt.Sprintf("Input should be less than or equal to %d", hi), "less_than_equal"
		}
		*issues = append(*issues, validationIssue{Loc: loc, Msg: msg, Type: typ})
		return 0
	}
	switch {
	case v < lo:
		*issues = append(*issues, validationIssue{Loc: loc, Msg: fmt.Sprintf("Input should be greater than %d", lo-1), Type: "greater_than"})
	case v > hi:
		*issues = append(*issues, validationIssue{Loc: loc, Msg: fmt.Sprintf("Input should be less than or equal to %d", hi), Type: "less_than_equal"})
	}
	return v
}

// unclearRate is a share of requests whose outcome the client cannot know (CommitUnclearly).
type unclearRate struct {
	failPct, hangPct int
	hang             time.Duration
	rng              *rand.Rand
}

// roll draws the fault of one request, if any; nil rates draw none. Called under s.mu.
func (u *unclearRate) roll() (fault, bool) {
	if u == nil {
		return fault{}, false
	}
	switch n := u.rng.IntN(100); {
	case n < u.failPct:
		return fault{kind: faultCommitThenFail}, true
	case n < u.failPct+u.hangPct:
		return fault{kind: faultCommitThenHang, delay: u.hang}, true
	}
	return fault{}, false
}

// CommitUnclearly makes requests to endpoint, at random (seeded, so a run is repeatable),
// execute and then leave the client in doubt: failPct percent answer 500, hangPct percent answer
// only after hang (beyond the client's timeout, so it gives up). Queued faults come first.
// 0, 0 stops it.
func (s *Server) CommitUnclearly(endpoint string, failPct, hangPct int, hang time.Duration, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unclear == nil {
		s.unclear = make(map[string]*unclearRate)
	}
	if failPct <= 0 && hangPct <= 0 {
		delete(s.unclear, endpoint)
		return
	}
	s.unclear[endpoint] = &unclearRate{failPct: failPct, hangPct: hangPct, hang: hang, rng: rand.New(rand.NewPCG(seed, seed^0x5e771e))}
}
