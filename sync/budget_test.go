package sync

import (
	"context"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
)

// releaseSpy counts, at each Release, the call-log entries dated after now: what the run
// reserved ahead and would have left spent without the Release.
type releaseSpy struct {
	*ratelimit.Limiter
	log      state.CallLog
	releases int
	future   int
}

func (s *releaseSpy) Release() error {
	s.releases++
	s.future += len(futureEntries(s.log))
	return s.Limiter.Release()
}

func futureEntries(log state.CallLog) []time.Time {
	now := time.Now()
	calls, _ := log.LoadCalls(now)
	var future []time.Time
	for _, c := range calls {
		if c.After(now) {
			future = append(future, c)
		}
	}
	return future
}

// TestRunsGiveBackReservedBudget: with the Bnovo limiter batching durable reservations
// (Reserve 16, as syncd runs), every public run ends with no slot reserved ahead left in the
// call log, and the log, the limiter's count and a fresh limiter on the same state all count
// exactly the calls Bnovo received.
func TestRunsGiveBackReservedBudget(t *testing.T) {
	h := newHarness(t, nil)
	windows := []ratelimit.Window{{Limit: 100000, Per: time.Hour}}
	callLog := h.db.CallLog("bnovo")
	api, err := ratelimit.New(windows, ratelimit.Options{Store: callLog, Reserve: 16})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ratelimit.New(windows, ratelimit.Options{Store: h.db.CallLog("bnovo-auth")})
	if err != nil {
		t.Fatal(err)
	}
	spy := &releaseSpy{Limiter: api, log: callLog}
	h.pms, err = bnovo.New(bnovo.Config{BaseURL: h.bn.URL, AccountID: 1, APIKey: "test-key", Location: moscow,
		Retry: fastRetry, RequestTimeout: 2 * time.Second, Limiter: ratelimit.Pair{API: api, Auth: auth}})
	if err != nil {
		t.Fatal(err)
	}
	h.opt.PMS, h.opt.Budget = h.pms, spy
	if h.eng, err = New(h.opt); err != nil {
		t.Fatal(err)
	}

	check := func(run string) {
		t.Helper()
		if future := futureEntries(callLog); len(future) != 0 {
			t.Errorf("after %s: %d call-log entries dated in the future", run, len(future))
		}
		sent := h.bn.Stats().Calls
		stored, err := callLog.LoadCalls(time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != sent {
			t.Errorf("after %s: call log holds %d entries for %d calls Bnovo received", run, len(stored), sent)
		}
		if used := api.Usage()[0].Used; used != sent {
			t.Errorf("after %s: limiter counts %d calls, Bnovo received %d", run, used, sent)
		}
		restarted, err := ratelimit.New(windows, ratelimit.Options{Store: callLog, Reserve: 16})
		if err != nil {
			t.Fatal(err)
		}
		if used := restarted.Usage()[0].Used; used != sent {
			t.Errorf("after %s: a restarted limiter counts %d calls, Bnovo received %d", run, used, sent)
		}
	}

	for i := range 7 {
		id := h.checkedOut("+7 912 345-67-"+itoa(int64(20+i)), "", "")
		h.pay(id, "in", 1000000, "Наличные")
	}
	h.cycle()
	check("a cycle")

	queued := h.checkedOut("+7 912 345-67-40", "", "")
	h.pay(queued, "in", 500000, "Наличные")
	if err := h.db.Update(func(tx *state.Tx) error { return tx.Enqueue(queued) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("a drain")

	now := time.Now().In(moscow)
	from, to := now.AddDate(0, 0, -120), now.AddDate(0, 0, -60)
	h.tick()
	h.bn.Seed(120, 7, from, to)
	if _, _, err := h.eng.BackfillPages(context.Background(), from, to, 1); err != nil {
		t.Fatal(err)
	}
	check("one backfill page")
	if _, err := h.eng.Backfill(context.Background(), from, to); err != nil {
		t.Fatal(err)
	}
	check("the rest of the backfill")

	if spy.releases < 4 {
		t.Errorf("Budget.Release called %d times for 4 runs", spy.releases)
	}
	// The runs are fast enough for the batch to grow: without Release these would stay spent.
	if spy.future == 0 {
		t.Error("no run left reserved slots to give back; the test proves nothing")
	}
	t.Logf("%d entries dated in the future were given back or re-dated over %d releases", spy.future, spy.releases)
}
