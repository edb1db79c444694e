package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// Two configs whose state files share a directory (/var/lib/syncd/a.db and b.db) share the
// default status.socket. The second daemon must not take the first one's live socket: -status
// of the first config would then print the second hotel's state, and a -backfill handed over
// for the first would run on the second.
func TestControlSocketNeverTakesALiveDaemonsSocket(t *testing.T) {
	sock := filepath.Join(socketDir(t), "syncd.sock")
	ctxA, cancelA := context.WithCancel(context.Background())
	doneA, err := serveControl(ctxA, sock, func(string) []string { return []string{"daemon: A"} }, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancelA(); <-doneA }()

	ctxB, cancelB := context.WithCancel(context.Background())
	doneB, err := serveControl(ctxB, sock, func(string) []string { return []string{"daemon: B"} }, zerolog.Nop())
	cancelB()
	if err == nil {
		<-doneB
		t.Fatal("a second daemon took the status socket a running daemon serves")
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "status.socket") {
		t.Errorf("exit %d, %q: want %d naming status.socket", code, stderr.String(), exitUsage)
	}
	var out strings.Builder
	if err := askDaemon(context.Background(), sock, "status", &out); err != nil || out.String() != "daemon: A\n" {
		t.Errorf("the first daemon's socket answers %q, %v; want daemon: A", out.String(), err)
	}
}
