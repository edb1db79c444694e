package bnovotest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

// Payment types of the modeled hotel.
var (
	PaymentCash  = bnovo.Payment{PaymentTypeID: 1, PaymentTypeName: "Наличные"}
	PaymentCard  = bnovo.Payment{PaymentTypeID: 2, PaymentTypeName: "Банковская карта"}
	PaymentBonus = bnovo.Payment{PaymentTypeID: 3, PaymentTypeName: "Бонусы"}
	PaymentBank  = bnovo.Payment{PaymentTypeID: 4, PaymentTypeName: "Безналичный расчет"}
)

var seedSources = []struct {
	id   int64
	name string
}{
	{1, "Модуль бронирования"}, {2, "Booking.com"}, {3, "Островок!"}, {4, "Телефон"}, {5, "Яндекс Путешествия"},
}

var seedNames = []struct{ name, latin string }{
	{"Анна", "anna"}, {"Иван", "ivan"}, {"Мария", "maria"}, {"Сергей", "sergey"}, {"Ольга", "olga"},
	{"Дмитрий", "dmitry"}, {"Елена", "elena"}, {"Алексей", "alexey"}, {"Наталья", "natalia"}, {"Павел", "pavel"},
}

var seedSurnames = []struct{ surname, latin string }{
	{"Петрова", "petrova"}, {"Иванов", "ivanov"}, {"Смирнова", "smirnova"}, {"Кузнецов", "kuznetsov"},
	{"Попова", "popova"}, {"Соколов", "sokolov"}, {"Лебедева", "lebedeva"}, {"Новиков", "novikov"},
}

var seedMobileCodes = []string{"903", "905", "909", "915", "916", "926", "977", "985", "999", "925"}

var seedMailDomains = []string{"mail.ru", "yandex.ru", "gmail.com", "bk.ru", "Example.ru"}

