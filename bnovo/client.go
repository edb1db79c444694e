package bnovo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/internal/netfail"
	"github.com/hotelsync/syncd/retry"
)

// Config configures a Client.
type Config struct {
	BaseURL         string // origin, e.g. https://api.pms.bnovo.ru; the client adds /api/v1
	AccountID       int64
	APIKey          string
	Location        *time.Location // zone for timestamps without an offset; nil = UTC
	HTTPClient      *http.Client   // nil = a client with RequestTimeout; TLS verification always on
	RequestTimeout  time.Duration  // per request, default 30s
	PageSize        int            // default and max 50
	Limiter         Limiter        // nil = unlimited; Wait is called before EVERY request incl. retries and auth
	Tokens          TokenStore     // nil = keep the token in memory only
	Retry           retry.Policy   // zero = retry.DefaultPolicy
	MaxListRestarts int            // default 3
	Logger          zerolog.Logger // debug per request (method, path, status, duration); never the token/key
}

const (
	defaultRequestTimeout  = 30 * time.Second
	defaultMaxListRestarts = 3
	// A token this close to expiry is renewed rather than risked mid-run.
	tokenRenewMargin = 5 * time.Minute
	// Used when the login answer gives no lifetime; the documented lifetime is ~24 h, and a
	// wrong guess only costs one re-auth on 401.
	defaultTokenTTL  = 24 * time.Hour
	maxResponseBytes = 32 << 20
	redacted         = "[redacted]"
)

// Client calls the Bnovo API. It is safe for concurrent use.
type Client struct {
	apiURL          string // origin + APIPrefix
	accountID       int64
	apiKey          string
	loc             *time.Location
	httpClient      *http.Client
	requestTimeout  time.Duration
	pageSize        int
	limiter         Limiter
	tokens          TokenStore
	retryPolicy     retry.Policy
	maxListRestarts int
	log             zerolog.Logger

	calls atomic.Int64
	// reached is set by the first answer from Bnovo: from then on a failure to connect is
	// taken as passing (a restart, a blip) and retried for a short while.
	reached atomic.Bool

	// loginSlot serialises logins (and the one read of the token store) so concurrent callers
	// that find no token do not each spend an auth call; a channel so waiting honours ctx.
	loginSlot chan struct{}

	mu           sync.Mutex
	token        string
	tokenRenewAt time.Time // the token is used until then, and renewed after
	storeChecked bool
}

// New checks cfg and returns a Client. It makes no call.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bnovo: BaseURL must be an absolute http(s) URL such as https://api.pms.bnovo.ru")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("bnovo: BaseURL must be an origin (scheme and host only, no credentials or path); the client adds " + APIPrefix)
	}
	if cfg.AccountID <= 0 {
		return nil, errors.New("bnovo: AccountID must be a positive integer")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("bnovo: APIKey is empty")
	}
	c := &Client{
		apiURL:          u.Scheme + "://" + u.Host + APIPrefix,
		accountID:       cfg.AccountID,
		apiKey:          cfg.APIKey,
		loc:             cfg.Location,
		httpClient:      cfg.HTTPClient,
		requestTimeout:  cfg.RequestTimeout,
		pageSize:        cfg.PageSize,
		limiter:         cfg.Limiter,
		tokens:          cfg.Tokens,
		retryPolicy:     cfg.Retry,
		maxListRestarts: cfg.MaxListRestarts,
		log:             cfg.Logger,
		loginSlot:       make(chan struct{}, 1),
	}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.requestTimeout <= 0 {
		c.requestTimeout = defaultRequestTimeout
	}
	if c.pageSize <= 0 || c.pageSize > MaxPageSize {
		c.pageSize = MaxPageSize
	}
	if c.maxListRestarts <= 0 {
		c.maxListRestarts = defaultMaxListRestarts
	}
	if c.retryPolicy == (retry.Policy{}) {
		c.retryPolicy = retry.DefaultPolicy
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: c.requestTimeout}
	} else if t, ok := c.httpClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return nil, errors.New("bnovo: HTTPClient skips TLS verification; the API key would be exposed to anyone in the path")
	} else {
		copied := *c.httpClient // the caller's client is not modified
		c.httpClient = &copied
	}
	c.httpClient.CheckRedirect = sameOriginRedirects(u.Scheme, u.Host)
	return c, nil
}

