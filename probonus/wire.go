package probonus

// Everything in this file is a wire detail of the ProBonus API: paths, JSON shapes, the token
// header, the money unit, timestamps and FastAPI error bodies. Most of it is modeled (see
// /work/shared/api/probonus.md); when the vendor's /openapi.json becomes available, this is the
// one file to revise.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotelsync/syncd/internal/answer"
)

// APIPrefix is the path prefix of every API call; Config.BaseURL is the origin in front of it.
const APIPrefix = "/api/v0"

// Paths relative to APIPrefix. They double as the Op of an *Error, which is why they never carry
// a query string: the find query holds a guest's phone or e-mail.
func pathFindAccount() string               { return "/accounts/find" }
func pathAccounts() string                  { return "/accounts" }
func pathAccount(id int64) string           { return "/accounts/" + strconv.FormatInt(id, 10) }
func pathAccountOperations(id int64) string { return pathAccount(id) + "/operations" }
func pathDeposit() string                   { return "/operations/deposit" }
func pathWithdraw() string                  { return "/operations/withdraw" }
func pathIdentifierTypes() string           { return "/identifier_types/list" }
func pathAccountGroups() string             { return "/account_groups/list" }

func queryFindAccount(identifier string) url.Values {
	return url.Values{"identifier": {identifier}}
}

func queryOperations(offset, limit int) url.Values {
	return url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
}

// Phone identifiers ProBonus accepts are 10–15 digits, nothing else; any other answers 422.
const (
	minPhoneDigits = 10
	maxPhoneDigits = 15
)

// AcceptsPhone reports whether ProBonus takes digits as a phone identifier: a valid foreign
// number may be shorter ("493012345"), and ProBonus would refuse the account that carries it.
func AcceptsPhone(digits string) bool {
	if len(digits) < minPhoneDigits || len(digits) > maxPhoneDigits {
		return false
	}
	return strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// DefaultTokenHeader is the modeled header that carries the API user's token. Swagger names the
// scheme APIKeyHeader without saying which header, so the name is configurable.
const DefaultTokenHeader = "Authorization"

// setToken puts the token in the configured header: "Bearer <token>" in Authorization, the raw
// token in any other header (an API-key style header such as X-API-Key).
func setToken(h http.Header, headerName, token string) {
	if http.CanonicalHeaderKey(headerName) == DefaultTokenHeader {
		h.Set(headerName, "Bearer "+token)
		return
	}
	h.Set(headerName, token)
}

// wireMoney is a sum or balance as the API writes it: integer kopecks. It is the single
// conversion point between the wire and the package's kopecks, so a vendor that turns out to
// speak rubles with decimals is handled here and nowhere else.
type wireMoney int64

func moneyToWire(kopecks int64) wireMoney { return wireMoney(kopecks) }

func (m wireMoney) kopecks() int64 { return int64(m) }

// UnmarshalJSON accepts only whole numbers: a fractional amount means the unit assumption is
// wrong, and silently truncating money would be worse than failing loudly.
func (m *wireMoney) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*m = 0
		return nil
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return fmt.Errorf("money amount %s is not integer kopecks: %w", truncate(string(data), 40), err)
	}
	*m = wireMoney(n)
	return nil
}

// parseCreatedAt reads an operation's createdAt: RFC 3339, optionally with fractional seconds.
func parseCreatedAt(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("createdAt %q is not RFC 3339: %w", truncate(s, 40), err)
	}
	return t, nil
}

type wireIdentifier struct {
	IdentifierTypeID int64  `json:"identifierTypeId"`
	Value            string `json:"value"`
}

type wireAccount struct {
	ID                int64            `json:"id"`
	FirstName         string           `json:"firstName"`
	LastName          string           `json:"lastName"`
	MiddleName        string           `json:"middleName"`
	Email             *string          `json:"email"`
	Phones            []string         `json:"phones"`
	AccountGroupID    int64            `json:"accountGroupId"`
	Identifiers       []wireIdentifier `json:"identifiers"`
	Balance           *wireMoney       `json:"balance"` // nil when absent: not a zero balance
	DiscountLevelName string           `json:"discountLevelName"`
	Blocked           bool             `json:"blocked"`
}

