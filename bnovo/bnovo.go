// Package bnovo is a client for the Bnovo PMS API (v1 paths). It knows nothing of ProBonus.
//
// Every wire detail (paths, JSON shapes, timestamp and money formats) lives in wire.go, so the
// vendor's real OpenAPI document can replace our modeled shapes in one place. The rest of the
// package speaks in domain types: integer kopecks and time.Time.
package bnovo

import (
	"context"
	"time"
)

// DataType selects which date a bookings listing's range applies to.
type DataType string

const (
	ByCreated    DataType = "new"
	ByChanged    DataType = "changed"
	ByStay       DataType = "checkmate"
	ByArrival    DataType = "checkedIn"
	ByDeparture  DataType = "checkedOut"
	ByCancelDate DataType = "cancelled"
)

// Booking is one booking as syncd needs it. Money is integer kopecks.
type Booking struct {
	ID         int64
	Number     string
	StatusID   int64
	StatusName string
	SourceID   int64
	SourceName string
	Customer   *Customer // nil when the booking has no customer
	CreateDate time.Time
	UpdateDate time.Time
	Arrival    time.Time
	Departure  time.Time
	CancelDate time.Time // zero when not cancelled
	Amount     int64     // kopecks
	// PaymentsTotal is what Bnovo states the booking's payments add up to, beside the booking:
	// a check on a payments answer that would take bonuses away (see sync).
	PaymentsTotal PaymentsTotal
}

// PaymentsTotal is a booking's stated Σ in − Σ out of all its payments (every payment type), in
// kopecks; negative when refunds exceed payments. The single-booking answer carries it; a
// listing's bookings do not.
type PaymentsTotal struct {
	Kopecks int64
	Shown   bool // false: the answer carried no total (absent or null); Kopecks is then 0
	// Unreadable says why a total that was there could not be read (not an amount, beyond
	// MaxAmount); Shown is false then. The booking itself stays readable: only a check that
	// needs the total must refuse.
	Unreadable string
}

// Customer is the booking's main guest.
type Customer struct {
	ID      int64
	Name    string
	Surname string
	Phone   string // free text as typed by guests or staff
	Email   string
	Notes   string
}

// Payment is one payment or refund of a booking.
type Payment struct {
	ID              int64
	BookingID       int64
	Type            string // "in" or "out"
	Amount          int64  // kopecks, always positive
	PaymentTypeID   int64
	PaymentTypeName string
	Date            time.Time
	// CreateDate is when the payment was recorded in Bnovo (zero when the answer lacks it);
	// Date, the payment's own date, may be set back by staff.
	CreateDate time.Time
}

const (
	PaymentIn  = "in"
	PaymentOut = "out"
)

// Guest is a guest record of a booking.
type Guest struct {
	ID      int64
	Name    string
	Surname string
	Phone   string
	Email   string
	Notes   string
	// NotesShown is false when the answer carried no notes key at all: Notes is then unknown,
	// not empty.
	NotesShown bool
}

// ListQuery is a bookings listing: bookings whose DataType date lies in [From, To], both
// inclusive, compared as calendar dates (only the date part of From and To is sent).
type ListQuery struct {
	DataType DataType
	From, To time.Time
	// ResumeTotal is meta.total as it stood when a listing resumed at a saved offset was left
	// (0 = unknown). A different total now means offsets shifted meanwhile, which could skip
	// bookings before the offset: the listing then restarts from offset 0.
	ResumeTotal int
}

// Page is one page of a listing as delivered to the caller. Bookings holds the readable bookings
// not yet delivered earlier in the same listing; Bad holds the records of the page that could not
// be decoded (the rest of the page is still delivered).
type Page struct {
	Offset   int // offset this page was requested at
	Next     int // offset of the next page (Offset + records on the page; 0 when the listing restarts)
	Total    int // meta.total as reported with this page
	Bookings []Booking
	Bad      []BadRecord
}

// BadRecord is a booking of a page that could not be decoded.
type BadRecord struct {
	ID       int64 // 0 when even the id is unreadable
	Position int   // 0-based position in the listing (offset + index in page)
	Err      error
}

// Limiter admits a call before it is sent. auth is true for the login call, which has its own
// limit. Wait blocks until the call may be sent or ctx ends. Block admits no call of that kind
// before until: Bnovo answered 429 with a Retry-After, and every caller sharing the budget must
// wait, not only the one that got the answer.
type Limiter interface {
	Wait(ctx context.Context, auth bool) error
	Block(auth bool, until time.Time)
}

// TokenStore persists the access token across restarts so a restart does not log in again.
type TokenStore interface {
	LoadToken() (token string, expires time.Time, err error)
	SaveToken(token string, expires time.Time) error
}
