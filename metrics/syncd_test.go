package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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
	m.APIErrors.Inc(APIBnovo, ClassTimeout)
	if r.Err() != nil {
		t.Fatalf("misuse: %v", r.Err())
	}

	got := render(t, r)
	// The timestamp varies; check it separately and blank it.
	ts := regexp.MustCompile(`(?m)^syncd_last_success_timestamp_seconds (\S+)$`)
	match := ts.FindStringSubmatch(got)
	if match == nil {
		t.Fatalf("no last-success timestamp in:\n%s", got)
	}
	if sec, err := strconv.ParseFloat(match[1], 64); err != nil || time.Since(time.Unix(int64(sec), 0)) > time.Minute {
		t.Errorf("last-success timestamp %q is not now", match[1])
	}
	got = ts.ReplaceAllString(got, "syncd_last_success_timestamp_seconds T")

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
# HELP syncd_last_success_timestamp_seconds Unix time at which the last successful sync cycle ended.
# TYPE syncd_last_success_timestamp_seconds gauge
syncd_last_success_timestamp_seconds T
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
	if got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
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

	// A port that refuses connections: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

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

	got := render(t, r)
	for _, line := range []string{
		`syncd_api_errors_total{api="probonus",class="client_error"} 1`,
		`syncd_api_errors_total{api="probonus",class="connection"} 1`,
		`syncd_api_errors_total{api="probonus",class="forbidden"} 1`,
		`syncd_api_errors_total{api="probonus",class="not_found"} 1`,
		`syncd_api_errors_total{api="probonus",class="rate_limited"} 1`,
		`syncd_api_errors_total{api="probonus",class="server_error"} 2`,
		`syncd_api_errors_total{api="probonus",class="timeout"} 1`,
		`syncd_api_errors_total{api="probonus",class="unauthorized"} 1`,
		`syncd_api_request_duration_seconds_count{api="probonus"} 11`,
		`syncd_api_request_duration_seconds_count{api="bnovo"} 0`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q in:\n%s", line, got)
		}
	}
	if n := strings.Count(got, "syncd_api_errors_total{"); n != 8 {
		t.Errorf("%d error series, want 8 (successes are not errors):\n%s", n, got)
	}
}
