// Package metrics holds syncd's Prometheus metrics, kept with client_golang in a registry of
// syncd's own (with the Go runtime and process collectors), and the /metrics and /healthz
// endpoints.
package metrics

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Registry is a Prometheus registry of syncd's own (not the global default one, so tests and
// several apps in one process do not collide) that also runs OnCollect hooks before every
// gather. It starts with the Go runtime (go_*) and process (process_*) collectors, which every
// dashboard expects.
type Registry struct {
	*prometheus.Registry

	mu        sync.Mutex
	onCollect []func()
}

// NewRegistry returns a registry holding the Go and process collectors.
func NewRegistry() *Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Registry{Registry: r}
}

// OnCollect registers fn to run at the start of every Gather, so gauges that mirror other state
// (budget left, parked records) are read when scraped instead of being pushed on every change.
// fn may run concurrently with itself when two scrapes overlap.
func (r *Registry) OnCollect(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCollect = append(r.onCollect, fn)
}

// Gather runs the OnCollect hooks, then gathers every registered collector.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	r.mu.Lock()
	hooks := slices.Clone(r.onCollect)
	r.mu.Unlock()
	for _, hook := range hooks {
		hook()
	}
	return r.Registry.Gather()
}

// Handler serves /metrics from reg and /healthz from healthy (nil = always healthy); every other
// path is 404.
func Handler(reg *Registry, healthy func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", readOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// Counts failed scrapes in promhttp_metric_handler_errors_total.
		Registry: reg.Registry,
	})))
	mux.Handle("/healthz", HealthHandler(healthy))
	mux.Handle("/", http.NotFoundHandler())
	return mux
}

// Degraded is a health error for a daemon that runs but cannot do its job (an API it cannot
// reach): /healthz answers 503 "degraded: <reason>".
type Degraded struct{ Reason string }

func (d *Degraded) Error() string { return d.Reason }

// HealthHandler answers 200 "ok" while healthy returns nil, else 503 with the reason.
func HealthHandler(healthy func() error) http.Handler {
	return readOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		var err error
		if healthy != nil {
			err = healthy()
		}
		if err != nil {
			prefix := "unhealthy: "
			var degraded *Degraded
			if errors.As(err, &degraded) {
				prefix = "degraded: "
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, prefix+oneLine(err.Error())+"\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
}

// readOnly answers 405 to anything but GET and HEAD: both endpoints only report.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, req)
	})
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }
