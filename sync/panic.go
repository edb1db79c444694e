package sync

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered in syncd's own code and turned into the run's error, so the
// caller can log it with its stack and count it like any failure, and the next run still runs.
type PanicError struct {
	Value any
	Stack []byte
}

func newPanicError(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// Recovered turns a value from recover() into a *PanicError (nil for nil).
func Recovered(v any) error {
	if v == nil {
		return nil
	}
	return newPanicError(v)
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic (a bug in syncd; please report it with the stack in the log): %v", e.Value)
}
