package sync

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/deadport"
	"github.com/hotelsync/syncd/probonus"
)

// A guest with nothing to match on is parked with a line that says so, not as a failure of
// matching.
func TestGuestWithoutContactsParkedInPlainWords(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, func(o *Options) { o.Logger = zerolog.New(zerolog.SyncWriter(&logs)) })
	id := h.checkedOut("not a phone", "", "Стойка")
	h.pay(id, bnovo.PaymentIn, 1000000, "Наличные")
	h.cycle()
	text := logs.String()
	if !strings.Contains(text, `"message":"the guest has no usable phone or e-mail: parked; fix the guest in Bnovo, the booking is retried when it changes"`) ||
		strings.Contains(text, "failed") {
		t.Errorf("log:\n%s", text)
	}
	if reason := h.parked()["booking:"+itoa(id)]; !strings.Contains(reason, "no usable phone or e-mail") {
		t.Errorf("park reason %q", reason)
	}
}

// An unreachable ProBonus ends the run with one error naming probonus.base_url; the bookings
// stay queued and are credited once it is back.
func TestUnreachableProBonusEndsTheRun(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		// Not the simulator closed: its port could be taken by another test's server at once.
		dead, err := probonus.New(probonus.Config{BaseURL: deadport.Origin(t), Token: "test-token", Retry: fastRetry, RequestTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		o.Ledger = dead
	})
	id := h.checkedOut("+7 916 123-45-67", "", "Стойка")
	h.pay(id, bnovo.PaymentIn, 1000000, "Наличные")
	_, err := h.eng.Cycle(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Key != "probonus.base_url" || !strings.Contains(err.Error(), "ProBonus is unreachable (check probonus.base_url") {
		t.Fatalf("cycle: %v, want an UnreachableError naming probonus.base_url", err)
	}
	if len(h.parked()) != 0 {
		t.Errorf("parked on an outage: %v", h.parked())
	}
}