// maxRedirects bounds same-origin redirects.
const maxRedirects = 3

// errRedirectRefused marks a redirect the client would not follow. Go's client re-sends a
// login's body (the API key) on a 307 and the Authorization header to any host of the same
// domain, so only the configured origin is ever asked.
var errRedirectRefused = errors.New("refusing a redirect to another origin (the credentials would follow it); check bnovo.base_url")

func sameOriginRedirects(scheme, host string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != scheme || req.URL.Host != host {
			return fmt.Errorf("%w: to %s://%s", errRedirectRefused, req.URL.Scheme, req.URL.Host)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirectRefused, maxRedirects)
		}
		return nil
	}
}

// Calls returns how many HTTP requests the client has sent, logins included.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Booking fetches one booking. An unknown id is a Permanent error for which IsNotFound holds.
func (c *Client) Booking(ctx context.Context, id int64) (Booking, error) {
	var b Booking
	err := c.call(ctx, http.MethodGet, pathBooking(id), nil, nil, func(body []byte) (err error) {
		b, err = decodeBookingAnswer(body, id, c.loc)
		return err
	})
	return b, err
}

// Payments fetches the payments and refunds of a booking. One unreadable payment fails the whole
// call (Permanent): a partial list would give a wrong paid total. An answer without its payments
// list is Transient (ErrUnexpectedAnswer), never "no payments".
func (c *Client) Payments(ctx context.Context, bookingID int64) ([]Payment, error) {
	var payments []Payment
	err := c.call(ctx, http.MethodGet, pathPayments(bookingID), nil, nil, func(body []byte) (err error) {
		payments, err = decodePaymentsAnswer(body, bookingID, c.loc)
		return err
	})
	return payments, err
}

// Guests fetches the guest records of a booking, the main guest first.
func (c *Client) Guests(ctx context.Context, bookingID int64) ([]Guest, error) {
	var guests []Guest
	err := c.call(ctx, http.MethodGet, pathGuests(bookingID), nil, nil, func(body []byte) (err error) {
		guests, err = decodeGuestsAnswer(body)
		return err
	})
	return guests, err
}

// UpdateGuest replaces a guest's notes and returns the record as stored. A read-only (v1)
// account answers Forbidden. Retrying is safe: the PUT sets a value, it does not add one.
func (c *Client) UpdateGuest(ctx context.Context, bookingID, guestID int64, notes string) (Guest, error) {
	var g Guest
	err := c.call(ctx, http.MethodPut, pathGuest(bookingID, guestID), nil, wireGuestUpdate{Notes: notes}, func(body []byte) (err error) {
		g, err = decodeGuestAnswer(body, guestID)
		return err
	})
	return g, err
}

