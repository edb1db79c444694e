package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of syncd's metrics, all prefixed "syncd_".
const (
	NameCycles          = "syncd_cycles_total"
	NameOperations      = "syncd_operations_total"
	NameBonuses         = "syncd_bonuses_kopecks_total"
	NameParked          = "syncd_parked"
	NameShortfalls      = "syncd_shortfalls"
	NameBudgetRemaining = "syncd_bnovo_budget_remaining"
	NameAPIDuration     = "syncd_api_request_duration_seconds"
	NameAPIErrors       = "syncd_api_errors_total"
	NameLastSuccess     = "syncd_last_success_timestamp_seconds"
	NameRedemptions     = "syncd_redemptions_total"
	NameRedeemShort     = "syncd_redemption_shortfalls"
)

// Label values used by syncd.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"

	KindDeposit    = "deposit"
	KindWithdrawal = "withdrawal"

	// Kinds of redemption events (paying with bonuses, spec §7).
	RedeemWithdrawal  = "withdrawal"   // bonuses taken for a bonus payment
	RedeemDepositBack = "deposit_back" // given back: a bonus payment refunded or deleted, a cancellation
	RedeemShortfall   = "shortfall"    // could not be taken: short balance, no account

	APIBnovo    = "bnovo"
	APIProBonus = "probonus"

	// Error classes of API calls: transport failures, then HTTP statuses worth telling apart
	// (401 = credentials, 403 = read-only account, 404 = a clean "not found", 429 = another
	// integration spent the budget).
	ClassTimeout      = "timeout"
	ClassConnection   = "connection"
	ClassUnauthorized = "unauthorized"
	ClassForbidden    = "forbidden"
	ClassNotFound     = "not_found"
	ClassRateLimited  = "rate_limited"
	ClassClient       = "client_error"
	ClassServer       = "server_error"
)

// Syncd holds typed handles to syncd's metrics. The methods are safe on a nil *Syncd (they do
// nothing), so code paths without metrics (-once, -backfill, -demo) need no checks.
type Syncd struct {
	Cycles          *prometheus.CounterVec // result: ok|failed
	Operations      *prometheus.CounterVec // kind: deposit|withdrawal — ProBonus operations posted
	Bonuses         *prometheus.CounterVec // kind: deposit|withdrawal — kopecks
	Parked          prometheus.Gauge       // records parked now
	Shortfalls      prometheus.Gauge       // withdrawal shortfalls awaiting a person now
	BudgetRemaining *prometheus.GaugeVec   // window ("300/5m"...): Bnovo calls left in the window
	APIDuration     *prometheus.SummaryVec // api: bnovo|probonus — seconds until response headers
	APIErrors       *prometheus.CounterVec // api, class
	LastSuccess     prometheus.Gauge       // Unix time of the last successful cycle's end
	Redemptions     *prometheus.CounterVec // kind: withdrawal|deposit_back|shortfall
	RedeemShort     prometheus.Gauge       // redemption shortfalls standing now
}

// NewSyncd registers syncd's metrics in reg and creates the series whose label values are known
// in advance at 0, so that rates exist before the first event.
func NewSyncd(reg prometheus.Registerer) (*Syncd, error) {
	s := Syncd{
		Cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameCycles, Help: "Sync cycles finished, by result.",
		}, []string{"result"}),
		Operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameOperations, Help: "ProBonus operations posted, by kind.",
		}, []string{"kind"}),
		Bonuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameBonuses, Help: "Bonuses posted to ProBonus, in kopecks, by kind.",
		}, []string{"kind"}),
		Parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameParked, Help: "Records parked for a person to fix.",
		}),
		Shortfalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameShortfalls, Help: "Withdrawals that could not be made because the guest had spent the bonuses; settle by hand.",
		}),
		BudgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: NameBudgetRemaining, Help: "Bnovo API calls syncd may still send in each rate-limit window.",
		}, []string{"window"}),
		// No quantiles: rate(x_sum)/rate(x_count) gives the mean over any range, and quantiles
		// computed in one process cannot be aggregated anyway.
		APIDuration: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: NameAPIDuration, Help: "Time from sending an API request to its response headers (or failure), in seconds.",
		}, []string{"api"}),
		APIErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameAPIErrors, Help: "API requests that failed, by API and class.",
		}, []string{"api", "class"}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameLastSuccess, Help: "Unix time at which the last successful sync cycle ended.",
		}),
		Redemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameRedemptions, Help: "Bookings paid with bonuses: withdrawals, deposits back and shortfalls, by kind.",
		}, []string{"kind"}),
		RedeemShort: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameRedeemShort, Help: "Bookings paid with bonuses that could not be withdrawn (short balance, no account); tried again when the booking changes.",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{
		s.Cycles, s.Operations, s.Bonuses, s.Parked, s.Shortfalls,
		s.BudgetRemaining, s.APIDuration, s.APIErrors, s.LastSuccess, s.Redemptions, s.RedeemShort,
	} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering syncd metrics: %w", err)
	}
	for _, r := range []string{ResultOK, ResultFailed} {
		s.Cycles.WithLabelValues(r)
	}
	for _, k := range []string{KindDeposit, KindWithdrawal} {
		s.Operations.WithLabelValues(k)
		s.Bonuses.WithLabelValues(k)
	}
	for _, api := range []string{APIBnovo, APIProBonus} {
		s.APIDuration.WithLabelValues(api)
	}
	for _, k := range []string{RedeemWithdrawal, RedeemDepositBack, RedeemShortfall} {
		s.Redemptions.WithLabelValues(k)
	}
	return &s, nil
}

