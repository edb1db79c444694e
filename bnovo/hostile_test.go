package bnovo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/retry"
)

// roomyLimits keeps retries of a hostile answer clear of the simulator's rate limits.
var roomyLimits = bnovotest.Options{
	Windows:    []bnovotest.Window{{Limit: 100000, Per: time.Second}},
	AuthWindow: bnovotest.Window{Limit: 100000, Per: time.Second},
}

var hostileAnswers = map[string]hostile.Answer{
	"wrong shape":   hostile.WrongShape,
	"success false": hostile.SuccessFalse,
	"HTML page":     hostile.HTMLPage,
	"{}":            hostile.EmptyObject,
	"empty data":    hostile.EmptyData,
}

// endpointCalls makes one call to each endpoint of a booking that has one payment and a guest.
var endpointCalls = map[string]func(context.Context, *bnovo.Client) error{
	bnovotest.EndpointList: func(ctx context.Context, c *bnovo.Client) error {
		return c.ListBookings(ctx, june, 0, func(bnovo.Page) error { return nil })
	},
	bnovotest.EndpointBooking: func(ctx context.Context, c *bnovo.Client) error {
		_, err := c.Booking(ctx, 100)
		return err
	},
	bnovotest.EndpointPayments: func(ctx context.Context, c *bnovo.Client) error {
		_, err := c.Payments(ctx, 100)
		return err
	},
	bnovotest.EndpointGuests: func(ctx context.Context, c *bnovo.Client) error {
		_, err := c.Guests(ctx, 100)
		return err
	},
	bnovotest.EndpointUpdateGuest: func(ctx context.Context, c *bnovo.Client) error {
		_, err := c.UpdateGuest(ctx, 100, 1100, "x")
		return err
	},
	bnovotest.EndpointAuth: func(ctx context.Context, c *bnovo.Client) error {
		_, err := c.Booking(ctx, 100) // the first call logs in
		return err
	},
}

// A 200 that is not the documented answer is a Transient failure of the call on every endpoint,
// never an empty result, a bad record or refused credentials.
func TestHostileAnswersAreTransientErrors(t *testing.T) {
	for endpoint, call := range endpointCalls {
		for name, answer := range hostileAnswers {
			t.Run(endpoint+"/"+name, func(t *testing.T) {
				t.Parallel() // its own simulator and client; the time is the retries' waits
				srv := newServer(t, roomyLimits)
				putStays(srv, 100, 1, june24)
				srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: 100000, Date: june24})
				c := newClient(t, srv, func(cfg *bnovo.Config) {
					cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 50 * time.Millisecond}
				})
				srv.HostileNext(endpoint, 1000, answer)
				err := call(t.Context(), c)
				if err == nil {
					t.Fatal("a hostile answer was taken for a success")
				}
				if bnovo.KindOf(err) != bnovo.Transient || !errors.Is(err, bnovo.ErrUnexpectedAnswer) {
					t.Fatalf("got %v (kind %v), want a Transient error wrapping ErrUnexpectedAnswer", err, bnovo.KindOf(err))
				}
			})
		}
	}
}

// Payments answered once with a hostile 200 and then properly: the client retries and returns
// the real payments, never an empty list.
func TestPaymentsAfterAHostileAnswerAreTheRealOnes(t *testing.T) {
	for name, answer := range hostileAnswers {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, bnovotest.Options{})
			putStays(srv, 100, 1, june24)
			srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: 100000, Date: june24})
			c := newClient(t, srv, nil)
			srv.HostileNext(bnovotest.EndpointPayments, 1, answer)
			payments, err := c.Payments(t.Context(), 100)
			if err != nil || len(payments) != 1 || payments[0].Amount != 100000 {
				t.Fatalf("Payments = %+v, %v; want the one real payment", payments, err)
			}
		})
	}
}

// A redirect to another origin is refused on every endpoint, the login included (a 307 would
// carry the API key in its body): nothing reaches the other host, and the refusal is not
// retried against a server that would only redirect again.
func TestRedirectToAnotherOriginIsRefusedAndNothingLeaves(t *testing.T) {
	for endpoint, call := range endpointCalls {
		t.Run(endpoint, func(t *testing.T) {
			srv := newServer(t, bnovotest.Options{})
			putStays(srv, 100, 1, june24)
			c := newClient(t, srv, nil)
			if endpoint != bnovotest.EndpointAuth {
				if _, err := c.Guests(t.Context(), 100); err != nil { // log in first
					t.Fatal(err)
				}
			}
			before := c.Calls()
			srv.HostileNext(endpoint, 1, hostile.Redirect)
			err := call(t.Context(), c)
			if got := srv.Captured(); len(got) != 0 {
				t.Fatalf("%d requests reached the other origin, the first %s %s (Authorization sent: %v, body bytes: %d)",
					len(got), got[0].Method, got[0].Path, got[0].Header.Get("Authorization") != "", len(got[0].Body))
			}
			if err == nil || bnovo.KindOf(err) != bnovo.Transient || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("got %v, want a Transient error naming the refused redirect", err)
			}
			if calls := c.Calls() - before; calls != 1 {
				t.Fatalf("%d calls, want 1: a refused redirect is not retried", calls)
			}
		})
	}
}

