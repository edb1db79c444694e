// Package metrics is a small hand-written Prometheus registry: counters, gauges and summaries
// (sum and count only, no quantiles) with labels, exposed in the text format 0.0.4, plus a
// /healthz endpoint. client_golang would do the same at the cost of ~7.6 MB and ~28 modules for
// a handful of series on a loopback port.
package metrics

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ContentType is what /metrics answers with: the Prometheus text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

type kind int

const (
	kindCounter kind = iota
	kindGauge
	kindSummary
)

func (k kind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	default:
		return "summary"
	}
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds metric families and renders them. Safe for concurrent use.
type Registry struct {
	mu        sync.Mutex
	families  map[string]*family
	onCollect []func()
	misuse    error // the latest sample dropped for a wrong label count, for tests and debugging
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: make(map[string]*family)}
}

// OnCollect registers fn to run at the start of every WriteTo, so gauges that mirror other state
// (budget left, parked records) are read when scraped instead of being pushed on every change.
// fn may run concurrently with itself when two scrapes overlap.
func (r *Registry) OnCollect(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCollect = append(r.onCollect, fn)
}

// Err reports the latest sample that was dropped because its label values did not match the
// metric's label names (nil when none was). Recording never fails loudly: a metrics mistake must
// not stop a sync cycle.
func (r *Registry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.misuse
}

func (r *Registry) noteMisuse(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.misuse = err
}

// Counter is a metric that only goes up, with zero or more labels.
type Counter struct{ f *family }

// Gauge is a metric that goes up and down, with zero or more labels.
type Gauge struct{ f *family }

// Summary tracks the sum and count of observations (no quantiles), with zero or more labels;
// rate(x_sum)/rate(x_count) gives the mean over any range.
type Summary struct{ f *family }

// NewCounter registers a counter. By convention its name ends in _total.
func (r *Registry) NewCounter(name, help string, labelNames ...string) (*Counter, error) {
	f, err := r.register(name, help, kindCounter, labelNames)
	if err != nil {
		return nil, err
	}
	return &Counter{f}, nil
}

// NewGauge registers a gauge.
func (r *Registry) NewGauge(name, help string, labelNames ...string) (*Gauge, error) {
	f, err := r.register(name, help, kindGauge, labelNames)
	if err != nil {
		return nil, err
	}
	return &Gauge{f}, nil
}

// NewSummary registers a summary exposed as name_sum and name_count.
func (r *Registry) NewSummary(name, help string, labelNames ...string) (*Summary, error) {
	f, err := r.register(name, help, kindSummary, labelNames)
	if err != nil {
		return nil, err
	}
	return &Summary{f}, nil
}

func (r *Registry) register(name, help string, k kind, labelNames []string) (*family, error) {
	if !metricNameRE.MatchString(name) {
		return nil, fmt.Errorf("metric name %q: want [a-zA-Z_:][a-zA-Z0-9_:]*", name)
	}
	seen := make(map[string]bool, len(labelNames))
	for _, l := range labelNames {
		switch {
		case !labelNameRE.MatchString(l):
			return nil, fmt.Errorf("metric %s: label name %q: want [a-zA-Z_][a-zA-Z0-9_]*", name, l)
		case strings.HasPrefix(l, "__"):
			return nil, fmt.Errorf("metric %s: label name %q: names starting with __ are reserved", name, l)
		case k == kindSummary && l == "quantile":
			return nil, fmt.Errorf("metric %s: label name quantile is reserved for summaries", name)
		case seen[l]:
			return nil, fmt.Errorf("metric %s: label %q given twice", name, l)
		}
		seen[l] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		return nil, fmt.Errorf("metric %s is already registered", name)
	}
	f := &family{
		registry: r,
		name:     name,
		help:     help,
		kind:     k,
		labels:   slices.Clone(labelNames),
		series:   make(map[string]*series),
	}
	// A family without labels has exactly one series, which exists (at 0) from the start:
	// an absent series and a zero one mean different things to PromQL.
	if len(labelNames) == 0 {
		f.series[""] = &series{}
	}
	r.families[name] = f
	return f, nil
}

// Inc adds 1 to the series with the given label values.
func (c *Counter) Inc(labelValues ...string) { c.Add(1, labelValues...) }

// Add adds v to the series; a negative or NaN v is ignored because a counter never goes down.
func (c *Counter) Add(v float64, labelValues ...string) {
	if c == nil || !(v >= 0) {
		return
	}
	c.f.update(labelValues, func(s *series) { s.value += v })
}

// Touch creates the series at 0 without changing it, so that a rate over it exists before the
// first event.
func (c *Counter) Touch(labelValues ...string) {
	if c == nil {
		return
	}
	c.f.update(labelValues, func(*series) {})
}

// Set sets the series with the given label values to v.
func (g *Gauge) Set(v float64, labelValues ...string) {
	if g == nil {
		return
	}
	g.f.update(labelValues, func(s *series) { s.value = v })
}

