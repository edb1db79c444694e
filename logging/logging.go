// Package logging builds the process logger: zerolog JSON for journald, or a readable console
// format when a person is watching a terminal.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Levels and formats accepted by New, in the spelling config's log.level and log.format use.
var (
	levels = map[string]zerolog.Level{
		"debug": zerolog.DebugLevel,
		"info":  zerolog.InfoLevel,
		"warn":  zerolog.WarnLevel,
		"error": zerolog.ErrorLevel,
	}
	formats = []string{"auto", "json", "console"}
)

// consoleTimeFormat is enough for a person following a run; JSON keeps full precision.
const consoleTimeFormat = "15:04:05.000"

// New builds the process logger: zerolog JSON to w, or console format when format is "console" or
// "auto" and w is a terminal. Sets zerolog.TimeFieldFormat = time.RFC3339Nano and
// zerolog.DefaultContextLogger (so zerolog.Ctx never drops logs). level: debug|info|warn|error.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, ok := levels[strings.ToLower(strings.TrimSpace(level))]
	if !ok {
		return zerolog.Nop(), fmt.Errorf("log level %q: want one of debug, info, warn, error", level)
	}
	format = strings.ToLower(strings.TrimSpace(format))
	if format == "" {
		format = "auto"
	}
	terminal := isTerminal(w)
	var out io.Writer
	switch format {
	case "json":
		out = w
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: consoleTimeFormat, NoColor: !terminal}
	case "auto":
		out = w
		if terminal {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: consoleTimeFormat}
		}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want one of %s", format, strings.Join(formats, ", "))
	}

	// Second-precision timestamps make the order of a burst of lines unreadable in journald.
	zerolog.TimeFieldFormat = time.RFC3339Nano
	// The engine's workers log at once; zerolog writes each line in one Write, but only an
	// *os.File is safe for that without a lock (tests and embedders pass buffers).
	if _, isFile := w.(*os.File); !isFile {
		out = zerolog.SyncWriter(out)
	}
	logger := zerolog.New(out).Level(lvl).With().Timestamp().Logger()
	// Without this, zerolog.Ctx on a context that never got a logger returns a disabled one and
	// those lines vanish silently.
	fallback := logger
	zerolog.DefaultContextLogger = &fallback
	return logger, nil
}

// isTerminal reports whether w is an interactive terminal; a pipe, socket or file (journald
// captures stdout through a socket) is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
