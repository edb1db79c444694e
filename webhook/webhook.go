// Package webhook receives Bnovo's booking webhooks (`POST /bnovo/<secret>` with
// {"data":{"booking_ids":[...]}}) and queues the ids durably in the state file. It never calls
// Bnovo: the sync engine fetches queued bookings later, under its own rate limiter and within
// the webhooks' share of it, so a delivery costs the receiver one local transaction.
//
// Bnovo signs nothing, so the receiver protects itself: the secret path segment, a body size
// cap, a cap on ids per delivery, a bound on the queue (503 beyond it), a cap on connections,
// server timeouts, and trusting nothing in a delivery but the ids.
package webhook

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/state"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBody  int64 = 64 << 10
	DefaultMaxIDs         = 500
	DefaultMaxConns       = 64
	// DefaultMaxQueued bounds the ids waiting in the state file. Bnovo announces a few changes
	// a minute, so 10 000 is hours of a busy hotel's changes; a flood beyond it is refused with
	// 503 instead of growing the file (and a drain's memory) without limit.
	DefaultMaxQueued = 10_000
)

// queueFullRetryAfter is the Retry-After of a 503 for a full queue: the drain frees room at the
// webhooks' share of the Bnovo budget, which is minutes' work for a full queue.
const queueFullRetryAfter = time.Minute

// MinSecretLen matches config's rule: the path segment is the only thing keeping strangers from
// filling the queue.
const MinSecretLen = 16

// secretAllowed is the URL's unreserved set: anything else would need escaping and tends to be
// mangled by whoever types the URL into Bnovo (config enforces the same rule).
const secretAllowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// routePrefix is the fixed part of the only accepted path; redactedPath is how it is logged.
const (
	routePrefix  = "/bnovo/"
	redactedPath = routePrefix + "[redacted]"
)

// Server timeouts. A delivery is a few hundred bytes, so tight limits cost a legitimate sender
// nothing and keep slow or idle clients from holding connection slots.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// writeTimeout covers the handler too, including waiting for bbolt's single writer while the
	// engine commits a page: generous, since answering late is better than not queueing.
	writeTimeout   = 20 * time.Second
	idleTimeout    = 30 * time.Second
	maxHeaderBytes = 8 << 10
	// shutdownTimeout bounds how long a stop waits: a delivery needs only one local transaction,
	// and a client that connected without sending anything would otherwise hold shutdown until
	// net/http gives up on it.
	shutdownTimeout = 2 * time.Second
)

// Options configures a Server. Zero fields take the documented defaults.
type Options struct {
	Secret  string // secret path segment: POST /bnovo/<secret> is the only accepted route
	MaxBody int64  // bytes; default 64 KiB
	MaxIDs  int    // ids per delivery accepted; default 500 (more → 413)
	DB      *state.DB
	// Notify is called after a delivery's ids were committed, to wake the daemon. It runs on the
	// request's goroutine and must not block (e.g. a non-blocking send on a 1-buffered channel).
	Notify func()
	Logger zerolog.Logger
	// MaxQueued bounds the queue (ids waiting in the state file); a delivery whose new ids
	// would pass it is refused with 503 and Retry-After, and queues nothing. Default 10 000.
	MaxQueued int
	// MaxConns caps concurrent connections (and so goroutines serving them) in Serve; further
	// clients wait in the kernel's accept queue. Default 64.
	MaxConns int
}

// Stats are the receiver's counts since New.
type Stats struct {
	Accepted int64 // deliveries answered 200
	Rejected int64 // requests answered 4xx (wrong path or method, oversized, malformed)
	IDs      int64 // ids accepted, de-duplicated within each delivery
	Failed   int64 // deliveries answered 500 because the state file could not be written
	Full     int64 // deliveries answered 503 because the queue was full
}

// Server is a webhook receiver. It is safe for concurrent use.
type Server struct {
	opt        Options
	routeHash  [sha256.Size]byte
	log        zerolog.Logger
	accepted   atomic.Int64
	rejected   atomic.Int64
	ids        atomic.Int64
	failed     atomic.Int64
	full       atomic.Int64
	inFlight   atomic.Int64
	peakFlight atomic.Int64 // most handlers running at once: lets tests check the connection cap
	// shutdownTimeout is a field so tests need not wait out the real one.
	shutdownTimeout time.Duration
}

// New checks opt and builds a Server; it does not listen yet.
func New(opt Options) (*Server, error) {
	if opt.DB == nil {
		return nil, errors.New("webhook: no state DB to queue booking ids in")
	}
	if len(opt.Secret) < MinSecretLen {
		return nil, fmt.Errorf("webhook: secret must be at least %d characters, got %d", MinSecretLen, len(opt.Secret))
	}
	if strings.Trim(opt.Secret, secretAllowed) != "" {
		return nil, errors.New("webhook: secret may use only letters, digits and - . _ ~")
	}
	if opt.MaxBody < 0 || opt.MaxIDs < 0 || opt.MaxConns < 0 || opt.MaxQueued < 0 {
		return nil, fmt.Errorf("webhook: negative limit (max body %d, max ids %d, max conns %d, max queued %d)", opt.MaxBody, opt.MaxIDs, opt.MaxConns, opt.MaxQueued)
	}
	if opt.MaxQueued == 0 {
		opt.MaxQueued = DefaultMaxQueued
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.MaxIDs == 0 {
		opt.MaxIDs = DefaultMaxIDs
	}
	if opt.MaxConns == 0 {
		opt.MaxConns = DefaultMaxConns
	}
	return &Server{
		opt:       opt,
		routeHash: sha256.Sum256([]byte(routePrefix + opt.Secret)),
		log:       opt.Logger.With().Str("component", "webhook").Logger(),

		shutdownTimeout: shutdownTimeout,
	}, nil
}

// Handler serves the receiver's single route; for httptest and for embedding.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted: s.accepted.Load(),
		Rejected: s.rejected.Load(),
		IDs:      s.ids.Load(),
		Failed:   s.failed.Load(),
		Full:     s.full.Load(),
	}
}

// Serve answers deliveries on ln until ctx ends, then shuts down gracefully: in-flight deliveries
// get a short grace period (2 s) to finish queueing, then every connection is closed. It returns
// nil after ctx ends and closes ln in every case.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(redactingWriter{secret: s.opt.Secret, log: s.log}, "", 0),
	}
	// One delivery per connection: Bnovo sends a few a minute, so keep-alive saves nothing, and
	// idle connections would otherwise sit on the MaxConns slots.
	srv.SetKeepAlivesEnabled(false)

	s.log.Info().Str("addr", ln.Addr().String()).Str("path", redactedPath).
		Int64("max_body", s.opt.MaxBody).Int("max_ids", s.opt.MaxIDs).Msg("webhook receiver listening")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(newLimitListener(ln, s.opt.MaxConns)) }()

	select {
	case err := <-served:
		// Serve only returns on its own when the listener fails.
		return fmt.Errorf("webhook: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.log.Warn().Err(err).Msg("webhook receiver: connections still open at shutdown were closed")
		_ = srv.Close()
	}
	<-served // http.ErrServerClosed once Shutdown or Close has begun
	s.log.Info().Msg("webhook receiver stopped")
	return nil
}

// redactingWriter feeds net/http's own error log into zerolog with the secret masked: those
// lines are not ours, so nothing guarantees they never quote a request path.
type redactingWriter struct {
	secret string
	log    zerolog.Logger
}

func (w redactingWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	msg = strings.ReplaceAll(msg, w.secret, "[redacted]")
	w.log.Warn().Str("source", "net/http").Msg(msg)
	return len(p), nil
}