// A payment amount that is not a sane, non-negative decimal makes the payments call fail as a
// bad record (Permanent: the booking is parked with the reason), never a payment of that amount.
func TestPaymentAmountsOutOfBoundsAreRefused(t *testing.T) {
	for _, raw := range []string{`-5`, `"-5.00"`, `"NaN"`, `"Infinity"`, `1e400`, `"12 500"`, `100000001`, `"92233720368547758.07"`, `null`, `true`} {
		t.Run(raw, func(t *testing.T) {
			srv := newServer(t, bnovotest.Options{})
			putStays(srv, 100, 1, june24)
			id := srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: 100000, Date: june24})
			srv.SetRawAmount(id, raw)
			c := newClient(t, srv, nil)
			payments, err := c.Payments(t.Context(), 100)
			if err == nil {
				t.Fatalf("amount %s decoded as %+v", raw, payments)
			}
			if bnovo.KindOf(err) != bnovo.Permanent || errors.Is(err, bnovo.ErrUnexpectedAnswer) {
				t.Fatalf("amount %s: %v, want a Permanent bad-record error", raw, err)
			}
		})
	}
}

// The largest sane amount still decodes exactly.
func TestPaymentAmountAtTheBoundDecodes(t *testing.T) {
	srv := newServer(t, bnovotest.Options{})
	putStays(srv, 100, 1, june24)
	srv.AddPayment(bnovo.Payment{BookingID: 100, Type: bnovo.PaymentIn, Amount: bnovo.MaxAmount, Date: june24})
	c := newClient(t, srv, nil)
	payments, err := c.Payments(t.Context(), 100)
	if err != nil || len(payments) != 1 || payments[0].Amount != bnovo.MaxAmount {
		t.Fatalf("Payments = %+v, %v", payments, err)
	}
}

// A 404 that is a proxy's page, not Bnovo's {"message": ...}, is not "not found": it says
// nothing about the booking, so it is Transient.
func TestProxyNotFoundPageIsNotNotFound(t *testing.T) {
	srv := newServer(t, roomyLimits)
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, func(cfg *bnovo.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	for endpoint, call := range endpointCalls {
		if endpoint == bnovotest.EndpointAuth {
			continue // a login's 404 is refused credentials, whatever its body
		}
		srv.HostileNext(endpoint, 100000, hostile.NotFoundPage)
		err := call(t.Context(), c)
		srv.HostileNext(endpoint, 0, 0)
		if err == nil || bnovo.IsNotFound(err) || bnovo.KindOf(err) != bnovo.Transient {
			t.Fatalf("%s answered a proxy's 404 page: %v, want Transient and not IsNotFound", endpoint, err)
		}
	}
	if _, err := c.Booking(t.Context(), 999); !bnovo.IsNotFound(err) {
		t.Fatalf("Bnovo's own 404: %v, want IsNotFound", err)
	}
}

// A 403 that is a firewall's page, not Bnovo's {"message": ...}, is not the read-only account
// refusing writes (which turns write-back off for the process): it is a refusal of that request.
func TestFirewallForbiddenPageIsNotAReadOnlyAccount(t *testing.T) {
	srv := newServer(t, roomyLimits)
	putStays(srv, 100, 1, june24)
	c := newClient(t, srv, nil)
	srv.HostileNext(bnovotest.EndpointUpdateGuest, 1, hostile.ForbiddenPage)
	_, err := c.UpdateGuest(t.Context(), 100, 1100, "x")
	if err == nil || bnovo.IsForbidden(err) || bnovo.KindOf(err) != bnovo.Permanent {
		t.Fatalf("a firewall's 403 page: %v (kind %v), want Permanent and not IsForbidden", err, bnovo.KindOf(err))
	}
	readOnly := newServer(t, bnovotest.Options{ReadOnly: true})
	putStays(readOnly, 100, 1, june24)
	if _, err := newClient(t, readOnly, nil).UpdateGuest(t.Context(), 100, 1100, "x"); !bnovo.IsForbidden(err) {
		t.Fatalf("Bnovo's own 403: %v, want IsForbidden", err)
	}
}
