package bnovo

// Everything in this file is a wire detail of the Bnovo API: paths, JSON shapes, timestamp and
// money formats. Much of it is modeled (see /work/shared/api/bnovo.md); when the vendor's OpenAPI
// document becomes available, this is the one file to revise.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hotelsync/syncd/internal/answer"
)

// APIPrefix is the path prefix of every API call; Config.BaseURL is the origin in front of it.
const APIPrefix = "/api/v1"

// Paths relative to APIPrefix. They double as the Op of an *Error, which is why they carry no
// query string and never a credential.
func pathAuth() string             { return "/auth" }
func pathBookings() string         { return "/bookings" }
func pathBooking(id int64) string  { return "/bookings/" + strconv.FormatInt(id, 10) }
func pathPayments(id int64) string { return pathBooking(id) + "/payments" }
func pathGuests(id int64) string   { return pathBooking(id) + "/guests" }
func pathGuest(bookingID, guestID int64) string {
	return pathGuests(bookingID) + "/" + strconv.FormatInt(guestID, 10)
}

// Listing query parameter names.
const (
	paramDateFrom = "date_from"
	paramDateTo   = "date_to"
	paramDataType = "data_type"
	paramLimit    = "limit"
	paramOffset   = "offset"
)

// DateLayout is the format of date_from/date_to.
const DateLayout = "2006-01-02"

// TimeLayout is Bnovo's timestamp format: not RFC 3339, a space and an hour-only offset.
const TimeLayout = "2006-01-02 15:04:05-07"

// MaxPageSize is the largest page the API serves.
const MaxPageSize = 50

// Success bodies wrap the payload in {"data": ...}; internal/answer refuses a 2xx body that is
// an error body instead (success:false, error, errors, detail).

type wireAuthRequest struct {
	ID       int64  `json:"id"`
	Password string `json:"password"`
}

type wireAuthResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is seconds. Read apart (see decodeAuthAnswer): an unreadable lifetime must not
	// cost a login that gave a token.
	ExpiresIn json.RawMessage `json:"expires_in"`
}

// wireErrorBody is the JSON error body; 500s may instead be plain text.
type wireErrorBody struct {
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors"`
}

type wireBookingsPage struct {
	// Decoded one by one so a single malformed booking does not cost the whole page. A pointer
	// so that an absent list is told from an empty one.
	Bookings *[]json.RawMessage `json:"bookings"`
	Meta     *wireMeta          `json:"meta"`
}

// wireMeta's numbers are read like ids: a PHP backend may send them as strings.
type wireMeta struct {
	Total  *wireInt `json:"total"`
	Limit  wireInt  `json:"limit"`
	Offset wireInt  `json:"offset"`
}

type wireRef struct {
	ID   wireInt    `json:"id"`
	Name wireString `json:"name"`
}

type wireCustomer struct {
	ID      wireInt    `json:"id"`
	Name    wireString `json:"name"`
	Surname wireString `json:"surname"`
	Phone   wireString `json:"phone"`
	Email   wireString `json:"email"`
	Notes   wireString `json:"notes"`
}

type wireDates struct {
	CreateDate wireString `json:"create_date"`
	UpdateDate wireString `json:"update_date"`
	Arrival    wireString `json:"arrival"`
	Departure  wireString `json:"departure"`
	CancelDate wireString `json:"cancel_date"`
}

type wireBooking struct {
	ID       wireInt       `json:"id"`
	Number   wireString    `json:"number"`
	Status   *wireRef      `json:"status"`
	Source   *wireRef      `json:"source"`
	Customer *wireCustomer `json:"customer"`
	Dates    wireDates     `json:"dates"`
	Amount   *wireMoney    `json:"amount"`
	// PaymentsTotal is read apart (see readPaymentsTotal): a bad one must not cost the booking.
	PaymentsTotal json.RawMessage `json:"payments_total"`
}

type wirePaymentList struct {
	// Absent is not empty: "no payments" is believed only from a list that is there.
	Payments *[]json.RawMessage `json:"payments"`
}

type wirePayment struct {
	ID          wireInt    `json:"id"`
	BookingID   wireInt    `json:"booking_id"`
	Type        string     `json:"type"`
	Amount      *wireMoney `json:"amount"`
	PaymentType *wireRef   `json:"payment_type"`
	Date        wireString `json:"date"`
	CreateDate  wireString `json:"create_date"`
	Comment     wireString `json:"comment"`
}