// ListBookings pages through the bookings matching q, starting at startOffset, and hands each
// page to fn. Every booking id is delivered at most once per call, even when the listing is
// restarted because offsets shifted under it (a page repeating an id, or meta.total changing).
// fn is called for every page fetched, also when nothing on it is new, so a caller can follow
// Page.Next. After MaxListRestarts restarts the error wraps ErrListingUnstable. An error from fn
// stops the listing and is returned as is.
func (c *Client) ListBookings(ctx context.Context, q ListQuery, startOffset int, fn func(Page) error) error {
	if q.From.IsZero() || q.To.IsZero() {
		return errors.New("bnovo: listing needs both From and To")
	}
	if q.From.Format(DateLayout) > q.To.Format(DateLayout) {
		return fmt.Errorf("bnovo: listing range %s..%s is reversed", q.From.Format(DateLayout), q.To.Format(DateLayout))
	}
	if q.DataType == "" {
		q.DataType = ByCreated
	}
	l := &listing{
		delivered: make(map[int64]struct{}),
		badSeen:   make(map[[sha256.Size]byte]struct{}),
	}
	offset := max(startOffset, 0)
	knownTotal := -1
	if offset > 0 && q.ResumeTotal > 0 {
		knownTotal = q.ResumeTotal
	}
	for restarts := 0; ; restarts++ {
		reason, err := c.listPass(ctx, q, offset, knownTotal, l, fn)
		if err != nil || reason == "" {
			return err
		}
		if restarts >= c.maxListRestarts {
			return fmt.Errorf("bnovo: listing %s %s..%s: %s, restarted %d times: %w",
				q.DataType, q.From.Format(DateLayout), q.To.Format(DateLayout), reason, restarts, ErrListingUnstable)
		}
		c.log.Info().Str("data_type", string(q.DataType)).Str("reason", reason).Int("restart", restarts+1).
			Msg("bnovo listing changed while paging, restarting from offset 0")
		offset, knownTotal = 0, -1
	}
}

// listing is what one ListBookings call remembers across restarts.
type listing struct {
	delivered map[int64]struct{}
	// Records without a readable id are remembered by content, so a restart does not report
	// the same unreadable record twice.
	badSeen map[[sha256.Size]byte]struct{}
}

// listPass pages from offset to the end. It returns a non-empty reason when the listing must be
// restarted. total is meta.total as known before the pass (-1 when unknown).
func (c *Client) listPass(ctx context.Context, q ListQuery, offset, total int, l *listing, fn func(Page) error) (string, error) {
	seenThisPass := make(map[int64]struct{})
	for {
		raw, pageTotal, err := c.fetchPage(ctx, q, offset)
		if err != nil {
			return "", err
		}
		restart := ""
		if total >= 0 && pageTotal != total {
			restart = fmt.Sprintf("meta.total changed from %d to %d", total, pageTotal)
		}
		if total < 0 {
			total = pageTotal
		}
		page := Page{Offset: offset, Next: offset + len(raw), Total: pageTotal}
		for i, rec := range raw {
			b, id, decodeErr := decodeBooking(rec, c.loc)
			if id > 0 {
				if _, dup := seenThisPass[id]; dup && restart == "" {
					restart = fmt.Sprintf("booking %d repeated at offset %d", id, offset+i)
				}
				seenThisPass[id] = struct{}{}
				if _, done := l.delivered[id]; done {
					continue
				}
				l.delivered[id] = struct{}{}
			}
			if decodeErr == nil {
				page.Bookings = append(page.Bookings, b)
				continue
			}
			if id == 0 {
				sum := sha256.Sum256(rec)
				if _, done := l.badSeen[sum]; done {
					continue
				}
				l.badSeen[sum] = struct{}{}
			}
			page.Bad = append(page.Bad, BadRecord{ID: id, Position: offset + i, Err: decodeErr})
		}
		if len(raw) == 0 && offset < pageTotal && restart == "" {
			// An empty page short of the total would otherwise page forever at one offset.
			restart = fmt.Sprintf("empty page at offset %d of %d", offset, pageTotal)
		}
		if restart != "" {
			// The next page asked for is at offset 0: a caller saving Next to resume from
			// must not resume past bookings the shift moved before this page.
			page.Next = 0
		}
		if err := fn(page); err != nil {
			return "", err
		}
		if restart != "" {
			return restart, nil
		}
		offset = page.Next
		if offset >= total {
			return "", nil
		}
	}
}