// Add adds v (which may be negative) to the series.
func (g *Gauge) Add(v float64, labelValues ...string) {
	if g == nil {
		return
	}
	g.f.update(labelValues, func(s *series) { s.value += v })
}

// SetToCurrentTime sets the series to the current Unix time in seconds.
func (g *Gauge) SetToCurrentTime(labelValues ...string) {
	g.Set(float64(time.Now().UnixNano())/1e9, labelValues...)
}

// Observe adds one observation v to the series.
func (s *Summary) Observe(v float64, labelValues ...string) {
	if s == nil || math.IsNaN(v) {
		return
	}
	s.f.update(labelValues, func(x *series) { x.sum += v; x.count++ })
}

// ObserveDuration adds d, in seconds.
func (s *Summary) ObserveDuration(d time.Duration, labelValues ...string) {
	s.Observe(d.Seconds(), labelValues...)
}

// Touch creates the series with no observations yet.
func (s *Summary) Touch(labelValues ...string) {
	if s == nil {
		return
	}
	s.f.update(labelValues, func(*series) {})
}

type family struct {
	registry *Registry
	name     string
	help     string
	kind     kind
	labels   []string

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	labelValues []string
	value       float64 // counter, gauge
	sum         float64 // summary
	count       uint64  // summary
}

// labelKeySep cannot appear in valid UTF-8, so joined label values never collide.
const labelKeySep = "\xff"

func (f *family) update(labelValues []string, change func(*series)) {
	if len(labelValues) != len(f.labels) {
		f.registry.noteMisuse(fmt.Errorf("metric %s: got %d label values %q for labels %q; sample dropped",
			f.name, len(labelValues), labelValues, f.labels))
		return
	}
	key := strings.Join(labelValues, labelKeySep)
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.series[key]
	if !ok {
		s = &series{labelValues: slices.Clone(labelValues)}
		f.series[key] = s
	}
	change(s)
}

// snapshot copies the family's series, sorted by label values, so rendering holds no lock.
func (f *family) snapshot() []series {
	f.mu.Lock()
	out := make([]series, 0, len(f.series))
	for _, s := range f.series {
		out = append(out, *s)
	}
	f.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return slices.Compare(out[i].labelValues, out[j].labelValues) < 0 })
	return out
}

// WriteTo renders every family that has at least one series in the text format 0.0.4: families
// sorted by name, each with HELP and TYPE, series sorted by label values.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	hooks := slices.Clone(r.onCollect)
	families := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		families = append(families, f)
	}
	r.mu.Unlock()
	for _, hook := range hooks {
		hook()
	}
	sort.Slice(families, func(i, j int) bool { return families[i].name < families[j].name })

	var buf bytes.Buffer
	for _, f := range families {
		f.render(&buf)
	}
	return buf.WriteTo(w)
}

func (f *family) render(buf *bytes.Buffer) {
	all := f.snapshot()
	if len(all) == 0 {
		return
	}
	fmt.Fprintf(buf, "# HELP %s %s\n", f.name, escapeHelp(f.help))
	fmt.Fprintf(buf, "# TYPE %s %s\n", f.name, f.kind)
	for _, s := range all {
		labels := formatLabels(f.labels, s.labelValues)
		if f.kind == kindSummary {
			fmt.Fprintf(buf, "%s_sum%s %s\n", f.name, labels, formatValue(s.sum))
			fmt.Fprintf(buf, "%s_count%s %d\n", f.name, labels, s.count)
			continue
		}
		fmt.Fprintf(buf, "%s%s %s\n", f.name, labels, formatValue(s.value))
	}
}

func formatLabels(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(values[i]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	helpEscaper       = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelValueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

func escapeLabelValue(s string) string {
	return labelValueEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// Values whose magnitude lies in [minPlain, maxPlain] are written without an exponent: kopeck
// totals and Unix timestamps stay readable (1234500, 1763890474.25 rather than 1.2345e+06,
// 1.76389047425e+09). Beyond 2^53 a float no longer holds every integer, and an exponent is more
// honest than a long run of made-up digits.
const (
	minPlain = 1e-4
	maxPlain = 1 << 53
)

// formatValue writes v in the shortest form that parses back to exactly v, as Prometheus
// expects.
func formatValue(v float64) string {
	switch abs := math.Abs(v); {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0" // also for -0
	case abs >= minPlain && abs <= maxPlain:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
}

// ServeHTTP answers a scrape with the registry in the text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		http.Error(w, "rendering metrics failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	if req.Method == http.MethodHead {
		return
	}
	_, _ = buf.WriteTo(w)
}

// Handler serves /metrics from reg and /healthz from healthy (nil = always healthy); every other
// path is 404.
func Handler(reg *Registry, healthy func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", reg)
	mux.Handle("/healthz", HealthHandler(healthy))
	mux.Handle("/", http.NotFoundHandler())
	return mux
}

// HealthHandler answers 200 "ok" while healthy returns nil, else 503 with the reason.
func HealthHandler(healthy func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		var err error
		if healthy != nil {
			err = healthy()
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "unhealthy: "+oneLine(err.Error())+"\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }
