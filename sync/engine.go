package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/state"
)

// Options configure an Engine.
type Options struct {
	PMS            PMS
	Ledger         Ledger
	DB             *state.DB
	Rules          Rules
	Location       *time.Location // the hotel's time zone: "today" and listing dates
	LookbackDays   int
	AccountGroupID int64
	CreateAccounts bool
	// IgnorePhones are numbers (ProBonus digits, as contact.Phone gives them) that never
	// identify a guest: the hotel's own, the OTAs' relay numbers (probonus.ignore_phones).
	IgnorePhones []string
	// IgnoreEmails are addresses (normalised, as contact.Email gives them) that never identify a
	// guest: placeholders the desk types when a guest gives none (probonus.ignore_emails).
	IgnoreEmails []string
	WriteBack    bool       // write the guest's loyalty line into Bnovo notes (spec §3)
	Redemption   Redemption // paying with bonuses (spec §7); off unless Enabled
	Arrivals     Arrivals   // the line at check-in (spec §3); off when Days is 0
	DryRun       bool       // compute and log; write nothing to either API nor to state

	// SettleAfter is how long after an operation could last have been sent its absence from the
	// account's operations proves it was not posted: ProBonus's request timeout plus a margin.
	SettleAfter time.Duration
	// UpdateDateTrust is how old a booking's update_date must be before an equal update_date
	// proves the booking unchanged. Bnovo's dates have one-second resolution and its clock is
	// not ours: a change in the same second as our read would otherwise be missed for good.
	UpdateDateTrust time.Duration
	// ChangedOverlap reaches back before the previous cycle's start when listing changed
	// bookings, so a change made while that cycle ran is not missed.
	ChangedOverlap time.Duration
	// ChangedEvery makes only every ChangedEvery-th cycle list the changed stream (default 1:
	// every cycle); the cycles between list only the bookings departing today, where a
	// checkout earns, for one page instead of every booking changed since the day began. A
	// change elsewhere (a late refund, a cancellation) is then found up to ChangedEvery-1
	// cycles later. The first cycle of an engine always lists the changed stream.
	ChangedEvery int
	// StopGrace bounds the work a stop lets finish: bookings whose Bnovo answers arrived are
	// matched, posted and recorded for at most this long after the run's context ends (spec §6:
	// SIGTERM finishes what is in hand). Default 15 s, well inside systemd's TimeoutStopSec.
	StopGrace time.Duration
	// OwnWriteSkew is how far Bnovo's clock may be behind ours while an update_date within the
	// span of syncd's own write-back is still taken as that write (spec §3): the booking is
	// planned once more after the write's second (what the write's mark hides), and not again.
	// Default 2 s; a clock further off (or ahead of ours) only costs a re-read more.
	OwnWriteSkew time.Duration

	// Workers is how many bookings of a page (never two of one guest or account) are planned
	// and sent at the same time; default 1. Two keep both cores of a small server busy while
	// a request waits for its answer. With more than one, Logger (and the API clients'
	// loggers) must write to a writer safe for concurrent use (an *os.File is;
	// zerolog.SyncWriter makes any writer so), and the HTTP clients should keep at least
	// Workers idle connections per host (Go's default transport keeps 2), or connections are
	// opened and closed for nearly every call.
	Workers int

	// Budget, when set, lets backfill progress logs say how many Bnovo calls are left now and
	// when the backfill should finish, and gets back what a run reserved and did not use.
	// *ratelimit.Limiter implements it.
	Budget Budget
	// WebhookBudget, when set, is the webhooks' share of the Bnovo budget: an id only a webhook
	// queued is fetched only when it has room (spec §8), and waits for a later drain otherwise.
	// A *ratelimit.Limiter over smaller windows implements it; it counts those fetches only.
	WebhookBudget WebhookBudget

	// Progress, when set, is called after every transaction the engine commits (a page
	// journaled, outcomes recorded, a cursor moved): proof that the engine is not stuck, which
	// the daemon's watchdog wants.
	Progress func()

	Logger zerolog.Logger
	Now    func() time.Time
}

// Budget reports on the Bnovo call budget.
type Budget interface {
	Remaining() int          // calls that could be sent right now
	ETA(calls int) time.Time // when that many more calls could be done at the fastest allowed pace
	Release() error          // give back calls reserved ahead and not used; a run's calls are done
}

