package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/hotelsync/syncd/ratelimit"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// trailLine is one line of the progress trail, read back from syncd's JSON log.
type trailLine struct {
	At        time.Time
	Run       int
	Message   string
	Done      *int
	Total     *int
	CallsUsed *int
	CallsLeft *int
	BudgetNow *int
	ETA       *time.Time
	ResumeAt  *time.Time
	Offset    *int
}

// trailMessages are the log lines that tell an operator how a long backfill is going.
var trailMessages = map[string]bool{
	"backfill progress":                   true,
	"backfill resumes":                    true,
	"Bnovo budget spent for now: waiting": true,
	"backfill finished":                   true,
}

type longResult struct {
	Runner    string
	Windows   []ratelimit.Window
	Work      work
	Minimum   int
	Starts    []restartRun
	Completed bool
	Finished  time.Time // when the last run ended
	Started   time.Time
	traffic
	Limits       []int
	Floor        time.Duration
	Audit        syncer.AuditReport
	CursorDone   bool
	Trail        []trailLine
	MissingField []string // progress fields the trail never carried
}

// runLongBackfill backfills a range needing several budget windows' worth of calls, stopping
// syncd at random moments (SIGTERM and SIGKILL in turn for a child) and starting it again on the
// same state file, until a start completes the backfill. Then the ledger is audited.
func runLongBackfill(ctx context.Context, run runner, spec rigSpec, interruptions int, life [2]time.Duration, rng *rand.Rand) (longResult, error) {
	res := longResult{Runner: run.Name()}
	r, err := newRig(spec)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Windows, res.Limits = r.windows, r.limits
	res.Work = r.backfillWork()
	res.Minimum = res.Work.Minimum(1)

	res.Started = time.Now()
	const maxStarts = 40
	for i := 0; i < maxStarts && !res.Completed; i++ {
		if err := markStart(r.logPath, i+1); err != nil {
			return res, err
		}
		var lifetime time.Duration // 0: not stopped
		if i < interruptions {
			lifetime = life[0] + time.Duration(rng.Int64N(int64(life[1]-life[0])))
		}
		s, err := startOnce(ctx, run, r, runArgs{Backfill: true}, i, lifetime)
		if err != nil {
			return res, err
		}
		res.Completed = s.Signal == 0
		res.Starts = append(res.Starts, s)
	}
	res.Finished = time.Now()
	res.traffic = r.traffic()
	res.Floor = floorTime(res.Calls, r.windows, spec.Share)

	if res.Audit, res.CursorDone, err = audit(r); err != nil {
		return res, err
	}
	if res.Trail, err = readTrail(r.logPath); err != nil {
		return res, err
	}
	res.MissingField = missingProgressFields(res.Trail)
	return res, nil
}

// markStart writes a line of our own into syncd's log so the trail knows which start wrote what.
func markStart(path string, n int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{"syncbench_start": n, "time": time.Now().Format(time.RFC3339Nano)})
	_, err = f.Write(append(line, '\n'))
	return errors.Join(err, f.Close())
}

// readTrail picks the progress-related lines out of syncd's JSON log.
func readTrail(path string) ([]trailLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var trail []trailLine
	run := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var raw struct {
			Start     int        `json:"syncbench_start"`
			Time      time.Time  `json:"time"`
			Message   string     `json:"message"`
			Done      *int       `json:"done"`
			Total     *int       `json:"total"`
			CallsUsed *int       `json:"calls_used"`
			CallsLeft *int       `json:"calls_left_estimate"`
			BudgetNow *int       `json:"budget_now"`
			ETA       *time.Time `json:"eta"`
			ResumeAt  *time.Time `json:"resume_at"`
			Offset    *int       `json:"offset"`
		}
		if json.Unmarshal(sc.Bytes(), &raw) != nil {
			continue // a plain-text line (a Go panic, say) is not part of the trail
		}
		if raw.Start > 0 {
			run = raw.Start
			continue
		}
		if !trailMessages[raw.Message] {
			continue
		}
		trail = append(trail, trailLine{At: raw.Time, Run: run, Message: raw.Message, Done: raw.Done, Total: raw.Total,
			CallsUsed: raw.CallsUsed, CallsLeft: raw.CallsLeft, BudgetNow: raw.BudgetNow, ETA: raw.ETA, ResumeAt: raw.ResumeAt, Offset: raw.Offset})
	}
	return trail, sc.Err()
}

// missingProgressFields lists what issue 3 asks the progress line to carry and no line did.
func missingProgressFields(trail []trailLine) []string {
	has := map[string]bool{}
	for _, l := range trail {
		if l.Message != "backfill progress" {
			continue
		}
		has["done/total"] = has["done/total"] || l.Done != nil && l.Total != nil
		has["calls_used"] = has["calls_used"] || l.CallsUsed != nil
		has["calls_left"] = has["calls_left"] || l.CallsLeft != nil
		has["budget_now"] = has["budget_now"] || l.BudgetNow != nil
		has["eta"] = has["eta"] || l.ETA != nil
	}
	var missing []string
	for _, f := range []string{"done/total", "calls_used", "calls_left", "budget_now", "eta"} {
		if !has[f] {
			missing = append(missing, f)
		}
	}
	return missing
}

