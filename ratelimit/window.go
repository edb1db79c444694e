// Package ratelimit keeps syncd inside Bnovo's sliding-window rate limits.
//
// It is a sliding log, not a set of token buckets: a bucket of N per W with a burst of N admits
// 2N calls within one window, which the server would answer with 429. The log is persisted
// through a Store so that a restart, or a crash loop, never spends an hour's or a day's budget
// twice.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is one rate limit: at most Limit calls in any span of Per.
type Window struct {
	Limit int
	Per   time.Duration
}

// ParseWindow parses the "30/10s" form: a positive call count, a slash and a positive Go
// duration ("10s", "5m", "1h", "24h"). It is the one parser of that form: config validation,
// the limiters and the simulators all read windows with it. Errors quote s and say what a good
// one looks like; callers add the config key.
func ParseWindow(s string) (Window, error) {
	countText, perText, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		return Window{}, fmt.Errorf("%q is not N/duration like 30/10s", s)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(countText))
	if err != nil || limit <= 0 {
		return Window{}, fmt.Errorf("%q: the call count must be a whole number above 0", s)
	}
	per, err := time.ParseDuration(strings.TrimSpace(perText))
	if err != nil || per <= 0 {
		return Window{}, fmt.Errorf("%q: the window must be a duration above 0 like 10s, 5m or 24h", s)
	}
	return Window{Limit: limit, Per: per}, nil
}

// ParseWindows parses several windows (a config list such as bnovo.rate_limits); the error
// names the position and the text of the first bad one.
func ParseWindows(texts []string) ([]Window, error) {
	windows := make([]Window, 0, len(texts))
	for i, text := range texts {
		w, err := ParseWindow(text)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		windows = append(windows, w)
	}
	return windows, nil
}

// String gives the "30/10s" form, which ParseWindow reads back to the same Window.
func (w Window) String() string {
	return strconv.Itoa(w.Limit) + "/" + compactDuration(w.Per)
}

// compactDuration writes whole hours, minutes, seconds or milliseconds as "24h", "5m", "10s",
// "500ms", which config authors write and read more easily than time.Duration's "24h0m0s".
func compactDuration(d time.Duration) string {
	units := []struct {
		size   time.Duration
		suffix string
	}{
		{time.Hour, "h"},
		{time.Minute, "m"},
		{time.Second, "s"},
		{time.Millisecond, "ms"},
	}
	if d > 0 {
		for _, u := range units {
			if d%u.size == 0 {
				return strconv.FormatInt(int64(d/u.size), 10) + u.suffix
			}
		}
	}
	return d.String()
}

func (w Window) validate() error {
	if w.Limit <= 0 {
		return fmt.Errorf("ratelimit: window %s: call count must be positive", w)
	}
	if w.Per <= 0 {
		return fmt.Errorf("ratelimit: window %s: duration must be positive", w)
	}
	return nil
}

// errNoWindows keeps New from building a limiter that would admit everything.
var errNoWindows = errors.New("ratelimit: no windows given")