// Engine runs sync cycles and backfills. Its methods must not be called concurrently: the
// caller (the scheduler) serialises them, so cycles never overlap.
type Engine struct {
	opt Options
	log zerolog.Logger
	now func() time.Time
	// created is when the engine was made, with its monotonic reading: the in-flight window
	// of an unclear operation is measured from here or from its send (sentAt), never by
	// wall-clock differences.
	created time.Time
	sentMu  sync.Mutex
	sentAt  map[string]time.Duration // marker → elapsed() when this process sent it

	// accounts caches matches made in this process: those of the current page (earlier ones
	// are in the state), or, in a dry run, where nothing is stored, all of them. Guest groups
	// plan concurrently, hence the lock.
	accountsMu sync.Mutex
	accounts   map[string]int64
	// current holds the accounts proven to have no operation of syncd's that the journal does
	// not know (see checkNextMarker); it lives as long as the process, which alone posts with
	// this state file. Guarded by accountsMu.
	current map[int64]bool
	// zoneWarned is set once Bnovo's timestamps were seen in another zone than Location.
	zoneWarned bool
	// zoneAgrees is set once Bnovo's timestamps were seen in Location's offset, and never since
	// in another: Bnovo's dates are then syncd's, and the changed listing needs no day of
	// overlap (one whole day more of changes on every full cycle).
	zoneAgrees bool
	// ignoredPhones and ignoredEmails are Options.IgnorePhones and IgnoreEmails as sets.
	ignoredPhones, ignoredEmails map[string]bool
	// pmsCalls counts the Bnovo calls made through the engine (for progress estimates).
	pmsCalls *int64
	// handled holds bookings finished in the current run whose record does not keep the
	// update_date they had (see done), so a booking listed twice in one run (changed and
	// checked out) is planned once.
	handled map[int64]time.Time
	// queueMark is the queue's mark when the run had drained it; requeued holds the bookings
	// the run queued itself. Entries newer than queueMark that the run did not queue were
	// announced by a webhook meanwhile (see drainAnnounced).
	queueMark uint64
	requeued  map[int64]bool
	// queueTrouble is set when Bnovo could not be asked about a queued booking: the rest of the
	// queue waits for a later run instead of each entry paying the same retries.
	queueTrouble bool
	// shareSpentLogged: the webhooks' share ran out and that was said; said again only after
	// the queue has been empty.
	shareSpentLogged bool
	// reads remembers bookings a drain finished whose update_date is too young to be trusted
	// (see done), across runs: a webhook repeating the id of such a booking, unchanged, costs
	// the one fetch that shows it unchanged and nothing more (spec §8).
	reads map[int64]recentRead
	// catchingUp: the run started with a changed cursor older than catchUpAfter, before any
	// cycle of this process advanced it (caughtUp; see restored.go).
	catchingUp, caughtUp bool
	// writeBackOff is set by the first 403 on a write: a read-only (v1) Bnovo account.
	writeBackOff bool
	// refusedLines holds, by booking, the guest line Bnovo refused for good (a 4xx: notes over
	// the field's limit, the guest gone): lines at check-in and owed lines are not tried again,
	// each try costing a read and a write, until the line or the booking changes.
	refusedLines map[int64]string
	// rulesNoted: the redemption rules were compared with the last run's (see noteRedemptionRules).
	rulesNoted bool
	// switchNoted: redemption being switched off, or on again, was noted (see noteRedemptionSwitch).
	switchNoted bool
	// noPaymentsTotalSaid: a booking answer without payments_total was warned about (see
	// confirmPayments); guest groups plan concurrently.
	noPaymentsTotalSaid atomic.Bool
	// cycles counts the cycles run, for Options.ChangedEvery.
	cycles int
	// pendingMoney is how many bookings the current listing or queue drain has still to read:
	// the calls credits may still need, which write-backs must leave them (see budgetShort).
	pendingMoney int
	// departedAll is the day whose departures all checked out (or were cancelled) when last
	// listed: the steady cycles between full ones have nothing left to look for that day.
	departedAll time.Time
}