func (w wireAccount) account() Account {
	a := Account{
		ID:                w.ID,
		FirstName:         w.FirstName,
		LastName:          w.LastName,
		MiddleName:        w.MiddleName,
		Phones:            w.Phones,
		AccountGroupID:    w.AccountGroupID,
		DiscountLevelName: w.DiscountLevelName,
		Blocked:           w.Blocked,
	}
	if w.Email != nil {
		a.Email = *w.Email
	}
	if w.Balance != nil {
		a.Balance = w.Balance.kopecks()
	}
	for _, id := range w.Identifiers {
		a.Identifiers = append(a.Identifiers, Identifier{TypeID: id.IdentifierTypeID, Value: id.Value})
	}
	return a
}

// wireNewAccount omits empty optional fields: a real server with an e-mail validator may reject
// "email": "" where it accepts the field's absence.
type wireNewAccount struct {
	FirstName      string           `json:"firstName"`
	LastName       string           `json:"lastName,omitempty"`
	MiddleName     string           `json:"middleName,omitempty"`
	Email          string           `json:"email,omitempty"`
	Phones         []string         `json:"phones,omitempty"`
	AccountGroupID int64            `json:"accountGroupId,omitempty"`
	Identifiers    []wireIdentifier `json:"identifiers,omitempty"`
}

func newAccountToWire(a NewAccount) wireNewAccount {
	w := wireNewAccount{
		FirstName:      a.FirstName,
		LastName:       a.LastName,
		MiddleName:     a.MiddleName,
		Email:          a.Email,
		Phones:         a.Phones,
		AccountGroupID: a.AccountGroupID,
	}
	for _, id := range a.Identifiers {
		w.Identifiers = append(w.Identifiers, wireIdentifier{IdentifierTypeID: id.TypeID, Value: id.Value})
	}
	return w
}

type wireOperationRequest struct {
	AccountID int64     `json:"accountId"`
	Sum       wireMoney `json:"sum"`
	Reason    string    `json:"reason"`
}

type wireOperation struct {
	ID        int64      `json:"id"`
	AccountID int64      `json:"accountId"`
	Type      string     `json:"type"`
	Sum       *wireMoney `json:"sum"` // nil when absent or null: no sum is not a sum of 0
	Reason    string     `json:"reason"`
	CreatedAt string     `json:"createdAt"`
	Balance   wireMoney  `json:"balance"`
}

func (w wireOperation) operation() (Operation, error) {
	// Operations move money one way each (the kind says which): a sum that is not positive is
	// not one, and counted it would make a booking's posted total look short.
	if w.Sum == nil || *w.Sum <= 0 {
		return Operation{}, fmt.Errorf("operation %d has no positive sum", w.ID)
	}
	created, err := parseCreatedAt(w.CreatedAt)
	if err != nil {
		return Operation{}, fmt.Errorf("operation %d: %w", w.ID, err)
	}
	return Operation{
		ID:        w.ID,
		AccountID: w.AccountID,
		Type:      w.Type,
		Sum:       w.Sum.kopecks(),
		Reason:    w.Reason,
		CreatedAt: created,
		Balance:   w.Balance.kopecks(),
	}, nil
}

// wireOperationsPage holds pointers so that an absent list or total is told from an empty one:
// "no operations" is believed only from a page that has both.
type wireOperationsPage struct {
	Items *[]wireOperation `json:"items"`
	Total *int             `json:"total"`
}

type wireDirectoryEntry struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// wireErrorBody is FastAPI's error shape. detail is a string for HTTPException and a list of
// {loc, msg, type} for validation errors (422), so it is decoded lazily.
type wireErrorBody struct {
	Detail json.RawMessage `json:"detail"`
}

// isFastAPIError reports an error body of FastAPI's shape: {"detail": ...}.
func isFastAPIError(body []byte) bool {
	var eb wireErrorBody
	return json.Unmarshal(bytes.TrimSpace(body), &eb) == nil && answer.Present(eb.Detail)
}

type wireValidationIssue struct {
	Loc  []json.RawMessage `json:"loc"`
	Msg  string            `json:"msg"`
	Type string            `json:"type"`
}

// maxDetailLen bounds the text kept from a body that is not a FastAPI error (an HTML page from a
// proxy): enough to recognise it, not enough to flood a log line.
const maxDetailLen = 300

