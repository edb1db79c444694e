package ratelimit

import (
	"slices"
	"sync"
	"time"
)

// MemStore is an in-memory Store for the tests. It is safe for concurrent use and
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
