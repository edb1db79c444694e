package sync

import (
	"context"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
)

// dryLedger reads ProBonus for real and pretends every write succeeded, so a dry run computes
// and logs exactly what a real run would do while posting nothing.
type dryLedger struct{ Ledger }

// dryAccountID stands for an account a dry run would have created.
const dryAccountID int64 = 1<<62 - 1

func (d dryLedger) CreateAccount(_ context.Context, a probonus.NewAccount) (probonus.Account, error) {
	return probonus.Account{ID: dryAccountID, FirstName: a.FirstName, LastName: a.LastName, Email: a.Email, Phones: a.Phones, AccountGroupID: a.AccountGroupID}, nil
}

func (d dryLedger) Deposit(_ context.Context, account, sum int64, reason string) (probonus.Operation, error) {
	return probonus.Operation{AccountID: account, Type: probonus.OpDeposit, Sum: sum, Reason: reason}, nil
}

func (d dryLedger) Withdraw(_ context.Context, account, sum int64, reason string) (probonus.Operation, error) {
	return probonus.Operation{AccountID: account, Type: probonus.OpWithdraw, Sum: sum, Reason: reason}, nil
}

func (d dryLedger) Account(ctx context.Context, id int64) (probonus.Account, error) {
	if id == dryAccountID {
		return probonus.Account{ID: id}, nil
	}
	return d.Ledger.Account(ctx, id)
}

// dryPMS writes nothing to Bnovo.
type dryPMS struct{ PMS }

func (d dryPMS) UpdateGuest(_ context.Context, _, guestID int64, notes string) (bnovo.Guest, error) {
	return bnovo.Guest{ID: guestID, Notes: notes, NotesShown: true}, nil
}
