// Package probonus is a client for the ProBonus (Carbis) loyalty API, /api/v0 paths. It knows
// nothing of Bnovo.
//
// Every wire detail (paths, JSON shapes, the money unit, the token header) lives in wire.go so
// the vendor's real /openapi.json can replace our modeled shapes in one place. Sums are integer
// kopecks throughout.
package probonus

import "time"

// Identifier type ids of the modeled directory (GET /identifier_types/list).
const (
	IdentifierCard  int64 = 1
	IdentifierPhone int64 = 2
	IdentifierEmail int64 = 3
)

// Account is one loyalty member.
type Account struct {
	ID                int64
	FirstName         string
	LastName          string
	MiddleName        string
	Email             string
	Phones            []string
	AccountGroupID    int64
	Identifiers       []Identifier
	Balance           int64 // kopecks
	DiscountLevelName string
	Blocked           bool
}

// Card returns the account's first card-type identifier, or "" when it has none.
func (a Account) Card() string {
	for _, id := range a.Identifiers {
		if id.TypeID == IdentifierCard {
			return id.Value
		}
	}
	return ""
}

// Identifier is an identifier held by an account.
type Identifier struct {
	TypeID int64
	Value  string
}

// NewAccount is what CreateAccount sends.
type NewAccount struct {
	FirstName      string
	LastName       string
	MiddleName     string
	Email          string
	Phones         []string
	AccountGroupID int64
	Identifiers    []Identifier
}

// Operation is a deposit or withdrawal.
type Operation struct {
	ID        int64
	AccountID int64
	Type      string // OpDeposit or OpWithdraw
	Sum       int64  // kopecks, positive
	Reason    string
	CreatedAt time.Time
	Balance   int64 // balance after the operation, kopecks
}

const (
	OpDeposit  = "deposit"
	OpWithdraw = "withdraw"
)
