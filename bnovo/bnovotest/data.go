package bnovotest

import (
	"slices"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

// Status ids and names of the modeled status set.
const (
	StatusNew        int64 = 1
	StatusCancelled  int64 = 2
	StatusConfirmed  int64 = 3
	StatusCheckedIn  int64 = 4
	StatusCheckedOut int64 = 5
	StatusNoShow     int64 = 6
)

// StatusNames maps the modeled status ids to their names.
var StatusNames = map[int64]string{
	StatusNew:        "Новое",
	StatusCancelled:  "Отменен",
	StatusConfirmed:  "Подтверждено",
	StatusCheckedIn:  "Заселен",
	StatusCheckedOut: "Выехал",
	StatusNoShow:     "Незаезд",
}

// PutBooking inserts or replaces a booking (its payments are kept). A zero UpdateDate becomes now.
func (s *Server) PutBooking(b bnovo.Booking) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.UpdateDate.IsZero() {
		b.UpdateDate = s.stamp()
	}
	for _, t := range []*time.Time{&b.CreateDate, &b.UpdateDate, &b.Arrival, &b.Departure, &b.CancelDate} {
		*t = t.Truncate(time.Second)
	}
	s.bookings[b.ID] = &record{booking: copyBooking(b)}
	s.webhookLocked(b.ID)
}

// stamp is the time of a change as Bnovo records it: whole seconds, so what the server holds
// is exactly what the wire shows.
func (s *Server) stamp() time.Time { return s.opts.Now().Truncate(time.Second) }

// PutRawBooking stores a record served as is (JSON whitespace aside): in every listing, whatever
// its filter, at id's place in the id order, and as the data of GET /bookings/{id}. raw should
// be valid JSON (a malformed booking, not a malformed page); text that is not JSON is served as
// a JSON string so the page around it stays readable.
func (s *Server) PutRawBooking(id int64, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bookings[id] = &record{raw: raw}
	s.webhookLocked(id)
}

// AddPayment stores a payment or refund, assigning its id; a zero Date becomes now. The
// booking's update_date moves to now, as any change does in Bnovo.
func (s *Server) AddPayment(p bnovo.Payment) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPaymentID++
	p.ID = s.nextPaymentID
	now := s.stamp()
	if p.Date.IsZero() {
		p.Date = now
	}
	p.Date = p.Date.Truncate(time.Second)
	s.payments[p.BookingID] = append(s.payments[p.BookingID], p)
	if rec, ok := s.bookings[p.BookingID]; ok && rec.raw == "" {
		rec.booking.UpdateDate = now
		s.webhookLocked(p.BookingID)
	}
	return p.ID
}

// SetStatus changes a booking's status and moves its update_date to now; the status named
// "Отменен" also sets cancel_date to now. Unknown bookings are ignored.
func (s *Server) SetStatus(bookingID, statusID int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.bookings[bookingID]
	if !ok || rec.raw != "" {
		return
	}
	now := s.stamp()
	rec.booking.StatusID, rec.booking.StatusName = statusID, name
	rec.booking.UpdateDate = now
	if name == StatusNames[StatusCancelled] {
		rec.booking.CancelDate = now
	}
	s.webhookLocked(bookingID)
}

// Booking returns a copy of a stored booking; false for unknown ids and raw records.
func (s *Server) Booking(id int64) (bnovo.Booking, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.bookings[id]
	if !ok || rec.raw != "" {
		return bnovo.Booking{}, false
	}
	return copyBooking(rec.booking), true
}

// Payments returns a copy of a booking's payments in the order they were added.
func (s *Server) Payments(bookingID int64) []bnovo.Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.payments[bookingID])
}

// Guests returns a booking's guest records as GET .../guests serves them: the main guest (the
// customer, with the customer's id and notes) first; none when the booking has no customer.
func (s *Server) Guests(bookingID int64) []bnovo.Guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.bookings[bookingID]
	if !ok || rec.raw != "" {
		return nil
	}
	return guestsOf(rec.booking)
}

// BookingIDs returns the ids of all stored records, raw ones included, in ascending order.
func (s *Server) BookingIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedIDsLocked()
}

func (s *Server) sortedIDsLocked() []int64 {
	ids := make([]int64, 0, len(s.bookings))
	for id := range s.bookings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func guestsOf(b bnovo.Booking) []bnovo.Guest {
	c := b.Customer
	if c == nil {
		return nil
	}
	return []bnovo.Guest{{ID: c.ID, Name: c.Name, Surname: c.Surname, Phone: c.Phone, Email: c.Email, Notes: c.Notes}}
}

// copyBooking copies the customer too, so callers never share memory with the server.
func copyBooking(b bnovo.Booking) bnovo.Booking {
	if b.Customer != nil {
		c := *b.Customer
		b.Customer = &c
	}
	return b
}
