package probonus

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/internal/netfail"
	"github.com/hotelsync/syncd/retry"
)

// DefaultRequestTimeout bounds one HTTP exchange when Config.RequestTimeout is zero.
const DefaultRequestTimeout = 15 * time.Second

// maxResponseBody bounds what is read from one response; a page of 100 operations is a few tens
// of kilobytes, so anything near this is not the API talking.
const maxResponseBody = 8 << 20

// maxRedirects bounds same-origin redirects (FastAPI answers 307 for a missing trailing slash).
const maxRedirects = 3

// Config configures a Client.
type Config struct {
	BaseURL        string        // origin, e.g. http://host:6896; the client adds /api/v0
	Token          string        // surrounding whitespace (a credential file's newline) is trimmed
	TokenHeader    string        // default "Authorization" (then "Bearer <token>"); other names get the raw token
	HTTPClient     *http.Client  // nil = own client with RequestTimeout; TLS verification always on
	RequestTimeout time.Duration // default 15s
	Retry          retry.Policy  // for reads; zero = retry.DefaultPolicy
	// WrongURLAfter is how long reads retry answers not in the API's shape (an HTML 404, a
	// page that is not the documented answer) while nothing at BaseURL has yet answered as the
	// API: then the read fails as Unreachable, naming the origin. Default 10s.
	WrongURLAfter time.Duration
	Logger        zerolog.Logger
}

// DefaultWrongURLAfter is Config.WrongURLAfter's default: a few retries, so a proxy's passing
// hiccup on the very first call is ridden over, and a wrong base URL named in seconds.
const DefaultWrongURLAfter = 10 * time.Second

// Client talks to one ProBonus installation. It is safe for concurrent use.
type Client struct {
	apiBase     string // origin + APIPrefix
	origin      *url.URL
	token       string
	tokenHeader string
	http        *http.Client
	timeout     time.Duration
	retry       retry.Policy
	log         zerolog.Logger
	calls       atomic.Int64
	// reached is set by the first answer from ProBonus: from then on a failure to connect is
	// taken as passing (a restart) and retried for a short while.
	reached atomic.Bool
	// understood is set by the first answer in the API's own shape (a 2xx syncd could read, or
	// an error with FastAPI's detail): until then, a foreign answer (an HTML 404, a page that is
	// not the API's) means probonus.base_url names something else (the vendor's website),
	// which retrying for minutes does not heal.
	understood    atomic.Bool
	wrongURLAfter time.Duration
}

