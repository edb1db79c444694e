package metrics

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func render(t *testing.T, r *Registry) string {
	t.Helper()
	var buf bytes.Buffer
	n, err := r.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.String()
}

func TestExpositionFormatExact(t *testing.T) {
	r := NewRegistry()
	cycles, err := r.NewCounter("syncd_cycles_total", "Sync cycles finished, by result.", "result")
	if err != nil {
		t.Fatal(err)
	}
	parked, err := r.NewGauge("syncd_parked", "Records parked.")
	if err != nil {
		t.Fatal(err)
	}
	latency, err := r.NewSummary("syncd_api_request_duration_seconds", "API latency.", "api")
	if err != nil {
		t.Fatal(err)
	}
	errs, err := r.NewCounter("syncd_api_errors_total", "API errors.", "api", "class")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewGauge("syncd_unused", "Never set, labelled: not rendered.", "x"); err != nil {
		t.Fatal(err)
	}

	cycles.Inc("ok")
	cycles.Inc("ok")
	cycles.Inc("failed")
	parked.Set(3)
	latency.Observe(0.25, "bnovo")
	latency.Observe(0.5, "bnovo")
	latency.ObserveDuration(1500*time.Millisecond, "probonus")
	errs.Inc("probonus", "server_error")
	errs.Add(2, "bnovo", "timeout")

	want := `# HELP syncd_api_errors_total API errors.
# TYPE syncd_api_errors_total counter
syncd_api_errors_total{api="bnovo",class="timeout"} 2
syncd_api_errors_total{api="probonus",class="server_error"} 1
# HELP syncd_api_request_duration_seconds API latency.
# TYPE syncd_api_request_duration_seconds summary
syncd_api_request_duration_seconds_sum{api="bnovo"} 0.75
syncd_api_request_duration_seconds_count{api="bnovo"} 2
syncd_api_request_duration_seconds_sum{api="probonus"} 1.5
syncd_api_request_duration_seconds_count{api="probonus"} 1
# HELP syncd_cycles_total Sync cycles finished, by result.
# TYPE syncd_cycles_total counter
syncd_cycles_total{result="failed"} 1
syncd_cycles_total{result="ok"} 2
# HELP syncd_parked Records parked.
# TYPE syncd_parked gauge
syncd_parked 3
`
	if got := render(t, r); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestUnlabelledSeriesExistAtZero(t *testing.T) {
	r := NewRegistry()
	if _, err := r.NewCounter("jobs_total", "Jobs."); err != nil {
		t.Fatal(err)
	}
	want := "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 0\n"
	if got := render(t, r); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEscaping(t *testing.T) {
	r := NewRegistry()
	g, err := r.NewGauge("g", "Help with a \\ backslash\nand a newline.", "v")
	if err != nil {
		t.Fatal(err)
	}
	g.Set(1, "quote \" back \\ nl \n bad \xff utf8")
	want := `# HELP g Help with a \\ backslash\nand a newline.
# TYPE g gauge
g{v="quote \" back \\ nl \n bad ` + "\uFFFD" + ` utf8"} 1
`
	if got := render(t, r); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-3, "-3"},
		{123456700, "123456700"},
		{1 << 53, "9007199254740992"},
		{1e22, "1e+22"},
		{0.1, "0.1"},
		{1763890474.25, "1763890474.25"},
		{0.0001, "0.0001"},
		{-0.5, "-0.5"},
		{2.5e-7, "2.5e-07"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
	} {
		if got := formatValue(c.in); got != c.want {
			t.Errorf("formatValue(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRegistrationErrors(t *testing.T) {
	r := NewRegistry()
	if _, err := r.NewCounter("ok_total", "x"); err != nil {
		t.Fatal(err)
	}
	for name, reg := range map[string]func() error{
		"duplicate":          func() error { _, err := r.NewGauge("ok_total", "x"); return err },
		"bad metric name":    func() error { _, err := r.NewCounter("9lives", "x"); return err },
		"dash in name":       func() error { _, err := r.NewCounter("a-b", "x"); return err },
		"bad label":          func() error { _, err := r.NewCounter("a_total", "x", "a-b"); return err },
		"reserved label":     func() error { _, err := r.NewCounter("b_total", "x", "__name"); return err },
		"repeated label":     func() error { _, err := r.NewCounter("c_total", "x", "k", "k"); return err },
		"quantile label":     func() error { _, err := r.NewSummary("d_seconds", "x", "quantile"); return err },
		"empty label name":   func() error { _, err := r.NewGauge("e", "x", ""); return err },
		"empty metric name ": func() error { _, err := r.NewGauge("", "x"); return err },
	} {
		if reg() == nil {
			t.Errorf("%s: registered without error", name)
		}
	}
}

func TestMisuseIsDroppedAndReported(t *testing.T) {
	r := NewRegistry()
	c, _ := r.NewCounter("x_total", "x", "a", "b")
	c.Inc("only-one")
	c.Add(-1, "p", "q") // counters never go down
	c.Add(math.NaN(), "p", "q")
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "x_total") {
		t.Errorf("Err() = %v, want the wrong label count reported", r.Err())
	}
	if got := render(t, r); strings.Contains(got, "x_total{") {
		t.Errorf("a bad sample was rendered:\n%s", got)
	}
	var nilCounter *Counter
	nilCounter.Inc() // must not panic
	var nilSummary *Summary
	nilSummary.Observe(1)
	var nilGauge *Gauge
	nilGauge.Set(1)
}

func TestOnCollectRunsBeforeRendering(t *testing.T) {
	r := NewRegistry()
	g, _ := r.NewGauge("left", "x", "window")
	calls := 0
	r.OnCollect(func() { calls++; g.Set(float64(10*calls), "1h") })
	if got := render(t, r); !strings.Contains(got, `left{window="1h"} 10`+"\n") {
		t.Errorf("first scrape:\n%s", got)
	}
	if got := render(t, r); !strings.Contains(got, `left{window="1h"} 20`+"\n") {
		t.Errorf("second scrape:\n%s", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := NewRegistry()
	c, _ := r.NewCounter("n_total", "x", "k")
	s, _ := r.NewSummary("d_seconds", "x")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				c.Inc([]string{"a", "b"}[(i+j)%2])
				s.Observe(1)
				if j%100 == 0 {
					_, _ = r.WriteTo(io.Discard)
				}
			}
		}()
	}
	wg.Wait()
	got := render(t, r)
	for _, line := range []string{`n_total{k="a"} 2000`, `n_total{k="b"} 2000`, "d_seconds_sum 4000", "d_seconds_count 4000"} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q in:\n%s", line, got)
		}
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	c, _ := r.NewCounter("hits_total", "Hits.")
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
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Errorf("/metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if body != "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 1\n" {
		t.Errorf("/metrics body %q", body)
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
