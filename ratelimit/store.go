package ratelimit

import (
	"slices"
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