// New validates cfg and returns a client. It makes no network call.
func New(cfg Config) (*Client, error) {
	origin, err := parseOrigin(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, errors.New("probonus: token is empty")
	}
	// The message must not echo the token, so it only says what is wrong with it.
	if !validHeaderValue(token) {
		return nil, errors.New("probonus: token contains characters not allowed in an HTTP header")
	}
	header := strings.TrimSpace(cfg.TokenHeader)
	if header == "" {
		header = DefaultTokenHeader
	}
	if !validHeaderName(header) {
		return nil, fmt.Errorf("probonus: token header %q is not a valid HTTP header name", header)
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	policy := cfg.Retry
	if policy == (retry.Policy{}) {
		policy = retry.DefaultPolicy
	}
	wrongURLAfter := cfg.WrongURLAfter
	if wrongURLAfter <= 0 {
		wrongURLAfter = DefaultWrongURLAfter
	}
	hc, err := httpClient(cfg.HTTPClient, origin)
	if err != nil {
		return nil, err
	}
	return &Client{
		apiBase:       strings.TrimSuffix(origin.String(), "/") + APIPrefix,
		origin:        origin,
		token:         token,
		tokenHeader:   header,
		http:          hc,
		timeout:       timeout,
		retry:         policy,
		log:           cfg.Logger,
		wrongURLAfter: wrongURLAfter,
	}, nil
}

// validHeaderName reports an RFC 9110 token: the characters a header name may have.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters, which would make the request unsendable or split
// the header.
func validHeaderValue(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func parseOrigin(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("probonus: base URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("probonus: base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("probonus: base URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("probonus: base URL %q has no host", raw)
	case u.User != nil:
		return nil, errors.New("probonus: base URL must not contain credentials; use the token")
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("probonus: base URL %q must be an origin without a path (the client adds %s)", raw, APIPrefix)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("probonus: base URL %q must not have a query or fragment", raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// errRedirectRefused marks a redirect the client would not follow: retrying within the call
// would only be redirected again.
var errRedirectRefused = errors.New("refusing a redirect to another origin or one too many (the token would follow it)")

// httpClient returns the client to use. A caller's client is copied, not modified, and in both
// cases redirects are confined to the API's origin: Go forwards custom headers such as X-API-Key
// to any host a redirect names, which would leak the token.
func httpClient(given *http.Client, origin *url.URL) (*http.Client, error) {
	var hc http.Client
	if given != nil {
		if t, ok := given.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
			return nil, errors.New("probonus: the HTTP client skips TLS verification; that is not allowed")
		}
		hc = *given
	} else {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		hc = http.Client{Transport: transport}
	}
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirectRefused, maxRedirects)
		}
		if req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return errRedirectRefused
		}
		return nil
	}
	return &hc, nil
}

// RequestTimeout is the longest one HTTP exchange may take. A deposit that timed out may still
// be executing at the server; after this much time (plus a margin) since it was sent, its
// absence from the account's operations is conclusive.
func (c *Client) RequestTimeout() time.Duration { return c.timeout }

// Calls returns the number of HTTP requests attempted so far, retries included.
func (c *Client) Calls() int64 { return c.calls.Load() }

// FindAccount returns the account holding identifier (phone digits, lower-case e-mail or card
// number), compared exactly by the server. No account → an error matching ErrNotFound.
func (c *Client) FindAccount(ctx context.Context, identifier string) (Account, error) {
	var a Account
	err := c.get(ctx, pathFindAccount(), queryFindAccount(identifier), func(body []byte) (err error) {
		a, err = decodeFoundAccount(body, identifier)
		return err
	})
	return a, err
}

// CreateAccount creates an account. It is never retried: a retry after an unclear failure could
// create the guest twice. An identifier held by another account → *Error Permanent (400) with
// the server's Detail.
func (c *Client) CreateAccount(ctx context.Context, a NewAccount) (Account, error) {
	var created Account
	err := c.post(ctx, pathAccounts(), newAccountToWire(a), func(body []byte) (err error) {
		created, err = decodeAccountAnswer(body)
		return err
	})
	if e, ok := errors.AsType[*Error](err); ok {
		// A refusal often quotes the identifier taken; errors are logged.
		values := append([]string{a.Email}, a.Phones...)
		for _, id := range a.Identifiers {
			values = append(values, id.Value)
		}
		e.Detail = maskValues(e.Detail, values)
	}
	return created, err
}

// Account reads one account, with its current balance.
func (c *Client) Account(ctx context.Context, id int64) (Account, error) {
	var a Account
	err := c.get(ctx, pathAccount(id), nil, func(body []byte) (err error) {
		a, err = decodeBalanceAnswer(body, id)
		return err
	})
	return a, err
}

// Operations reads one page of an account's operations, newest first, and the total count.
func (c *Client) Operations(ctx context.Context, accountID int64, offset, limit int) (ops []Operation, total int, err error) {
	if offset < 0 || limit <= 0 {
		return nil, 0, fmt.Errorf("probonus: operations page offset %d limit %d: offset must be ≥ 0 and limit > 0", offset, limit)
	}
	err = c.get(ctx, pathAccountOperations(accountID), queryOperations(offset, limit), func(body []byte) (err error) {
		if ops, total, err = decodeOperationsAnswer(body); err == nil && len(ops) == 0 && offset < total {
			// Read as the end of the list, it would make "not posted" of a deposit that is there.
			err = unexpected("no operations at offset %d of %d", offset, total)
		}
		return err
	})
	return ops, total, err
}

// Deposit credits sum kopecks to the account. It is NEVER retried: the API has no idempotency
// key, so a blind retry could credit twice. On failure, IsOutcomeUnknown says whether the
// server may nevertheless have executed it.
func (c *Client) Deposit(ctx context.Context, accountID, sum int64, reason string) (Operation, error) {
	return c.operation(ctx, pathDeposit(), OpDeposit, accountID, sum, reason)
}

// Withdraw debits sum kopecks from the account. It is NEVER retried (see Deposit). A sum above
// the balance → *Error Permanent (400), the balance unchanged.
func (c *Client) Withdraw(ctx context.Context, accountID, sum int64, reason string) (Operation, error) {
	return c.operation(ctx, pathWithdraw(), OpWithdraw, accountID, sum, reason)
}

func (c *Client) operation(ctx context.Context, path, kind string, accountID, sum int64, reason string) (Operation, error) {
	if sum <= 0 {
		return Operation{}, fmt.Errorf("probonus: POST %s: sum %d kopecks must be positive (nothing was sent)", path, sum)
	}
	// A 2xx whose body cannot be read is Transient and Sent (outcome unknown), never "not
	// posted": decodeOperationAnswer reports every failure as an unexpected answer.
	var o Operation
	request := wireOperationRequest{AccountID: accountID, Sum: moneyToWire(sum), Reason: reason}
	err := c.post(ctx, path, request, func(body []byte) (err error) {
		o, err = decodeOperationAnswer(body, kind, request)
		return err
	})
	return o, err
}

// DirectoryEntry is one entry of a directory such as identifier types or account groups.
type DirectoryEntry struct {
	ID   int64
	Name string
}

// IdentifierTypes lists the installation's identifier types.
func (c *Client) IdentifierTypes(ctx context.Context) ([]DirectoryEntry, error) {
	return c.directory(ctx, pathIdentifierTypes())
}

// AccountGroups lists the installation's account groups (to check probonus.account_group_id).
func (c *Client) AccountGroups(ctx context.Context) ([]DirectoryEntry, error) {
	return c.directory(ctx, pathAccountGroups())
}

func (c *Client) directory(ctx context.Context, path string) ([]DirectoryEntry, error) {
	var out []DirectoryEntry
	err := c.get(ctx, path, nil, func(body []byte) (err error) {
		out, err = decodeDirectoryAnswer(body)
		return err
	})
	return out, err
}

// get performs a read, retrying transient failures and 429s (honouring Retry-After).
func (c *Client) get(ctx context.Context, path string, query url.Values, decode func([]byte) error) error {
	start := time.Now()
	err := retry.Do(ctx, c.retry, func(ctx context.Context) error {
		return c.exchange(ctx, http.MethodGet, path, query, nil, decode)
	}, func(err error) (bool, time.Duration) {
		if c.neverTheAPI(err) && time.Since(start) >= c.wrongURLAfter {
			return false, 0
		}
		if IsUnreachable(err) {
			// Never reached: a wrong URL or no route, which waiting does not heal. Reached
			// before: ride over a restart, but leave longer outages to the next run.
			return c.reached.Load() && time.Since(start) < unreachableGrace, 0
		}
		var e *Error
		if !errors.As(err, &e) || (e.Kind != Transient && e.Kind != RateLimited) || errors.Is(err, errRedirectRefused) {
			return false, 0 // a refused redirect would only be redirected again
		}
		return true, e.RetryAfter
	}, func(err error, wait time.Duration) {
		c.log.Warn().Err(err).Str("retry_in", wait.Round(time.Millisecond).String()).Msg("probonus read failed; retrying")
	})
	if c.neverTheAPI(err) && time.Since(start) >= c.wrongURLAfter {
		// A read changed nothing, so calling it unreachable is safe: the run stops at once,
		// naming probonus.base_url, instead of retrying every lookup for minutes.
		e := err.(*Error)
		e.Kind = Unreachable
		e.Detail = "nothing at " + c.origin.String() + " has answered as ProBonus's API yet: " + e.Detail
	}
	return err
}

// neverTheAPI tells whether err is a foreign answer (see Error.foreign) from a base URL that has
// not once answered in the API's shape.
func (c *Client) neverTheAPI(err error) bool {
	e, ok := err.(*Error)
	return ok && e.foreign && !c.understood.Load()
}

// unreachableGrace is how long one read keeps retrying a ProBonus it has reached before but
// cannot reach now.
const unreachableGrace = 30 * time.Second

// post performs a write exactly once.
func (c *Client) post(ctx context.Context, path string, body any, decode func([]byte) error) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("probonus: POST %s: encoding request: %w", path, err)
	}
	// Never retried: the API has no idempotency key, so a second send could execute twice. The
	// caller settles an unclear outcome by reading the account's operations.
	return c.exchange(ctx, http.MethodPost, path, nil, payload, decode)
}

