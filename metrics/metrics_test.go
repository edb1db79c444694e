package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOnCollectRunsBeforeGathering(t *testing.T) {
	r := NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "left", Help: "x"}, []string{"window"})
	r.MustRegister(g)
	calls := 0
	r.OnCollect(func() { calls++; g.WithLabelValues("1h").Set(float64(10 * calls)) })
	for _, want := range []string{"10", "20"} {
		err := testutil.GatherAndCompare(r, strings.NewReader(`# HELP left x
# TYPE left gauge
left{window="1h"} `+want+"\n"), "left")
		if err != nil {
			t.Errorf("scrape %d: %v", calls, err)
		}
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hits_total", Help: "Hits."})
	r.MustRegister(c)
	c.Inc()
	var healthErr error
	srv := httptest.NewServer(Handler(r, func() error { return healthErr }))
	defer srv.Close()

	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, body := get(http.MethodGet, "/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("/metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Besides its own series, syncd's registry carries the Go runtime and process collectors.
	for _, want := range []string{"\nhits_total 1\n", "\ngo_goroutines ", "\ngo_memstats_heap_alloc_bytes ", "\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", strings.TrimSpace(want), body)
		}
	}
	if resp, _ := get(http.MethodPost, "/metrics"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", resp.StatusCode)
	}
	if resp, body := get(http.MethodGet, "/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("/healthz healthy: %d %q", resp.StatusCode, body)
	}
	healthErr = errors.New("last cycle 20m ago\nsecond line")
	if resp, body := get(http.MethodGet, "/healthz"); resp.StatusCode != 503 || body != "unhealthy: last cycle 20m ago; second line\n" {
		t.Errorf("/healthz unhealthy: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(http.MethodGet, "/other"); resp.StatusCode != 404 {
		t.Errorf("/other: %d", resp.StatusCode)
	}
}

func TestHealth(t *testing.T) {
	start := time.Date(2026, 5, 13, 12, 0, 0, 0, time.UTC)
	now := start
	threshold := 10 * time.Minute
	h := newHealthAt(func() time.Duration { return threshold }, func() time.Time { return now })
	step := func(d time.Duration) { now = now.Add(d) }

	if err := h.Check(); err != nil {
		t.Errorf("fresh: %v", err)
	}
	step(11 * time.Minute)
	if err := h.Check(); !errors.Is(err, errNoCycle) {
		t.Errorf("no cycle after the threshold: %v", err)
	}
	h.CycleDone(now, nil)
	if err := h.Check(); err != nil {
		t.Errorf("right after a success: %v", err)
	}
	step(5 * time.Minute)
	h.CycleDone(now, errors.New("bnovo login: 401 Unauthorized"))
	if err := h.Check(); err != nil {
		t.Errorf("a failure within the threshold of a success: %v", err)
	}
	step(6 * time.Minute)
	err := h.Check()
	if err == nil || !strings.Contains(err.Error(), "11m0s ago") || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("stale with a failure: %v", err)
	}
	h.CycleDone(now, nil)
	if err := h.Check(); err != nil {
		t.Errorf("after recovering: %v", err)
	}
	step(time.Hour)
	threshold = 0
	if err := h.Check(); err != nil {
		t.Errorf("no threshold: %v", err)
	}
	var none *Health
	if none.Check() != nil {
		t.Error("nil Health must be healthy")
	}
}
