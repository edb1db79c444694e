// Package bnovotest runs a simulated Bnovo PMS API on 127.0.0.1, in the spirit of
// net/http/httptest: real HTTP, the modeled wire format of /work/shared/api/bnovo.md, the
// vendor's rate limits (sliding windows), and injectable faults. Tests and `syncd -demo` use it.
package bnovotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/hostile"
)

// Options configures a Server. Zero fields take the documented defaults.
type Options struct {
	AccountID   int64            // default 1
	APIKey      string           // default "test-key"
	Location    *time.Location   // hotel zone used when formatting timestamps; default Europe/Moscow
	Windows     []Window         // API limits, sliding; default 30/10s,300/5m,1000/1h,10000/24h
	AuthWindow  Window           // default 10/1m
	MaxPageSize int              // default 50; above → 406
	TokenTTL    time.Duration    // default 24h
	ReadOnly    bool             // v1: every write answers 403
	Now         func() time.Time // default time.Now
}

// Window is one rate limit: at most Limit calls in any Per-long sliding window. A Limit of 0 or
// less disables the window.
type Window struct {
	Limit int
	Per   time.Duration
}

// DefaultWindows are the vendor's documented limits for calls other than the login.
var DefaultWindows = []Window{
	{30, 10 * time.Second}, {300, 5 * time.Minute}, {1000, time.Hour}, {10000, 24 * time.Hour},
}

// DefaultAuthWindow is the vendor's documented login limit.
var DefaultAuthWindow = Window{10, time.Minute}

// Stats are the server's observations since it started.
type Stats struct {
	Calls, AuthCalls, TooMany int
	// MaxInWindow is, per Options.Windows, the most calls seen in any sliding window (the calls
	// answered 429 included: the server counts every call that arrives).
	MaxInWindow     []int
	MaxAuthInWindow int
	// ByPath counts calls by route pattern, e.g. "GET /api/v1/bookings/{id}/payments";
	// "unmatched" for anything else.
	ByPath map[string]int
	// MaxInWindowByPath is MaxInWindow for the calls of one route alone (logins aside), e.g.
	// how many bookings were fetched by id in any window.
	MaxInWindowByPath map[string][]int
	GuestWrites       int // successful guest PUTs
	// WebhookDeliveries counts webhook POSTs answered 2xx; WebhookFailures counts the others:
	// transport errors, other statuses, and changes dropped because the delivery queue was full.
	WebhookDeliveries, WebhookFailures int
}

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	URL string // origin, without /api/v1

	opts    Options
	ts      *httptest.Server
	mux     *http.ServeMux
	closing chan struct{}
	closeMu sync.Once

	webhooks      chan webhookDelivery // bounded: a burst of changes cannot pile up goroutines
	webhookClient *http.Client
	webhookCtx    context.Context // cancelled by Close, cutting a delivery in flight
	stopWebhooks  context.CancelFunc
	webhookDone   sync.WaitGroup

	mu            sync.Mutex
	bookings      map[int64]*record
	payments      map[int64][]bnovo.Payment // by booking id
	nextPaymentID int64
	tokens        map[string]time.Time   // token → expiry
	arrivals      []time.Time            // non-auth calls, oldest first
	pathArrivals  map[string][]time.Time // the same, by route
	authArrivals  []time.Time
	failNext      int
	failStatus    int
	failAfter     string // Retry-After sent with the failures, "" for none
	hangNext      int
	hangFor       time.Duration
	latency       time.Duration
	webhookURL    string
	bareGuestPuts bool                 // see AnswerGuestWritesWithoutNotes
	guestPutNotes guestPutNotes        // see AnswerGuestWritesWithNullNotes, AnswerGuestWritesAsBefore
	maxNotes      int                  // see LimitNotes
	companions    map[int64]companions // by booking id, see AddCompanion
	stats         Stats
	sortedCache   []int64                 // see sortedIDsLocked
	listings      map[listKey][]int64     // see listingLocked
	hostile       map[string][]hostileRun // by endpoint, see HostileNext
	capture       *hostile.Capture        // where Redirect points; started by the first one
	rawAmounts    map[int64]string        // by payment id, see SetRawAmount
	stalePayments map[int64]int           // by booking id: payments listed, see StalePayments
	noTotals      bool                    // see OmitPaymentsTotal
}

