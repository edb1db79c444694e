package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

var errTransient = errors.New("transient")
var errFinal = errors.New("final")

func classify(err error) (bool, time.Duration) { return errors.Is(err, errTransient), 0 }

func TestDoRetriesTransientThenSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tries := 0
		err := Do(t.Context(), Policy{}, func(context.Context) error {
			tries++
			if tries < 3 {
				return errTransient
			}
			return nil
		}, classify, nil)
		if err != nil || tries != 3 {
			t.Fatalf("err=%v tries=%d, want nil after 3 tries", err, tries)
		}
	})
}

func TestDoStopsOnFinalError(t *testing.T) {
	tries := 0
	err := Do(t.Context(), Policy{}, func(context.Context) error { tries++; return errFinal }, classify, nil)
	if !errors.Is(err, errFinal) || tries != 1 {
		t.Fatalf("err=%v tries=%d, want errFinal after 1 try", err, tries)
	}
}

func TestDoHonoursRetryAfterCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waits []time.Duration
		tries := 0
		hint := func(err error) (bool, time.Duration) { return true, time.Hour }
		start := time.Now()
		err := Do(t.Context(), Policy{MaxRetryAfter: 7 * time.Second}, func(context.Context) error {
			tries++
			if tries == 2 {
				return nil
			}
			return errTransient
		}, hint, func(_ error, w time.Duration) { waits = append(waits, w) })
		if err != nil {
			t.Fatal(err)
		}
		if len(waits) != 1 || waits[0] != 7*time.Second {
			t.Fatalf("waits=%v, want one capped wait of 7s", waits)
		}
		if got := time.Since(start); got != 7*time.Second {
			t.Fatalf("waited %v, want 7s", got)
		}
	})
}

func TestDoReturnsPromptlyOnCancelAndKeepsLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(3 * time.Second); cancel() }()
		start := time.Now()
		err := Do(ctx, Policy{Initial: time.Minute, Max: time.Hour}, func(context.Context) error { return errTransient },
			func(error) (bool, time.Duration) { return true, 0 }, nil)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
			t.Fatalf("err=%v, want both context.Canceled and the last error", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("returned after %v, want at the cancel (3s)", got)
		}
	})
}

func TestDoGivesUpAfterMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		err := Do(t.Context(), Policy{MaxElapsed: time.Minute}, func(context.Context) error { return errTransient },
			func(error) (bool, time.Duration) { return true, 0 }, nil)
		if !errors.Is(err, errTransient) {
			t.Fatalf("err=%v, want the last transient error", err)
		}
	})
}
