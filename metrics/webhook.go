package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotelsync/syncd/webhook"
)

// Names of the webhook receiver's metrics.
const (
	NameWebhookDeliveries = "syncd_webhook_deliveries_total"
	NameWebhookIDs        = "syncd_webhook_booking_ids_total"
)

// Results of a webhook delivery, as the receiver answered it.
const (
	DeliveryAccepted  = "accepted"   // 200: its ids are queued
	DeliveryRejected  = "rejected"   // 4xx: wrong path or method, oversized, malformed
	DeliveryFailed    = "failed"     // 500: the state file could not be written
	DeliveryQueueFull = "queue_full" // 503: the queue was full; Bnovo delivers again
)

// WebhookCollector exposes the receiver's own counts, read at each scrape: deliveries by result
// (a rise in rejected is someone probing the port or a misconfigured Bnovo; queue_full means
// the drain cannot keep up) and the booking ids accepted.
func WebhookCollector(stats func() webhook.Stats) prometheus.Collector {
	return webhookCollector{
		stats: stats,
		deliveries: prometheus.NewDesc(NameWebhookDeliveries,
			"Webhook deliveries received, by how they were answered.", []string{"result"}, nil),
		ids: prometheus.NewDesc(NameWebhookIDs,
			"Booking ids accepted from webhook deliveries (de-duplicated within each delivery).", nil, nil),
	}
}

type webhookCollector struct {
	stats           func() webhook.Stats
	deliveries, ids *prometheus.Desc
}

func (c webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.ids
}

func (c webhookCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for result, n := range map[string]int64{
		DeliveryAccepted:  st.Accepted,
		DeliveryRejected:  st.Rejected,
		DeliveryFailed:    st.Failed,
		DeliveryQueueFull: st.Full,
	} {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.CounterValue, float64(n), result)
	}
	ch <- prometheus.MustNewConstMetric(c.ids, prometheus.CounterValue, float64(st.IDs))
}
