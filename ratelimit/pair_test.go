package ratelimit

import (
	"testing"
	"time"
)

// A 429 on an API call blocks the API calls of every worker; logins keep their own limit.
func TestPairBlockStopsOnlyItsKind(t *testing.T) {
	newLimiter := func() *Limiter {
		l, err := New([]Window{{Limit: 100, Per: time.Minute}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	p := Pair{API: newLimiter(), Auth: newLimiter()}
	p.Block(false, time.Now().Add(time.Hour))
	if p.API.Remaining() != 0 || p.API.Reserve() < 59*time.Minute {
		t.Errorf("API limiter after Block: %d calls now, next in %v; want none for an hour", p.API.Remaining(), p.API.Reserve())
	}
	if p.Auth.Remaining() == 0 {
		t.Error("blocking API calls blocked logins too")
	}
}