func (c *Client) fetchPage(ctx context.Context, q ListQuery, offset int) ([]json.RawMessage, int, error) {
	query := url.Values{}
	query.Set(paramDateFrom, q.From.Format(DateLayout))
	query.Set(paramDateTo, q.To.Format(DateLayout))
	query.Set(paramDataType, string(q.DataType))
	query.Set(paramLimit, strconv.Itoa(c.pageSize))
	query.Set(paramOffset, strconv.Itoa(offset))
	var records []json.RawMessage
	var total int
	err := c.call(ctx, http.MethodGet, pathBookings(), query, nil, func(body []byte) (err error) {
		records, total, err = decodeListAnswer(body)
		return err
	})
	return records, total, err
}

// call sends one API call with retries for transient failures and hands a 2xx body to decode
// (nil: the body is not read). A decode error wrapping ErrUnexpectedAnswer is Transient and
// retried like a 5xx; any other is Permanent (a bad record).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body any, decode func([]byte) error) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("bnovo %s %s: encoding request: %w", method, path, err)
		}
	}
	start := time.Now()
	return retry.Do(ctx, c.retryPolicy, func(ctx context.Context) error {
		return c.attempt(ctx, method, path, query, payload, decode)
	}, func(err error) (bool, time.Duration) {
		if IsUnreachable(err) {
			// Never reached: a wrong URL or no route, which waiting does not heal. Reached
			// before: ride over a restart, but leave longer outages to the next run.
			return c.reached.Load() && time.Since(start) < unreachableGrace, 0
		}
		return classifyForRetry(err)
	}, func(err error, wait time.Duration) {
		c.log.Warn().Err(err).Str("retry_in", wait.Round(time.Millisecond).String()).Msg("bnovo call failed, will retry")
	})
}

// unreachableGrace is how long one call keeps retrying a Bnovo it has reached before but
// cannot reach now.
const unreachableGrace = 30 * time.Second

// unannouncedTooManyHold is how long a 429 without a usable Retry-After holds every call: the
// shortest of Bnovo's windows (30/10s), the least that lets a full window pass.
const unannouncedTooManyHold = 10 * time.Second

// maxRetryAfter caps how long a 429 blocks the budget, as the retry policy caps its wait.
func (c *Client) maxRetryAfter() time.Duration {
	if c.retryPolicy.MaxRetryAfter > 0 {
		return c.retryPolicy.MaxRetryAfter
	}
	return retry.DefaultPolicy.MaxRetryAfter
}

func classifyForRetry(err error) (bool, time.Duration) {
	var e *Error
	if !errors.As(err, &e) || errors.Is(err, errRedirectRefused) {
		return false, 0 // asking again would be redirected again
	}
	switch e.Kind {
	case Transient, RateLimited:
		return true, e.RetryAfter
	default:
		return false, 0
	}
}

// attempt is one try of a call: a token, the request, and on 401 one re-auth and one resend.
func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, payload []byte, decode func([]byte) error) error {
	op := method + " " + path
	token, err := c.validToken(ctx)
	if err != nil {
		return err
	}
	r, err := c.send(ctx, false, method, path, query, payload, token)
	if err != nil {
		return err
	}
	if r.status == http.StatusUnauthorized {
		c.log.Info().Str("op", op).Msg("bnovo token refused, logging in again")
		c.dropToken(token)
		if token, err = c.validToken(ctx); err != nil {
			return err
		}
		if r, err = c.send(ctx, false, method, path, query, payload, token); err != nil {
			return err
		}
	}
	if r.status < 200 || r.status > 299 {
		return c.httpError(op, r, kindOfReply(r.status, r.body))
	}
	if decode == nil {
		return nil
	}
	if err := decode(r.body); err != nil {
		return c.answerError(op, r, err)
	}
	return nil
}

// answerError classifies a 2xx answer that could not be decoded: Transient when the answer is
// not the documented one at all, Permanent when one record in it is bad.
func (c *Client) answerError(op string, r reply, err error) *Error {
	var ua *unexpectedAnswer
	if errors.As(err, &ua) {
		return &Error{Op: op, Status: r.status, Kind: Transient, Message: c.scrub(ua.reason, r.token), Err: ErrUnexpectedAnswer}
	}
	return &Error{Op: op, Status: r.status, Kind: Permanent, Message: "malformed response", Err: err}
}