// record is one booking as stored; raw, when set, is served verbatim instead.
type record struct {
	booking bnovo.Booking
	raw     string
	days    *bookingDays // booking's dates for listings; nil until needed and after a change
}

// NewServer starts a simulator at once; Close stops it.
func NewServer(opts Options) *Server {
	if opts.AccountID == 0 {
		opts.AccountID = 1
	}
	if opts.APIKey == "" {
		opts.APIKey = "test-key"
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			loc = time.FixedZone("MSK", 3*60*60) // no zone database: Moscow has had no DST since 2014
		}
		opts.Location = loc
	}
	if len(opts.Windows) == 0 {
		opts.Windows = append([]Window(nil), DefaultWindows...)
	}
	if opts.AuthWindow == (Window{}) {
		opts.AuthWindow = DefaultAuthWindow
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = bnovo.MaxPageSize
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:          opts,
		closing:       make(chan struct{}),
		bookings:      make(map[int64]*record),
		payments:      make(map[int64][]bnovo.Payment),
		nextPaymentID: 7000,
		tokens:        make(map[string]time.Time),
		stats: Stats{
			MaxInWindow:       make([]int, len(opts.Windows)),
			ByPath:            make(map[string]int),
			MaxInWindowByPath: make(map[string][]int),
		},
		pathArrivals: make(map[string][]time.Time),
	}
	s.mux = s.routes()
	s.startWebhooks()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server, cutting short any simulated latency or hang.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		close(s.closing)
		s.stopWebhooks()
		s.ts.Close()
		s.webhookDone.Wait()
		s.webhookClient.CloseIdleConnections()
		s.mu.Lock()
		if s.capture != nil {
			s.capture.Close()
		}
		s.mu.Unlock()
	})
}

// Stats returns a copy of the observations so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.MaxInWindow = append([]int(nil), s.stats.MaxInWindow...)
	st.ByPath = maps.Clone(s.stats.ByPath)
	st.MaxInWindowByPath = make(map[string][]int, len(s.stats.MaxInWindowByPath))
	for route, seen := range s.stats.MaxInWindowByPath {
		st.MaxInWindowByPath[route] = slices.Clone(seen)
	}
	return st
}

// FailNext makes the next n API calls (not logins) answer status with a plain-text body, after
// being counted against the limits.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus, s.failAfter = n, status, ""
}

// FailNextWithRetryAfter is FailNext with a Retry-After header on each failure (delay-seconds
// or an HTTP date, sent as given), as a 503 during maintenance says when to come back.
func (s *Server) FailNextWithRetryAfter(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus, s.failAfter = n, status, retryAfter
}

// SetLatency makes every request, logins included, wait d before it is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// HangNext makes the next n API calls (not logins) wait d before answering normally, to push a
// client into its request timeout.
func (s *Server) HangNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangNext, s.hangFor = n, d
}

// AnswerGuestWritesWithoutNotes makes a successful guest PUT answer the guest without its
// notes key (the write is still stored), as a server that returns only some fields might.
func (s *Server) AnswerGuestWritesWithoutNotes(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bareGuestPuts = on
}

// guestPutNotes is what notes a successful guest PUT's answer shows (the write is stored in
// every case).
type guestPutNotes int

const (
	notesAsStored guestPutNotes = iota // the contract: the notes as the write left them
	notesNull                          // "notes": null
	notesAsBefore                      // the notes as they were before the write
)

// AnswerGuestWritesWithNullNotes makes a successful guest PUT answer the guest with
// "notes": null (the write is still stored), as a server that does not reload the field might.
func (s *Server) AnswerGuestWritesWithNullNotes(on bool) {
	s.setGuestPutNotes(on, notesNull)
}

// AnswerGuestWritesAsBefore makes a successful guest PUT answer the guest as it was before the
// write (the write is still stored), as a server answering from a stale copy might.
func (s *Server) AnswerGuestWritesAsBefore(on bool) {
	s.setGuestPutNotes(on, notesAsBefore)
}

