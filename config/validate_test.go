package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Config slips that used to load cleanly and then made the daemon quietly do the wrong thing.
func TestValidateOperatorSlips(t *testing.T) {
	stateDir := t.TempDir()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" means valid
		wantMsg string
	}{
		// robfig/cron parses a day that never comes; its Next is then the zero time and the
		// daemon runs its start-up cycle and never another, with nothing in the log.
		{"schedule on 30 February", func(c *Config) { c.Schedule = "0 3 30 2 *" }, "schedule", "never"},
		{"schedule on 31 April", func(c *Config) { c.Schedule = "*/5 * 31 4 *" }, "schedule", "never"},
		{"schedule on 29 February fires every leap year", func(c *Config) { c.Schedule = "0 3 29 2 *" }, "", ""},
		// Under systemd WorkingDirectory is /, from a shell or cron it is somewhere else: a
		// relative path gives the daemon and a `-once` two state files, two locks and two
		// journals, so both may post the same stay.
		{"relative state path", func(c *Config) { c.State.Path = "state.db" }, "state.path", "absolute"},
		{"dot-relative state path", func(c *Config) { c.State.Path = "./var/state.db" }, "state.path", "absolute"},
		{"relative status socket", func(c *Config) { c.Status.Socket = "run/syncd.sock" }, "status.socket", "absolute"},
		{"state path is a directory", func(c *Config) { c.State.Path = stateDir }, "state.path", "directory"},
		{"state path in an existing directory", func(c *Config) { c.State.Path = filepath.Join(stateDir, "state.db") }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantValidation(t, tt.edit, tt.wantKey, tt.wantMsg) })
	}
}

// The relative state path is named with its line, and with every other mistake of the file.
func TestLoadRelativeStatePathNamedWithTheRest(t *testing.T) {
	path := writeConfig(t, minimalConfig+"state:\n  path: state.db\nschedule: \"0 3 30 2 *\"\n", 0o600)
	_, _, err := Load(path, envOf(map[string]string{EnvBnovoAPIKey: "k", EnvProBonusToken: "t"}))
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("Load() = %v, want a *ValidationError", err)
	}
	keys := map[string]int{}
	for _, p := range invalid.Problems {
		keys[p.Key] = p.Line
	}
	if keys["state.path"] == 0 || keys["schedule"] == 0 || len(keys) != 2 {
		t.Errorf("problems = %q, want state.path and schedule, each with its line", err)
	}
}

// state.path naming the config file itself (absolute, as state.path now must be) is still
// caught: the state file would overwrite the configuration.
func TestLoadStatePathIsConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "syncd.yaml")
	text := minimalConfig + "state:\n  path: " + path + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(path, envOf(map[string]string{EnvBnovoAPIKey: "k", EnvProBonusToken: "t"}))
	if err == nil || !strings.Contains(err.Error(), "state.path: "+strconv.Quote(path)+" is the config file itself") {
		t.Errorf("Load() = %v, want state.path named as the config file itself", err)
	}
}

// YAML forbids tabs in indentation and yaml.v3 says only "found character that cannot start
// any token": the error names the tab, so the operator knows what to fix.
func TestLoadTabIndentNamesTheTab(t *testing.T) {
	path := writeConfig(t, minimalConfig+"accrual:\n\tpercent: 5\n", 0o600)
	_, _, err := Load(path, envOf(map[string]string{EnvBnovoAPIKey: "k", EnvProBonusToken: "t"}))
	if err == nil || !strings.Contains(err.Error(), "line 8") || !strings.Contains(err.Error(), "tab") {
		t.Errorf("Load() = %v, want the error to name the tab on line 8", err)
	}
}

// webhook.listen and metrics.listen on one port: -check-config said the config was good and
// the daemon then failed to bind (exit 1) at every start.
func TestValidateWebhookAndMetricsShareAPort(t *testing.T) {
	for _, tc := range []struct {
		webhook, metrics string
		clash            bool
	}{
		{"127.0.0.1:9464", "127.0.0.1:9464", true},
		{":9464", "127.0.0.1:9464", true},
		{"0.0.0.0:9464", "localhost:9464", true},
		{"[::]:9464", "[::1]:9464", true},
		{"[::1]:9464", "127.0.0.1:9464", false},
		{"localhost:9464", "127.0.0.1:9464", true},
		{"192.168.1.5:9464", "127.0.0.1:9464", false},
		{":8080", "127.0.0.1:9464", false},
	} {
		cfg := validConfig()
		cfg.Webhook.Listen, cfg.Webhook.Secret, cfg.Metrics.Listen = tc.webhook, "abcdefghijklmnop", tc.metrics
		err := cfg.Validate()
		var invalid *ValidationError
		got := errors.As(err, &invalid) && len(invalid.Problems) == 1 && invalid.Problems[0].Key == "webhook.listen"
		if got != tc.clash || (!tc.clash && err != nil) {
			t.Errorf("webhook %s, metrics %s: Validate() = %v, want a clash %v", tc.webhook, tc.metrics, err, tc.clash)
		}
	}
}

// wantValidation applies edit to a valid config and wants Validate to accept it (wantKey "")
// or to report exactly one problem, for wantKey, whose message contains wantMsg.
func wantValidation(t *testing.T, edit func(*Config), wantKey, wantMsg string) {
	t.Helper()
	cfg := validConfig()
	edit(&cfg)
	err := cfg.Validate()
	if wantKey == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want no error", err)
		}
		return
	}
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("Validate() = %v, want a *ValidationError naming %s", err, wantKey)
	}
	if len(invalid.Problems) != 1 || invalid.Problems[0].Key != wantKey || !strings.Contains(invalid.Problems[0].Message, wantMsg) {
		t.Errorf("problems = %q, want exactly one for %s saying %q", err, wantKey, wantMsg)
	}
}
