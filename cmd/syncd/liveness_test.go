package main

import (
	"testing"
	"time"
)

// A run that commits nothing for longer than the grace is stalled, unless it waits for the
// Bnovo budget, which may rightly take hours; an idle engine is never stalled.
func TestLivenessTellsWaitingFromStuck(t *testing.T) {
	l := newLiveness()
	time.Sleep(20 * time.Millisecond)
	if _, stalled := l.stalled(time.Millisecond); stalled {
		t.Error("an idle engine counts as stalled")
	}
	end := l.run()
	time.Sleep(20 * time.Millisecond)
	if _, stalled := l.stalled(time.Millisecond); !stalled {
		t.Error("a run without progress does not count as stalled")
	}
	l.progress()
	if _, stalled := l.stalled(10 * time.Second); stalled {
		t.Error("a run that just committed counts as stalled")
	}
	waited := l.budgetWait()
	time.Sleep(20 * time.Millisecond)
	if _, stalled := l.stalled(time.Millisecond); stalled {
		t.Error("a run waiting for the Bnovo budget counts as stalled")
	}
	waited()
	end()
	if _, stalled := l.stalled(time.Millisecond); stalled {
		t.Error("an engine whose run ended counts as stalled")
	}
}