// reply is a response read in full; token is what the request carried, to scrub from messages.
type reply struct {
	status int
	header http.Header
	body   []byte
	token  string
}

// send waits for the limiter, then sends one request and reads the whole response.
func (c *Client) send(ctx context.Context, auth bool, method, path string, query url.Values, payload []byte, token string) (reply, error) {
	op := method + " " + path
	if c.limiter != nil {
		waitStart := time.Now()
		err := c.limiter.Wait(ctx, auth)
		// Waiting for the budget is not failing: it must not use up the retries' time.
		retry.Paused(ctx, time.Since(waitStart))
		if err != nil {
			return reply{}, fmt.Errorf("bnovo %s: waiting for the rate limiter: %w", op, err)
		}
	}
	target := c.apiURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	var trace netfail.Trace
	reqCtx = httptrace.WithClientTrace(reqCtx, trace.Hooks())
	var bodyReader io.Reader
	if payload != nil {
		bodyReader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(reqCtx, method, target, bodyReader)
	if err != nil {
		return reply{}, fmt.Errorf("bnovo %s: building request: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	start := time.Now()
	c.calls.Add(1)
	resp, err := c.httpClient.Do(req)
	if err != nil {
		if cause, ok := netfail.ConnectTimeout(err, trace.Connected()); ok && ctx.Err() == nil {
			return reply{}, &Error{Op: op, Kind: Unreachable, Message: "cannot reach " + c.origin() + ": " + cause, Err: err}
		}
		return reply{}, c.transportError(ctx, op, start, err)
	}
	c.reached.Store(true)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return reply{}, c.transportError(ctx, op, start, fmt.Errorf("reading response: %w", err))
	}
	c.log.Debug().Str("method", method).Str("path", path).Int("status", resp.StatusCode).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("bnovo request")
	if saysWhenToComeBack(resp.StatusCode) && c.limiter != nil {
		// Someone else's traffic filled a window syncd cannot see, or Bnovo is down for a
		// while: every worker waits, not only this call's retry, as every call sent is spent.
		after := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if after <= 0 && resp.StatusCode == http.StatusTooManyRequests {
			after = unannouncedTooManyHold
		}
		if after > 0 {
			c.limiter.Block(auth, time.Now().Add(min(after, c.maxRetryAfter())))
		}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body, token: token}, nil
}

// transportError tells the caller's own cancellation (final, not an *Error) from a failure of
// the request (a timeout or a broken connection: Transient).
func (c *Client) transportError(ctx context.Context, op string, start time.Time, err error) error {
	c.log.Debug().Str("op", op).Str("took", time.Since(start).Round(time.Millisecond).String()).Err(err).Msg("bnovo request failed")
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("bnovo %s: %w", op, ctxErr)
	}
	if cause, ok := netfail.Cause(err); ok {
		return &Error{Op: op, Kind: Unreachable, Message: "cannot reach " + c.origin() + ": " + cause, Err: err}
	}
	return &Error{Op: op, Kind: Transient, Err: err}
}

// origin is the configured base URL, for messages that must name it.
func (c *Client) origin() string { return strings.TrimSuffix(c.apiURL, APIPrefix) }

func (c *Client) httpError(op string, r reply, kind ErrorKind) *Error {
	e := &Error{Op: op, Status: r.status, Kind: kind, Message: c.scrub(serverMessage(r.body), r.token)}
	if saysWhenToComeBack(r.status) {
		e.RetryAfter = parseRetryAfter(r.header.Get("Retry-After"), time.Now())
	}
	return e
}

// saysWhenToComeBack reports a status whose Retry-After is honoured: a 429, and a 503 (a
// maintenance window) that gives one.
func saysWhenToComeBack(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// scrub keeps credentials out of messages even if a server echoes them back.
func (c *Client) scrub(msg, token string) string {
	msg = strings.ReplaceAll(msg, c.apiKey, redacted)
	if token != "" {
		msg = strings.ReplaceAll(msg, token, redacted)
	}
	return msg
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Login makes sure the client holds a valid access token, logging in when it has none; with no
// token stored that is one login. -check-config -online uses it to test the credentials alone.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.validToken(ctx)
	return err
}

// validToken returns a token that is not about to expire: the cached one, else the stored one
// (read once per client), else a fresh login.
func (c *Client) validToken(ctx context.Context) (string, error) {
	if token := c.cachedToken(); token != "" {
		return token, nil
	}
	select {
	case c.loginSlot <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("bnovo: waiting to log in: %w", ctx.Err())
	}
	defer func() { <-c.loginSlot }()
	if token := c.cachedToken(); token != "" {
		return token, nil // another caller logged in meanwhile
	}
	if token := c.storedToken(); token != "" {
		return token, nil
	}
	return c.login(ctx)
}

func (c *Client) cachedToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.tokenRenewAt) {
		return c.token
	}
	return ""
}