// New checks the options and returns an Engine.
func New(opt Options) (*Engine, error) {
	switch {
	case opt.PMS == nil:
		return nil, errors.New("sync: no Bnovo client")
	case opt.Ledger == nil:
		return nil, errors.New("sync: no ProBonus client")
	case opt.DB == nil:
		return nil, errors.New("sync: no state database")
	case opt.CreateAccounts && opt.AccountGroupID <= 0:
		return nil, errors.New("sync: creating accounts needs an account group id")
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.LookbackDays <= 0 {
		opt.LookbackDays = 30
	}
	if opt.SettleAfter <= 0 {
		opt.SettleAfter = 30 * time.Second
	}
	if opt.UpdateDateTrust <= 0 {
		opt.UpdateDateTrust = 2 * time.Minute
	}
	if opt.ChangedOverlap <= 0 {
		opt.ChangedOverlap = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ChangedEvery <= 0 {
		opt.ChangedEvery = 1
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 15 * time.Second
	}
	if opt.OwnWriteSkew <= 0 {
		opt.OwnWriteSkew = 2 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = defaultWorkers
	}
	if opt.DryRun {
		opt.Ledger = dryLedger{Ledger: opt.Ledger}
		opt.PMS = dryPMS{PMS: opt.PMS}
	}
	counted := &countingPMS{PMS: opt.PMS}
	opt.PMS = counted
	ignored := make(map[string]bool, len(opt.IgnorePhones))
	for _, digits := range opt.IgnorePhones {
		ignored[digits] = true
	}
	ignoredEmails := make(map[string]bool, len(opt.IgnoreEmails))
	for _, email := range opt.IgnoreEmails {
		ignoredEmails[email] = true
	}
	return &Engine{
		opt:           opt,
		pmsCalls:      &counted.calls,
		log:           opt.Logger,
		now:           opt.Now,
		created:       time.Now(),
		accounts:      make(map[string]int64),
		current:       make(map[int64]bool),
		ignoredPhones: ignored,
		ignoredEmails: ignoredEmails,
		refusedLines:  make(map[int64]string),
	}, nil
}

// Rules are the accrual rules the engine applies.
func (e *Engine) Rules() Rules { return e.opt.Rules }

// Redemption are the redemption rules the engine applies.
func (e *Engine) Redemption() Redemption { return e.opt.Redemption }

// Summary counts what a run did. Money is kopecks.
type Summary struct {
	Seen            int   // bookings looked at
	Unchanged       int   // skipped without a call: update_date had not moved
	Earning         int   // bookings whose status earns
	Deposits        int   // deposits posted
	Withdrawals     int   // withdrawals posted
	Credited        int64 // kopecks deposited
	Withdrawn       int64 // kopecks withdrawn
	AccountsMatched int
	AccountsCreated int
	Parked          int // records parked in this run
	Shortfalls      int // withdrawals that fell short in this run (a new or larger shortfall; one standing is not counted again)
	Retrying        int // bookings left queued for a later run (transient trouble)
	Resolved        int // unclear operations settled by reading the ledger
	WriteBacks      int // guest notes written in Bnovo
	// Rechecked counts bookings planned once more because their update_date is the mark of
	// syncd's own earlier write-back, which hides any change the desk made meanwhile (one
	// payments read each for a stay that earns; see ownWriteMark).
	Rechecked int

	Redemptions          int   // withdrawals for bookings paid with bonuses (spec §7)
	Redeemed             int64 // kopecks withdrawn by them
	RedemptionReturns    int   // deposits back (a bonus payment refunded or deleted, a cancellation)
	Returned             int64 // kopecks deposited back
	RedemptionShortfalls int   // redemptions that fell short in this run (new or larger; one standing is not counted again)
	ArrivalLines         int   // lines at check-in written (also counted in WriteBacks)
}

// add counts o's work in s too.
func (s *Summary) add(o Summary) {
	s.Seen += o.Seen
	s.Unchanged += o.Unchanged
	s.Earning += o.Earning
	s.Deposits += o.Deposits
	s.Withdrawals += o.Withdrawals
	s.Credited += o.Credited
	s.Withdrawn += o.Withdrawn
	s.AccountsMatched += o.AccountsMatched
	s.AccountsCreated += o.AccountsCreated
	s.Parked += o.Parked
	s.Shortfalls += o.Shortfalls
	s.Retrying += o.Retrying
	s.Resolved += o.Resolved
	s.WriteBacks += o.WriteBacks
	s.Rechecked += o.Rechecked
	s.Redemptions += o.Redemptions
	s.Redeemed += o.Redeemed
	s.RedemptionReturns += o.RedemptionReturns
	s.Returned += o.Returned
	s.RedemptionShortfalls += o.RedemptionShortfalls
	s.ArrivalLines += o.ArrivalLines
}

func (s *Summary) MarshalZerologObject(e *zerolog.Event) {
	e.Int("bookings_seen", s.Seen).Int("unchanged", s.Unchanged).Int("earning", s.Earning).
		Int("deposits", s.Deposits).Int("withdrawals", s.Withdrawals).
		Str("bonuses_credited", formatBonuses(s.Credited)).Str("bonuses_withdrawn", formatBonuses(s.Withdrawn)).
		Int("accounts_matched", s.AccountsMatched).Int("accounts_created", s.AccountsCreated).
		Int("parked", s.Parked).Int("shortfalls", s.Shortfalls).Int("retrying", s.Retrying).
		Int("resolved", s.Resolved).Int("write_backs", s.WriteBacks).Int("rechecked_after_write_back", s.Rechecked)
	if s.Redemptions+s.RedemptionReturns+s.RedemptionShortfalls > 0 {
		e.Int("redemptions", s.Redemptions).Str("bonuses_redeemed", formatBonuses(s.Redeemed)).
			Int("redemption_returns", s.RedemptionReturns).Str("bonuses_returned", formatBonuses(s.Returned)).
			Int("redemption_shortfalls", s.RedemptionShortfalls)
	}
}

// zoneShiftMargin is how far Bnovo's hotel zone, once seen in timezone's offset, may have
// moved west of it unseen: a daylight-saving change moves a zone by an hour (Lord Howe: half
// an hour). A changed listing whose start lies within it after our midnight keeps the day of
// overlap; one starting later reaches back past Bnovo's midnight anyway.
const zoneShiftMargin = time.Hour

// Cursor names in the state file.
const (
	cursorChanged  = "changed"  // RFC 3339 start of the last completed cycle
	cursorCheckout = "checkout" // YYYY-MM-DD: checkouts up to this day were listed
)

// Cycle runs one sync cycle (spec §4): settle unclear operations, retry queued bookings, then
// list bookings changed since the previous cycle and bookings that checked out since the last
// listing (on a fresh state: the whole lookback window).
func (e *Engine) Cycle(ctx context.Context) (Summary, error) {
	defer e.releaseBudget()
	start := e.now()
	var sum Summary
	if err := e.prologue(ctx, &sum); err != nil {
		return sum, err
	}
	today := e.day(start)
	lookbackStart := today.AddDate(0, 0, -e.opt.LookbackDays)
	full := e.cycles%e.opt.ChangedEvery == 0
	e.cycles++
	if !full {
		// Between full cycles only today's departures: the changed stream's cursor stays, so
		// the next full cycle lists every change since the last one. Once none of today's is
		// still to check out, not even those: a stay moved to depart today is a change the next
		// full cycle finds.
		if !e.departedAll.Equal(today) {
			q := bnovo.ListQuery{DataType: bnovo.ByDeparture, From: today, To: today}
			staying := 0
			err := e.listing(ctx, "checkout", q, 0, func(_ *state.Tx, p bnovo.Page) error {
				staying += len(p.Bad)
				for _, b := range p.Bookings {
					if !e.opt.Rules.Earns(b) && !cancelled(b) {
						staying++
					}
				}
				return nil
			}, &sum, nil)
			if err != nil {
				return sum, fmt.Errorf("listing bookings departing %s: %w", today.Format(time.DateOnly), err)
			}
			if staying == 0 {
				e.departedAll = today
			}
		}
		if err := e.settle(ctx, &sum); err != nil {
			return sum, err
		}
		e.refreshArrivals(ctx, &sum)
		return sum, nil
	}

	var changedFrom, checkoutFrom time.Time
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		changedFrom, checkoutFrom = lookbackStart, lookbackStart
		if v, ok := tx.Cursor(cursorChanged); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return fmt.Errorf("state: cursor %q: %w", cursorChanged, err)
			}
			if t.After(start) {
				// Written while the clock ran ahead (and stepped back since): the changes
				// since then are unknown, so the whole lookback window is listed again.
				e.log.Warn().Str("cursor", cursorChanged).Time("at", t).Time("now", start).
					Msg("a state cursor lies in the future: the clock ran ahead when it was written; listing the whole lookback window again")
			} else {
				// Bnovo filters by the date in its own hotel zone, which may lie west of ours:
				// a whole day before the cursor's date covers any zone (see warnZone), until
				// this process has seen Bnovo write its dates in our offset. Even then its zone
				// may have left our offset since (a daylight-saving change, before any date in
				// the new offset was seen): early in the day the day of overlap stays.
				since := t.Add(-e.opt.ChangedOverlap)
				changedFrom = e.day(since)
				if !e.zoneAgrees || since.Sub(changedFrom) < zoneShiftMargin {
					changedFrom = changedFrom.AddDate(0, 0, -1)
				}
			}
		}
		if v, ok := tx.Cursor(cursorCheckout); ok {
			d, err := time.ParseInLocation(time.DateOnly, v, e.opt.Location)
			if err != nil {
				return fmt.Errorf("state: cursor %q: %w", cursorCheckout, err)
			}
			if d.After(today) {
				// As above: departures "listed" up to a day that has not come yet were listed
				// before those guests left; nothing since that listing is known.
				e.log.Warn().Str("cursor", cursorCheckout).Str("at", v).Time("now", start).
					Msg("a state cursor lies in the future: the clock ran ahead when it was written; listing the whole lookback window again")
			} else {
				checkoutFrom = d
			}
		}
		return nil
	}); err != nil {
		return sum, err
	}
	checkoutFrom = later(checkoutFrom, lookbackStart)

	type listingRun struct {
		name string
		q    bnovo.ListQuery
	}
	var listings []listingRun
	if checkoutFrom.Before(today) {
		// Departures are listed once a day (and over the lookback window on a fresh state):
		// listed again, today's would only show what the changed stream shows. They come
		// first, so the changed stream then sees this run's write-backs as syncd's own, too
		// young to be planned again yet (see unchanged).
		listings = append(listings, listingRun{"checkout", bnovo.ListQuery{DataType: bnovo.ByDeparture, From: checkoutFrom, To: today}})
	}
	listings = append(listings, listingRun{"changed", bnovo.ListQuery{DataType: bnovo.ByChanged, From: changedFrom, To: today}})
	for _, l := range listings {
		if err := e.listing(ctx, l.name, l.q, 0, nil, &sum, nil); err != nil {
			return sum, fmt.Errorf("listing %s bookings %s..%s: %w", l.name, l.q.From.Format(time.DateOnly), l.q.To.Format(time.DateOnly), err)
		}
	}
	if err := e.commit(func(tx *state.Tx) error {
		if err := tx.SetCursor(cursorChanged, start.Format(time.RFC3339Nano)); err != nil {
			return err
		}
		return tx.SetCursor(cursorCheckout, today.Format(time.DateOnly))
	}); err != nil {
		return sum, fmt.Errorf("advancing cursors: %w", err)
	}
	e.caughtUp = true
	if err := e.settle(ctx, &sum); err != nil {
		return sum, err
	}
	if err := e.listArrivals(ctx, today); err != nil {
		// Lines, not money: the cycle's work is done; the listing is tried again next cycle.
		e.log.Warn().Err(err).Msg("listing the arrivals window failed; tried again next cycle")
	}
	e.refreshArrivals(ctx, &sum)
	return sum, nil
}

