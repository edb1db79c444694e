package ratelimit

import (
	"slices"
	"sync"
	"time"
)

// Store persists the call log. Entries may lie in the future: a slot reserved ahead (see
// Options.Reserve) is stored at the end of the time it may be used in.
type Store interface {
	LoadCalls(since time.Time) ([]time.Time, error) // ascending
	RecordCalls(at ...time.Time) error              // durable before it returns
	PruneCalls(before time.Time) error
}

// Forgetter is a Store that can forget entries: Limiter.Release uses it to give back slots
// reserved ahead and never used. ForgetCalls removes up to n entries stored at exactly at,
// durably before it returns; fewer (or none) when fewer are stored.
type Forgetter interface {
	ForgetCalls(at time.Time, n int) error
}

// MemStore is an in-memory Store for tests and dry runs. It is safe for concurrent use and
// survives any number of Limiters built on it, which is how tests model restarts.
type MemStore struct {
	mu     sync.Mutex
	calls  []time.Time // ascending
	writes int
}

// LoadCalls returns the calls at or after since, ascending.
func (s *MemStore) LoadCalls(since time.Time) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, _ := slices.BinarySearchFunc(s.calls, since, compareTime)
	return slices.Clone(s.calls[first:]), nil
}

// RecordCalls adds calls to the log.
func (s *MemStore) RecordCalls(at ...time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	for _, t := range at {
		s.calls = insertSorted(s.calls, t.Round(0))
	}
	return nil
}

// PruneCalls drops the calls strictly before before.
func (s *MemStore) PruneCalls(before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, _ := slices.BinarySearchFunc(s.calls, before, compareTime)
	s.calls = slices.Delete(s.calls, 0, first)
	return nil
}

// ForgetCalls removes up to n calls stored at exactly at.
func (s *MemStore) ForgetCalls(at time.Time, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.calls = removeAt(s.calls, at.Round(0), n)
	return nil
}

// Calls returns every stored call, ascending.
func (s *MemStore) Calls() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Writes counts RecordCalls and ForgetCalls invocations: each stands for one durable write (an fsync in a
// real store), which is what Options.Reserve saves.
func (s *MemStore) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func compareTime(a, b time.Time) int { return a.Compare(b) }

// insertSorted keeps equal times in arrival order; new calls are nearly always the latest, so
// this is an append in practice.
func insertSorted(calls []time.Time, t time.Time) []time.Time {
	i := len(calls)
	for i > 0 && calls[i-1].After(t) {
		i--
	}
	return slices.Insert(calls, i, t)
}

// removeAt removes up to n entries equal to at from the ascending calls.
func removeAt(calls []time.Time, at time.Time, n int) []time.Time {
	first, found := slices.BinarySearchFunc(calls, at, compareTime)
	if !found || n <= 0 {
		return calls
	}
	end := first
	for end < len(calls) && end-first < n && calls[end].Equal(at) {
		end++
	}
	return slices.Delete(calls, first, end)
}
