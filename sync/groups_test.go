package sync

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/state"
)

func TestGuestGroupsShareNoGuestOrAccount(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.db.Update(func(tx *state.Tx) error { return tx.SetAccount("email:known@example.ru", 77) }); err != nil {
		t.Fatal(err)
	}
	customer := func(phone, email string) *bnovo.Customer {
		return &bnovo.Customer{ID: 1, Name: "Анна", Phone: phone, Email: email}
	}
	plans := []*plan{
		h.eng.newPlan(bnovo.Booking{ID: 1, Customer: customer("+7 916 111-11-11", "")}, state.Booking{}, false),
		h.eng.newPlan(bnovo.Booking{ID: 2, Customer: customer("", "b@example.ru")}, state.Booking{}, false),
		// Same phone as 1 in another format, and the e-mail of 2: joins both.
		h.eng.newPlan(bnovo.Booking{ID: 3, Customer: customer("89161111111", "B@Example.ru")}, state.Booking{}, false),
		h.eng.newPlan(bnovo.Booking{ID: 4, Customer: customer("+79162222222", "")}, state.Booking{}, false),
		// Account 77 is known from the state under this e-mail ...
		h.eng.newPlan(bnovo.Booking{ID: 5, Customer: customer("", "known@example.ru")}, state.Booking{}, false),
		// ... and is this booking's account by its record, whatever its contacts say.
		h.eng.newPlan(bnovo.Booking{ID: 6, Customer: customer("+79163333333", "")}, state.Booking{ID: 6, AccountID: 77}, true),
		h.eng.newPlan(bnovo.Booking{ID: 7}, state.Booking{}, false), // no customer: alone
	}
	groups, err := h.eng.guestGroups(plans)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int64
	for _, g := range groups {
		var ids []int64
		for _, p := range g {
			ids = append(ids, p.b.ID)
		}
		got = append(got, ids)
	}
	want := [][]int64{{1, 2, 3}, {4}, {5, 6}, {7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups %v, want %v (page order kept inside each)", got, want)
	}
}

// Many guests with several bookings each, interleaved in one page and planned by many workers:
// one account per guest, every booking credited once. Run with -race.
func TestConcurrentPageMakesOneAccountPerGuest(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Workers = 8 })
	const guests, stays = 12, 3
	var ids []int64
	// A guest's bookings sit next to each other, where workers would pick them up together.
	for g := range guests {
		for stay := range stays {
			phone := fmt.Sprintf("+7 916 555-%02d-%02d", g, 10+g)
			if stay == 1 {
				phone = fmt.Sprintf("8916555%02d%02d", g, 10+g) // the same number, another format
			}
			id := h.checkedOut(phone, fmt.Sprintf("guest%d@example.ru", g), "")
			h.pay(id, bnovo.PaymentIn, 1000000, card)
			ids = append(ids, id)
		}
	}
	sum := h.cycle()
	if got := len(h.pb.Accounts()); got != guests {
		t.Fatalf("%d accounts for %d guests", got, guests)
	}
	// Not even an attempt at a second account (the simulator would refuse it, a real ledger
	// might not): a guest's later bookings find the account its first one created.
	if got := h.pb.Stats().ByEndpoint["create"]; got != guests {
		t.Fatalf("%d account creations asked for %d guests", got, guests)
	}
	if sum.AccountsCreated != guests || sum.Deposits != guests*stays || sum.Earning != guests*stays {
		t.Fatalf("summary %+v", sum)
	}
	for _, id := range ids {
		if net, ops := h.posted(id); net != 50000 || ops != 1 {
			t.Fatalf("booking %d: %d kopecks in %d operations, want 50000 in 1", id, net, ops)
		}
	}
	for _, a := range h.pb.Accounts() {
		if a.Balance != stays*50000 {
			t.Fatalf("account %d balance %d, want %d", a.ID, a.Balance, stays*50000)
		}
	}
}

// A deposit and a withdrawal for one account in one page go out in page order, even with many
// workers and other guests' bookings around them.
func TestOneAccountsOperationsKeepPageOrder(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Workers = 8 })
	const phone = "+79167777777"
	later := h.checkedOut(phone, "", "") // earns nothing yet; gets paid in the second cycle
	refunded := h.checkedOut(phone, "", "")
	h.pay(refunded, bnovo.PaymentIn, 2000000, card)
	var others []int64
	for i := range 10 {
		id := h.checkedOut(fmt.Sprintf("+7916888%04d", i), "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
		others = append(others, id)
	}
	h.cycle()
	h.wantPosted(refunded, 100000)

	h.pay(later, bnovo.PaymentIn, 3000000, card)     // a deposit of 150000 ...
	h.pay(refunded, bnovo.PaymentOut, 2000000, card) // ... and, later in the page, a withdrawal of 100000
	for _, id := range others {
		h.pay(id, bnovo.PaymentIn, 1000000, card)
	}
	sum := h.cycle()
	if sum.Withdrawals != 1 || sum.Deposits != 11 {
		t.Fatalf("summary %+v: want 1 withdrawal and 11 deposits", sum)
	}
	h.wantPosted(later, 150000)
	h.wantPosted(refunded, 0)
	account := h.record(refunded).AccountID
	ops := h.pb.Operations(account)
	var kinds []string
	for _, op := range ops {
		kinds = append(kinds, op.Type)
	}
	want := []string{probonus.OpDeposit, probonus.OpDeposit, probonus.OpWithdraw}
	if !slices.Equal(kinds, want) {
		t.Fatalf("operations on the guest's account %v, want %v (page order)", kinds, want)
	}
	if a, _ := h.pb.Account(account); a.Balance != 150000 {
		t.Fatalf("balance %d, want 150000", a.Balance)
	}
}

func TestSummaryAddCountsEveryField(t *testing.T) {
	var one Summary
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(i + 1))
	}
	var total Summary
	total.add(one)
	total.add(one)
	tv := reflect.ValueOf(total)
	for i := range tv.NumField() {
		if got := tv.Field(i).Int(); got != 2*int64(i+1) {
			t.Errorf("Summary.add: %s = %d, want %d", tv.Type().Field(i).Name, got, 2*(i+1))
		}
	}
}

// What a run keeps in memory must not grow with the bookings it has seen: bookings whose
// update_date is old enough are remembered in their records only, and matched accounts in the
// state once their page is committed.
func TestRunMemoryStaysPageSized(t *testing.T) {
	h := newHarness(t, nil)
	const n = 60
	for i := range n {
		id := h.checkedOut(fmt.Sprintf("+7916444%04d", i), "", "")
		h.pay(id, bnovo.PaymentIn, 1000000, card)
	}
	sum := h.cycle() // lists every booking twice: changed, and checked out
	if sum.Deposits != n || sum.Unchanged != n {
		t.Fatalf("summary %+v: want %d deposits, and the second listing of each booking unchanged", sum, n)
	}
	if len(h.eng.handled) != 0 {
		t.Errorf("the run remembers %d bookings in memory, want none (their records hold the dates)", len(h.eng.handled))
	}
	if len(h.eng.accounts) > 50 {
		t.Errorf("the account cache holds %d matches, want at most a page's", len(h.eng.accounts))
	}
}
