package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// demoAtDefaultLevel is one run of `syncd -demo` as a user types it, shared by the tests that
// read its output: the demo waits for its scaled-down rate limits for seconds, and its output
// does not depend on who reads it.
var demoAtDefaultLevel struct {
	once sync.Once
	text string
	code int
	took time.Duration
}

// sharedDemo returns the shared demo run's output and how long it took; it fails t if the demo
// did not exit 0, and skips t under -short.
func sharedDemo(t *testing.T) (text string, took time.Duration) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the whole demo, which waits for its scaled-down rate limits (~4 s); the full run keeps it")
	}
	d := &demoAtDefaultLevel
	d.once.Do(func() {
		var out bytes.Buffer
		start := time.Now()
		d.code = exitCode(run(context.Background(), []string{"-demo"}, &out, &out, func(string) string { return "" }), &out)
		d.took, d.text = time.Since(start), out.String()
	})
	if d.code != exitOK {
		t.Fatalf("demo: exit %d\n%s", d.code, d.text)
	}
	return d.text, d.took
}
