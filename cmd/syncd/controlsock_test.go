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

// The daemon refusing a -backfill (its state file failed, the engine stopped) or failing to
// read its status answers "error: ..."; the client printed that on stdout and exited 0, so a
// cron job or script took the backfill for queued. An answer cut off (the daemon stopping)
// is no answer either.
func TestAskDaemonRefusalIsAFailure(t *testing.T) {
	sock := filepath.Join(socketDir(t), "syncd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done, err := serveControl(ctx, sock, func(cmd string) []string {
		switch cmd {
		case "backfill 2026-01-01:2026-01-31":
			return []string{"error: writing the state file: no space left on device"}
		case "status":
			return []string{"daemon: running"}
		}
		return nil
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()

	var out strings.Builder
	err = askDaemon(context.Background(), sock, "backfill 2026-01-01:2026-01-31", &out)
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != exitFailed || !strings.Contains(stderr.String(), "no space left on device") {
		t.Errorf("a refused backfill: exit %d, stderr %q, stdout %q; want exit %d with the daemon's reason on stderr", code, stderr.String(), out.String(), exitFailed)
	}
	if out.Len() != 0 {
		t.Errorf("the refusal went to stdout: %q", out.String())
	}
	out.Reset()
	if err := askDaemon(context.Background(), sock, "status", &out); err != nil || out.String() != "daemon: running\n" {
		t.Errorf("status: %q, %v", out.String(), err)
	}
	// The handler answering nothing stands for a daemon that closed the connection unanswered.
	if err := askDaemon(context.Background(), sock, "other", &out); err == nil {
		t.Error("an empty answer was taken for success")
	}
}