// exchange is one HTTP request and its response. Every failure is an *Error whose Sent field is
// false only when the request surely never left this process.
func (c *Client) exchange(ctx context.Context, method, path string, query url.Values, payload []byte, decode func([]byte) error) error {
	op := method + " " + path
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var tr sendTrace
	ctx = httptrace.WithClientTrace(ctx, tr.hooks())
	target := c.apiBase + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return &Error{Op: op, Kind: Permanent, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	setToken(req.Header, c.tokenHeader, c.token)

	if err := ctx.Err(); err != nil {
		// Checked here so that a cancelled run reports "not sent" with certainty.
		return &Error{Op: op, Kind: Transient, Err: err}
	}
	call := c.calls.Add(1)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		e := c.transportError(op, err, tr.sent(err))
		c.log.Debug().Str("op", op).Int64("call", call).Str("took", time.Since(start).Round(time.Millisecond).String()).Bool("sent", e.Sent).Err(e.Err).Msg("probonus request failed")
		return e
	}
	c.reached.Store(true)
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	c.log.Debug().Str("op", op).Int64("call", call).Int("status", resp.StatusCode).Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("probonus request")

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status alone classifies the failure; a body that broke off only loses the detail.
		api := isFastAPIError(data)
		if api {
			c.understood.Store(true)
		}
		e := &Error{
			Op:      op,
			Status:  resp.StatusCode,
			Kind:    kindOfReply(resp.StatusCode, data),
			Detail:  c.redact(errorDetail([]byte(maskQuery(string(data), query)))),
			Sent:    true,
			foreign: resp.StatusCode == http.StatusNotFound && !api,
		}
		if e.Kind == RateLimited || resp.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return e
	}
	// From here on the server accepted the request: a failure to read what it said leaves a
	// write's outcome unknown, which Transient+Sent expresses.
	switch {
	case readErr != nil:
		return &Error{Op: op, Status: resp.StatusCode, Kind: Transient, Sent: true, Err: fmt.Errorf("reading response: %w", unwrapURLError(readErr))}
	case len(data) > maxResponseBody:
		return &Error{Op: op, Status: resp.StatusCode, Kind: Transient, Sent: true, Err: fmt.Errorf("response larger than %d bytes", maxResponseBody)}
	}
	if decode == nil {
		return nil
	}
	if err := decode(data); err != nil {
		var ua *unexpectedAnswer
		if errors.As(err, &ua) {
			return &Error{Op: op, Status: resp.StatusCode, Kind: Transient, Sent: true, Detail: maskQuery(c.redact(ua.reason), query), Err: ErrUnexpectedAnswer, foreign: true}
		}
		return &Error{Op: op, Status: resp.StatusCode, Kind: Permanent, Sent: true, Err: err}
	}
	c.understood.Store(true)
	return nil
}

