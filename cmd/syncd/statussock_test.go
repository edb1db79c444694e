package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// Only a stale socket is replaced: a file or directory at status.socket stays as it was, and
// the daemon refuses to start naming the key.
func TestControlSocketNeverRemovesWhatIsNotASocket(t *testing.T) {
	dir := socketDir(t)
	file := filepath.Join(dir, "state.db")
	if err := os.WriteFile(file, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, sub} {
		ctx, cancel := context.WithCancel(context.Background())
		done, err := serveControl(ctx, path, func(string) []string { return nil }, zerolog.Nop())
		cancel()
		if err == nil {
			<-done
			t.Fatalf("serveControl on %s started", path)
		}
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "status.socket") {
			t.Errorf("exit %d, %q: want %d naming status.socket", code, stderr.String(), exitUsage)
		}
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "precious" {
		t.Fatalf("the file at status.socket was touched: %q, %v", data, err)
	}
	if _, err := os.Stat(sub); err != nil {
		t.Fatalf("the directory at status.socket was touched: %v", err)
	}

	// A stale socket, as a killed daemon leaves it, is still replaced.
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := serveControl(ctx, sock, func(string) []string { return nil }, zerolog.Nop())
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	cancel()
	<-done
}

// A command that panics answers an error and leaves the socket (and the daemon) serving.
func TestControlSocketSurvivesAPanickingCommand(t *testing.T) {
	dir := socketDir(t)
	sock := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done, err := serveControl(ctx, sock, func(cmd string) []string {
		if cmd == "boom" {
			panic("control fake: boom")
		}
		return []string{"fine"}
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	var out strings.Builder
	if err := askDaemon(ctx, sock, "boom", &out); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Errorf("boom: %v, want the daemon's refusal naming the panic", err)
	}
	if err := askDaemon(ctx, sock, "status", &out); err != nil || !strings.HasPrefix(out.String(), "fine") {
		t.Errorf("status answered %q, %v; want fine", out.String(), err)
	}
}
