package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/metrics"
	"github.com/hotelsync/syncd/probonus"
	syncer "github.com/hotelsync/syncd/sync"
)

func TestStartMetricsRefusesNonLoopback(t *testing.T) {
	for _, listen := range []string{
		":9464",
		"0.0.0.0:9464",
		"[::]:9464",
		"192.0.2.10:9464",
		"example.com:9464",
		"127.0.0.1", // no port
	} {
		t.Run(listen, func(t *testing.T) {
			done, err := startMetrics(context.Background(), listen, metrics.NewRegistry(), nil, zerolog.Nop())
			if err == nil {
				t.Fatalf("startMetrics(%q) listened", listen)
			}
			if done != nil {
				t.Error("a refused listener returned a done channel")
			}
			var stderr bytes.Buffer
			if code := exitCode(err, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "metrics.listen") {
				t.Errorf("exit %d, stderr %q: want %d naming metrics.listen", code, stderr.String(), exitUsage)
			}
		})
	}
}

func TestStartMetricsOffWhenEmpty(t *testing.T) {
	done, err := startMetrics(context.Background(), "", nil, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Error("metrics off: done must already be closed")
	}
}

// listenAddr finds the address startMetrics logged: port 0 lets the system pick a free one.
func listenAddr(t *testing.T, logs *bytes.Buffer) string {
	t.Helper()
	for _, line := range strings.Split(logs.String(), "\n") {
		var entry struct{ Addr, Message string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Addr != "" {
			return entry.Addr
		}
	}
	t.Fatalf("no listen address in the log:\n%s", logs)
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestStartMetricsServesUntilCanceled(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			reg := metrics.NewRegistry()
			m, err := metrics.NewSyncd(reg)
			if err != nil {
				t.Fatal(err)
			}
			m.CycleDone(nil)
			var healthErr error
			var logs bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done, err := startMetrics(ctx, host+":0", reg, func() error { return healthErr }, zerolog.New(&logs))
			if err != nil {
				if host == "[::1]" && strings.Contains(err.Error(), "cannot assign requested address") {
					t.Skip("no IPv6 loopback here")
				}
				t.Fatal(err)
			}
			base := "http://" + listenAddr(t, &logs)

			code, body := httpGet(t, base+"/metrics")
			if code != 200 {
				t.Errorf("/metrics: %d\n%s", code, body)
			}
			// syncd's own series, then the Go runtime's and the process's.
			for _, want := range []string{"\n" + `syncd_cycles_total{result="ok"} 1` + "\n", "\ngo_goroutines ", "\nprocess_resident_memory_bytes "} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %q:\n%s", strings.TrimSpace(want), body)
				}
			}
			if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("/healthz: %d %q", code, body)
			}
			healthErr = errors.New("last successful sync cycle ended 20m ago")
			if code, body := httpGet(t, base+"/healthz"); code != 503 || !strings.Contains(body, "20m ago") {
				t.Errorf("/healthz unhealthy: %d %q", code, body)
			}

			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the metrics server did not stop after ctx ended")
			}
			if _, err := (&http.Client{Timeout: time.Second}).Get(base + "/metrics"); err == nil {
				t.Error("the metrics server still answers after stopping")
			}
		})
	}
}

func TestHealthThreshold(t *testing.T) {
	for _, c := range []struct {
		schedule string
		want     []time.Duration // any of these (uneven schedules depend on the time of day)
	}{
		{"*/5 * * * *", []time.Duration{15 * time.Minute}},
		{"@every 2s", []time.Duration{5*time.Minute + 4*time.Second}},
		{"0 * * * *", []time.Duration{2*time.Hour + 5*time.Minute}},
		{"0 9,18 * * *", []time.Duration{18*time.Hour + 5*time.Minute, 30*time.Hour + 5*time.Minute}},
	} {
		threshold, err := healthThreshold(c.schedule, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", c.schedule, err)
		}
		got := threshold()
		ok := false
		for _, w := range c.want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("%s: threshold %s, want one of %v", c.schedule, got, c.want)
		}
	}
	if _, err := healthThreshold("not cron", time.UTC); err == nil {
		t.Error("a bad schedule was accepted")
	}
}