// errorDetail renders an error response's body as one readable line: the string detail
// verbatim, a validation list as "body.phones.0: msg; body.firstName: msg" with msgs verbatim,
// and anything else as a trimmed excerpt.
func errorDetail(body []byte) string {
	var eb wireErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Detail) == 0 {
		return excerpt(body)
	}
	var text string
	if err := json.Unmarshal(eb.Detail, &text); err == nil {
		return text
	}
	var issues []wireValidationIssue
	if err := json.Unmarshal(eb.Detail, &issues); err == nil {
		parts := make([]string, 0, len(issues))
		for _, is := range issues {
			parts = append(parts, renderIssue(is))
		}
		return strings.Join(parts, "; ")
	}
	// An object or other shape: keep it as compact JSON rather than lose it.
	var compact bytes.Buffer
	if err := json.Compact(&compact, eb.Detail); err != nil {
		return excerpt(eb.Detail)
	}
	return truncate(compact.String(), maxDetailLen)
}

func renderIssue(is wireValidationIssue) string {
	loc := make([]string, 0, len(is.Loc))
	for _, raw := range is.Loc {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			loc = append(loc, s)
			continue
		}
		loc = append(loc, string(raw)) // list indexes are numbers
	}
	msg := is.Msg
	if msg == "" {
		msg = is.Type
	}
	if len(loc) == 0 {
		return msg
	}
	return strings.Join(loc, ".") + ": " + msg
}

