package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/state"
)

func isLocked(err error) bool { return errors.Is(err, state.ErrLocked) }

// serveStatus answers every connection on the Unix socket at path with the status lines, so
// `syncd -status` works while the daemon holds the state file's lock. The returned channel
// closes when the listener has stopped after ctx ends.
func serveStatus(ctx context.Context, path string, lines func() ([]string, error), log zerolog.Logger) (<-chan struct{}, error) {
	done := make(chan struct{})
	if path == "" {
		close(done)
		return done, nil
	}
	// A socket left by a killed daemon is stale: we hold the state lock, so no other syncd uses it.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("status socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("status socket %s: %w", path, err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil {
					log.Error().Err(err).Msg("status socket stopped")
				}
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				out, err := lines()
				if err != nil {
					out = []string{"error: " + err.Error()}
				}
				_, _ = io.WriteString(conn, strings.Join(out, "\n")+"\n")
			}()
		}
	}()
	return done, nil
}

// statusFromDaemon reads the running daemon's status lines from its socket.
func statusFromDaemon(ctx context.Context, path string, stdout io.Writer) error {
	if path == "" {
		return &exitError{code: exitLocked, err: errors.New("the state file is locked by a running syncd and no status.socket is configured")}
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return &exitError{code: exitLocked, err: fmt.Errorf("the state file is locked by another syncd, and its status socket %s does not answer: %w", path, err)}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(stdout, conn)
	return err
}