// audit checks the invariant from the outside, as cmd/syncd's demo does: every booking's target
// computed from the simulator's data against the ledger's operations.
func audit(r *rig) (syncer.AuditReport, bool, error) {
	targets := make(map[int64]int64, len(r.ids))
	for _, id := range r.ids {
		b, ok := r.bn.Booking(id)
		if !ok {
			continue
		}
		targets[id] = 0
		if r.rules.Earns(b) {
			targets[id] = r.rules.Target(b, r.bn.Payments(id)).Target
		}
	}
	shortfalls := make(map[int64]int64)
	parked := make(map[int64]bool)
	db, err := state.Open(r.statePath, state.Options{})
	if err != nil {
		return syncer.AuditReport{}, false, err
	}
	defer db.Close()
	done := false
	err = db.View(func(tx *state.Tx) error {
		v, _ := tx.Cursor(syncer.BackfillCursor(r.from, r.to))
		done = v == "done"
		list, err := tx.Shortfalls()
		if err != nil {
			return err
		}
		for _, b := range list {
			shortfalls[b.ID] = b.Shortfall
		}
		held, err := tx.ParkedList()
		for _, p := range held {
			parked[p.BookingID] = true
		}
		return err
	})
	return syncer.Audit(targets, shortfalls, parked, r.pb.AllOperations()), done, err
}

func longTable(res longResult) []*table {
	t := &table{
		title: fmt.Sprintf("longbackfill: %d bookings needing >= %d calls under %s (%.1f windows of the longest), stopped at random and started again",
			res.Work.Bookings, res.Minimum, windowsText(res.Windows), float64(res.Minimum)/float64(res.Limits[longest(res.Windows)])),
		header: []string{"start", "stopped by", "lived", "calls in this start", "calls so far"},
	}
	for i, s := range res.Starts {
		s.add(t, i, res.Runner)
	}
	total := res.Finished.Sub(res.Started)
	t.note("via %s: completed %v, cursor done %v; %d API calls + %d logins for a minimum of %d (%.3f); 429s %d; windows (max/limit): %s",
		res.Runner, res.Completed, res.CursorDone, res.Calls, res.AuthCalls, res.Minimum, ratio(float64(res.Calls+res.AuthCalls), float64(res.Minimum)),
		res.TooMany, maxLimitText(res.MaxInWindow, res.Limits))
	t.note("wall %s for a floor of %s (%.3f), restarts and settling included", fmtDur(total), fmtDur(res.Floor), ratio(total.Seconds(), res.Floor.Seconds()))
	a := res.Audit
	t.note("audit: %d bookings (%d parked), expected %d bonuses, posted %d, mismatches %d, doubled markers %d -> invariant %s",
		a.Bookings, a.Parked, a.Expected/100, a.Posted/100, len(a.Mismatches), len(a.Duplicates), passFail(a.OK() && res.Completed && res.CursorDone))
	for _, m := range append(a.Mismatches, a.Duplicates...) {
		t.note("  %s", m)
	}

	trail := &table{
		title:  "longbackfill: progress/ETA trail from syncd's log (t = since the first start; eta and resume as t too)",
		header: []string{"t", "start", "line", "done/total", "calls_used", "calls_left_est", "budget_now", "eta", "eta error"},
	}
	for _, l := range res.Trail {
		trail.add(offset(res.Started, l.At), l.Run, l.Message, doneTotal(l), optInt(l.CallsUsed), optInt(l.CallsLeft),
			optInt(l.BudgetNow), optTime(res.Started, l.ETA, l.ResumeAt, l.Offset), etaError(l, res.Finished))
	}
	trail.note("the backfill finished at t=%s; eta error = eta - that finish (negative: too early)", fmtDur(total))
	if len(res.MissingField) > 0 {
		trail.note("MISSING from every 'backfill progress' line: %v", res.MissingField)
	}
	return []*table{t, trail}
}

func longest(ws []ratelimit.Window) int {
	best := 0
	for i, w := range ws {
		if w.Per > ws[best].Per {
			best = i
		}
	}
	return best
}

func maxLimitText(maxSeen, limits []int) string {
	s := ""
	for i := range maxSeen {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d/%d", maxSeen[i], limits[i])
	}
	return s
}

func offset(start, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmtDur(t.Sub(start).Round(10 * time.Millisecond))
}

func doneTotal(l trailLine) string {
	if l.Done == nil || l.Total == nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", *l.Done, *l.Total)
}

func optInt(v *int) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(*v)
}

func optTime(start time.Time, eta, resume *time.Time, off *int) string {
	switch {
	case eta != nil:
		return offset(start, *eta)
	case resume != nil:
		return "resume " + offset(start, *resume)
	case off != nil:
		return fmt.Sprintf("from offset %d", *off)
	}
	return ""
}

func etaError(l trailLine, finished time.Time) string {
	if l.ETA == nil {
		return ""
	}
	return fmtSigned(l.ETA.Sub(finished))
}

func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}