// CycleDone counts a finished cycle. A cycle cut short by shutdown (context.Canceled) is not
// counted: it is neither a success nor a failure of the sync.
func (s *Syncd) CycleDone(err error) {
	if s == nil || errors.Is(err, context.Canceled) {
		return
	}
	if err != nil {
		s.Cycles.WithLabelValues(ResultFailed).Inc()
		return
	}
	s.Cycles.WithLabelValues(ResultOK).Inc()
	s.LastSuccess.SetToCurrentTime()
}

// Posted adds a run's posted operations: counts and kopecks of deposits and withdrawals.
func (s *Syncd) Posted(deposits, withdrawals int, credited, withdrawn int64) {
	if s == nil {
		return
	}
	addCount(s.Operations.WithLabelValues(KindDeposit), float64(deposits))
	addCount(s.Operations.WithLabelValues(KindWithdrawal), float64(withdrawals))
	addCount(s.Bonuses.WithLabelValues(KindDeposit), float64(credited))
	addCount(s.Bonuses.WithLabelValues(KindWithdrawal), float64(withdrawn))
}

// Redeemed adds a run's redemption events: withdrawals, deposits back and shortfalls.
func (s *Syncd) Redeemed(withdrawals, depositsBack, shortfalls int) {
	if s == nil {
		return
	}
	addCount(s.Redemptions.WithLabelValues(RedeemWithdrawal), float64(withdrawals))
	addCount(s.Redemptions.WithLabelValues(RedeemDepositBack), float64(depositsBack))
	addCount(s.Redemptions.WithLabelValues(RedeemShortfall), float64(shortfalls))
}

// SetRedemptionShortfalls records the redemption shortfalls standing now.
func (s *Syncd) SetRedemptionShortfalls(n int) {
	if s == nil {
		return
	}
	s.RedeemShort.Set(float64(n))
}

// addCount adds v unless it is negative: client_golang panics on a counter going down, and a
// metrics slip must never stop a sync.
func addCount(c prometheus.Counter, v float64) {
	if v > 0 {
		c.Add(v)
	}
}

// SetBudget records one Bnovo window's budget: limit is the effective limit (after the budget
// share), used the calls counted in it now.
func (s *Syncd) SetBudget(window string, limit, used int) {
	if s == nil {
		return
	}
	s.BudgetRemaining.WithLabelValues(window).Set(float64(max(limit-used, 0)))
}

// SetBacklog records the parked records and shortfalls waiting for a person.
func (s *Syncd) SetBacklog(parked, shortfalls int) {
	if s == nil {
		return
	}
	s.Parked.Set(float64(parked))
	s.Shortfalls.Set(float64(shortfalls))
}

// HTTPClient is an *http.Client for the given API ("bnovo", "probonus") whose requests are timed
// and whose failures are classified. It sets no Timeout: both API clients bound every request
// with their own per-request context. On a nil *Syncd it returns nil, which the clients read as
// "build your own".
func (s *Syncd) HTTPClient(api string) *http.Client {
	if s == nil {
		return nil
	}
	return &http.Client{Transport: s.Transport(api, nil)}
}

// Transport wraps next (nil = a clone of http.DefaultTransport with TLS 1.2 or newer and
// certificate checks on) so that every round trip is observed. The request goes through
// unchanged, context and httptrace hooks included: the ProBonus client relies on those to know
// whether a request was sent.
func (s *Syncd) Transport(api string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		next = t
	}
	if s == nil {
		return next
	}
	return &instrumented{api: api, next: next, m: s}
}

type instrumented struct {
	api  string
	next http.RoundTripper
	m    *Syncd
}

func (t *instrumented) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	took := time.Since(start)
	if err != nil {
		// Our own shutdown or a caller giving up is not the API's failure, and its duration
		// says nothing about the API's speed.
		if errors.Is(err, context.Canceled) {
			return resp, err
		}
		t.m.APIDuration.WithLabelValues(t.api).Observe(took.Seconds())
		t.m.APIErrors.WithLabelValues(t.api, classifyTransportError(err)).Inc()
		return resp, err
	}
	t.m.APIDuration.WithLabelValues(t.api).Observe(took.Seconds())
	if class := ClassifyStatus(resp.StatusCode); class != "" {
		t.m.APIErrors.WithLabelValues(t.api, class).Inc()
	}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the wrapped transport.
func (t *instrumented) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func classifyTransportError(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ClassTimeout
	}
	return ClassConnection
}

// ClassifyStatus names the error class of an HTTP status; "" for a success (below 400).
func ClassifyStatus(status int) string {
	switch {
	case status < 400:
		return ""
	case status == http.StatusUnauthorized:
		return ClassUnauthorized
	case status == http.StatusForbidden:
		return ClassForbidden
	case status == http.StatusNotFound:
		return ClassNotFound
	case status == http.StatusTooManyRequests:
		return ClassRateLimited
	case status >= 500:
		return ClassServer
	default:
		return ClassClient
	}
}