// Backfill processes bookings that checked out in [from, to] (dates in the hotel's zone, both
// inclusive). Its position is kept per range, so an interrupted backfill resumes where it was.
func (e *Engine) Backfill(ctx context.Context, from, to time.Time) (Summary, error) {
	defer e.releaseBudget()
	sum, _, err := e.BackfillPages(ctx, from, to, 0)
	return sum, err
}

// errEnoughPages stops a listing after the pages a BackfillPages call was given.
var errEnoughPages = errors.New("page allowance used")

// BackfillPages advances the backfill of [from, to] by at most pages listing pages (0: to the
// end) and reports whether it is complete. The daemon uses it to interleave a long backfill with
// its cycles, one page at a time.
func (e *Engine) BackfillPages(ctx context.Context, from, to time.Time, pages int) (Summary, bool, error) {
	defer e.releaseBudget()
	var sum Summary
	requested := BackfillCursor(e.day(from), e.day(to))
	from, to, err := e.backfillRange(from, to)
	if err != nil {
		return sum, false, err
	}
	if err := e.prologue(ctx, &sum); err != nil {
		return sum, false, err
	}
	key := BackfillCursor(from, to)
	offset, total := 0, 0
	finished := false
	if err := e.opt.DB.View(func(tx *state.Tx) error {
		v, ok := tx.Cursor(key)
		finished = ok && v == backfillDone
		if ok && !finished {
			// "offset/total"; an older syncd saved the offset alone.
			n, err := fmt.Sscanf(v, "%d/%d", &offset, &total)
			if n >= 1 {
				return nil
			}
			return err
		}
		return nil
	}); err != nil {
		return sum, false, fmt.Errorf("state: cursor %q: %w", key, err)
	}
	if finished && requested != key {
		// An older syncd's request for a range ending after today, already served as key.
		return sum, true, e.commit(func(tx *state.Tx) error { return tx.SetCursor(requested, backfillDone) })
	}
	if offset > 0 {
		e.log.Info().Str("range", from.Format(time.DateOnly)+":"+to.Format(time.DateOnly)).Int("offset", offset).Msg("backfill resumes")
	}
	q := bnovo.ListQuery{DataType: bnovo.ByDeparture, From: from, To: to, ResumeTotal: total}
	progress := e.newProgress(key, offset)
	taken := 0
	err = e.listing(ctx, key, q, offset, func(tx *state.Tx, p bnovo.Page) error {
		progress.page(p)
		// The total goes with the offset: a listing that has shrunk by the time the backfill
		// resumes has shifted, and resuming at the offset would skip bookings.
		return tx.SetCursor(key, fmt.Sprintf("%d/%d", p.Next, p.Total))
	}, &sum, func(p bnovo.Page) bool {
		taken++
		return pages == 0 || taken < pages || p.Next >= p.Total
	})
	if errors.Is(err, errEnoughPages) {
		return sum, false, nil
	}
	if err != nil {
		return sum, false, fmt.Errorf("backfill %s: %w", key, err)
	}
	if err := e.commit(func(tx *state.Tx) error {
		if requested != key {
			// A range requested with its end after today by an older syncd is pending under
			// its own name: finish it too, or the daemon would run it again forever.
			if err := tx.SetCursor(requested, backfillDone); err != nil {
				return err
			}
		}
		return tx.SetCursor(key, backfillDone)
	}); err != nil {
		return sum, false, err
	}
	err = e.settle(ctx, &sum) // before sum is copied out: settling counts too
	return sum, true, err
}

