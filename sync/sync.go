// Package sync is the only place that knows both Bnovo and ProBonus. It turns Bnovo bookings into
// ProBonus operations so that, for every booking, what syncd has posted equals what the booking
// earns (spec §1), exactly once across crashes, timeouts and restarts (spec §4).
//
// The exactly-once protocol: an operation is journaled (state "intended", with its marker) in a
// committed bbolt transaction before it is sent. Its outcome is recorded after. An operation whose
// outcome is unclear is never sent again blindly: the account's operations are read and searched
// for the marker, and the operation is declared "not posted" only once the ProBonus request
// timeout plus a margin has passed since it could have been sent.
package sync

import (
	"context"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
)

// PMS is what syncd needs from Bnovo; *bnovo.Client implements it.
type PMS interface {
	ListBookings(ctx context.Context, q bnovo.ListQuery, startOffset int, fn func(bnovo.Page) error) error
	Booking(ctx context.Context, id int64) (bnovo.Booking, error)
	Payments(ctx context.Context, bookingID int64) ([]bnovo.Payment, error)
	Guests(ctx context.Context, bookingID int64) ([]bnovo.Guest, error)
	UpdateGuest(ctx context.Context, bookingID, guestID int64, notes string) (bnovo.Guest, error)
}

// Ledger is what syncd needs from ProBonus; *probonus.Client implements it.
type Ledger interface {
	FindAccount(ctx context.Context, identifier string) (probonus.Account, error)
	CreateAccount(ctx context.Context, a probonus.NewAccount) (probonus.Account, error)
	Account(ctx context.Context, id int64) (probonus.Account, error)
	Operations(ctx context.Context, accountID int64, offset, limit int) ([]probonus.Operation, int, error)
	Deposit(ctx context.Context, accountID, sum int64, reason string) (probonus.Operation, error)
	Withdraw(ctx context.Context, accountID, sum int64, reason string) (probonus.Operation, error)
}
