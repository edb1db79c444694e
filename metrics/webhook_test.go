package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hotelsync/syncd/webhook"
)

func TestWebhookCollectorReadsTheReceiversCounts(t *testing.T) {
	r := NewRegistry()
	stats := webhook.Stats{Accepted: 7, Rejected: 3, IDs: 12, Failed: 1, Full: 2}
	r.MustRegister(WebhookCollector(func() webhook.Stats { return stats }))
	want := `# HELP syncd_webhook_booking_ids_total Booking ids accepted from webhook deliveries (de-duplicated within each delivery).
# TYPE syncd_webhook_booking_ids_total counter
syncd_webhook_booking_ids_total 12
# HELP syncd_webhook_deliveries_total Webhook deliveries received, by how they were answered.
# TYPE syncd_webhook_deliveries_total counter
syncd_webhook_deliveries_total{result="accepted"} 7
syncd_webhook_deliveries_total{result="failed"} 1
syncd_webhook_deliveries_total{result="queue_full"} 2
syncd_webhook_deliveries_total{result="rejected"} 3
`
	if err := testutil.GatherAndCompare(r, strings.NewReader(want), NameWebhookDeliveries, NameWebhookIDs); err != nil {
		t.Error(err)
	}
	// Read at each scrape, not copied once.
	stats.Accepted = 8
	if err := testutil.GatherAndCompare(r, strings.NewReader(strings.Replace(want, `"accepted"} 7`, `"accepted"} 8`, 1)), NameWebhookDeliveries); err != nil {
		t.Error(err)
	}
}
