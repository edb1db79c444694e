package ratelimit

import (
	"fmt"
	"slices"
	"time"
)

// Slots reserved ahead: one durable write of the call log admits a batch of calls.

// takeReservedLocked hands out a slot reserved ahead by an earlier durable write, if one is
// still within its hold.
func (l *Limiter) takeReservedLocked(now time.Time) bool {
	if l.pendingN == 0 || now.Before(l.blockedUntil) {
		return false
	}
	if now.After(l.pendingUntil) {
		// The caller was not fast enough: the rest of the batch was never sent, so it stops
		// counting here (Release forgets it in the Store too), and the next batch starts
		// small again so a slow caller does not keep reserving what it will not use.
		l.dropPendingLocked(now)
		l.batch = 1
		return false
	}
	l.pendingN--
	l.lastAdmit = now
	// From now on the slot counts from its call, not from the end of its hold: left there, it
	// would keep its windows full for up to a hold longer than the call needs, which under
	// tight windows delays the calls after it by as much. The Store keeps the later time, the
	// safe side after a crash, until Release.
	l.calls = removeAt(l.calls, l.pendingUntil, 1)
	l.calls = insertSorted(l.calls, now)
	l.handedOut = addSlot(l.handedOut, l.pendingUntil)
	return true
}

// addSlot adds one entry at at to list, into its last run when that is at the same instant.
func addSlot(list []slots, at time.Time) []slots {
	if n := len(list); n > 0 && list[n-1].at.Equal(at) {
		list[n-1].n++
		return list
	}
	return append(list, slots{at: at, n: 1})
}

// dropPendingLocked forgets, in memory, the slots reserved ahead and not handed out, and keeps
// them for Release to forget in the Store. Only calls never sent are forgotten, so every window
// still counts every call that was.
func (l *Limiter) dropPendingLocked(now time.Time) {
	if l.pendingN > 0 {
		l.calls = removeAt(l.calls, l.pendingUntil, l.pendingN)
		l.forget = append(l.forget, slots{at: l.pendingUntil, n: l.pendingN})
		l.pendingN = 0
	}
	// Entries that no window counts any more need no forgetting: the Store prunes them.
	cutoff := now.Add(-l.longest)
	l.forget = slices.DeleteFunc(l.forget, func(s slots) bool { return !s.at.After(cutoff) })
}

// Release gives back the slots reserved ahead and not handed out, in memory and in the Store,
// and the next reservation starts with a batch of one. Callers call it when a run ends, so
// slots reserved for calls that never came do not spend the hour's and the day's budget. Only
// an orderly Release forgets in the Store: after a crash the reserved slots still count, which
// is the safe side. It is safe for concurrent use (a Wait after it reserves afresh) and writes
// nothing when nothing is reserved.
//
// Slots that were handed out are stored at the end of their hold, maybe still in the future;
// Release logs those again at its own time, which is no earlier than their calls when it comes
// after the run's calls, as it should, and forgets them at the end of the hold. Entries loaded
// in the future (slots reserved before a crash) are logged again at its time too. So no entry
// stays dated in the future and each still counts for as long as its call needs.
//
// A Store without ForgetCalls keeps every entry, so only a restart over-counts them. When the
// Store fails, its entries stay (counted after a restart) and the next Release tries again.
func (l *Limiter) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowLocked()
	l.batch = 1
	l.lastAdmit = time.Time{}
	l.dropPendingLocked(now)
	forgetter, _ := l.store.(Forgetter)
	// Entries still dated in the future: handed-out slots stored at the end of their hold, and
	// slots loaded from before a crash (in calls).
	var relog []slots
	for _, s := range l.handedOut {
		if s.at.After(now) {
			relog = append(relog, s)
		}
	}
	future := l.calls[firstAfter(l.calls, now):]
	for _, t := range future {
		relog = addSlot(relog, t)
	}
	if forgetter != nil && len(relog) > 0 {
		n := 0
		for _, s := range relog {
			n += s.n
		}
		// Logged at now before being forgotten at their old time: a crash in between
		// over-counts, never under-counts.
		if err := l.store.RecordCalls(slices.Repeat([]time.Time{now}, n)...); err != nil {
			return fmt.Errorf("ratelimit: log used reserved calls again: %w", err)
		}
		l.forget = append(l.forget, relog...)
	}
	l.handedOut = nil
	// Every earlier entry is at or before now, so the log stays ascending.
	for i := range future {
		future[i] = now
	}
	if forgetter == nil {
		l.forget = nil
		return nil
	}
	for len(l.forget) > 0 {
		s := l.forget[0]
		if err := forgetter.ForgetCalls(s.at, s.n); err != nil {
			return fmt.Errorf("ratelimit: forget reserved calls: %w", err)
		}
		l.forget = l.forget[1:]
	}
	l.forget = nil
	return nil
}

// extraSlotsLocked decides how many slots beyond the caller's own to reserve. The batch doubles
// while calls keep coming within the hold of each other and every reserved slot gets used, and
// drops to one otherwise, so a slow caller never pays for slots it will not use. Every slot must
// fit in every window right now, because it counts from now on.
func (l *Limiter) extraSlotsLocked(now time.Time) int {
	if l.reserve <= 1 {
		return 0
	}
	fast := !l.lastAdmit.IsZero() && now.Sub(l.lastAdmit) <= l.hold
	if fast {
		l.batch = min(l.batch*2, l.reserve)
	} else {
		l.batch = 1
	}
	room := l.roomLocked(now)
	return max(0, min(l.batch, room)-1)
}

func (l *Limiter) reservedUsableLocked(now time.Time) int {
	if l.pendingN == 0 || now.After(l.pendingUntil) || now.Before(l.blockedUntil) {
		return 0
	}
	return l.pendingN
}