func (c *Client) storedToken() string {
	c.mu.Lock()
	checked := c.storeChecked
	c.storeChecked = true
	c.mu.Unlock()
	if checked || c.tokens == nil {
		return ""
	}
	token, expires, err := c.tokens.LoadToken()
	if err != nil {
		c.log.Warn().Err(err).Msg("bnovo: cannot read the stored token; logging in")
		return ""
	}
	if token == "" || time.Until(expires) <= tokenRenewMargin {
		return ""
	}
	// The stored token's lifetime is unknown: the whole margin applies.
	c.setToken(token, expires.Add(-tokenRenewMargin))
	return token
}

func (c *Client) setToken(token string, renewAt time.Time) {
	c.mu.Lock()
	c.token, c.tokenRenewAt = token, renewAt
	c.mu.Unlock()
}

// dropToken forgets a refused token unless another caller has already replaced it.
func (c *Client) dropToken(token string) {
	c.mu.Lock()
	if c.token == token {
		c.token, c.tokenRenewAt = "", time.Time{}
	}
	c.storeChecked = true // the store holds the same refused token
	c.mu.Unlock()
}

func (c *Client) login(ctx context.Context) (string, error) {
	path := pathAuth()
	op := http.MethodPost + " " + path
	payload, err := json.Marshal(wireAuthRequest{ID: c.accountID, Password: c.apiKey})
	if err != nil {
		return "", fmt.Errorf("bnovo %s: encoding request: %w", op, err)
	}
	r, err := c.send(ctx, true, http.MethodPost, path, nil, payload, "")
	if err != nil {
		return "", err
	}
	if r.status < 200 || r.status > 299 {
		kind := kindOfStatus(r.status)
		if kind == Permanent || kind == Forbidden {
			kind = Auth // 404 wrong credentials, 406 malformed id: logging in again will not help
		}
		return "", c.httpError(op, r, kind)
	}
	// A login answer that is not one (a proxy's page) says nothing about the credentials: it is
	// Transient, not Auth, so the run is not stopped with "fix the API key".
	token, ttl, err := decodeAuthAnswer(r.body)
	if err != nil {
		return "", c.answerError(op, r, err)
	}
	if ttl <= 0 {
		ttl = defaultTokenTTL
	}
	expires := time.Now().Add(ttl)
	// A lifetime shorter than the margin would have the token renewed before every call, a
	// login each: such a token is renewed in its last quarter instead.
	c.setToken(token, expires.Add(-min(tokenRenewMargin, ttl/4)))
	if c.tokens != nil {
		if err := c.tokens.SaveToken(token, expires); err != nil {
			c.log.Warn().Err(err).Msg("bnovo: cannot persist the token; a restart will log in again")
		}
	}
	c.log.Info().Time("expires", expires).Msg("bnovo: logged in")
	return token, nil
}
