package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/internal/deadport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func TestSyncdExposition(t *testing.T) {
	r := NewRegistry()
	m, err := NewSyncd(r)
	if err != nil {
		t.Fatal(err)
	}
	m.CycleDone(nil)
	m.CycleDone(errors.New("bnovo: 500"))
	m.CycleDone(context.Canceled) // shutdown: not counted
	m.Posted(3, 1, 450000, 12300)
	m.Posted(1, 0, 100, 0)
	m.SetBacklog(2, 1)
	m.SetBudget("1000/1h", 800, 12)
	m.SetBudget("30/10s", 30, 31) // over: never negative
	m.Posted(-1, 0, -5, 0)        // a slip: never a panic, never a counter going down
	m.APIErrors.WithLabelValues(APIBnovo, ClassTimeout).Inc()

	// The timestamp varies; check it separately.
	if sec := testutil.ToFloat64(m.LastSuccess); time.Since(time.Unix(int64(sec), 0)) > time.Minute {
		t.Errorf("last-success timestamp %v is not now", sec)
	}

	want := `# HELP syncd_api_errors_total API requests that failed, by API and class.
# TYPE syncd_api_errors_total counter
syncd_api_errors_total{api="bnovo",class="timeout"} 1
# HELP syncd_api_request_duration_seconds Time from sending an API request to its response headers (or failure), in seconds.
# TYPE syncd_api_request_duration_seconds summary
syncd_api_request_duration_seconds_sum{api="bnovo"} 0
syncd_api_request_duration_seconds_count{api="bnovo"} 0
syncd_api_request_duration_seconds_sum{api="probonus"} 0
syncd_api_request_duration_seconds_count{api="probonus"} 0
# HELP syncd_bnovo_budget_remaining Bnovo API calls syncd may still send in each rate-limit window.
# TYPE syncd_bnovo_budget_remaining gauge
syncd_bnovo_budget_remaining{window="1000/1h"} 788
syncd_bnovo_budget_remaining{window="30/10s"} 0
# HELP syncd_bonuses_kopecks_total Bonuses posted to ProBonus, in kopecks, by kind.
# TYPE syncd_bonuses_kopecks_total counter
syncd_bonuses_kopecks_total{kind="deposit"} 450100
syncd_bonuses_kopecks_total{kind="withdrawal"} 12300
# HELP syncd_cycles_total Sync cycles finished, by result.
# TYPE syncd_cycles_total counter
syncd_cycles_total{result="failed"} 1
syncd_cycles_total{result="ok"} 1
# HELP syncd_operations_total ProBonus operations posted, by kind.
# TYPE syncd_operations_total counter
syncd_operations_total{kind="deposit"} 4
syncd_operations_total{kind="withdrawal"} 1
# HELP syncd_parked Records parked for a person to fix.
# TYPE syncd_parked gauge
syncd_parked 2
# HELP syncd_shortfalls Withdrawals that could not be made because the guest had spent the bonuses; settle by hand.
# TYPE syncd_shortfalls gauge
syncd_shortfalls 1
`
	if err := testutil.GatherAndCompare(r, strings.NewReader(want),
		NameAPIErrors, NameAPIDuration, NameBudgetRemaining, NameBonuses, NameCycles, NameOperations, NameParked, NameShortfalls,
	); err != nil {
		t.Error(err)
	}

	if _, err := NewSyncd(r); err == nil {
		t.Error("registering syncd's metrics twice in one registry succeeded")
	}
}

func TestNilSyncdIsANoOp(t *testing.T) {
	var m *Syncd
	m.CycleDone(nil)
	m.Posted(1, 1, 1, 1)
	m.SetBudget("1h", 1, 0)
	m.SetBacklog(1, 1)
	if m.HTTPClient(APIBnovo) != nil {
		t.Error("a nil *Syncd must give a nil client, so the API clients build their own")
	}
	if _, ok := m.Transport(APIBnovo, nil).(*http.Transport); !ok {
		t.Error("a nil *Syncd must give the plain transport")
	}
}

func TestTransportClassifiesOutcomes(t *testing.T) {
	mux := http.NewServeMux()
	for path, status := range map[string]int{
		"/ok": 200, "/created": 201, "/401": 401, "/403": 403, "/404": 404, "/406": 406, "/429": 429, "/500": 500, "/503": 503,
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
	}
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	refused := deadport.Origin(t) + "/"

	r := NewRegistry()
	m, err := NewSyncd(r)
	if err != nil {
		t.Fatal(err)
	}
	client := m.HTTPClient(APIProBonus)
	do := func(ctx context.Context, url string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}
	for _, p := range []string{"/ok", "/created", "/401", "/403", "/404", "/406", "/429", "/500", "/503"} {
		do(context.Background(), srv.URL+p)
	}
	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), 50*time.Millisecond)
	do(timeoutCtx, srv.URL+"/slow")
	cancelTimeout()
	do(context.Background(), refused)
	canceledCtx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	do(canceledCtx, srv.URL+"/slow") // our own shutdown: neither an error nor a latency sample

	for class, want := range map[string]float64{
		ClassClient: 1, ClassConnection: 1, ClassForbidden: 1, ClassNotFound: 1,
		ClassRateLimited: 1, ClassServer: 2, ClassTimeout: 1, ClassUnauthorized: 1,
	} {
		if got := testutil.ToFloat64(m.APIErrors.WithLabelValues(APIProBonus, class)); got != want {
			t.Errorf("%s errors: %v, want %v", class, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.APIErrors); n != 8 {
		t.Errorf("%d error series, want 8 (successes are not errors)", n)
	}
	if got := sampleCount(t, m.APIDuration.WithLabelValues(APIProBonus)); got != 11 {
		t.Errorf("%d ProBonus requests timed, want 11", got)
	}
	if got := sampleCount(t, m.APIDuration.WithLabelValues(APIBnovo)); got != 0 {
		t.Errorf("%d Bnovo requests timed, want 0", got)
	}
}

// sampleCount reads how many observations one summary series holds (testutil.ToFloat64 reads
// only counters and gauges).
func sampleCount(t *testing.T, o prometheus.Observer) uint64 {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetSummary().GetSampleCount()
}

func TestRedemptionMetrics(t *testing.T) {
	m, err := NewSyncd(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	m.Redeemed(2, 1, 3)
	m.Redeemed(-1, 0, 0) // a slip: never a counter going down
	m.SetRedemptionShortfalls(4)
	for kind, want := range map[string]float64{RedeemWithdrawal: 2, RedeemDepositBack: 1, RedeemShortfall: 3} {
		if got := testutil.ToFloat64(m.Redemptions.WithLabelValues(kind)); got != want {
			t.Errorf("%s{kind=%q} = %v, want %v", NameRedemptions, kind, got, want)
		}
	}
	if got := testutil.ToFloat64(m.RedeemShort); got != 4 {
		t.Errorf("%s = %v, want 4", NameRedeemShort, got)
	}
}