type wireGuestList struct {
	Guests *[]json.RawMessage `json:"guests"`
}

type wireGuest struct {
	ID      wireInt    `json:"id"`
	Name    wireString `json:"name"`
	Surname wireString `json:"surname"`
	Phone   wireString `json:"phone"`
	Email   wireString `json:"email"`
	Notes   wireNotes  `json:"notes"`
}

// wireNotes tells an answer without notes apart from empty notes (null counts as empty): notes
// syncd cannot see are never written over, and only an answer showing them verifies a write.
type wireNotes struct {
	present bool
	text    wireString
}

func (w *wireNotes) UnmarshalJSON(b []byte) error {
	w.present = true
	return w.text.UnmarshalJSON(b)
}

// wireGuestUpdate is the PUT body: only the fields to change.
type wireGuestUpdate struct {
	Notes string `json:"notes"`
}

// wireInt accepts a JSON integer or a string of digits (ids have been seen both ways in PHP
// backends); null stays 0.
type wireInt int64

func (w *wireInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", truncate(string(b), 40))
	}
	*w = wireInt(n)
	return nil
}

// wireString accepts a string, a number or a boolean as text (free-text fields such as phone are
// typed by people and stored loosely); null stays "".
type wireString string

func (w *wireString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*w = wireString(s)
		return nil
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("expected text, got an object or a list")
	default:
		*w = wireString(b)
		return nil
	}
}

// MaxAmount is the largest booking or payment amount, in kopecks (100 million rubles), that is
// believed. Beyond it an amount is far more likely a unit slip, a phone number typed into the
// amount or a corrupted record than a stay, and money code must not act on it.
const MaxAmount = 100_000_000_00

// wireMoney is an amount in rubles as a JSON number or string, held as kopecks. Bnovo's amounts
// (booking amount, price, payment amount) are never negative; a negative one or one above
// MaxAmount is refused rather than turned into bonuses.
type wireMoney int64

func (w *wireMoney) UnmarshalJSON(b []byte) error {
	k, text, err := rublesOf(b)
	if err != nil {
		return err
	}
	if k < 0 {
		return fmt.Errorf("bnovo: amount %q is negative", truncate(text, 40))
	}
	if k > MaxAmount {
		return fmt.Errorf("bnovo: amount %q is above the sane bound of %s rubles", truncate(text, 40), FormatRubles(MaxAmount))
	}
	*w = wireMoney(k)
	return nil
}

// rublesOf reads an amount in rubles, a JSON number or a string of one, as kopecks (the sign
// kept); text is the amount as written, for messages.
func rublesOf(b []byte) (kopecks int64, text string, err error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return 0, "null", errors.New("amount is null")
	}
	text = string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return 0, string(b), err
		}
	}
	kopecks, err = ParseKopecks(text)
	return kopecks, text, err
}

// readPaymentsTotal reads payments_total, Σ in − Σ out of all the booking's payments in rubles
// (negative when refunds exceed payments). Absent or null is not shown; anything that is not an
// amount within ±MaxAmount is unreadable, which refuses the check it serves, not the booking.
func readPaymentsTotal(raw json.RawMessage) PaymentsTotal {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return PaymentsTotal{}
	}
	k, text, err := rublesOf(raw)
	switch {
	case err != nil:
		return PaymentsTotal{Unreadable: "payments_total: " + err.Error()}
	case k > MaxAmount || k < -MaxAmount:
		return PaymentsTotal{Unreadable: fmt.Sprintf("payments_total %q is beyond the sane bound of %s rubles", truncate(text, 40), FormatRubles(MaxAmount))}
	}
	return PaymentsTotal{Kopecks: k, Shown: true}
}

// ParseKopecks parses a ruble amount written in decimal ("22500", "22500.5", "-15000.00") into
// kopecks, exactly: the text is parsed as digits, never through a float. More than two decimals,
// exponents, separators or anything else is an error.
func ParseKopecks(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasPoint && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("bnovo: amount %q is not a decimal number", truncate(orig, 40))
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("bnovo: amount %q has more than 2 decimals", truncate(orig, 40))
	}
	frac += strings.Repeat("0", 2-len(frac))
	k, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bnovo: amount %q out of range", truncate(orig, 40))
	}
	if neg {
		k = -k
	}
	return k, nil
}