// transportError classifies a failure without an HTTP response. The *url.Error wrapper is dropped
// because its text repeats the URL, and the find URL carries a guest's phone or e-mail.
func (c *Client) transportError(op string, err error, sent bool) *Error {
	inner := unwrapURLError(err)
	cause, ok := netfail.Cause(inner)
	if !ok {
		cause, ok = netfail.ConnectTimeout(inner, sent)
	}
	if ok && !sent {
		// Only when surely nothing was sent: a write that may have reached the server stays
		// Transient+Sent, an outcome to look up.
		return &Error{Op: op, Kind: Unreachable, Detail: "cannot reach " + c.origin.String() + ": " + cause, Err: inner}
	}
	// A refused redirect stays Transient (get does not retry it): a proxy's doing, not the
	// booking's, so nothing is parked for it, and a write it stopped is looked up by its marker
	// (Sent), never sent blindly again.
	return &Error{Op: op, Kind: Transient, Sent: sent, Err: inner}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact removes the token from server-supplied text, in case something between here and the API
// echoes request headers into an error page.
func (c *Client) redact(s string) string {
	if c.token == "" || !strings.Contains(s, c.token) {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// maskQuery masks the query's values (a lookup's phone or e-mail) where s quotes them, as typed
// or URL-encoded: a proxy's error page often quotes the URL it failed on, and errors are logged.
func maskQuery(s string, query url.Values) string {
	for _, values := range query {
		s = maskValues(s, values)
	}
	return s
}

// maskValues masks the guest's phones and e-mails values where s quotes them (see maskQuery).
func maskValues(s string, values []string) string {
	for _, v := range values {
		if v == "" {
			continue
		}
		masked := contact.MaskPhone(v)
		if strings.Contains(v, "@") {
			masked = contact.MaskEmail(v)
		}
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			s = strings.ReplaceAll(s, form, masked)
		}
	}
	return s
}

// sendTrace records how far a request got. Hooks run on the transport's goroutines, hence atomics.
type sendTrace struct {
	askedForConn atomic.Bool // the transport reports traces (it is, or behaves like, http.Transport)
	gotConn      atomic.Bool // a connection existed, so bytes of the request may have been written
}

func (t *sendTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { t.askedForConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { t.gotConn.Store(true) },
	}
}

// sent reports whether the failed request may have reached the server. Having a connection is
// the line: without one nothing was written. A transport that reports no traces at all gets the
// benefit of the doubt only for errors that are plainly failures to connect.
func (t *sendTrace) sent(err error) bool {
	if t.gotConn.Load() {
		return true
	}
	if t.askedForConn.Load() {
		return false
	}
	return !isConnectFailure(err)
}

func isConnectFailure(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}
