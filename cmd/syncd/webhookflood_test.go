package main

import (
	"fmt"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/pipeline"
)

// TestDaemonWebhookFloodNeverStarvesACheckout is issue 11 item 10's scenario: 2 000 deliveries
// of ids Bnovo does not know, with a real checkout among them whose id is higher than every one
// of theirs. The daemon, whose scheduled cycle does not fire during the test, must credit the
// checkout promptly and once, work the queue down to empty without another webhook, never cross
// Bnovo's windows, and fetch the announced ids with at most its webhook share of each window.
func TestDaemonWebhookFloodNeverStarvesACheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("2 000 deliveries and their drain take about 15 s")
	}
	limits := []string{"300/1s", "100000/1h"}
	r := newSimRig(t, rigOptions{bookings: 5, schedule: "0 0 1 1 *", limits: limits})
	d := startDaemon(t, r)
	r.bn.SetWebhook(d.hook)

	post := func(body string) int {
		resp, err := http.Post(d.hook, "application/json", strings.NewReader(body))
		if err != nil {
			t.Errorf("delivery: %v", err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Two halves of 1 000 deliveries, 125 from each of 8 senders.
	const senders, perHalf, unknownFrom = 8, 125, 800001
	flood := func(half int) {
		var wg gosync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range perHalf {
					id := unknownFrom + (half*senders+s)*perHalf + i
					if code := post(fmt.Sprintf(`{"data":{"booking_ids":[%d]}}`, id)); code != http.StatusOK {
						t.Errorf("delivery of unknown id %d: HTTP %d, want 200", id, code)
					}
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	flood(0)
	const real = 900000 // above every unknown id: lowest id first served it last
	at := checkout(r.bn, real, 800000)
	flood(1)
	t.Logf("2 000 deliveries and a checkout in %v", time.Since(start).Round(time.Millisecond))

	took, ok := creditedWithin(r, real, at, 30*time.Second)
	if !ok {
		t.Fatalf("the checkout among the flood was not credited within 30 s:\n%s", d.out.String())
	}
	t.Logf("checkout credited %v after it happened", took.Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range strings.Split(d.out.String(), "\n") {
				if !strings.Contains(line, `"booking":8`) {
					t.Log(line)
				}
			}
		}
	})
	waitQueueEmpty(t, r, 30*time.Second) // no webhook and no cycle comes to wake the daemon

	st := r.bn.Stats()
	if st.TooMany != 0 {
		t.Errorf("Bnovo answered 429 %d times", st.TooMany)
	}
	byID := st.MaxInWindowByPath["GET "+bnovo.APIPrefix+"/bookings/{id}"]
	for i, l := range limits {
		w, _ := parseSimWindow(l)
		if st.MaxInWindow[i] > w.Limit {
			t.Errorf("window %s saw %d calls", l, st.MaxInWindow[i])
		}
		if share := int(float64(w.Limit) * pipeline.WebhookShare); i < len(byID) && byID[i] > share {
			t.Errorf("window %s: %d bookings fetched by id, more than the webhooks' share of %d", l, byID[i], share)
		}
	}
	if fetched := st.ByPath["GET "+bnovo.APIPrefix+"/bookings/{id}"]; fetched < 2001 {
		t.Errorf("%d bookings fetched by id, want every one of the 2 001 announced", fetched)
	}
	if _, n := bookingOps(r, real); n != 1 {
		t.Errorf("the checkout has %d operations, want 1", n)
	}
	if dups := duplicateMarkers(r.pb.AllOperations()); len(dups) > 0 {
		t.Errorf("credited twice: %v", dups)
	}
}
