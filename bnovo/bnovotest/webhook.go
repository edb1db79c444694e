package bnovotest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// webhookQueueSize bounds the changes waiting for delivery; beyond it a change is dropped and
// counted as a failure, as a real sender under back-pressure would lose it (polling covers that).
const webhookQueueSize = 1024

// webhookTimeout keeps a hung receiver from stalling every later delivery for long.
const webhookTimeout = 5 * time.Second

type webhookDelivery struct {
	url string
	id  int64
}

// SetWebhook makes the server POST {"data":{"booking_ids":[id]}} to url after every change to a
// booking (PutBooking, PutRawBooking, AddPayment on a known booking, SetStatus, a guest PUT), as
// Bnovo v2 does for a subscriber. Deliveries are asynchronous, one at a time in change order;
// their outcome only shows in Stats. Seed sends none. An empty url turns delivery off.
func (s *Server) SetWebhook(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = url
}

func (s *Server) startWebhooks() {
	s.webhooks = make(chan webhookDelivery, webhookQueueSize)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	s.webhookClient = &http.Client{Transport: transport, Timeout: webhookTimeout}
	s.webhookCtx, s.stopWebhooks = context.WithCancel(context.Background())
	s.webhookDone.Add(1)
	go s.deliverWebhooks()
}

// webhookLocked queues a delivery for a changed booking; s.mu must be held, so the change is
// visible to the receiver's reads by the time the delivery arrives.
func (s *Server) webhookLocked(bookingID int64) {
	if s.webhookURL == "" {
		return
	}
	select {
	case s.webhooks <- webhookDelivery{url: s.webhookURL, id: bookingID}:
	default:
		s.stats.WebhookFailures++
	}
}

func (s *Server) deliverWebhooks() {
	defer s.webhookDone.Done()
	for {
		select {
		case <-s.closing:
			return
		case d := <-s.webhooks:
			if s.webhookCtx.Err() != nil {
				return // closing: select picks at random between ready cases
			}
			ok := s.postWebhook(d)
			s.mu.Lock()
			if ok {
				s.stats.WebhookDeliveries++
			} else {
				s.stats.WebhookFailures++
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) postWebhook(d webhookDelivery) bool {
	body := `{"data":{"booking_ids":[` + strconv.FormatInt(d.id, 10) + `]}}`
	req, err := http.NewRequestWithContext(s.webhookCtx, http.MethodPost, d.url, bytes.NewBufferString(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.webhookClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // lets the connection be reused
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