func (s *Server) setGuestPutNotes(on bool, mode guestPutNotes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guestPutNotes = notesAsStored
	if on {
		s.guestPutNotes = mode
	}
}

// LimitNotes makes a guest PUT whose notes are longer than n characters answer 406 (nothing is
// stored), as the real API's field limit would; n ≤ 0 lifts the limit (the default).
func (s *Server) LimitNotes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxNotes = n
}

// ExpireTokens revokes every issued token, as when they expire: the next call answers 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// serve counts and limits every call before the routes see it, as the real service counts a
// call when it arrives, whatever it answers.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if !s.pause(r, latency) {
		return
	}

	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	isAuth := r.URL.Path == bnovo.APIPrefix+"/auth"

	s.mu.Lock()
	now := s.opts.Now()
	s.stats.ByPath[pattern]++
	var retryAfter time.Duration
	if isAuth {
		s.stats.AuthCalls++
		maxSeen := []int{s.stats.MaxAuthInWindow}
		retryAfter = admit(&s.authArrivals, []Window{s.opts.AuthWindow}, now, maxSeen)
		s.stats.MaxAuthInWindow = maxSeen[0]
	} else {
		s.stats.Calls++
		retryAfter = admit(&s.arrivals, s.opts.Windows, now, s.stats.MaxInWindow)
		routeSeen := s.stats.MaxInWindowByPath[pattern]
		if routeSeen == nil {
			routeSeen = make([]int, len(s.opts.Windows))
			s.stats.MaxInWindowByPath[pattern] = routeSeen
		}
		routeArrivals := s.pathArrivals[pattern]
		admit(&routeArrivals, s.opts.Windows, now, routeSeen)
		s.pathArrivals[pattern] = routeArrivals
	}
	if retryAfter > 0 {
		s.stats.TooMany++
		s.mu.Unlock()
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		writeError(w, http.StatusTooManyRequests, "Too Many Requests", nil)
		return
	}
	if !isAuth && s.failNext > 0 {
		s.failNext--
		status, after := s.failStatus, s.failAfter
		s.mu.Unlock()
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		http.Error(w, "simulated failure: "+http.StatusText(status), status)
		return
	}
	if h, ok := s.takeHostileLocked(endpointOf(pattern)); ok {
		s.mu.Unlock()
		s.writeHostile(w, r, h)
		return
	}
	var hang time.Duration
	if !isAuth && s.hangNext > 0 {
		s.hangNext--
		hang = s.hangFor
	}
	s.mu.Unlock()

	if !s.pause(r, hang) {
		return
	}
	if !isAuth && !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "Unauthenticated.", nil)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// admit records a call arriving at now and returns how long until a call would fit every
// window again, or 0 when this one fits. maxSeen[i] is raised to the count in window i.
func admit(arrivals *[]time.Time, windows []Window, now time.Time, maxSeen []int) time.Duration {
	var longest time.Duration
	for _, w := range windows {
		longest = max(longest, w.Per)
	}
	list := append(*arrivals, now)
	keepFrom := sort.Search(len(list), func(i int) bool { return list[i].After(now.Add(-longest)) })
	list = list[keepFrom:]
	*arrivals = list

	var wait time.Duration
	for i, w := range windows {
		if w.Limit <= 0 || w.Per <= 0 {
			continue
		}
		first := sort.Search(len(list), func(i int) bool { return list[i].After(now.Add(-w.Per)) })
		inWindow := len(list) - first
		maxSeen[i] = max(maxSeen[i], inWindow)
		if inWindow > w.Limit {
			// The next call fits once enough of the oldest calls (this refused one counts too)
			// have left the window that it would be at most the Limit-th.
			leaving := list[first+inWindow-w.Limit]
			wait = max(wait, leaving.Add(w.Per).Sub(now), time.Millisecond)
		}
	}
	return wait
}

// pause waits d unless the client goes away or the server closes; false means do not answer.
func (s *Server) pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

func (s *Server) authorized(r *http.Request) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	expires, ok := s.tokens[h[len(prefix):]]
	return ok && s.opts.Now().Before(expires)
}

func (s *Server) issueToken() (string, time.Duration) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token := "sim-" + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[token] = now.Add(s.opts.TokenTTL)
	return token, s.opts.TokenTTL
}
