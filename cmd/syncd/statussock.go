package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

func isLocked(err error) bool { return errors.Is(err, state.ErrLocked) }

// serveControl answers one-line commands on the Unix socket at path (mode 0600), so
// `syncd -status` and `syncd -backfill` work while the daemon holds the state file's lock.
// The returned channel closes once the listener has stopped after ctx ends.
func serveControl(ctx context.Context, path string, handle func(cmd string) []string, log zerolog.Logger) (<-chan struct{}, error) {
	done := make(chan struct{})
	if path == "" {
		close(done)
		return done, nil
	}
	// A socket left by a killed daemon is stale: nothing answers on it. One that answers belongs
	// to a daemon of another config (state files in one directory share the default socket):
	// taking it would send that config's -status and -backfill here. Anything else at that path
	// (the state file, a config file, a directory) is the operator's and is never removed.
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, usageError("status.socket: %s exists and is not a socket (%s); syncd removes only a stale socket there: choose another path", path, describeMode(info.Mode()))
		}
		if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
			conn.Close()
			return nil, usageError("status.socket: %s is served by another running syncd (a config with another state file?): give each config its own status.socket", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("status socket %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
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
				line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
				if err != nil {
					return
				}
				out := answer(handle, strings.TrimSpace(line), log)
				_, _ = io.WriteString(conn, strings.Join(out, "\n")+"\n")
			}()
		}
	}()
	return done, nil
}

// askDaemon sends one command to the running daemon's control socket and copies its answer.
func askDaemon(ctx context.Context, path, cmd string, stdout io.Writer) error {
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
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return err
	}
	// The whole answer first: a refusal is a failure on stderr (exit 1), not output, and an
	// answer cut off (the daemon stopping) is none.
	answer, err := io.ReadAll(io.LimitReader(conn, maxControlAnswer))
	if err != nil {
		return fmt.Errorf("the running daemon's answer on %s: %w", path, err)
	}
	text := strings.TrimSpace(string(answer))
	if text == "" {
		return fmt.Errorf("the running daemon closed %s without an answer (is it stopping?): %q was not done; try again", path, cmd)
	}
	if reason, refused := strings.CutPrefix(text, "error: "); refused {
		return fmt.Errorf("the running daemon refused %q: %s", cmd, reason)
	}
	_, err = stdout.Write(answer)
	return err
}

// maxControlAnswer bounds a control answer: status lines are a few kilobytes.
const maxControlAnswer = 1 << 20

// statusFromDaemon reads the running daemon's status lines.
func statusFromDaemon(ctx context.Context, path string, stdout io.Writer) error {
	return askDaemon(ctx, path, "status", stdout)
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return m.Type().String()
	}
}

// answer runs one command. A panic in it (a bug) is the command's error, not the end of the
// daemon: the goroutine serving a connection is no engine worker, and nothing recovers it.
func answer(handle func(cmd string) []string, cmd string, log zerolog.Logger) (out []string) {
	defer func() {
		if r := recover(); r != nil {
			err := syncer.Recovered(r)
			if pe, ok := errors.AsType[*syncer.PanicError](err); ok {
				log.Error().Str("command", cmd).Str("stack", string(pe.Stack)).Msgf("status socket command panicked: %v", pe.Value)
			}
			out = []string{"error: " + err.Error()}
		}
	}()
	return handle(cmd)
}
