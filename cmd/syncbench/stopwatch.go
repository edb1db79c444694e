package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
)

// stopwatch sums the time the in-process pipeline spends in each kind of wait, so a run's
// wall time can be split into where it went.
type stopwatch struct {
	mu    sync.Mutex
	count map[string]int
	total map[string]time.Duration
}

func newStopwatch() *stopwatch {
	return &stopwatch{count: map[string]int{}, total: map[string]time.Duration{}}
}

func (s *stopwatch) add(what string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[what]++
	s.total[what] += d
}

// snapshot copies the sums, to subtract one from another.
func (s *stopwatch) snapshot() (map[string]int, map[string]time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	count, total := make(map[string]int, len(s.count)), make(map[string]time.Duration, len(s.total))
	for k, v := range s.count {
		count[k] = v
	}
	for k, v := range s.total {
		total[k] = v
	}
	return count, total
}

// breakdown renders the time spent per kind since a snapshot, as a share of wall.
func (s *stopwatch) breakdown(count0 map[string]int, total0 map[string]time.Duration, wall time.Duration) string {
	count, total := s.snapshot()
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	var accounted time.Duration
	for _, k := range keys {
		n, d := count[k]-count0[k], total[k]-total0[k]
		if n == 0 {
			continue
		}
		accounted += d
		parts = append(parts, fmt.Sprintf("%s %d x %s = %s (%.0f%%)", k, n, fmtDur(d/time.Duration(n)), fmtDur(d), 100*d.Seconds()/wall.Seconds()))
	}
	parts = append(parts, fmt.Sprintf("rest (engine, page commits, JSON) %s (%.0f%%)", fmtDur(wall-accounted), 100*(wall-accounted).Seconds()/wall.Seconds()))
	return strings.Join(parts, "; ")
}

// timedTransport times every HTTP exchange, body read included (the client reads it in full
// before returning, so the round trip ends when the body is closed).
type timedTransport struct {
	what  string
	watch *stopwatch
	next  http.RoundTripper
}

func (t timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	what := t.what
	if strings.HasSuffix(req.URL.Path, "/bookings") {
		what += " (listing)"
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.watch.add(what, time.Since(start))
		return resp, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.watch.add(what, time.Since(start)) }}
	return resp, nil
}

type timedBody struct {
	io.ReadCloser
	done func()
	once sync.Once
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// timedStore times the limiter's durable writes. It passes ForgetCalls on, or the limiter's
// Release could not give reserved calls back through it.
type timedStore struct {
	ratelimit.Store
	watch *stopwatch
}

func (s timedStore) ForgetCalls(at time.Time, n int) error {
	f, ok := s.Store.(ratelimit.Forgetter)
	if !ok {
		return errors.New("syncbench: the timed call log cannot forget")
	}
	start := time.Now()
	err := f.ForgetCalls(at, n)
	s.watch.add("limiter commit", time.Since(start))
	return err
}

func (s timedStore) RecordCalls(at ...time.Time) error {
	start := time.Now()
	err := s.Store.RecordCalls(at...)
	s.watch.add("limiter commit", time.Since(start))
	return err
}