func excerpt(body []byte) string {
	return truncate(strings.Join(strings.Fields(string(body)), " "), maxDetailLen)
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// maxRetryAfterRead bounds what Retry-After is read as; the retry policy caps the wait further.
const maxRetryAfterRead = 24 * time.Hour

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Capped before multiplying: a huge value would overflow into a negative wait.
		return time.Duration(min(secs, int64(maxRetryAfterRead/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return min(d, maxRetryAfterRead)
		}
	}
	return 0
}

// The decoders below read a 2xx body; unknown fields are ignored so that a richer real API does
// not break the client. An error wrapping ErrUnexpectedAnswer means the body is not the
// documented answer (FastAPI's {"detail": ...} with a 200, a proxy's HTML page, {}, a list
// without items or total, an account without an id): a passing failure of the call, never "no
// operations" or account 0. Any other error is about one record inside a well-formed answer.

// unexpectedAnswer says what is wrong with an answer; it matches ErrUnexpectedAnswer.
type unexpectedAnswer struct{ reason string }

func (u *unexpectedAnswer) Error() string        { return ErrUnexpectedAnswer.Error() + ": " + u.reason }
func (u *unexpectedAnswer) Is(target error) bool { return target == ErrUnexpectedAnswer }

func unexpected(format string, args ...any) error {
	return &unexpectedAnswer{reason: fmt.Sprintf(format, args...)}
}

// openObject checks that body is a JSON object and not an error body, and returns it trimmed.
func openObject(body []byte) ([]byte, error) {
	object, _, reason := answer.Open(body)
	if reason != "" {
		return nil, unexpected("%s", reason)
	}
	return object, nil
}

// decodeObject opens body as a success object and reads it into a T; what names T in messages.
func decodeObject[T any](body []byte, what string) (T, error) {
	var w T
	obj, err := openObject(body)
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(obj, &w); err != nil {
		return w, unexpected("not %s: %v", what, err)
	}
	return w, nil
}

// decodeAccountAnswer reads an ACCOUNT (find, create, get). An account without an id > 0 is
// no account: {} must never become account 0.
func decodeAccountAnswer(body []byte) (Account, error) {
	w, err := decodeObject[wireAccount](body, "an account")
	if err != nil {
		return Account{}, err
	}
	if w.ID <= 0 {
		return Account{}, unexpected("account id %d", w.ID)
	}
	return w.account(), nil
}

// decodeFoundAccount reads the answer to a lookup of identifier: an account that holds it. One
// that does not (a caching proxy ignoring the query string answers every lookup with the same
// guest) would send this guest's bonuses to someone else.
func decodeFoundAccount(body []byte, identifier string) (Account, error) {
	a, err := decodeAccountAnswer(body)
	if err != nil {
		return Account{}, err
	}
	if !holds(a, identifier) {
		return Account{}, unexpected("account %d does not hold the identifier looked up", a.ID)
	}
	return a, nil
}

// holds reports whether identifier is one of the account's phones, its e-mail or another of its
// identifiers (e-mails compared without regard to case: the server stores them lower-cased).
func holds(a Account, identifier string) bool {
	if identifier == "" {
		return false
	}
	if strings.EqualFold(a.Email, identifier) || slices.Contains(a.Phones, identifier) {
		return true
	}
	for _, id := range a.Identifiers {
		if strings.EqualFold(id.Value, identifier) {
			return true
		}
	}
	return false
}

// decodeBalanceAnswer reads account want with its balance, which must be there: a missing
// balance read as 0 would turn a withdrawal into a false shortfall.
func decodeBalanceAnswer(body []byte, want int64) (Account, error) {
	w, err := decodeObject[wireAccount](body, "an account")
	if err != nil {
		return Account{}, err
	}
	switch {
	case w.ID != want || w.ID <= 0:
		return Account{}, unexpected("asked for account %d, got %d", want, w.ID)
	case w.Balance == nil:
		return Account{}, unexpected("account %d has no balance", w.ID)
	}
	return w.account(), nil
}

// decodeOperationsAnswer reads a page of operations and the total. An unreadable operation in a
// well-formed page is an error of its own (not ErrUnexpectedAnswer). An operation's accountId is
// not checked: an account merged into another brings its operations along under its old id.
func decodeOperationsAnswer(body []byte) ([]Operation, int, error) {
	page, err := decodeObject[wireOperationsPage](body, "an operations page")
	if err != nil {
		return nil, 0, err
	}
	switch {
	case page.Items == nil:
		return nil, 0, unexpected("items is missing")
	case page.Total == nil:
		return nil, 0, unexpected("total is missing")
	case *page.Total < len(*page.Items):
		return nil, 0, unexpected("total %d is below the %d items listed", *page.Total, len(*page.Items))
	}
	ops := make([]Operation, 0, len(*page.Items))
	for i, w := range *page.Items {
		// Without its id, a known kind or its sum an operation cannot be counted: adopted from the list as a
		// deposit of 0 it would have syncd deposit the booking's bonuses again.
		switch {
		case w.ID <= 0:
			return nil, 0, unexpected("operation %d of the page has no id", i+1)
		case w.Type != OpDeposit && w.Type != OpWithdraw:
			// A kind not known here (a spelling the real API uses, "withdrawal") counted as a
			// deposit would turn a withdrawal into a credit: the list is refused, loudly.
			return nil, 0, unexpected("operation %d is of an unknown type %q", w.ID, truncate(w.Type, 20))
		case w.Sum == nil || *w.Sum <= 0:
			return nil, 0, unexpected("operation %d has no positive sum", w.ID)
		}
		o, err := w.operation()
		if err != nil {
			return nil, 0, err
		}
		ops = append(ops, o)
	}
	return ops, *page.Total, nil
}

// decodeOperationAnswer reads the OPERATION a deposit or withdrawal (kind) of sent answers with.
// Every failure is ErrUnexpectedAnswer: the server said 2xx, so the operation may well be
// executed. An answer for another account, sum or kind than the one sent is not believed either:
// its outcome is looked up by marker.
func decodeOperationAnswer(body []byte, kind string, sent wireOperationRequest) (Operation, error) {
	w, err := decodeObject[wireOperation](body, "an operation")
	if err != nil {
		return Operation{}, err
	}
	if w.ID <= 0 {
		return Operation{}, unexpected("operation id %d", w.ID)
	}
	o, err := w.operation()
	if err != nil {
		return Operation{}, unexpected("%v", err)
	}
	switch {
	case o.AccountID != 0 && o.AccountID != sent.AccountID:
		return Operation{}, unexpected("operation %d is on account %d, sent for %d", o.ID, o.AccountID, sent.AccountID)
	case o.Sum != sent.Sum.kopecks():
		return Operation{}, unexpected("operation %d is of %d kopecks, sent %d", o.ID, o.Sum, sent.Sum.kopecks())
	case o.Type != "" && o.Type != kind:
		return Operation{}, unexpected("operation %d is a %q, sent a %s", o.ID, o.Type, kind)
	}
	return o, nil
}

// decodeDirectoryAnswer reads a directory: a JSON list of {id, name}.
func decodeDirectoryAnswer(body []byte) ([]DirectoryEntry, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		if _, err := openObject(trimmed); err != nil {
			return nil, err
		}
		return nil, unexpected("not a list")
	}
	var ws []wireDirectoryEntry
	if err := json.Unmarshal(trimmed, &ws); err != nil {
		return nil, unexpected("not a directory: %v", err)
	}
	out := make([]DirectoryEntry, 0, len(ws))
	for _, w := range ws {
		out = append(out, DirectoryEntry(w))
	}
	return out, nil
}
