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
	s.changedLocked(b.ID)
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
	s.changedLocked(id)
}

// AddPayment stores a payment or refund, assigning its id; a zero Date or CreateDate becomes
// now. The booking's update_date moves to now, as any change does in Bnovo.
func (s *Server) AddPayment(p bnovo.Payment) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPaymentID++
	p.ID = s.nextPaymentID
	now := s.stamp()
	if p.Date.IsZero() {
		p.Date = now
	}
	if p.CreateDate.IsZero() {
		p.CreateDate = now
	}
	p.Date = p.Date.Truncate(time.Second)
	p.CreateDate = p.CreateDate.Truncate(time.Second)
	s.payments[p.BookingID] = append(s.payments[p.BookingID], p)
	if rec, ok := s.bookings[p.BookingID]; ok && rec.raw == "" {
		rec.booking.UpdateDate = now
		s.changedLocked(p.BookingID)
	}
	return p.ID
}

// DeletePayment removes a payment, as staff deleting one entered by mistake; the booking's
// update_date moves to now. It reports whether the payment existed.
func (s *Server) DeletePayment(bookingID, paymentID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.payments[bookingID]
	for i, p := range list {
		if p.ID != paymentID {
			continue
		}
		s.payments[bookingID] = append(list[:i:i], list[i+1:]...)
		if rec, ok := s.bookings[bookingID]; ok && rec.raw == "" {
			rec.booking.UpdateDate = s.stamp()
			s.changedLocked(bookingID)
		}
		return true
	}
	return false
}

// SetRawAmount makes a stored payment's amount go out verbatim as raw (JSON, or any other text as
// a JSON string): "NaN", "1e400", "-5", "12 500", an amount beyond any stay. The booking's
// update_date moves to now.
func (s *Server) SetRawAmount(paymentID int64, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rawAmounts == nil {
		s.rawAmounts = make(map[int64]string)
	}
	s.rawAmounts[paymentID] = raw
	for bookingID, list := range s.payments {
		for _, p := range list {
			if p.ID != paymentID {
				continue
			}
			if rec, ok := s.bookings[bookingID]; ok && rec.raw == "" {
				rec.booking.UpdateDate = s.stamp()
				s.changedLocked(bookingID)
			}
		}
	}
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
	s.changedLocked(bookingID)
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
// customer, with the customer's id and notes) first, then its companions (see AddCompanion);
// none when the booking has no customer.
func (s *Server) Guests(bookingID int64) []bnovo.Guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.bookings[bookingID]
	if !ok || rec.raw != "" {
		return nil
	}
	return s.guestsLocked(rec.booking)
}

// companions are a booking's other guests (a second adult in the room), and whether the answer
// lists them before the main guest.
type companions struct {
	guests []bnovo.Guest
	first  bool
}

// AddCompanion adds another guest record to a booking (a second guest in the room), listed by
// GET .../guests after the main guest, or before it when first is set (the order is not
// guaranteed by the contract); a PUT to its id writes its own fields. The booking's update_date
// is left alone.
func (s *Server) AddCompanion(bookingID int64, g bnovo.Guest, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.companions == nil {
		s.companions = make(map[int64]companions)
	}
	c := s.companions[bookingID]
	c.guests = append(c.guests, g)
	c.first = c.first || first
	s.companions[bookingID] = c
}

// guestsLocked lists a booking's guest records as served: the main guest and its companions.
func (s *Server) guestsLocked(b bnovo.Booking) []bnovo.Guest {
	main := guestsOf(b)
	c, ok := s.companions[b.ID]
	if !ok || len(main) == 0 {
		return main
	}
	if c.first {
		return append(slices.Clone(c.guests), main...)
	}
	return append(main, c.guests...)
}

// BookingIDs returns the ids of all stored records, raw ones included, in ascending order.
func (s *Server) BookingIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sortedIDsLocked()) // the cache is the server's own
}

// sortedIDsLocked returns every stored id, ascending. The result is cached and must not be
// modified; records are never removed, so a cache as long as the map holds the same ids.
func (s *Server) sortedIDsLocked() []int64 {
	if len(s.sortedCache) == len(s.bookings) {
		return s.sortedCache
	}
	ids := make([]int64, 0, len(s.bookings))
	for id := range s.bookings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s.sortedCache = ids
	return ids
}

// listKey names one listing filter, whose matching ids handleList caches.
type listKey struct {
	dataType bnovo.DataType
	window   dateRange
}

// maxCachedListings bounds the listing cache: every cycle lists with new dates.
const maxCachedListings = 16

// listingLocked returns the ids, ascending, of the records a listing with this filter holds:
// every raw record and every booking that matches. The result is cached (so paging through a
// big hotel costs one scan, not one per page) and must not be modified.
func (s *Server) listingLocked(key listKey) []int64 {
	if ids, ok := s.listings[key]; ok {
		return ids
	}
	var ids []int64
	for _, id := range s.sortedIDsLocked() {
		if s.inListingLocked(id, key) {
			ids = append(ids, id)
		}
	}
	if s.listings == nil || len(s.listings) >= maxCachedListings {
		s.listings = make(map[listKey][]int64)
	}
	s.listings[key] = ids
	return ids
}

func (s *Server) inListingLocked(id int64, key listKey) bool {
	rec, ok := s.bookings[id]
	if !ok || rec.raw != "" {
		return ok
	}
	if rec.days == nil {
		// Formatting dates in the hotel's zone is most of a listing's cost: once per change.
		rec.days = s.daysOf(rec.booking)
	}
	return matches(rec.days, key.dataType, key.window)
}

// changedLocked follows a change of one record: the cached listings are corrected for it (a
// fresh slice each time, since handlers may still hold the old one after unlocking) and the
// webhook, if any, is queued.
func (s *Server) changedLocked(id int64) {
	if rec, ok := s.bookings[id]; ok {
		rec.days = nil
	}
	for key, ids := range s.listings {
		i, listed := slices.BinarySearch(ids, id)
		switch in := s.inListingLocked(id, key); {
		case in && !listed:
			s.listings[key] = slices.Insert(slices.Clip(ids), i, id)
		case !in && listed:
			s.listings[key] = slices.Delete(slices.Clone(ids), i, i+1)
		}
	}
	s.webhookLocked(id)
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
