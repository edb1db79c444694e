package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

func TestWithLoyaltyLine(t *testing.T) {
	const (
		line    = "ProBonus: карта 2000000000123, баланс 1 125 бонусов, уровень Серебро"
		old     = "ProBonus: карта 2000000000123, баланс 98 бонусов, уровень Бронза"
		oldByID = "ProBonus: счёт 12, баланс 0 бонусов"
	)
	tests := []struct{ name, notes, want string }{
		{"empty", "", line},
		{"appended after staff text", "Поздний заезд", "Поздний заезд\n" + line},
		{"appended keeping CRLF", "Поздний заезд\r\nVIP", "Поздний заезд\r\nVIP\r\n" + line},
		{"appended after trailing newline", "Поздний заезд\n", "Поздний заезд\n" + line},
		{"replaced in place", "a\n" + old + "\nb", "a\n" + line + "\nb"},
		{"replaced keeping CRLF", "a\r\n" + old + "\r\nb\r\n", "a\r\n" + line + "\r\nb\r\n"},
		{"several collapse into one", oldByID + "\nx \n\n" + old + "\ny", line + "\nx \n\ny"},
		{"fractional and levelless forms are ours", "ProBonus: карта 7, баланс 1 125,50 бонусов\nx", line + "\nx"},
		{"staff line starting ProBonus: is kept", "ProBonus: гость просит не начислять\n" + old, "ProBonus: гость просит не начислять\n" + line},
		{"staff line that merely resembles ours is kept", "ProBonus: карта у гостя дома, баланс уточнить", "ProBonus: карта у гостя дома, баланс уточнить\n" + line},
		{"indented is not ours", "  ProBonus: staff\n", "  ProBonus: staff\n" + line},
		{"lowercase is not ours", "probonus: staff", "probonus: staff\n" + line},
		{"empty lines and trailing spaces kept", "Кириллица  \n\n\t\n" + old, "Кириллица  \n\n\t\n" + line},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withLoyaltyLine(tt.notes, line)
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if again := withLoyaltyLine(got, line); again != got {
				t.Fatalf("not idempotent: %q", again)
			}
		})
	}
}

func TestWriteBackKeepsStaffLinesAndWritesOnce(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	id := h.checkedOut("+79161234567", "", "")
	b, _ := h.bn.Booking(id)
	staff := "Поздний заезд  \r\n\r\nАллергия на орехи\r\nProBonus: устарело\r\nProBonus: ещё старее\r\nVIP"
	b.Customer.Notes = staff
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentIn, 2250000, card)

	sum := h.cycle()
	if sum.WriteBacks != 1 {
		t.Fatalf("summary %+v: want one write-back", sum)
	}
	notes := h.bn.Guests(id)[0].Notes
	// The staff's own "ProBonus:" lines are not in syncd's form: kept, and ours is appended.
	want := staff + "\r\nProBonus: карта "
	if !strings.HasPrefix(notes, want) || strings.Count(notes, "ProBonus: карта") != 1 {
		t.Fatalf("notes after write-back:\n%q", notes)
	}
	if !strings.Contains(notes, "баланс 1 125 бонусов") {
		t.Fatalf("notes do not show the balance after the operation: %q", notes)
	}

	writes := h.bn.Stats().GuestWrites
	for i := 0; i < 2; i++ {
		h.cycle()
	}
	if got := h.bn.Stats().GuestWrites; got != writes {
		t.Fatalf("later cycles wrote the notes again: %d → %d writes", writes, got)
	}
	if _, ops := h.posted(id); ops != 1 {
		t.Fatalf("the write-back's update_date change led to re-posting: %d operations", ops)
	}
}

