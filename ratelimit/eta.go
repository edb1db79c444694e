package ratelimit

import (
	"sort"
	"time"
)

// ETA estimates when the last of n more calls, sent as fast as the windows allow from now,
// would be admitted. It ignores batching (Reserve), so with batching it is a slight
// underestimate. It allocates nothing per window limit and costs one step per distinct instant
// at which calls would be admitted (a burst of calls admitted together is one step), not one
// per call: the daemon asks for it after every backfill page.
func (l *Limiter) ETA(n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowLocked()
	if n <= 0 {
		return now
	}
	n -= l.reservedUsableLocked(now)
	if n <= 0 {
		return now
	}
	s := schedule{past: l.calls[firstAfter(l.calls, now.Add(-l.longest)):]}
	at := now
	if l.blockedUntil.After(at) {
		at = l.blockedUntil
	}
	for n > 0 {
		// The next call needs, in every full window, its limit-th latest call to have left.
		for i, w := range l.windows {
			if total := s.total(); total >= l.limits[i] {
				if free := s.at(total - l.limits[i]).Add(w.Per + l.margin); free.After(at) {
					at = free
				}
			}
		}
		// Every call that fits all windows at that instant is admitted with it.
		burst := n
		for i, w := range l.windows {
			burst = min(burst, l.limits[i]-s.countAfter(at.Add(-w.Per-l.margin)))
		}
		burst = max(burst, 1) // cannot happen (at was chosen so one fits); never loop forever
		s.add(at, burst)
		n -= burst
	}
	return at
}

// schedule is the call log followed by calls planned at the fastest pace, the planned ones as
// runs of calls admitted at one instant.
type schedule struct {
	past []time.Time // ascending; shared with the limiter, never modified
	runs []run       // ascending by at
}

type run struct {
	at  time.Time
	end int // planned calls up to and including this run
}

func (s *schedule) planned() int {
	if len(s.runs) == 0 {
		return 0
	}
	return s.runs[len(s.runs)-1].end
}

func (s *schedule) total() int { return len(s.past) + s.planned() }

// at is the time of the k-th call (0-based) of the whole schedule.
func (s *schedule) at(k int) time.Time {
	if k < len(s.past) {
		return s.past[k]
	}
	k -= len(s.past)
	j := sort.Search(len(s.runs), func(j int) bool { return s.runs[j].end > k })
	return s.runs[j].at
}

// countAfter is how many calls of the schedule lie strictly after t.
func (s *schedule) countAfter(t time.Time) int {
	j := sort.Search(len(s.runs), func(j int) bool { return s.runs[j].at.After(t) })
	before := 0
	if j > 0 {
		before = s.runs[j-1].end
	}
	return len(s.past) - firstAfter(s.past, t) + s.planned() - before
}

func (s *schedule) add(at time.Time, calls int) {
	s.runs = append(s.runs, run{at: at, end: s.planned() + calls})
}

// firstAfter is the index of the first call strictly after t.
func firstAfter(calls []time.Time, t time.Time) int {
	return sort.Search(len(calls), func(i int) bool { return calls[i].After(t) })
}

// Pair is the Bnovo-shaped limiter: logins have their own limit and do not count against the
// API windows. It satisfies bnovo.Limiter without importing bnovo. The two limiters need
