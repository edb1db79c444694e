// Package retry runs an operation again after transient failures, with exponential backoff and
// jitter (cenkalti/backoff/v4), honouring a server's Retry-After when one was given, and stopping
// at once when the context ends so SIGTERM is prompt.
package retry

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Policy says how long and how often to retry.
type Policy struct {
	Initial       time.Duration // first wait; default 500ms
	Max           time.Duration // longest wait between tries; default 1m
	MaxElapsed    time.Duration // give up after this long; default 15m; negative = never
	MaxRetryAfter time.Duration // cap on a server's Retry-After; default 5m
}

// DefaultPolicy is what a client uses when given a zero Policy.
var DefaultPolicy = Policy{
	Initial:       500 * time.Millisecond,
	Max:           time.Minute,
	MaxElapsed:    15 * time.Minute,
	MaxRetryAfter: 5 * time.Minute,
}

func (p Policy) withDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = DefaultPolicy.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultPolicy.Max
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = DefaultPolicy.MaxElapsed
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultPolicy.MaxRetryAfter
	}
	return p
}

// Classify tells Do what to make of an error: retry it or not, and, when the server said how
// long to wait, that delay (0 when it did not).
type Classify func(err error) (retry bool, after time.Duration)

// Notify is told of every failure that will be retried and how long Do waits before the next try.
type Notify func(err error, wait time.Duration)

// Do runs op until it succeeds, classify says an error is final, the policy's elapsed time runs
// out (the last error is returned) or ctx ends (the returned error wraps both ctx.Err() and the
// last error, so errors.Is(err, context.Canceled) holds and nothing is lost).
func Do(ctx context.Context, p Policy, op func(context.Context) error, classify Classify, notify Notify) error {
	p = p.withDefaults()
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval = p.Initial
	exp.MaxInterval = p.Max
	exp.MaxElapsedTime = p.MaxElapsed
	if p.MaxElapsed < 0 {
		exp.MaxElapsedTime = 0
	}
	clock := &pausingClock{}
	exp.Clock = clock
	ctx = context.WithValue(ctx, clockKey{}, clock)
	hinted := &retryAfter{inner: exp, max: p.MaxRetryAfter}
	// The Retry-After wrapper must sit inside WithContext, or a cancel is ignored during its wait.
	b := backoff.WithContext(hinted, ctx)

	var last error
	err := backoff.RetryNotify(func() error {
		err := op(ctx)
		if err == nil {
			return nil
		}
		last = err
		again, after := classify(err)
		if !again {
			return backoff.Permanent(err)
		}
		hinted.pending = after
		return err
	}, b, func(err error, wait time.Duration) {
		if notify != nil {
			notify(err, wait)
		}
	})
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(err, last) {
		return fmt.Errorf("%w (last error: %w)", ctx.Err(), last)
	}
	return err
}

// retryAfter returns the server's requested delay for the next wait when one was given, and the
// exponential schedule otherwise.
type retryAfter struct {
	inner   backoff.BackOff
	max     time.Duration
	pending time.Duration
}

func (r *retryAfter) NextBackOff() time.Duration {
	next := r.inner.NextBackOff()
	if next == backoff.Stop {
		return backoff.Stop
	}
	if r.pending > 0 {
		next = min(r.pending, r.max)
		r.pending = 0
	}
	return next
}

func (r *retryAfter) Reset() { r.inner.Reset(); r.pending = 0 }

// Paused tells the Do whose op received ctx that op spent d waiting for a budget (a rate
// limiter) rather than failing: that time does not count against the policy's MaxElapsed, so a
// long wait for Bnovo's daily budget does not leave a transient error no retry. Outside Do it
// does nothing.
func Paused(ctx context.Context, d time.Duration) {
	if c, ok := ctx.Value(clockKey{}).(*pausingClock); ok && d > 0 {
		c.paused.Add(int64(d))
	}
}

type clockKey struct{}

// pausingClock is backoff's clock for one Do: real time minus the pauses op reported.
type pausingClock struct{ paused atomic.Int64 }

func (c *pausingClock) Now() time.Time { return time.Now().Add(-time.Duration(c.paused.Load())) }