func TestReadOnlyBnovoTurnsWriteBackOffOnceAndAccrualGoesOn(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	h.bn.Close()
	h.bn = bnovotest.NewServer(bnovotest.Options{Location: moscow, Now: h.simNow, ReadOnly: true,
		Windows: []bnovotest.Window{{Limit: 100000, Per: 1e9}}})
	t.Cleanup(h.bn.Close)
	pms, err := bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: moscow, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	opt := h.opt
	opt.PMS = pms
	opt.WriteBack = true
	opt.Logger = opt.Logger.Output(&logs)
	if h.eng, err = New(opt); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < 3; i++ {
		id := h.checkedOut("+7916123450"+itoa(int64(i)), "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		ids = append(ids, id)
	}
	sum := h.cycle()
	for _, id := range ids {
		h.wantPosted(id, 50000)
	}
	if sum.WriteBacks != 0 {
		t.Fatalf("write-backs on a read-only account: %d", sum.WriteBacks)
	}
	if n := strings.Count(logs.String(), "write-back is off"); n != 1 {
		t.Fatalf("%d read-only warnings, want exactly 1:\n%s", n, logs.String())
	}
	if n := h.bn.Stats().ByPath["PUT /api/v1/bookings/{id}/guests/{guestID}"]; n != 1 {
		t.Fatalf("%d guest writes tried after the first 403", n)
	}
}

// A write-back whose booking record is gone must not keep the others from being recorded:
// unrecorded lines are written again next time, each write spending Bnovo budget.
func TestWriteBacksAreRecordedDespiteOneMissingRecord(t *testing.T) {
	h := newHarness(t, nil)
	written := map[int64]notesWrite{1: {line: "ProBonus: gone"}} // no record for booking 1
	for id := int64(2); id <= 40; id++ {
		if err := h.db.Update(func(tx *state.Tx) error {
			return tx.PutBooking(state.Booking{ID: id, AccountID: 7})
		}); err != nil {
			t.Fatal(err)
		}
		written[id] = notesWrite{line: "ProBonus: line " + itoa(id)}
	}
	h.eng.recordWriteBacks(written)
	for id := int64(2); id <= 40; id++ {
		if got := h.record(id).NotesLine; got != written[id].line {
			t.Fatalf("booking %d: recorded line %q, want %q", id, got, written[id].line)
		}
	}
}

// TestWriteBackOneReadPerWrite: the PUT's answer verifies the write, so a write-back costs one
// guest read and one PUT; only an answer without notes costs the read after.
func TestWriteBackOneReadPerWrite(t *testing.T) {
	const guestsPath = "GET /api/v1/bookings/{id}/guests"
	const putPath = "PUT /api/v1/bookings/{id}/guests/{guestID}"
	h := newHarness(t, func(o *Options) { o.WriteBack = true })
	staff := "Поздний заезд  \r\n\r\nVIP"
	var ids []int64
	for i := 0; i < 3; i++ {
		id := h.checkedOut("+7916123460"+itoa(int64(i)), "", "")
		b, _ := h.bn.Booking(id)
		b.Customer.Notes = staff
		h.tick()
		h.bn.PutBooking(b)
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		ids = append(ids, id)
	}
	if sum := h.cycle(); sum.WriteBacks != 3 {
		t.Fatalf("summary %+v: want three write-backs", sum)
	}
	stats := h.bn.Stats()
	if reads, puts := stats.ByPath[guestsPath], stats.ByPath[putPath]; puts != 3 || reads > puts {
		t.Fatalf("%d guest reads for %d PUTs: want one read per write", reads, puts)
	}
	for _, id := range ids {
		notes := h.bn.Guests(id)[0].Notes
		if !strings.HasPrefix(notes, staff+"\r\nProBonus: карта ") {
			t.Fatalf("staff lines not kept byte for byte: %q", notes)
		}
	}

	// An answer without notes proves nothing: the notes are read again to verify.
	h.bn.AnswerGuestWritesWithoutNotes(true)
	id := h.checkedOut("+79161234699", "", "")
	h.pay(id, bnovo.PaymentIn, 1000000, card)
	before := h.bn.Stats()
	if sum := h.cycle(); sum.WriteBacks != 1 {
		t.Fatalf("summary %+v: want one write-back", sum)
	}
	after := h.bn.Stats()
	if reads, puts := after.ByPath[guestsPath]-before.ByPath[guestsPath], after.ByPath[putPath]-before.ByPath[putPath]; puts != 1 || reads != 2 {
		t.Fatalf("answer without notes: %d reads, %d PUTs; want the read before and one after", reads, puts)
	}
}

// TestWriteBackLeavesOldStaysAlone: a stay that departed before lookback_days keeps its notes
// exactly as they are, even when a refund changes its bonuses.
func TestWriteBackLeavesOldStaysAlone(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.WriteBack = true; o.LookbackDays = 30 })
	id := h.checkedOut("+79161234567", "", "")
	b, _ := h.bn.Booking(id)
	b.Arrival, b.Departure = b.Arrival.AddDate(0, 0, -60), b.Departure.AddDate(0, 0, -60)
	b.Customer.Notes = "ProBonus: устарело"
	h.tick()
	h.bn.PutBooking(b)
	h.pay(id, bnovo.PaymentIn, 2000000, card)
	from := time.Now().AddDate(0, 0, -70)
	if _, err := h.eng.Backfill(context.Background(), from, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.wantPosted(id, 100000)
	h.pay(id, bnovo.PaymentOut, 1000000, card)
	h.cycle()
	h.wantPosted(id, 50000)
	if n := h.bn.Stats().ByPath["PUT /api/v1/bookings/{id}/guests/{guestID}"]; n != 0 {
		t.Fatalf("%d notes written on a stay older than lookback_days", n)
	}
	if notes := h.bn.Guests(id)[0].Notes; notes != "ProBonus: устарело" {
		t.Fatalf("old stay's notes changed: %q", notes)
	}
}

// Whatever card or level text ProBonus sends, the line syncd writes reads as its own next time
// (or every write would add a line).
func TestLoyaltyLineAlwaysReadsAsOurs(t *testing.T) {
	h := newHarness(t, nil)
	for _, a := range []probonus.Account{
		{FirstName: "A", Identifiers: []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "2000 0000 0001"}}, DiscountLevelName: "Золото"},
		{FirstName: "B", Identifiers: []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "12, 34"}}, DiscountLevelName: "Gold"},
		{FirstName: "C", Identifiers: []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "7"}}, DiscountLevelName: "Gold\nVIP"},
		{FirstName: "D", Identifiers: []probonus.Identifier{{TypeID: probonus.IdentifierCard, Value: "8"}}, Balance: -12345},
	} {
		id := h.pb.AddAccount(a)
		line, err := h.eng.loyaltyLine(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !ourLine.MatchString(line) {
			t.Fatalf("account %s: line %q does not read as ours", a.FirstName, line)
		}
		notes := withLoyaltyLine("staff\n", line)
		if again := withLoyaltyLine(notes, line); again != notes || strings.Count(again, "ProBonus:") != 1 {
			t.Fatalf("account %s: writing %q twice gives %q", a.FirstName, line, again)
		}
	}
}