// FormatRubles writes kopecks as a ruble amount with two decimals ("22500.00"), valid both as a
// JSON number and as ParseKopecks input.
func FormatRubles(kopecks int64) string {
	sign := ""
	u := uint64(kopecks)
	if kopecks < 0 {
		sign = "-"
		u = uint64(-(kopecks + 1)) + 1 // no overflow at math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Offset layouts tried in order; the bare layout last, read in the hotel's zone.
var timeLayoutsWithOffset = []string{
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05-0700",
	TimeLayout,
	"2006-01-02 15:04:05Z07:00",
}

// ParseTime parses a Bnovo timestamp. Without an offset the time is read in loc (nil = UTC).
// "" is the zero time (the field is absent or null). A "T" separator is tolerated.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	norm := s
	if len(norm) > 10 && norm[10] == 'T' {
		norm = norm[:10] + " " + norm[11:]
	}
	for _, layout := range timeLayoutsWithOffset {
		if t, err := time.Parse(layout, norm); err == nil {
			return inRange(t, s)
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", DateLayout} {
		if t, err := time.ParseInLocation(layout, norm, loc); err == nil {
			return inRange(t, s)
		}
	}
	return time.Time{}, fmt.Errorf("bnovo: timestamp %q is not in the form %q", truncate(s, 40), TimeLayout)
}

// Timestamps outside these years are a corrupted record, not a stay (and would not survive
// being written out again in Bnovo's four-digit-year format).
const minYear, maxYear = 1970, 9998

func inRange(t time.Time, s string) (time.Time, error) {
	if y := t.UTC().Year(); y < minYear || y > maxYear {
		return time.Time{}, fmt.Errorf("bnovo: timestamp %q is outside the years %d–%d", truncate(s, 40), minYear, maxYear)
	}
	return t, nil
}

// FormatTime writes t in loc (nil = UTC) in Bnovo's format; "" for the zero time. Zones whose
// offset is not whole hours get minutes (+05:30), which the hour-only layout would drop.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if _, off := t.Zone(); off%3600 != 0 {
		return t.Format("2006-01-02 15:04:05-07:00")
	}
	return t.Format(TimeLayout)
}

func (w *wireBooking) toBooking(loc *time.Location) (Booking, error) {
	if w.ID <= 0 {
		return Booking{}, errors.New("booking has no id")
	}
	b := Booking{ID: int64(w.ID), Number: string(w.Number)}
	if w.Status != nil {
		b.StatusID, b.StatusName = int64(w.Status.ID), string(w.Status.Name)
	}
	if w.Source != nil {
		b.SourceID, b.SourceName = int64(w.Source.ID), string(w.Source.Name)
	}
	if c := w.Customer; c != nil {
		b.Customer = &Customer{
			ID: int64(c.ID), Name: string(c.Name), Surname: string(c.Surname),
			Phone: string(c.Phone), Email: string(c.Email), Notes: string(c.Notes),
		}
	}
	if w.Amount != nil {
		b.Amount = int64(*w.Amount)
	}
	b.PaymentsTotal = readPaymentsTotal(w.PaymentsTotal)
	for _, f := range []struct {
		name string
		raw  wireString
		dst  *time.Time
	}{
		{"create_date", w.Dates.CreateDate, &b.CreateDate},
		{"update_date", w.Dates.UpdateDate, &b.UpdateDate},
		{"arrival", w.Dates.Arrival, &b.Arrival},
		{"departure", w.Dates.Departure, &b.Departure},
		{"cancel_date", w.Dates.CancelDate, &b.CancelDate},
	} {
		t, err := ParseTime(string(f.raw), loc)
		if err != nil {
			return Booking{}, fmt.Errorf("dates.%s: %w", f.name, err)
		}
		*f.dst = t
	}
	return b, nil
}

// decodeBooking decodes one booking record. On failure it still returns the id when the record
// has a readable one, so the caller can park the booking by id.
func decodeBooking(raw json.RawMessage, loc *time.Location) (Booking, int64, error) {
	var w wireBooking
	if err := json.Unmarshal(raw, &w); err != nil {
		return Booking{}, readableID(raw), fmt.Errorf("bnovo: malformed booking: %w", err)
	}
	b, err := w.toBooking(loc)
	if err != nil {
		return Booking{}, max(int64(w.ID), 0), fmt.Errorf("bnovo: malformed booking: %w", err)
	}
	return b, b.ID, nil
}

