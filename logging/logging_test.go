package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestNewJSON(t *testing.T) {
	var buf bytes.Buffer
	logger, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug().Msg("hidden")
	logger.Info().Str("k", "v").Msg("shown")
	logger.Warn().Msg("warned")

	lines := decodeLines(t, &buf)
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (debug filtered at info): %s", len(lines), buf.String())
	}
	first := lines[0]
	if first["level"] != "info" || first["message"] != "shown" || first["k"] != "v" {
		t.Errorf("unexpected first line: %v", first)
	}
	if lines[1]["level"] != "warn" {
		t.Errorf("second line level = %v, want warn", lines[1]["level"])
	}
	ts, ok := first["time"].(string)
	if !ok {
		t.Fatalf("time field missing or not a string: %v", first["time"])
	}
	parsed, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatalf("time %q is not RFC 3339: %v", ts, err)
	}
	if parsed.Nanosecond() != 0 && !strings.Contains(ts, ".") {
		t.Errorf("time %q lost its sub-second part", ts)
	}
	if d := time.Since(parsed); d < 0 || d > time.Minute {
		t.Errorf("time %q is not now", ts)
	}
}

func TestNewLevels(t *testing.T) {
	tests := []struct {
		level   string
		emitted []zerolog.Level
	}{
		{"debug", []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}},
		{"info", []zerolog.Level{zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}},
		{"WARN", []zerolog.Level{zerolog.WarnLevel, zerolog.ErrorLevel}},
		{"error", []zerolog.Level{zerolog.ErrorLevel}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		logger, err := New(&buf, tt.level, "json")
		if err != nil {
			t.Fatalf("level %q: %v", tt.level, err)
		}
		for _, l := range []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel} {
			logger.WithLevel(l).Msg("x")
		}
		lines := decodeLines(t, &buf)
		if len(lines) != len(tt.emitted) {
			t.Fatalf("level %q: got %d lines, want %d", tt.level, len(lines), len(tt.emitted))
		}
		for i, l := range tt.emitted {
			if lines[i]["level"] != l.String() {
				t.Errorf("level %q: line %d level %v, want %v", tt.level, i, lines[i]["level"], l)
			}
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct{ level, format, want string }{
		{"verbose", "json", "log level"},
		{"", "json", "log level"},
		{"trace", "json", "log level"},
		{"info", "xml", "log format"},
	}
	for _, tt := range tests {
		_, err := New(&bytes.Buffer{}, tt.level, tt.format)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q, %q) error = %v, want one mentioning %q", tt.level, tt.format, err, tt.want)
		}
	}
}

func TestNewConsoleAndAuto(t *testing.T) {
	var console bytes.Buffer
	logger, err := New(&console, "info", "console")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info().Msg("hello")
	out := console.String()
	if strings.HasPrefix(strings.TrimSpace(out), "{") || !strings.Contains(out, "hello") {
		t.Errorf("console output %q is not console format", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("console output to a non-terminal has colour codes: %q", out)
	}

	// A regular file is not a terminal, so auto means JSON (as under journald).
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logger, err = New(f, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info().Msg("auto")
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(data), &m); err != nil {
		t.Errorf("auto format to a file is not JSON: %q", data)
	}
}

func TestNewSetsDefaultContextLogger(t *testing.T) {
	var buf bytes.Buffer
	if _, err := New(&buf, "info", "json"); err != nil {
		t.Fatal(err)
	}
	zerolog.Ctx(context.Background()).Info().Msg("from context")
	if !strings.Contains(buf.String(), "from context") {
		t.Errorf("zerolog.Ctx without a logger dropped the line; output: %q", buf.String())
	}
}
