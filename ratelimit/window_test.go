package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	good := []struct {
		text string
		want Window
	}{
		{"30/10s", Window{30, 10 * time.Second}},
		{"300/5m", Window{300, 5 * time.Minute}},
		{"1000/1h", Window{1000, time.Hour}},
		{"10000/24h", Window{10000, 24 * time.Hour}},
		{"6/1s", Window{6, time.Second}},
		{"10/1m", Window{10, time.Minute}},
		{" 30 / 10s ", Window{30, 10 * time.Second}},
		{"1/500ms", Window{1, 500 * time.Millisecond}},
		{"90/1h30m", Window{90, 90 * time.Minute}},
	}
	for _, tc := range good {
		got, err := ParseWindow(tc.text)
		if err != nil {
			t.Errorf("ParseWindow(%q): %v", tc.text, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseWindow(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}

	bad := []string{"", "30", "30/", "/10s", "0/10s", "-1/10s", "x/10s", "3.5/1s", "30/10", "30/0s",
		"30/-1s", "30/10x", "30/10s/5", "ten/1m", "30/1d"}
	for _, text := range bad {
		_, err := ParseWindow(text)
		if err == nil {
			t.Errorf("ParseWindow(%q) accepted", text)
			continue
		}
		if !strings.Contains(err.Error(), `"`+text+`"`) {
			t.Errorf("ParseWindow(%q) error %q does not name the text", text, err)
		}
	}
}

func TestWindowStringRoundTrips(t *testing.T) {
	tests := []struct {
		w    Window
		want string
	}{
		{Window{30, 10 * time.Second}, "30/10s"},
		{Window{300, 5 * time.Minute}, "300/5m"},
		{Window{1000, time.Hour}, "1000/1h"},
		{Window{10000, 24 * time.Hour}, "10000/24h"},
		{Window{6, time.Second}, "6/1s"},
		{Window{1, 1500 * time.Millisecond}, "1/1500ms"},
		{Window{90, 90 * time.Minute}, "90/90m"},
		{Window{2, 1500 * time.Microsecond}, "2/1.5ms"},
	}
	for _, tc := range tests {
		got := tc.w.String()
		if got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.w, got, tc.want)
		}
		back, err := ParseWindow(got)
		if err != nil || back != tc.w {
			t.Errorf("ParseWindow(%q) = %+v, %v; want %+v", got, back, err, tc.w)
		}
	}
}

func TestParseWindows(t *testing.T) {
	got, err := ParseWindows([]string{"30/10s", "300/5m", "1000/1h", "10000/24h"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3] != (Window{10000, 24 * time.Hour}) {
		t.Errorf("ParseWindows = %+v", got)
	}
	_, err = ParseWindows([]string{"30/10s", "300/5mins"})
	if err == nil || !strings.Contains(err.Error(), "item 1") || !strings.Contains(err.Error(), "300/5mins") {
		t.Errorf("ParseWindows error = %v, want it to name item 1 and its text", err)
	}
}

func TestEffectiveLimit(t *testing.T) {
	tests := []struct {
		w     Window
		share float64
		want  int
	}{
		{Window{10, time.Hour}, 0.8, 8},
		{Window{1000, time.Hour}, 0.8, 800},
		{Window{10000, 24 * time.Hour}, 0.8, 8000},
		{Window{100, time.Hour}, 0.29, 29}, // 100*0.29 is 28.999999999999996 in float64
		{Window{1, time.Hour}, 0.5, 1},     // never below one call
		{Window{30, 10 * time.Second}, 0.8, 30},
		{Window{300, 5 * time.Minute}, 0.5, 300},
		{Window{300, 59 * time.Minute}, 0.5, 300},
		{Window{1000, time.Hour}, 1, 1000},
	}
	for _, tc := range tests {
		if got := EffectiveLimit(tc.w, tc.share); got != tc.want {
			t.Errorf("EffectiveLimit(%s, %v) = %d, want %d", tc.w, tc.share, got, tc.want)
		}
	}
}