// readableID digs the id out of a record that failed to decode as a whole; 0 when even that fails.
func readableID(raw json.RawMessage) int64 {
	var probe struct {
		ID wireInt `json:"id"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.ID <= 0 {
		return 0
	}
	return int64(probe.ID)
}

func (w *wirePayment) toPayment(loc *time.Location) (Payment, error) {
	if w.ID <= 0 {
		return Payment{}, errors.New("payment has no id")
	}
	if w.Type != PaymentIn && w.Type != PaymentOut {
		return Payment{}, fmt.Errorf("payment %d: unknown type %q", w.ID, truncate(w.Type, 20))
	}
	if w.Amount == nil {
		return Payment{}, fmt.Errorf("payment %d: no amount", w.ID)
	}
	if *w.Amount < 0 {
		return Payment{}, fmt.Errorf("payment %d: negative amount", w.ID)
	}
	p := Payment{ID: int64(w.ID), BookingID: int64(w.BookingID), Type: w.Type, Amount: int64(*w.Amount)}
	if w.PaymentType != nil {
		p.PaymentTypeID, p.PaymentTypeName = int64(w.PaymentType.ID), string(w.PaymentType.Name)
	}
	date := w.Date
	if date == "" {
		date = w.CreateDate
	}
	t, err := ParseTime(string(date), loc)
	if err != nil {
		return Payment{}, fmt.Errorf("payment %d: date: %w", w.ID, err)
	}
	p.Date = t
	if w.CreateDate != "" {
		if p.CreateDate, err = ParseTime(string(w.CreateDate), loc); err != nil {
			return Payment{}, fmt.Errorf("payment %d: create_date: %w", w.ID, err)
		}
	}
	return p, nil
}

func (w *wireGuest) toGuest() (Guest, error) {
	if w.ID <= 0 {
		return Guest{}, errors.New("guest has no id")
	}
	g := Guest{
		ID: int64(w.ID), Name: string(w.Name), Surname: string(w.Surname),
		Phone: string(w.Phone), Email: string(w.Email),
	}
	g.Notes, g.NotesShown = string(w.Notes.text), w.Notes.present
	return g, nil
}

// The decoders below read a 2xx body. An error wrapping ErrUnexpectedAnswer means the body is not
// the documented answer at all (an error object, a proxy's HTML page, {}, another record than
// the one asked for): a passing failure of the call, never "nothing there". Any other error is
// about one record inside a well-formed answer: the record's own data is bad.

// unexpectedAnswer says what is wrong with an answer; it matches ErrUnexpectedAnswer.
type unexpectedAnswer struct{ reason string }

func (u *unexpectedAnswer) Error() string        { return ErrUnexpectedAnswer.Error() + ": " + u.reason }
func (u *unexpectedAnswer) Is(target error) bool { return target == ErrUnexpectedAnswer }

func unexpected(format string, args ...any) error {
	return &unexpectedAnswer{reason: fmt.Sprintf(format, args...)}
}

// openEnvelope returns the data object of a success body.
func openEnvelope(body []byte) (json.RawMessage, error) {
	_, data, reason := answer.Open(body)
	if reason != "" {
		return nil, unexpected("%s", reason)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, unexpected("no data object")
	}
	return data, nil
}

// decodeData opens body's envelope and reads its data object into a T; what names T in messages.
func decodeData[T any](body []byte, what string) (T, error) {
	var w T
	data, err := openEnvelope(body)
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return w, unexpected("data is not %s: %v", what, err)
	}
	return w, nil
}

// decodeListAnswer reads a bookings page: its records, undecoded, and meta.total.
func decodeListAnswer(body []byte) ([]json.RawMessage, int, error) {
	page, err := decodeData[wireBookingsPage](body, "a bookings page")
	if err != nil {
		return nil, 0, err
	}
	switch {
	case page.Bookings == nil:
		return nil, 0, unexpected("data.bookings is missing")
	case page.Meta == nil || page.Meta.Total == nil:
		return nil, 0, unexpected("data.meta.total is missing")
	case *page.Meta.Total < 0 || *page.Meta.Total > math.MaxInt32:
		return nil, 0, unexpected("data.meta.total is %d", *page.Meta.Total)
	}
	return *page.Bookings, int(*page.Meta.Total), nil
}

// decodeBookingAnswer reads the answer for booking want.
func decodeBookingAnswer(body []byte, want int64, loc *time.Location) (Booking, error) {
	data, err := openEnvelope(body)
	if err != nil {
		return Booking{}, err
	}
	b, id, err := decodeBooking(data, loc)
	if id != want || id <= 0 {
		return Booking{}, unexpected("asked for booking %d, got %d", want, id)
	}
	return b, err
}

// decodePaymentsAnswer reads the payments of booking bookingID. One unreadable payment fails the
// whole answer: a partial list would give a wrong paid total.
func decodePaymentsAnswer(body []byte, bookingID int64, loc *time.Location) ([]Payment, error) {
	list, err := decodeData[wirePaymentList](body, "a payments list")
	if err != nil {
		return nil, err
	}
	if list.Payments == nil {
		return nil, unexpected("data.payments is missing")
	}
	payments := make([]Payment, 0, len(*list.Payments))
	seen := make(map[int64]bool, len(*list.Payments))
	for i, raw := range *list.Payments {
		var w wirePayment
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("payment %d of the list: %w", i+1, err)
		}
		p, err := w.toPayment(loc)
		if err != nil {
			return nil, err
		}
		switch {
		case p.BookingID == 0:
			p.BookingID = bookingID
		case p.BookingID != bookingID:
			return nil, unexpected("payment %d belongs to booking %d, not %d", p.ID, p.BookingID, bookingID)
		}
		if seen[p.ID] {
			return nil, unexpected("payment %d is listed twice", p.ID)
		}
		seen[p.ID] = true
		payments = append(payments, p)
	}
	return payments, nil
}

// decodeGuestsAnswer reads the guests of a booking.
func decodeGuestsAnswer(body []byte) ([]Guest, error) {
	list, err := decodeData[wireGuestList](body, "a guests list")
	if err != nil {
		return nil, err
	}
	if list.Guests == nil {
		return nil, unexpected("data.guests is missing")
	}
	guests := make([]Guest, 0, len(*list.Guests))
	for i, raw := range *list.Guests {
		var w wireGuest
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("guest %d of the list: %w", i+1, err)
		}
		g, err := w.toGuest()
		if err != nil {
			return nil, err
		}
		guests = append(guests, g)
	}
	return guests, nil
}

// decodeGuestAnswer reads the guest record a PUT answers with.
func decodeGuestAnswer(body []byte, guestID int64) (Guest, error) {
	w, err := decodeData[wireGuest](body, "a guest")
	if err != nil {
		return Guest{}, err
	}
	if int64(w.ID) != guestID {
		return Guest{}, unexpected("asked to update guest %d, got %d", guestID, w.ID)
	}
	return w.toGuest()
}

// decodeAuthAnswer reads a login answer: the token and its lifetime (0 when not given).
func decodeAuthAnswer(body []byte) (string, time.Duration, error) {
	w, err := decodeData[wireAuthResponse](body, "a login answer")
	if err != nil {
		return "", 0, err
	}
	if w.AccessToken == "" {
		return "", 0, unexpected("no access_token")
	}
	// A lifetime that is not a whole number of seconds (a float, text, an object) is taken as
	// not given: a wrong guess costs one re-auth on a 401, refusing the answer a login per retry.
	var secs wireInt
	if len(w.ExpiresIn) == 0 || secs.UnmarshalJSON(w.ExpiresIn) != nil || secs <= 0 || int64(secs) > int64(365*24*time.Hour/time.Second) {
		return w.AccessToken, 0, nil
	}
	return w.AccessToken, time.Duration(secs) * time.Second, nil
}

// isAPIError reports an error body of the API's own shape: {"message": ..., "errors": ...}.
func isAPIError(body []byte) bool {
	var e wireErrorBody
	return json.Unmarshal(bytes.TrimSpace(body), &e) == nil && (e.Message != "" || answer.Present(e.Errors))
}

// serverMessage extracts the server's message from an error body: the JSON message (with the
// field errors of a 406 appended verbatim) or, for plain-text bodies, the text itself.
func serverMessage(body []byte) string {
	var e wireErrorBody
	if json.Unmarshal(body, &e) == nil && (e.Message != "" || len(e.Errors) > 0) {
		msg := e.Message
		if errs := bytes.TrimSpace(e.Errors); len(errs) > 0 && !bytes.Equal(errs, []byte("null")) {
			if msg != "" {
				msg += " "
			}
			msg += "(errors: " + truncate(string(errs), 300) + ")"
		}
		return msg
	}
	return truncate(strings.TrimSpace(string(body)), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so a Cyrillic message stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