// Seed adds n realistic bookings with departures spread over [from, to] and returns their ids in
// ascending order. Most have checked out ("Выехал") with 1–3 payments (card or cash, some
// refunds, some partly paid with "Бонусы"); some are cancelled ("Отменен"), a few are no-shows;
// departures after now are confirmed or checked in. Customers' phones come in varied formats
// (and some are empty or garbage), e-mails in mixed case, and some guests come back. The result
// is deterministic for a given seed, a given now and an empty server.
func (s *Server) Seed(n int, seed int64, from, to time.Time) []int64 {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	s.mu.Lock()
	defer s.mu.Unlock()
	loc := s.opts.Location
	now := s.stamp()

	nextID := int64(48200000)
	for id := range s.bookings {
		nextID = max(nextID, id)
	}
	firstDay := dateOnly(from.In(loc))
	days := max(int(dateOnly(to.In(loc)).Sub(firstDay).Hours()/24+0.5), 0) + 1

	var customers []bnovo.Customer
	nextCustomerID := int64(9900000 + rng.IntN(1000))
	prevNumber := ""
	ids := make([]int64, 0, n)
	for range n {
		nextID += 1 + int64(rng.IntN(40))
		b := bnovo.Booking{ID: nextID}

		departureDay := firstDay.AddDate(0, 0, rng.IntN(days))
		nights := 1 + rng.IntN(7)
		b.Departure = time.Date(departureDay.Year(), departureDay.Month(), departureDay.Day(), 12, 0, 0, 0, loc)
		b.Arrival = time.Date(departureDay.Year(), departureDay.Month(), departureDay.Day()-nights, 14, 0, 0, 0, loc)
		b.CreateDate = b.Arrival.Add(-time.Duration(1+rng.IntN(60*24)) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
		b.CreateDate = earliest(b.CreateDate, now)

		if prevNumber != "" && rng.IntN(20) == 0 {
			b.Number = prevNumber // a multi-room order: several bookings share one number
		} else {
			b.Number = bookingNumber(rng, b.CreateDate)
		}
		prevNumber = b.Number

		src := seedSources[rng.IntN(len(seedSources))]
		b.SourceID, b.SourceName = src.id, src.name

		if len(customers) > 0 && rng.IntN(100) < 15 {
			c := customers[rng.IntN(len(customers))] // a returning guest
			b.Customer = &c
		} else {
			nextCustomerID += 1 + int64(rng.IntN(50))
			c := seedCustomer(rng, nextCustomerID)
			customers = append(customers, c)
			b.Customer = &c
		}

		nightly := int64(25+rng.IntN(126)) * 100 * 100 // 2 500–15 000 ₽ in whole hundreds
		b.Amount = nightly * int64(nights)
		if rng.IntN(10) == 0 {
			b.Amount += 50 // some amounts carry kopecks
		}

		var payments []bnovo.Payment
		roll := rng.IntN(100)
		switch {
		case roll < 8:
			b.StatusID = StatusCancelled
			b.CancelDate = earliest(b.CreateDate.Add(time.Duration(float64(b.Arrival.Sub(b.CreateDate))*rng.Float64())), now)
			b.UpdateDate = b.CancelDate
			if rng.IntN(2) == 0 {
				prepaid := b.Amount * int64(2+rng.IntN(3)) / 10
				payments = append(payments,
					seedPayment(b.ID, PaymentCard, bnovo.PaymentIn, prepaid, earliest(b.CreateDate.Add(time.Hour), b.CancelDate)),
					seedPayment(b.ID, PaymentCard, bnovo.PaymentOut, prepaid, b.CancelDate))
			}
		case roll < 11 && b.Arrival.Before(now):
			b.StatusID = StatusNoShow
			b.UpdateDate = earliest(b.Arrival.Add(20*time.Hour), now)
			payments = append(payments, seedPayment(b.ID, PaymentCard, bnovo.PaymentIn, nightly, earliest(b.CreateDate.Add(time.Hour), now)))
		case !b.Departure.After(now):
			b.StatusID = StatusCheckedOut
			payments = seedStayPayments(rng, b, now)
			b.UpdateDate = earliest(b.Departure.Add(time.Duration(5+rng.IntN(85))*time.Minute), now)
			for _, p := range payments {
				b.UpdateDate = latest(b.UpdateDate, p.Date)
			}
		case !b.Arrival.After(now):
			b.StatusID = StatusCheckedIn
			b.UpdateDate = earliest(b.Arrival.Add(time.Duration(rng.IntN(120))*time.Minute), now)
			payments = append(payments, seedPayment(b.ID, PaymentCard, bnovo.PaymentIn, b.Amount/2, b.UpdateDate))
		default:
			b.StatusID = StatusConfirmed
			if rng.IntN(5) == 0 {
				b.StatusID = StatusNew
			}
			b.UpdateDate = b.CreateDate
		}
		b.StatusName = StatusNames[b.StatusID]
		for _, t := range []*time.Time{&b.CreateDate, &b.UpdateDate, &b.Arrival, &b.Departure, &b.CancelDate} {
			*t = t.Truncate(time.Second) // the wire carries whole seconds
		}

		s.bookings[b.ID] = &record{booking: b}
		for _, p := range payments {
			s.nextPaymentID++
			p.ID = s.nextPaymentID
			p.Date = p.Date.Truncate(time.Second)
			s.payments[b.ID] = append(s.payments[b.ID], p)
		}
		ids = append(ids, b.ID)
	}
	clear(s.listings) // seeding bypasses changedLocked: it delivers no webhooks either
	return ids
}

// seedStayPayments splits a checked-out stay's amount into 1–3 payments made during the stay,
// sometimes partly with bonuses, sometimes followed by a refund after departure.
func seedStayPayments(rng *rand.Rand, b bnovo.Booking, now time.Time) []bnovo.Payment {
	parts := 1 + rng.IntN(3)
	remaining := b.Amount
	stay := b.Departure.Sub(b.Arrival)
	var out []bnovo.Payment
	if rng.IntN(100) < 12 {
		bonus := b.Amount * int64(5+rng.IntN(15)) / 100 / 100 * 100 // whole rubles
		if bonus > 0 {
			out = append(out, seedPayment(b.ID, PaymentBonus, bnovo.PaymentIn, bonus, b.Arrival.Add(30*time.Minute)))
			remaining -= bonus
		}
	}
	for i := range parts {
		amount := remaining
		if i < parts-1 {
			amount = remaining * int64(30+rng.IntN(40)) / 100
		}
		remaining -= amount
		kind := PaymentCard
		switch r := rng.IntN(10); {
		case r < 3:
			kind = PaymentCash
		case r == 3:
			kind = PaymentBank
		}
		at := b.Arrival.Add(time.Duration(float64(stay) * float64(i+1) / float64(parts+1)))
		out = append(out, seedPayment(b.ID, kind, bnovo.PaymentIn, amount, at))
	}
	if rng.IntN(100) < 12 {
		refund := b.Amount * int64(10+rng.IntN(40)) / 100
		at := earliest(b.Departure.Add(time.Duration(1+rng.IntN(72))*time.Hour), now)
		out = append(out, seedPayment(b.ID, PaymentCard, bnovo.PaymentOut, refund, at))
	}
	return out
}

func seedPayment(bookingID int64, kind bnovo.Payment, typ string, amount int64, at time.Time) bnovo.Payment {
	kind.BookingID, kind.Type, kind.Amount, kind.Date, kind.CreateDate = bookingID, typ, amount, at, at
	return kind
}

func seedCustomer(rng *rand.Rand, id int64) bnovo.Customer {
	name := seedNames[rng.IntN(len(seedNames))]
	surname := seedSurnames[rng.IntN(len(seedSurnames))]
	c := bnovo.Customer{ID: id, Name: name.name, Surname: surname.surname, Phone: seedPhone(rng)}
	if rng.IntN(100) >= 15 {
		email := fmt.Sprintf("%s.%s%d@%s", name.latin, surname.latin, rng.IntN(100), seedMailDomains[rng.IntN(len(seedMailDomains))])
		switch rng.IntN(6) {
		case 0:
			email = strings.ToUpper(email[:1]) + email[1:]
		case 1:
			email = " " + email + " "
		}
		c.Email = email
	}
	if rng.IntN(5) == 0 {
		c.Notes = "Поздний заезд"
	}
	return c
}

// seedPhone writes one Russian mobile number in one of the formats seen at front desks, or
// nothing, garbage or a foreign number.
func seedPhone(rng *rand.Rand) string {
	code := seedMobileCodes[rng.IntN(len(seedMobileCodes))]
	d := fmt.Sprintf("%07d", rng.IntN(10_000_000))
	switch rng.IntN(20) {
	case 0, 1, 2, 3:
		return fmt.Sprintf("+7 (%s) %s-%s-%s", code, d[:3], d[3:5], d[5:])
	case 4, 5, 6:
		return fmt.Sprintf("8 %s %s %s %s", code, d[:3], d[3:5], d[5:])
	case 7, 8, 9:
		return "8" + code + d
	case 10, 11:
		return code + d
	case 12, 13:
		return "+7" + code + d
	case 14:
		return fmt.Sprintf("8(%s)%s-%s-%s", code, d[:3], d[3:5], d[5:])
	case 15, 16:
		return ""
	case 17:
		return []string{"нет", "12345", "-", "уточнить"}[rng.IntN(4)]
	case 18:
		return "+44 7911 " + d[:6]
	default:
		return "+375 29 " + d[:3] + "-" + d[3:5] + "-" + d[5:]
	}
}

func bookingNumber(rng *rand.Rand, created time.Time) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for range 5 {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String() + "_" + created.Format("020106")
}

func dateOnly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
