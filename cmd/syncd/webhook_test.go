package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/testlog"
	"github.com/hotelsync/syncd/probonus"
	syncer "github.com/hotelsync/syncd/sync"
)

const testWebhookSecret = "webhook-secret-0123456789"

// moscow is the hotel's zone in every test of this package: the simulators' and syncd's.
var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err) // the Go distribution ships its zoneinfo; without it nothing here can run
	}
	return loc
}()

// runningDaemon is syncd's daemon mode running in the test process.
type runningDaemon struct {
	cancel context.CancelFunc
	done   chan int // the exit code, once run returns
	out    *testlog.Buffer
	hook   string // the webhook URL Bnovo is given
	scrape string // the /metrics URL
}

// startDaemon runs the daemon in-process (with extraArgs after -config) with the webhook
// receiver on a free loopback port and waits until the receiver answers.
func startDaemon(t testing.TB, r *simRig, extraArgs ...string) *runningDaemon {
	t.Helper()
	addr, metricsAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	r.env["SYNCD_WEBHOOK_SECRET"] = testWebhookSecret
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r.writeConfig(t, string(cfg)+fmt.Sprintf("webhook:\n  listen: %s\nmetrics:\n  listen: %s\n", addr, metricsAddr), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	d := &runningDaemon{cancel: cancel, done: make(chan int, 1), out: &testlog.Buffer{},
		hook: "http://" + addr + "/bnovo/" + testWebhookSecret, scrape: "http://" + metricsAddr + "/metrics"}
	go func() {
		var errOut bytes.Buffer
		code := exitCode(run(ctx, append([]string{"-config", r.cfgPath}, extraArgs...), d.out, &errOut, r.getenv), &errOut)
		d.out.Write(errOut.Bytes())
		d.done <- code
	}()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case code := <-d.done:
			t.Fatalf("the daemon exited with %d before listening:\n%s", code, d.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook receiver is not listening after 10 s:\n%s", d.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The daemon runs a cycle at start: wait for it, so what a test does next is the only work.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(d.out.String(), "cycle finished"); {
		if time.Now().After(deadline) {
			t.Fatalf("no cycle at start within 60 s:\n%s", d.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// deposits is the daemon's syncd_operations_total{kind="deposit"} now.
func (d *runningDaemon) deposits(t testing.TB) int {
	t.Helper()
	return d.scraped(t, `syncd_operations_total{kind="deposit"}`)
}

// scraped reads one series (name and labels as /metrics writes them) from the daemon's
// /metrics; 0 when it is absent.
func (d *runningDaemon) scraped(t testing.TB, series string) int {
	t.Helper()
	resp, err := http.Get(d.scrape)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\d+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// stop cancels the daemon (as SIGTERM does) and checks it exits 0; it is safe to call twice.
func (d *runningDaemon) stop(t testing.TB) {
	d.cancel()
	select {
	case code, ok := <-d.done:
		if ok && code != exitOK {
			t.Errorf("the daemon exited with %d:\n%s", code, d.out.String())
		}
		if ok {
			close(d.done)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("the daemon did not stop within 20 s of its context ending")
	}
}

// checkout plays a stay at the front desk: the guest is checked in and pays (Bnovo sends a
// webhook for each change, which syncd syncs and finds nothing to credit yet), then checks
// out. It returns the moment of the checkout.
func checkout(bn *bnovotest.Server, id int64, paid int64) time.Time {
	now := time.Now().In(moscow)
	bn.PutBooking(bnovo.Booking{
		ID: id, Number: "W" + strconv.FormatInt(id, 10), StatusID: bnovotest.StatusCheckedIn, StatusName: bnovotest.StatusNames[bnovotest.StatusCheckedIn],
		SourceID: 1, SourceName: "Стойка",
		Customer: &bnovo.Customer{ID: id * 10, Name: "Гость", Surname: "Вебхук", Phone: fmt.Sprintf("+7 916 %03d-%02d-%02d", id%1000, id%97, id%89)},
		Arrival:  now.AddDate(0, 0, -2), Departure: now, CreateDate: now.AddDate(0, 0, -9),
	})
	bn.AddPayment(bnovo.Payment{BookingID: id, Type: bnovo.PaymentIn, Amount: paid, PaymentTypeName: "Банковская карта"})
	at := time.Now()
	bn.SetStatus(id, bnovotest.StatusCheckedOut, bnovotest.StatusNames[bnovotest.StatusCheckedOut])
	return at
}

// creditedWithin waits until ProBonus holds the booking's first operation and returns how long
// after since that was; false after limit.
func creditedWithin(r *simRig, id int64, since time.Time, limit time.Duration) (time.Duration, bool) {
	marker := syncer.Marker(id, 1)
	for time.Since(since) < limit {
		for _, op := range r.pb.AllOperations() {
			if syncer.HasMarker(op.Reason, marker) {
				return time.Since(since), true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

// duplicateMarkers lists the markers ProBonus holds more than once: a doubled bonus.
func duplicateMarkers(ops []probonus.Operation) []string {
	seen := map[string]int{}
	for _, op := range ops {
		seen[op.Reason]++
	}
	var dups []string
	for reason, n := range seen {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%dx %s", n, reason))
		}
	}
	return dups
}

// TestDaemonWebhookCreditsCheckouts runs the daemon with a schedule that does not fire during
// the test, so after the cycle at start only the webhook path can credit a checkout; each must be credited promptly and
// once. Then it throws bad deliveries and (not with -short) a flood of 1000 in about a second at the receiver: each
// gets its HTTP answer, Bnovo's windows are never crossed, nothing is credited twice, and the
// daemon goes on crediting checkouts.
func TestDaemonWebhookCreditsCheckouts(t *testing.T) {
	limits := []string{"30/1s", "5000/1h"}
	bookings := 60 // for the flood
	if testing.Short() {
		bookings = 5 // the cycle at start need not wait for 60 stays' calls
	}
	r := newSimRig(t, rigOptions{bookings: bookings, schedule: "0 0 1 1 *", limits: limits})
	d := startDaemon(t, r)
	r.bn.SetWebhook(d.hook)
	atStart := d.deposits(t)

	for i := range 5 {
		id := int64(500000 + i)
		at := checkout(r.bn, id, 800000)
		if _, ok := creditedWithin(r, id, at, 15*time.Second); !ok {
			t.Fatalf("checkout of booking %d was not credited within 15 s through the webhook:\n%s", id, d.out.String())
		}
	}
	// The daemon serves metrics, and what its drains posted is counted there (once the drain
	// that posted the last deposit has returned, a moment after ProBonus holds it).
	for deadline := time.Now().Add(10 * time.Second); d.deposits(t) != atStart+5; {
		if time.Now().After(deadline) {
			t.Errorf("metrics count %d deposits after 5 credited checkouts, want %d (%d at start)", d.deposits(t), atStart+5, atStart)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	post := func(path, body string) int {
		resp, err := http.Post(strings.TrimSuffix(d.hook, "/bnovo/"+testWebhookSecret)+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := "/bnovo/" + testWebhookSecret
	for _, c := range []struct {
		name, path, body string
		want             int
	}{
		{"wrong secret", "/bnovo/not-the-secret-at-all", `{"data":{"booking_ids":[1]}}`, http.StatusNotFound},
		{"malformed JSON", good, `{"data":{"booking_ids":[1,`, http.StatusBadRequest},
		{"oversized body", good, `{"data":{"booking_ids":[` + strings.Repeat("1,", 40000) + `1]}}`, http.StatusRequestEntityTooLarge},
		{"unknown ids", good, `{"data":{"booking_ids":[990001,990002]}}`, http.StatusOK},
	} {
		if got := post(c.path, c.body); got != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, got, c.want)
		}
	}

	// The receiver's own counts are on /metrics: 5 checkouts, the unknown ids; 3 bad deliveries.
	if got := d.scraped(t, `syncd_webhook_deliveries_total{result="accepted"}`); got < 6 {
		t.Errorf("metrics count %d accepted deliveries, want at least 6", got)
	}
	if got := d.scraped(t, `syncd_webhook_deliveries_total{result="rejected"}`); got != 3 {
		t.Errorf("metrics count %d rejected deliveries, want 3", got)
	}

	if testing.Short() {
		// The flood below is most of this test's time; the full run (.ci/run) has it.
		d.stop(t)
		return
	}

	// The flood: 1000 deliveries from 20 senders, naming the seeded stays and unknown ids.
	start := time.Now()
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	codes := map[int]int{}
	for sender := range 20 {
		wg.Go(func() {
			for i := range 50 {
				id := r.ids[(sender*50+i)%len(r.ids)]
				if i%10 == 0 {
					id = int64(990100 + i)
				}
				code := post(good, fmt.Sprintf(`{"data":{"booking_ids":[%d]}}`, id))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("1000 deliveries in %v: %v", time.Since(start).Round(time.Millisecond), codes)
	if codes[http.StatusOK] != 1000 {
		t.Errorf("flood answers %v, want 1000 × 200", codes)
	}

	// The daemon still credits a checkout, after the flood's bookings wait their turn.
	id := int64(600000)
	at := checkout(r.bn, id, 500000)
	if _, ok := creditedWithin(r, id, at, 60*time.Second); !ok {
		t.Fatalf("after the flood, booking %d was not credited within 60 s:\n%s", id, d.out.String())
	}
	waitQueueEmpty(t, r, 60*time.Second)

	st := r.bn.Stats()
	if st.TooMany != 0 {
		t.Errorf("Bnovo answered 429 %d times", st.TooMany)
	}
	for i, l := range limits {
		w, _ := parseSimWindow(l)
		if st.MaxInWindow[i] > w.Limit {
			t.Errorf("window %s saw %d calls", l, st.MaxInWindow[i])
		}
	}
	if dups := duplicateMarkers(r.pb.AllOperations()); len(dups) > 0 {
		t.Errorf("credited twice: %v", dups)
	}
	credited := 0
	for _, seeded := range r.ids {
		if _, n := bookingOps(r, seeded); n > 0 {
			credited++
		}
	}
	if credited == 0 {
		t.Errorf("none of the flood's %d seeded stays was credited", len(r.ids))
	}
	d.stop(t)
	if strings.Contains(d.out.String(), testWebhookSecret) {
		t.Error("the webhook secret appears in the daemon's log")
	}
}

func bookingOps(r *simRig, id int64) (marker string, n int) {
	marker = syncer.Marker(id, 1)
	for _, op := range r.pb.AllOperations() {
		if syncer.HasMarker(op.Reason, marker) {
			n++
		}
	}
	return marker, n
}

// waitQueueEmpty waits until the running daemon reports an empty queue on its status socket.
func waitQueueEmpty(t testing.TB, r *simRig, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var out bytes.Buffer
		err := askDaemon(context.Background(), r.socket, "status", &out)
		if err == nil && statusValues(out.String())["queued"] == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue is not empty after %v: %v\n%s", limit, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkWebhookCheckoutLatency measures the time from a checkout in Bnovo to the bonuses in
// ProBonus through the webhook, with the scheduled cycle running beside it, under Bnovo's real
// windows, one checkout per iteration, a few seconds apart as at a front desk (run it with
// -benchtime=20x for the 20). It reports the median, p90 and slowest, the cycles that
// ran meanwhile and the Bnovo calls per checkout, and fails on any doubled operation. The
// every-10s schedule is a stress case: each cycle re-reads the payments of every booking
// changed in the last two minutes (update_date is not trusted younger than that), competing
// with the webhooks for the 30-per-10-s window.
//
//	go test -run '^$' -bench WebhookCheckoutLatency -benchtime 20x ./cmd/syncd
func BenchmarkWebhookCheckoutLatency(b *testing.B) {
	for _, c := range []struct{ name, schedule string }{
		{"cycle-every-minute", "* * * * *"},
		{"cycle-every-10s", "@every 10s"},
	} {
		b.Run(c.name, func(b *testing.B) { benchmarkWebhookCheckouts(b, c.schedule) })
	}
}

func benchmarkWebhookCheckouts(b *testing.B, schedule string) {
	r := newSimRig(b, rigOptions{bookings: 10, schedule: schedule, limits: []string{"30/10s", "300/5m", "1000/1h", "10000/24h"}})
	// The hotel's history is synced already: what is measured is the steady state.
	if out, errOut, code := r.run(b, "-once"); code != exitOK {
		b.Fatalf("-once: exit %d\n%s%s", code, out, errOut)
	}
	d := startDaemon(b, r)
	r.bn.SetWebhook(d.hook)
	var took []time.Duration
	id := int64(700000)
	callsBefore := r.bn.Stats().ByPath
	for b.Loop() {
		id++
		at := checkout(r.bn, id, 600000)
		lat, ok := creditedWithin(r, id, at, 2*time.Minute)
		if !ok {
			b.Fatalf("booking %d not credited within 2 min:\n%s", id, d.out.String())
		}
		took = append(took, lat)
		time.Sleep(time.Duration(2000+id%5*500) * time.Millisecond)
	}
	// At least one scheduled cycle must have run over the same bookings for the check against
	// doubled operations to mean something.
	cycles := func() int { return strings.Count(d.out.String(), `"message":"cycle finished"`) }
	for deadline := time.Now().Add(90 * time.Second); cycles() == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	if dups := duplicateMarkers(r.pb.AllOperations()); len(dups) > 0 {
		b.Fatalf("credited twice: %v", dups)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Milliseconds()), "p90-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
	// The scheduled cycles that ran beside the webhooks (none would make the test meaningless).
	b.ReportMetric(float64(cycles()), "cycles")
	b.ReportMetric(float64(r.bn.Stats().TooMany), "429s")
	calls := 0
	for path, n := range r.bn.Stats().ByPath {
		calls += n - callsBefore[path]
	}
	b.ReportMetric(float64(calls)/float64(len(took)), "bnovo-calls/checkout")
	b.ReportMetric(0, "ns/op")
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
