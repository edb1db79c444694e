package sync

import (
	"strings"
	"testing"

	"github.com/hotelsync/syncd/bnovo"
)

// stayWithNotes is a paid, checked-out stay whose guest has staff notes.
func (h *harness) stayWithNotes(phone, notes string) int64 {
	h.t.Helper()
	id := h.checkedOut(phone, "", "")
	b, _ := h.bn.Booking(id)
	b.Customer.Notes = notes
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	return id
}

// A PUT answered with "notes": null (a server that does not reload the field) says nothing of
// what Bnovo stored: syncd must not take it for notes emptied meanwhile and write its line alone
// over the staff's lines.
func TestGuestWriteAnsweredWithNullNotesKeepsStaffLines(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	staff := "Поздний заезд\r\nАллергия на орехи"
	id := h.stayWithNotes("+79161234501", staff)
	h.bn.AnswerGuestWritesWithNullNotes(true)
	h.cycle()
	h.wantPosted(id, 50000)
	notes := h.bn.Guests(id)[0].Notes
	if !strings.HasPrefix(notes, staff+"\r\nProBonus: карта ") || strings.Count(notes, "ProBonus:") != 1 {
		t.Fatalf("staff lines lost or line written twice: notes %q", notes)
	}
	if puts := h.bn.Stats().ByPath[guestPuts]; puts != 1 {
		t.Fatalf("%d PUTs for one line", puts)
	}
}

// A PUT answered with the guest as it was before the write (a stale copy) is no proof that the
// line is missing: the line is verified by reading the notes, not written a second time.
func TestGuestWriteAnsweredWithTheOldNotesIsNotWrittenTwice(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	staff := "VIP"
	id := h.stayWithNotes("+79161234502", staff)
	h.bn.AnswerGuestWritesAsBefore(true)
	h.cycle()
	notes := h.bn.Guests(id)[0].Notes
	if !strings.HasPrefix(notes, staff+"\nProBonus: карта ") || strings.Count(notes, "ProBonus:") != 1 {
		t.Fatalf("notes %q", notes)
	}
	if puts := h.bn.Stats().ByPath[guestPuts]; puts != 1 {
		t.Fatalf("%d PUTs for one line: written twice", puts)
	}
}