// backfillRange is [from, to] as a backfill runs it: whole days in the hotel's zone, and an end
// after today taken as today (later departures are the cycles' work). Every backfill's cursor
// is named after this range, so a request and the pages that serve it agree on the name.
func (e *Engine) backfillRange(from, to time.Time) (time.Time, time.Time, error) {
	from, to = e.day(from), e.day(to)
	if today := e.day(e.now()); to.After(today) {
		to = today
	}
	if from.After(to) {
		return from, to, fmt.Errorf("backfill: %s is after %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return from, to, nil
}

// PendingBackfills lists the ranges of backfills started and not finished, from the state.
func (e *Engine) PendingBackfills() ([][2]time.Time, error) {
	var out [][2]time.Time
	err := e.opt.DB.View(func(tx *state.Tx) error {
		for name, v := range tx.Cursors() {
			from, to, ok := parseBackfillCursor(name, e.opt.Location)
			if ok && v != backfillDone {
				out = append(out, [2]time.Time{from, to})
			}
		}
		return nil
	})
	return out, err
}

// RequestBackfill records a backfill of [from, to] as pending (from its start, unless it is
// already under way), for the daemon to run between its cycles.
func (e *Engine) RequestBackfill(from, to time.Time) error {
	from, to, err := e.backfillRange(from, to)
	if err != nil {
		return err
	}
	key := BackfillCursor(from, to)
	return e.commit(func(tx *state.Tx) error {
		if v, ok := tx.Cursor(key); ok && v != backfillDone {
			return nil
		}
		return tx.SetCursor(key, "0")
	})
}

func parseBackfillCursor(name string, loc *time.Location) (from, to time.Time, ok bool) {
	var a, b string
	if n, _ := fmt.Sscanf(strings.ReplaceAll(name, ":", " "), "backfill %s %s", &a, &b); n != 2 {
		return from, to, false
	}
	from, err1 := time.ParseInLocation(time.DateOnly, a, loc)
	to, err2 := time.ParseInLocation(time.DateOnly, b, loc)
	return from, to, err1 == nil && err2 == nil
}

const backfillDone = "done"

// BackfillCursor names a backfill range's cursor in the state file.
func BackfillCursor(from, to time.Time) string {
	return "backfill:" + from.Format(time.DateOnly) + ":" + to.Format(time.DateOnly)
}

// Drain settles unclear operations and processes the queued bookings (those a webhook
// announced, or that hit passing trouble) without listing anything: the daemon's prompt answer
// to a webhook.
func (e *Engine) Drain(ctx context.Context) (Summary, error) {
	defer e.releaseBudget()
	var sum Summary
	err := e.prologue(ctx, &sum)
	return sum, err
}

// releaseBudget ends every public run: Bnovo calls the limiter reserved ahead for this run and
// the run did not make go back to the budget (up to Reserve-1 of them, every run). A failure
// only leaves them counted, the safe side.
func (e *Engine) releaseBudget() {
	if e.opt.Budget == nil {
		return
	}
	if err := e.opt.Budget.Release(); err != nil {
		e.log.Warn().Err(err).Msg("unused Bnovo calls could not be given back to the budget; they stay counted")
	}
}

// prologue settles operations left unclear by an earlier run, then retries queued bookings.
func (e *Engine) prologue(ctx context.Context, sum *Summary) error {
	if err := e.opt.DB.CheckFile(); err != nil {
		return err
	}
	e.noteCatchUp()
	e.handled = make(map[int64]time.Time)
	e.requeued = make(map[int64]bool)
	e.queueTrouble = false
	if err := e.resolveOpen(ctx, sum, false); err != nil {
		return err
	}
	if err := e.retryRefused(); err != nil {
		return fmt.Errorf("queueing bookings whose account refused credit: %w", err)
	}
	if err := e.noteRedemptionSwitch(); err != nil {
		return fmt.Errorf("noting redemption switched off or on: %w", err)
	}
	if err := e.drainQueue(ctx, sum); err != nil {
		return err
	}
	return e.opt.DB.View(func(tx *state.Tx) (err error) {
		e.queueMark, err = tx.QueueMark()
		return err
	})
}

// enqueue queues a booking the run could not finish, for a later run.
func (e *Engine) enqueue(tx *state.Tx, id int64) error {
	if e.requeued == nil {
		e.requeued = make(map[int64]bool)
	}
	e.requeued[id] = true
	e.forgetRead(id)
	return tx.Enqueue(id)
}

// settle ends a run settled: unclear operations are resolved by their markers (waiting until
// the ledger's answer is conclusive) and the bookings they held back are planned again, in
// rounds, until none is open or one more in-flight window (SettleAfter) has passed without
// settling them: then the run fails with an UnsettledError naming them (the next run looks them
// up again, never sends them blindly). Owed guest lines are written last.
func (e *Engine) settle(ctx context.Context, sum *Summary) error {
	if err := e.settleRounds(ctx, sum, true); err != nil {
		return err
	}
	e.payOwedLines(ctx, sum)
	return nil
}

// SettleOpen settles the run's unclear operations by their markers, reading ProBonus only
// (no Bnovo call): a one-shot run stopped for Bnovo budget ends settled with it.
func (e *Engine) SettleOpen(ctx context.Context) (Summary, error) {
	var sum Summary
	err := e.settleRounds(ctx, &sum, false)
	return sum, err
}

// settleRounds resolves open operations (and with plan, plans their bookings again) in rounds
// until none is open, for at most one in-flight window after the first round.
func (e *Engine) settleRounds(ctx context.Context, sum *Summary, plan bool) error {
	var deadline time.Time // one more in-flight window once the first round has waited its own
	for {
		if err := e.resolveOpen(ctx, sum, true); err != nil {
			return err
		}
		if plan {
			if err := e.drainQueue(ctx, sum); err != nil {
				return err
			}
		}
		var open []state.Op
		if err := e.opt.DB.View(func(tx *state.Tx) (err error) { open, err = tx.OpenOps(); return err }); err != nil {
			return err
		}
		if len(open) == 0 {
			return nil
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(e.opt.SettleAfter) // real time: the rounds sleep in it
		}
		if !time.Now().Before(deadline) {
			return unsettled(open)
		}
		if err := sleepFor(ctx, min(settleRetry, e.opt.SettleAfter/4)); err != nil {
			return err
		}
	}
}

// settleRetry spaces the rounds of settle while the ledger cannot be read.
const settleRetry = time.Second

// UnsettledError ends a run that could not settle every unclear operation: ProBonus's
// operations could not be read (or the marker's absence not yet proven) within the run.
type UnsettledError struct {
	Markers []string
}

func (e *UnsettledError) Error() string {
	list := e.Markers
	more := ""
	if len(list) > 10 {
		list, more = list[:10], fmt.Sprintf(" and %d more", len(e.Markers)-10)
	}
	return fmt.Sprintf("%d operations could not be settled (outcome unknown; the next run looks them up by marker, never sends them again blindly): %s%s",
		len(e.Markers), strings.Join(list, ", "), more)
}

func unsettled(open []state.Op) error {
	err := &UnsettledError{}
	for _, op := range open {
		err.Markers = append(err.Markers, opMarker(op))
	}
	return err
}

// listing runs one bookings listing, processing each page as one batch. afterPage, when set,
// runs inside the batch's final transaction (a backfill stores its position there).
// more, when set, is asked after each page whether to go on.
func (e *Engine) listing(ctx context.Context, name string, q bnovo.ListQuery, offset int,
	afterPage func(*state.Tx, bnovo.Page) error, sum *Summary, more func(bnovo.Page) bool) error {
	defer func() { e.pendingMoney = 0 }()
	err := e.opt.PMS.ListBookings(ctx, q, offset, func(p bnovo.Page) error {
		e.pendingMoney = max(0, p.Total-p.Next)
		var final func(*state.Tx) error
		if afterPage != nil {
			final = func(tx *state.Tx) error { return afterPage(tx, p) }
		}
		if err := e.batch(ctx, p.Bookings, e.badRecordParks(name, p.Bad), nil, final, sum); err != nil {
			return err
		}
		if err := e.drainAnnounced(ctx, sum); err != nil {
			return err
		}
		if more != nil && !more(p) {
			return errEnoughPages
		}
		return nil
	})
	if stop := stopping(err); stop != nil && !isStopping(err) {
		return stop // a refused login or an unreachable Bnovo: say what to fix
	}
	return err
}

func (e *Engine) badRecordParks(listing string, bad []bnovo.BadRecord) []state.Parked {
	var parks []state.Parked
	for _, r := range bad {
		key := state.ParkKeyPosition(listing, r.Position)
		if r.ID != 0 {
			key = state.ParkKeyBooking(r.ID)
		}
		e.log.Warn().Str("park", key).Err(r.Err).Msg("unreadable booking parked; fix it in Bnovo or report it")
		parks = append(parks, state.Parked{Key: key, BookingID: r.ID, Reason: "unreadable booking: " + r.Err.Error()})
	}
	return parks
}

func (e *Engine) day(t time.Time) time.Time {
	y, m, d := t.In(e.opt.Location).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, e.opt.Location)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// errDryRun rolls back a dry run's transaction after it has been built and logged.
var errDryRun = errors.New("dry run: not committed")

// commit runs fn in one write transaction; in a dry run the transaction is rolled back so the
// run computes everything but keeps nothing.
func (e *Engine) commit(fn func(*state.Tx) error) error {
	err := e.opt.DB.Update(func(tx *state.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if e.opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err == nil && e.opt.Progress != nil {
		e.opt.Progress()
	}
	return err
}