func TestDaemonMetricsOffIsNil(t *testing.T) {
	cfg := config.Default()
	dm, err := newDaemonMetrics(cfg)
	if err != nil || dm != nil {
		t.Fatalf("metrics off: %v, %v; want nil, nil", dm, err)
	}
	// Every method must be callable on nil.
	if dm.httpClient(metrics.APIBnovo) != nil {
		t.Error("nil daemonMetrics gave an HTTP client")
	}
	dm.watch(nil)
	dm.cycleDone(syncer.Summary{Deposits: 1}, nil)
	done, err := dm.serve(context.Background(), "127.0.0.1:0", nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Error("metrics off: serve must not listen")
	}
}

// TestDaemonMetricsAfterACycle runs one real cycle against the simulators and checks that the
// scrape agrees with it: cycles, operations and bonuses posted, parked records, budget per
// window, and API latency and errors seen through the instrumented HTTP client.
func TestDaemonMetricsAfterACycle(t *testing.T) {
	r := newSimRig(t, rigOptions{extraYAML: "metrics:\n  listen: 127.0.0.1:9464\n"})
	cfg, _, err := config.Load(r.cfgPath, r.getenv)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := newDaemonMetrics(cfg)
	if err != nil || dm == nil {
		t.Fatalf("newDaemonMetrics: %v, %v", dm, err)
	}
	a, err := openApp(cfg, zerolog.Nop(), false, dm, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dm.watch(a)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := a.engine.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dm.cycleDone(sum, nil)
	if err := dm.health.Check(); err != nil {
		t.Errorf("unhealthy right after a successful cycle: %v", err)
	}

	// A scrape runs the watch hook, which reads the budget and the backlog.
	if _, err := dm.reg.Gather(); err != nil {
		t.Fatal(err)
	}
	c := counts(a.db)
	var deposits, credited float64
	for _, op := range r.pb.AllOperations() {
		if op.Type == probonus.OpDeposit {
			deposits++
			credited += float64(op.Sum)
		}
	}
	if deposits == 0 || float64(sum.Deposits) != deposits {
		t.Fatalf("the cycle posted %d deposits, the ledger holds %v", sum.Deposits, deposits)
	}
	m := dm.syncd
	for name, check := range map[string]struct {
		metric prometheus.Collector
		want   float64
	}{
		"ok cycles":         {m.Cycles.WithLabelValues(metrics.ResultOK), 1},
		"failed cycles":     {m.Cycles.WithLabelValues(metrics.ResultFailed), 0},
		"deposits":          {m.Operations.WithLabelValues(metrics.KindDeposit), deposits},
		"kopecks deposited": {m.Bonuses.WithLabelValues(metrics.KindDeposit), credited},
		"parked":            {m.Parked, float64(c.Parked)},
		"shortfalls":        {m.Shortfalls, float64(c.Shortfalls)},
	} {
		if got := testutil.ToFloat64(check.metric); got != check.want {
			t.Errorf("%s: %v, want %v", name, got, check.want)
		}
	}
	// The app's API clients are instrumented: every request the simulators saw is timed.
	if got, want := observations(t, m.APIDuration.WithLabelValues(metrics.APIProBonus)), uint64(r.pb.Stats().Calls); got != want {
		t.Errorf("%d ProBonus requests timed, the simulator saw %d", got, want)
	}
	if got, want := observations(t, m.APIDuration.WithLabelValues(metrics.APIBnovo)), uint64(r.bn.Stats().Calls+r.bn.Stats().AuthCalls); got != want {
		t.Errorf("%d Bnovo requests timed, the simulator saw %d", got, want)
	}
	// Each guest not yet in ProBonus was looked up (by phone, then e-mail) and not found before
	// the account was created.
	notFound := testutil.ToFloat64(m.APIErrors.WithLabelValues(metrics.APIProBonus, metrics.ClassNotFound))
	if sum.AccountsCreated == 0 || notFound < float64(sum.AccountsCreated) {
		t.Errorf("%v not_found errors for %d accounts created", notFound, sum.AccountsCreated)
	}
	if n := testutil.CollectAndCount(m.BudgetRemaining); n != len(cfg.Bnovo.RateLimits) {
		t.Errorf("%d budget series, want one per window of %v", n, cfg.Bnovo.RateLimits)
	}
	if ts := testutil.ToFloat64(m.LastSuccess); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last-success timestamp %v is not now", ts)
	}
}

// observations reads how many observations one summary series holds (testutil.ToFloat64 reads
// only counters and gauges).
func observations(t *testing.T, o prometheus.Observer) uint64 {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetSummary().GetSampleCount()
}
