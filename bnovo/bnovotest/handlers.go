package bnovotest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hotelsync/syncd/bnovo"
)

// defaultPageSize is what the modeled server uses when a listing sends no limit.
const defaultPageSize = 20

func (s *Server) routes() *http.ServeMux {
	p := bnovo.APIPrefix
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+p+"/auth", s.handleAuth)
	mux.HandleFunc("GET "+p+"/bookings", s.handleList)
	mux.HandleFunc("GET "+p+"/bookings/{id}", s.handleBooking)
	mux.HandleFunc("GET "+p+"/bookings/{id}/payments", s.handlePayments)
	mux.HandleFunc("GET "+p+"/bookings/{id}/guests", s.handleGuests)
	mux.HandleFunc("PUT "+p+"/bookings/{id}/guests/{guestID}", s.handleUpdateGuest)
	return mux
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID       json.RawMessage `json:"id"`
		Password string          `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.", map[string]string{"body": "invalid JSON"})
		return
	}
	// The id must be a JSON integer: a quoted or fractional id is a validation failure.
	id, err := strconv.ParseInt(string(bytes.TrimSpace(body.ID)), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.", map[string]string{"id": "The id must be an integer."})
		return
	}
	if id != s.opts.AccountID || body.Password != s.opts.APIKey {
		writeError(w, http.StatusNotFound, "Account not found.", nil)
		return
	}
	token, ttl := s.issueToken()
	writeData(w, map[string]any{
		"access_token": token,
		"token_type":   "bearer",
		"expires_in":   int64(ttl / time.Second),
	})
}

var listParams = map[string]bool{"date_from": true, "date_to": true, "data_type": true, "limit": true, "offset": true}

var dataTypes = map[bnovo.DataType]bool{
	bnovo.ByCreated: true, bnovo.ByChanged: true, bnovo.ByStay: true,
	bnovo.ByArrival: true, bnovo.ByDeparture: true, bnovo.ByCancelDate: true,
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	invalid := map[string]string{}
	for name := range q {
		if !listParams[name] {
			invalid[name] = "Unsupported parameter."
		}
	}
	from, errFrom := time.Parse(bnovo.DateLayout, q.Get("date_from"))
	if errFrom != nil {
		invalid["date_from"] = "The date_from must be a date in the format Y-m-d."
	}
	to, errTo := time.Parse(bnovo.DateLayout, q.Get("date_to"))
	if errTo != nil {
		invalid["date_to"] = "The date_to must be a date in the format Y-m-d."
	}
	dataType := bnovo.DataType(q.Get("data_type"))
	if dataType == "" {
		dataType = bnovo.ByCreated
	}
	if !dataTypes[dataType] {
		invalid["data_type"] = "The selected data_type is invalid."
	}
	limit, offset := defaultPageSize, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			invalid["limit"] = "The limit must be a positive integer."
		case n > s.opts.MaxPageSize:
			invalid["limit"] = "The limit may not be greater than " + strconv.Itoa(s.opts.MaxPageSize) + "."
		default:
			limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			invalid["offset"] = "The offset must be a non-negative integer."
		} else {
			offset = n
		}
	}
	if len(invalid) > 0 {
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.", invalid)
		return
	}
	window := dateRange{from: from.Format(bnovo.DateLayout), to: to.Format(bnovo.DateLayout)}

	s.mu.Lock()
	matching := s.listingLocked(listKey{dataType: dataType, window: window})
	total := len(matching)
	page := make([]json.RawMessage, 0, min(limit, max(total-offset, 0)))
	for _, id := range matching[min(offset, total):min(offset+limit, total)] {
		rec := s.bookings[id]
		if rec.raw != "" {
			page = append(page, rawJSON(rec.raw))
		} else {
			page = append(page, s.bookingJSON(rec.booking, false))
		}
	}
	s.mu.Unlock()

	writeData(w, map[string]any{
		"bookings": page,
		"meta":     map[string]int{"total": total, "limit": limit, "offset": offset},
	})
}

// dateRange is an inclusive range of calendar dates as YYYY-MM-DD, which compare as strings.
type dateRange struct{ from, to string }

func (d dateRange) has(day string) bool { return day != "" && d.from <= day && day <= d.to }

// day is t's calendar date in the hotel's zone; "" for the zero time.
func (s *Server) day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.opts.Location).Format(bnovo.DateLayout)
}

// bookingDays are a booking's dates as listings filter on them (see day).
type bookingDays struct{ created, updated, arrival, departure, cancelled string }

func (s *Server) daysOf(b bnovo.Booking) *bookingDays {
	return &bookingDays{
		created: s.day(b.CreateDate), updated: s.day(b.UpdateDate), arrival: s.day(b.Arrival),
		departure: s.day(b.Departure), cancelled: s.day(b.CancelDate),
	}
}

func matches(d *bookingDays, dataType bnovo.DataType, window dateRange) bool {
	switch dataType {
	case bnovo.ByChanged:
		return window.has(d.updated)
	case bnovo.ByStay:
		return d.arrival != "" && d.departure != "" && d.arrival <= window.to && d.departure >= window.from
	case bnovo.ByArrival:
		return window.has(d.arrival)
	case bnovo.ByDeparture:
		return window.has(d.departure)
	case bnovo.ByCancelDate:
		return window.has(d.cancelled)
	default:
		return window.has(d.created)
	}
}

func (s *Server) handleBooking(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s.mu.Lock()
	rec, found := s.bookings[id]
	var body json.RawMessage
	if found {
		if rec.raw != "" {
			body = rawJSON(rec.raw)
		} else {
			body = s.bookingJSON(rec.booking, !s.noTotals)
		}
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Booking not found.", nil)
		return
	}
	writeData(w, body)
}

func (s *Server) handlePayments(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s.mu.Lock()
	_, found := s.bookings[id]
	listed := s.listedPaymentsLocked(id)
	list := make([]wirePayment, 0, len(listed))
	for _, p := range listed {
		list = append(list, s.paymentJSON(p))
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Booking not found.", nil)
		return
	}
	writeData(w, map[string]any{"payments": list})
}

func (s *Server) handleGuests(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s.mu.Lock()
	rec, found := s.bookings[id]
	var guests []bnovo.Guest
	if found && rec.raw == "" {
		guests = s.guestsLocked(rec.booking)
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Booking not found.", nil)
		return
	}
	list := make([]wireGuest, 0, len(guests))
	for _, g := range guests {
		list = append(list, guestJSON(g))
	}
	writeData(w, map[string]any{"guests": list})
}

func (s *Server) handleUpdateGuest(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		writeError(w, http.StatusForbidden, "This action is not available for your API plan.", nil)
		return
	}
	bookingID, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	guestID, ok := pathID(w, r, "guestID")
	if !ok {
		return
	}
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&fields); err != nil {
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.", map[string]string{"body": "invalid JSON object"})
		return
	}
	changes := map[string]string{}
	invalid := map[string]string{}
	for name, raw := range fields {
		var v string
		switch {
		case !guestFields[name]:
			invalid[name] = "Unsupported field."
		case json.Unmarshal(raw, &v) != nil:
			invalid[name] = "The " + name + " must be a string."
		default:
			changes[name] = v
		}
	}
	if len(invalid) > 0 {
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.", invalid)
		return
	}

	s.mu.Lock()
	rec, found := s.bookings[bookingID]
	if found && rec.raw == "" && rec.booking.Customer != nil && rec.booking.Customer.ID != guestID {
		if s.updateCompanionLocked(w, bookingID, guestID, changes) {
			return
		}
	}
	if !found || rec.raw != "" || rec.booking.Customer == nil || rec.booking.Customer.ID != guestID {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Guest not found.", nil)
		return
	}
	if notes, ok := changes["notes"]; ok && s.maxNotes > 0 && utf8.RuneCountInString(notes) > s.maxNotes {
		limit := s.maxNotes
		s.mu.Unlock()
		writeError(w, http.StatusNotAcceptable, "The given data was invalid.",
			map[string]string{"notes": "The notes may not be greater than " + strconv.Itoa(limit) + " characters."})
		return
	}
	before := guestsOf(rec.booking)[0]
	c := *rec.booking.Customer // replace, never mutate: copies handed out earlier stay intact
	setGuestFields(changes, &c.Name, &c.Surname, &c.Phone, &c.Email, &c.Notes)
	rec.booking.Customer = &c
	rec.booking.UpdateDate = s.stamp()
	s.stats.GuestWrites++
	s.changedLocked(bookingID)
	guest := guestsOf(rec.booking)[0]
	bare, shown := s.bareGuestPuts, s.guestPutNotes
	s.mu.Unlock()
	g := guestJSON(guest)
	switch {
	case bare:
		writeData(w, map[string]any{"id": g.ID, "name": g.Name, "surname": g.Surname, "phone": g.Phone, "email": g.Email})
	case shown == notesNull:
		writeData(w, map[string]any{"id": g.ID, "name": g.Name, "surname": g.Surname, "phone": g.Phone, "email": g.Email, "notes": nil})
	case shown == notesAsBefore:
		writeData(w, guestJSON(before))
	default:
		writeData(w, g)
	}
}

// updateCompanionLocked writes changes into a companion of the booking (see AddCompanion) and
// answers, unlocking s; false (s still locked) when guestID is none of its companions.
func (s *Server) updateCompanionLocked(w http.ResponseWriter, bookingID, guestID int64, changes map[string]string) bool {
	c := s.companions[bookingID]
	for i, g := range c.guests {
		if g.ID != guestID {
			continue
		}
		setGuestFields(changes, &g.Name, &g.Surname, &g.Phone, &g.Email, &g.Notes)
		c.guests = slices.Clone(c.guests)
		c.guests[i] = g
		s.companions[bookingID] = c
		s.stats.GuestWrites++
		s.mu.Unlock()
		writeData(w, guestJSON(g))
		return true
	}
	return false
}

// setGuestFields applies a guest PUT's changes to a guest's fields.
func setGuestFields(changes map[string]string, name, surname, phone, email, notes *string) {
	fields := map[string]*string{"name": name, "surname": surname, "phone": phone, "email": email, "notes": notes}
	for field, v := range changes {
		if dst, ok := fields[field]; ok {
			*dst = v
		}
	}
}

var guestFields = map[string]bool{"name": true, "surname": true, "phone": true, "email": true, "notes": true}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "Not found.", nil)
		return 0, false
	}
	return id, true
}

// Wire shapes as the modeled server writes them (the client's reading side is bnovo/wire.go).

type wireRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type wireStatus struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

type wireSource struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Commission int    `json:"commission"`
}

type wireGuest struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Surname string `json:"surname"`
	Phone   string `json:"phone"`
	Email   string `json:"email"`
	Notes   string `json:"notes"`
}

type wireDates struct {
	CreateDate *string `json:"create_date"`
	UpdateDate *string `json:"update_date"`
	Arrival    *string `json:"arrival"`
	Departure  *string `json:"departure"`
	CancelDate *string `json:"cancel_date"`
}

type wireBooking struct {
	ID            int64           `json:"id"`
	Number        string          `json:"number"`
	Status        wireStatus      `json:"status"`
	Source        *wireSource     `json:"source"`
	Customer      *wireGuest      `json:"customer"`
	Dates         wireDates       `json:"dates"`
	Amount        json.RawMessage `json:"amount"`
	RoomName      string          `json:"room_name"`
	PlanName      string          `json:"plan_name"`
	Extra         map[string]int  `json:"extra"`
	PaymentsTotal json.RawMessage `json:"payments_total,omitempty"`
}

type wirePayment struct {
	ID          int64           `json:"id"`
	BookingID   int64           `json:"booking_id"`
	Type        string          `json:"type"`
	Amount      json.RawMessage `json:"amount"`
	PaymentType wireRef         `json:"payment_type"`
	Date        *string         `json:"date"`
	CreateDate  *string         `json:"create_date"`
	Comment     string          `json:"comment"`
}

var statusColors = map[int64]string{
	StatusNew: "#2196f3", StatusCancelled: "#f44336", StatusConfirmed: "#4caf50",
	StatusCheckedIn: "#ff9800", StatusCheckedOut: "#9e9e9e", StatusNoShow: "#795548",
}

// bookingJSON must be called with s.mu held (it reads payments for payments_total).
func (s *Server) bookingJSON(b bnovo.Booking, withPaymentsTotal bool) json.RawMessage {
	out := wireBooking{
		ID:       b.ID,
		Number:   b.Number,
		Status:   wireStatus{ID: b.StatusID, Name: b.StatusName, Color: statusColors[b.StatusID]},
		Amount:   money(b.Amount, b.ID%7 == 0), // some amounts as strings, as PHP backends do
		RoomName: "Номер " + strconv.FormatInt(b.ID%40+1, 10),
		PlanName: "Базовый",
		Extra:    map[string]int{"adults": 2, "children": 0},
		Dates: wireDates{
			CreateDate: s.timeJSON(b.CreateDate),
			UpdateDate: s.timeJSON(b.UpdateDate),
			Arrival:    s.timeJSON(b.Arrival),
			Departure:  s.timeJSON(b.Departure),
			CancelDate: s.timeJSON(b.CancelDate),
		},
	}
	if b.SourceID != 0 || b.SourceName != "" {
		out.Source = &wireSource{ID: b.SourceID, Name: b.SourceName, Commission: 15}
	}
	if b.Customer != nil {
		g := guestJSON(guestsOf(b)[0])
		out.Customer = &g
	}
	if withPaymentsTotal {
		var total int64
		for _, p := range s.payments[b.ID] {
			if p.Type == bnovo.PaymentOut {
				total -= p.Amount
			} else {
				total += p.Amount
			}
		}
		out.PaymentsTotal = money(total, false)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		// Cannot happen (only strings, numbers and money from FormatRubles go in); should it,
		// the record shows up as an unreadable booking instead of taking the server down.
		return rawJSON("bnovotest: encoding booking: " + err.Error())
	}
	return raw
}

// paymentJSON must be called with s.mu held (it reads the raw amounts).
func (s *Server) paymentJSON(p bnovo.Payment) wirePayment {
	created := p.CreateDate
	if created.IsZero() {
		created = p.Date
	}
	amount := money(p.Amount, p.ID%11 == 0)
	if raw, ok := s.rawAmounts[p.ID]; ok {
		amount = rawJSON(raw)
	}
	return wirePayment{
		ID: p.ID, BookingID: p.BookingID, Type: p.Type,
		Amount:      amount,
		PaymentType: wireRef{ID: p.PaymentTypeID, Name: p.PaymentTypeName},
		Date:        s.timeJSON(p.Date), CreateDate: s.timeJSON(created),
	}
}

func guestJSON(g bnovo.Guest) wireGuest {
	return wireGuest{ID: g.ID, Name: g.Name, Surname: g.Surname, Phone: g.Phone, Email: g.Email, Notes: g.Notes}
}

// timeJSON formats a timestamp in the hotel's zone; nil (JSON null) for the zero time.
func (s *Server) timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := bnovo.FormatTime(t, s.opts.Location)
	return &v
}

// money writes kopecks as rubles with two decimals, as a JSON number or, if asString, a string.
func money(kopecks int64, asString bool) json.RawMessage {
	text := bnovo.FormatRubles(kopecks)
	if asString {
		text = strconv.Quote(text)
	}
	return json.RawMessage(text)
}

// rawJSON serves a stored raw record; text that is not JSON becomes a JSON string so the page
// around it stays valid.
func rawJSON(raw string) json.RawMessage {
	if json.Valid([]byte(raw)) {
		return json.RawMessage(raw)
	}
	quoted, _ := json.Marshal(raw) // marshalling a string cannot fail
	return quoted
}

func writeData(w http.ResponseWriter, data any) {
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, message string, fields map[string]string) {
	body := map[string]any{"message": message}
	if len(fields) > 0 {
		body["errors"] = fields
	}
	raw, _ := json.Marshal(body) // strings only: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}
