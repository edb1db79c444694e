package config

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// envOf serves a fixed environment, so tests never see the real one.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// privateCopy copies a test file to a 0600 file, so permission warnings depend on the test and
// not on how the repository was checked out.
func privateCopy(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, string(data), 0o600)
}

func writeConfig(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "syncd.yaml")
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantsOf reads the "# want: <substring>" lines at the top of an invalid-*.yml file.
func wantsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wants []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		want, ok := strings.CutPrefix(scanner.Text(), "# want: ")
		if !ok {
			break
		}
		wants = append(wants, want)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if len(wants) == 0 {
		t.Fatalf("%s has no '# want: ' first line", path)
	}
	return wants
}

func TestLoadInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found only %d invalid-*.yml files", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
			wants := wantsOf(t, file)
			_, _, err := Load(file, envOf(nil))
			if err == nil {
				t.Fatalf("Load succeeded, want errors %q", wants)
			}
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %T %q is not a *ValidationError", err, err)
			}
			for _, want := range wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%s", want, err)
				}
			}
			// Each file is valid but for what it tests, so the problems are exactly the wanted ones.
			if len(invalid.Problems) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%s", len(invalid.Problems), len(wants), err)
			}
			if lines := strings.Split(err.Error(), "\n"); len(lines) != len(invalid.Problems) {
				t.Errorf("error has %d lines for %d problems", len(lines), len(invalid.Problems))
			}
		})
	}
}

func TestLoadSyntaxAndFileErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"syntax", "bnovo:\n  base_url: [unclosed\n", "config file"},
		{"two documents", "schedule: '@hourly'\n---\nschedule: '@daily'\n", "second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(writeConfig(t, tt.text, 0o600), envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), envOf(nil)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v, want os.ErrNotExist", err)
	}
}

func boolPtr(b bool) *bool { return &b }

func fullConfig(t *testing.T) Config {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Bnovo: Bnovo{
			BaseURL:        "https://api.pms.bnovo.ru",
			AccountID:      48211,
			APIKey:         "bnovo-file-key",
			RateLimits:     []string{"20/10s", "200/5m", "800/1h", "8000/24h"},
			AuthRateLimit:  "5/1m",
			BudgetShare:    0.5,
			RequestTimeout: Duration(45 * time.Second),
			PageSize:       20,
		},
		ProBonus: ProBonus{
			BaseURL:        "https://probonus.example.ru:6896",
			Token:          "probonus-file-token",
			TokenHeader:    "X-API-Key",
			AccountGroupID: 7,
			CreateAccounts: boolPtr(false),
			RequestTimeout: Duration(20 * time.Second),
		},
		Accrual: Accrual{
			Percent:             725,
			Statuses:            []string{"Выехал", "5"},
			SourcePercent:       map[string]Percent{"Booking.com": 300, "Островок!": 750, "Прямое": 0},
			ExcludePaymentTypes: []string{},
			MinPaid:             100000,
			LookbackDays:        60,
		},
		Arrivals: Arrivals{Days: 2, Enroll: true},
		Redemption: Redemption{
			Since: "2026-07-01", PaymentTypes: []string{"Баллы"}, BonusValue: 50,
			SinceDate: time.Date(2026, 7, 1, 0, 0, 0, 0, loc),
		},
		Schedule: "*/10 * * * *",
		Timezone: "Asia/Yekaterinburg",
		State:    State{Path: "/srv/syncd/state.db", LockTimeout: Duration(5 * time.Second)},
		Webhook:  Webhook{Listen: "0.0.0.0:8443", Secret: "0123456789abcdef-webhook", MaxBody: 131072},
		Status:   Status{Socket: "/run/syncd/status.sock"},
		Metrics:  Metrics{Listen: "127.0.0.1:9464"},
		Log:      Log{Level: "debug", Format: "json"},
		Location: loc,
	}
}

// assertConfigEqual compares two configs; locations by name, since each load makes a new one.
func assertConfigEqual(t *testing.T, got, want Config) {
	t.Helper()
	if got.Location == nil || want.Location == nil || got.Location.String() != want.Location.String() {
		t.Errorf("Location = %v, want %v", got.Location, want.Location)
	}
	got.Location, want.Location = nil, nil
	gotV, wantV := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gotV.NumField() {
		name := gotV.Type().Field(i).Name
		if !reflect.DeepEqual(gotV.Field(i).Interface(), wantV.Field(i).Interface()) {
			t.Errorf("%s:\n got  %#v\n want %#v", name, revealed(gotV.Field(i)), revealed(wantV.Field(i)))
		}
	}
}

// revealed prints a section with its secrets visible: this is a test's diff, not a log.
func revealed(v reflect.Value) string {
	var b strings.Builder
	b.WriteString("{")
	if v.Kind() != reflect.Struct {
		return strings.TrimSpace(strings.ReplaceAll(yamlOf(v.Interface()), "\n", " "))
	}
	for i := range v.NumField() {
		f := v.Field(i)
		val := f.Interface()
		if s, ok := val.(Secret); ok {
			val = s.Reveal()
		}
		if p, ok := val.(*bool); ok && p != nil {
			val = *p
		}
		b.WriteString(v.Type().Field(i).Name + ":" + strings.TrimSpace(yamlOf(val)) + " ")
	}
	return b.String() + "}"
}

func yamlOf(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(out)
}

func TestLoadValidFull(t *testing.T) {
	cfg, warnings, err := Load(privateCopy(t, "testdata/valid-full.yml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("unexpected warnings: %q", warnings)
	}
	assertConfigEqual(t, cfg, fullConfig(t))
	if cfg.ProBonus.CreatesAccounts() {
		t.Error("CreatesAccounts() = true for an explicit create_accounts: false")
	}
}

// A loaded config written back out as YAML loads to the same config (secrets, which never
// print, come back through the environment).
// probonus.ignore_phones is normalised to ProBonus's digits; a number that is not one is an
// error naming its index.
func TestIgnorePhones(t *testing.T) {
	secretsEnv := envOf(map[string]string{EnvBnovoAPIKey: "env-key", EnvProBonusToken: "env-token"})
	cfg, _, err := Load(writeConfig(t, minimalConfig+"  ignore_phones: [\"8 (495) 123-45-67\", \"+7 916 000 00 01\"]\n", 0o600), secretsEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ProBonus.IgnoredPhones; len(got) != 2 || got[0] != "74951234567" || got[1] != "79160000001" {
		t.Fatalf("IgnoredPhones = %v", got)
	}
	_, _, err = Load(writeConfig(t, minimalConfig+"  ignore_phones: [\"+7 916 000 00 01\", \"reception\"]\n", 0o600), secretsEnv)
	if err == nil || !strings.Contains(err.Error(), "probonus.ignore_phones[1]") {
		t.Fatalf("err = %v, want one naming probonus.ignore_phones[1]", err)
	}
}

// probonus.ignore_emails is normalised as guests' e-mails are; an entry that is not an address
// is an error naming its index.
func TestIgnoreEmails(t *testing.T) {
	secretsEnv := envOf(map[string]string{EnvBnovoAPIKey: "env-key", EnvProBonusToken: "env-token"})
	cfg, _, err := Load(writeConfig(t, minimalConfig+"  ignore_emails: [\" No@Mail.ru \"]\n", 0o600), secretsEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ProBonus.IgnoredEmails; len(got) != 1 || got[0] != "no@mail.ru" {
		t.Fatalf("IgnoredEmails = %v", got)
	}
	_, _, err = Load(writeConfig(t, minimalConfig+"  ignore_emails: [\"no@mail.ru\", \"нет\"]\n", 0o600), secretsEnv)
	if err == nil || !strings.Contains(err.Error(), "probonus.ignore_emails[1]") {
		t.Fatalf("err = %v, want one naming probonus.ignore_emails[1]", err)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	cfg, _, err := Load(privateCopy(t, "testdata/valid-full.yml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"bnovo-file-key", "probonus-file-token", "0123456789abcdef-webhook"} {
		if strings.Contains(string(out), secret) {
			t.Fatalf("marshalled config contains secret %q", secret)
		}
	}
	again, _, err := Load(writeConfig(t, string(out), 0o600), envOf(map[string]string{
		EnvBnovoAPIKey:   "bnovo-file-key",
		EnvProBonusToken: "probonus-file-token",
		EnvWebhookSecret: "0123456789abcdef-webhook",
	}))
	if err != nil {
		t.Fatalf("reloading:\n%s\n%v", out, err)
	}
	assertConfigEqual(t, again, cfg)
}

func TestDefault(t *testing.T) {
	d := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"bnovo.rate_limits", d.Bnovo.RateLimits, []string{"30/10s", "300/5m", "1000/1h", "10000/24h"}},
		{"bnovo.auth_rate_limit", d.Bnovo.AuthRateLimit, "10/1m"},
		{"bnovo.budget_share", d.Bnovo.BudgetShare, 0.8},
		{"bnovo.request_timeout", d.Bnovo.RequestTimeout, Duration(30 * time.Second)},
		{"bnovo.page_size", d.Bnovo.PageSize, 50},
		{"probonus.token_header", d.ProBonus.TokenHeader, "Authorization"},
		{"probonus.create_accounts", d.ProBonus.CreatesAccounts(), true},
		{"probonus.request_timeout", d.ProBonus.RequestTimeout, Duration(15 * time.Second)},
		{"accrual.percent", d.Accrual.Percent, Percent(500)},
		{"accrual.statuses", d.Accrual.Statuses, []string{"Выехал"}},
		{"accrual.exclude_payment_types", d.Accrual.ExcludePaymentTypes, []string{"Бонусы"}},
		{"accrual.min_paid", d.Accrual.MinPaid, int64(0)},
		{"accrual.lookback_days", d.Accrual.LookbackDays, 30},
		{"schedule", d.Schedule, "*/5 * * * *"},
		{"timezone", d.Timezone, "Europe/Moscow"},
		{"state.path", d.State.Path, "/var/lib/syncd/state.db"},
		{"state.lock_timeout", d.State.LockTimeout, Duration(2 * time.Second)},
		{"webhook.listen", d.Webhook.Listen, ""},
		{"webhook.max_body", d.Webhook.MaxBody, int64(65536)},
		{"metrics.listen", d.Metrics.Listen, ""},
		{"log.level", d.Log.Level, "info"},
		{"log.format", d.Log.Format, "auto"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	// Defaults are fresh each time: a caller editing one cannot change another's.
	d.Bnovo.RateLimits[0] = "1/1s"
	*d.ProBonus.CreateAccounts = false
	if fresh := Default(); fresh.Bnovo.RateLimits[0] != "30/10s" || !fresh.ProBonus.CreatesAccounts() {
		t.Error("Default() shares slices or pointers between calls")
	}

	// The defaults are valid but for the keys that have none.
	d = Default()
	err := d.Validate()
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("Validate() = %v, want a *ValidationError", err)
	}
	var keys []string
	for _, p := range invalid.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"bnovo.base_url", "bnovo.account_id", "bnovo.api_key", "probonus.base_url", "probonus.token", "probonus.account_group_id"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("problems with Default(): %q, want %q", keys, want)
	}
}

const minimalConfig = `bnovo:
  base_url: https://api.pms.bnovo.ru
  account_id: 12345
probonus:
  base_url: http://127.0.0.1:6896
  account_group_id: 1
`

func TestLoadMinimalGivesDefaults(t *testing.T) {
	cfg, warnings, err := Load(writeConfig(t, minimalConfig, 0o644), envOf(map[string]string{
		EnvBnovoAPIKey:   "env-key",
		EnvProBonusToken: "env-token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("unexpected warnings: %q", warnings)
	}
	want := Default()
	want.Bnovo.BaseURL, want.Bnovo.AccountID, want.Bnovo.APIKey = "https://api.pms.bnovo.ru", 12345, "env-key"
	want.ProBonus.BaseURL, want.ProBonus.AccountGroupID, want.ProBonus.Token = "http://127.0.0.1:6896", 1, "env-token"
	want.Status.Socket = "/var/lib/syncd/syncd.sock"
	want.Location, _ = time.LoadLocation("Europe/Moscow")
	assertConfigEqual(t, cfg, want)
}

func TestLoadEmptyFileUsesDefaults(t *testing.T) {
	_, _, err := Load(writeConfig(t, "# nothing yet\n", 0o600), envOf(nil))
	var invalid *ValidationError
	if !errors.As(err, &invalid) || len(invalid.Problems) != 6 {
		t.Fatalf("error = %v, want the six required keys", err)
	}
}

func TestSecretSources(t *testing.T) {
	const fileSecrets = minimalConfig + `  token: file-token
webhook:
  listen: 127.0.0.1:8080
  secret: file-webhook-secret-0001
`
	tests := []struct {
		name        string
		file        string
		env         map[string]string
		credentials map[string]string
		wantKey     string
		wantToken   string
		wantWebhook string
		wantWarning string
	}{
		{
			name: "file only", file: strings.Replace(fileSecrets, "  account_id: 12345\n", "  account_id: 12345\n  api_key: file-key\n", 1),
			wantKey: "file-key", wantToken: "file-token", wantWebhook: "file-webhook-secret-0001",
		},
		{
			name: "environment beats file", file: fileSecrets,
			env:     map[string]string{EnvBnovoAPIKey: "env-key", EnvProBonusToken: " env-token\n", EnvWebhookSecret: "env-webhook-secret-0001"},
			wantKey: "env-key", wantToken: "env-token", wantWebhook: "env-webhook-secret-0001",
		},
		{
			name: "credentials beat environment", file: fileSecrets,
			env:         map[string]string{EnvBnovoAPIKey: "env-key", EnvProBonusToken: "env-token"},
			credentials: map[string]string{CredBnovoAPIKey: "cred-key\n", CredProBonusToken: "cred-token\r\n", CredWebhookSecret: "cred-webhook-secret-001"},
			wantKey:     "cred-key", wantToken: "cred-token", wantWebhook: "cred-webhook-secret-001",
		},
		{
			name: "empty credential falls back", file: fileSecrets,
			env:         map[string]string{EnvBnovoAPIKey: "env-key"},
			credentials: map[string]string{CredBnovoAPIKey: "\n"},
			wantKey:     "env-key", wantToken: "file-token", wantWebhook: "file-webhook-secret-0001",
			wantWarning: "is empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := withCredentials(t, tt.env, tt.credentials)
			cfg, warnings, err := Load(writeConfig(t, tt.file, 0o600), envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Bnovo.APIKey.Reveal(); got != tt.wantKey {
				t.Errorf("bnovo.api_key = %q, want %q", got, tt.wantKey)
			}
			if got := cfg.ProBonus.Token.Reveal(); got != tt.wantToken {
				t.Errorf("probonus.token = %q, want %q", got, tt.wantToken)
			}
			if got := cfg.Webhook.Secret.Reveal(); got != tt.wantWebhook {
				t.Errorf("webhook.secret = %q, want %q", got, tt.wantWebhook)
			}
			if tt.wantWarning == "" && len(warnings) != 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
			if tt.wantWarning != "" && !strings.Contains(strings.Join(warnings, "\n"), tt.wantWarning) {
				t.Errorf("warnings %q do not mention %q", warnings, tt.wantWarning)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	withToken := minimalConfig + "  token: file-token-value\n"
	tests := []struct {
		name      string
		text      string
		mode      os.FileMode
		credMode  os.FileMode
		wantParts []string // each must appear in some warning; none means no warnings
	}{
		{name: "private file with secret", text: withToken, mode: 0o600},
		{name: "public file without secrets", text: minimalConfig, mode: 0o644},
		{name: "group-readable file with secret", text: withToken, mode: 0o640, wantParts: []string{"probonus.token", "readable by group or others", "0640"}},
		{name: "readable credential", text: minimalConfig, mode: 0o600, credMode: 0o644, wantParts: []string{"credential file", "0644"}},
		{name: "private credential", text: minimalConfig, mode: 0o600, credMode: 0o400},
		{
			name: "plain http to a LAN host",
			text: strings.Replace(minimalConfig, "http://127.0.0.1:6896", "http://192.168.1.20:6896", 1), mode: 0o600,
			wantParts: []string{"probonus.base_url is plain http to 192.168.1.20:6896"},
		},
		{name: "plain http to localhost", text: strings.Replace(minimalConfig, "http://127.0.0.1:6896", "http://localhost:6896", 1), mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvBnovoAPIKey: "env-key", EnvProBonusToken: "env-token"}
			if tt.credMode != 0 {
				dir := t.TempDir()
				cred := filepath.Join(dir, CredBnovoAPIKey)
				if err := os.WriteFile(cred, []byte("cred-key"), tt.credMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(cred, tt.credMode); err != nil {
					t.Fatal(err)
				}
				env["CREDENTIALS_DIRECTORY"] = dir
			}
			_, warnings, err := Load(writeConfig(t, tt.text, tt.mode), envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(warnings, "\n")
			if len(tt.wantParts) == 0 && len(warnings) != 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(joined, part) {
					t.Errorf("warnings %q do not mention %q", warnings, part)
				}
			}
			if strings.Contains(joined, "file-token-value") || strings.Contains(joined, "cred-key") {
				t.Errorf("a warning reveals a secret: %q", warnings)
			}
		})
	}
}

func TestServiceDirectories(t *testing.T) {
	withStatePath := minimalConfig + "state:\n  path: /srv/state.db\n"
	tests := []struct {
		name       string
		text       string
		env        map[string]string
		wantState  string
		wantSocket string
	}{
		{"defaults", minimalConfig, nil, "/var/lib/syncd/state.db", "/var/lib/syncd/syncd.sock"},
		{"systemd directories", minimalConfig, map[string]string{"STATE_DIRECTORY": "/var/lib/private/syncd", "RUNTIME_DIRECTORY": "/run/syncd"},
			"/var/lib/private/syncd/state.db", "/run/syncd/status.sock"},
		{"first of several state directories", minimalConfig, map[string]string{"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"},
			"/var/lib/a/state.db", "/var/lib/a/syncd.sock"},
		{"file path wins over STATE_DIRECTORY", withStatePath, map[string]string{"STATE_DIRECTORY": "/var/lib/syncd"},
			"/srv/state.db", "/srv/syncd.sock"},
		{"empty file path means not given", minimalConfig + "state:\n  path: \"\"\n", map[string]string{"STATE_DIRECTORY": "/var/lib/x"},
			"/var/lib/x/state.db", "/var/lib/x/syncd.sock"},
		{"file socket wins over RUNTIME_DIRECTORY", minimalConfig + "status:\n  socket: /tmp/s.sock\n", map[string]string{"RUNTIME_DIRECTORY": "/run/syncd"},
			"/var/lib/syncd/state.db", "/tmp/s.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvBnovoAPIKey: "k", EnvProBonusToken: "t"}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, _, err := Load(writeConfig(t, tt.text, 0o600), envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.State.Path != tt.wantState || cfg.Status.Socket != tt.wantSocket {
				t.Errorf("state.path, status.socket = %q, %q; want %q, %q", cfg.State.Path, cfg.Status.Socket, tt.wantState, tt.wantSocket)
			}
		})
	}
}

func TestValidateNormalisesOrigins(t *testing.T) {
	cfg := Default()
	cfg.Bnovo.BaseURL, cfg.Bnovo.AccountID, cfg.Bnovo.APIKey = " HTTPS://api.pms.bnovo.ru/ ", 1, "k"
	cfg.ProBonus.BaseURL, cfg.ProBonus.Token, cfg.ProBonus.AccountGroupID = "http://[::1]:6896", "t", 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Bnovo.BaseURL != "https://api.pms.bnovo.ru" || cfg.ProBonus.BaseURL != "http://[::1]:6896" {
		t.Errorf("origins = %q, %q", cfg.Bnovo.BaseURL, cfg.ProBonus.BaseURL)
	}
	if cfg.Location == nil || cfg.Location.String() != "Europe/Moscow" {
		t.Errorf("Location = %v, want Europe/Moscow", cfg.Location)
	}

	for _, bad := range []string{"https://user:pw@api.pms.bnovo.ru", "https://api.pms.bnovo.ru?x=1", "https://api.pms.bnovo.ru#f", "https://", "api.pms.bnovo.ru", "https://h:99999"} {
		c := cfg
		c.Bnovo.BaseURL = bad
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "bnovo.base_url: ") {
			t.Errorf("base_url %q: error = %v, want a bnovo.base_url problem", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") && strings.Contains(bad, "pw") {
			t.Errorf("base_url error reveals the password: %v", err)
		}
	}
}

func validConfig() Config {
	cfg := Default()
	cfg.Bnovo.BaseURL, cfg.Bnovo.AccountID, cfg.Bnovo.APIKey = "https://api.pms.bnovo.ru", 1, "k"
	cfg.ProBonus.BaseURL, cfg.ProBonus.Token, cfg.ProBonus.AccountGroupID = "http://127.0.0.1:6896", "t", 1
	return cfg
}

func TestValidateFields(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" means valid
	}{
		{"metrics on localhost", func(c *Config) { c.Metrics.Listen = "localhost:9464" }, ""},
		{"metrics on ::1", func(c *Config) { c.Metrics.Listen = "[::1]:9464" }, ""},
		{"metrics on all interfaces", func(c *Config) { c.Metrics.Listen = ":9464" }, "metrics.listen"},
		{"metrics on a LAN address", func(c *Config) { c.Metrics.Listen = "192.168.1.5:9464" }, "metrics.listen"},
		{"metrics without port", func(c *Config) { c.Metrics.Listen = "127.0.0.1" }, "metrics.listen"},
		{"webhook on all interfaces", func(c *Config) { c.Webhook.Listen, c.Webhook.Secret = ":8080", "abcdefghijklmnop" }, ""},
		{"webhook bad port", func(c *Config) { c.Webhook.Listen, c.Webhook.Secret = ":80800", "abcdefghijklmnop" }, "webhook.listen"},
		{"webhook secret with a slash", func(c *Config) { c.Webhook.Listen, c.Webhook.Secret = ":8080", "abcdefgh/ijklmnop" }, "webhook.secret"},
		{"webhook secret unused when off", func(c *Config) { c.Webhook.Secret = "short" }, ""},
		{"webhook max body zero", func(c *Config) { c.Webhook.MaxBody = 0 }, "webhook.max_body"},
		{"token header X-API-Key", func(c *Config) { c.ProBonus.TokenHeader = "X-API-Key" }, ""},
		{"token header with space", func(c *Config) { c.ProBonus.TokenHeader = "X API Key" }, "probonus.token_header"},
		{"token header empty", func(c *Config) { c.ProBonus.TokenHeader = "" }, "probonus.token_header"},
		{"no account creation, no group", func(c *Config) { f := false; c.ProBonus.CreateAccounts, c.ProBonus.AccountGroupID = &f, 0 }, ""},
		{"create_accounts unset means true", func(c *Config) { c.ProBonus.CreateAccounts, c.ProBonus.AccountGroupID = nil, 0 }, "probonus.account_group_id"},
		{"negative group", func(c *Config) { f := false; c.ProBonus.CreateAccounts, c.ProBonus.AccountGroupID = &f, -1 }, "probonus.account_group_id"},
		{"budget share 1", func(c *Config) { c.Bnovo.BudgetShare = 1 }, ""},
		{"page size 0", func(c *Config) { c.Bnovo.PageSize = 0 }, "bnovo.page_size"},
		{"no rate limits", func(c *Config) { c.Bnovo.RateLimits = nil }, "bnovo.rate_limits"},
		{"zero request timeout", func(c *Config) { c.ProBonus.RequestTimeout = 0 }, "probonus.request_timeout"},
		{"percent 100", func(c *Config) { c.Accrual.Percent = 10000 }, ""},
		{"percent above 100", func(c *Config) { c.Accrual.Percent = 10001 }, "accrual.percent"},
		{"source percent 0", func(c *Config) { c.Accrual.SourcePercent = map[string]Percent{"Booking.com": 0} }, ""},
		{"source percent negative", func(c *Config) { c.Accrual.SourcePercent = map[string]Percent{"Booking.com": -1} }, `accrual.source_percent["Booking.com"]`},
		{"no statuses", func(c *Config) { c.Accrual.Statuses = []string{} }, "accrual.statuses"},
		{"blank status", func(c *Config) { c.Accrual.Statuses = []string{"Выехал", " "} }, "accrual.statuses[1]"},
		{"no exclusions", func(c *Config) { c.Accrual.ExcludePaymentTypes = []string{} }, ""},
		{"lookback 3650", func(c *Config) { c.Accrual.LookbackDays = 3650 }, ""},
		{"arrivals off", func(c *Config) { c.Arrivals.Days = 0 }, ""},
		{"arrivals negative", func(c *Config) { c.Arrivals.Days = -1 }, "arrivals.days"},
		{"arrivals 31 days", func(c *Config) { c.Arrivals.Days = 31 }, "arrivals.days"},
		{"enroll without a group", func(c *Config) {
			f := false
			c.Arrivals.Enroll, c.ProBonus.CreateAccounts, c.ProBonus.AccountGroupID = true, &f, 0
		}, "arrivals.enroll"},
		{"redemption on", func(c *Config) { c.Redemption.Enabled, c.Redemption.Since = true, "2026-07-01" }, ""},
		{"redemption without since", func(c *Config) { c.Redemption.Enabled = true }, "redemption.since"},
		{"redemption since not a date", func(c *Config) { c.Redemption.Enabled, c.Redemption.Since = true, "01.07.2026" }, "redemption.since"},
		{"redemption type not excluded from accrual", func(c *Config) {
			c.Redemption.Enabled, c.Redemption.Since, c.Redemption.PaymentTypes = true, "2026-07-01", []string{"Бонусы", "Баллы"}
		}, "redemption.payment_types[1]"},
		{"redemption off, exclusions empty", func(c *Config) { c.Accrual.ExcludePaymentTypes = []string{} }, ""},
		{"redemption on, exclusions empty", func(c *Config) {
			c.Redemption.Enabled, c.Redemption.Since, c.Accrual.ExcludePaymentTypes = true, "2026-07-01", []string{}
		}, "redemption.payment_types[0]"},
		{"bonus value zero", func(c *Config) { c.Redemption.BonusValue = 0 }, "redemption.bonus_value"},
		{"lookback 3651", func(c *Config) { c.Accrual.LookbackDays = 3651 }, "accrual.lookback_days"},
		{"schedule descriptor", func(c *Config) { c.Schedule = "@hourly" }, ""},
		{"schedule with its own zone", func(c *Config) { c.Schedule = "CRON_TZ=UTC */5 * * * *" }, "schedule"},
		{"empty schedule", func(c *Config) { c.Schedule = "" }, "schedule"},
		{"timezone UTC", func(c *Config) { c.Timezone = "UTC" }, ""},
		{"timezone Local", func(c *Config) { c.Timezone = "Local" }, "timezone"},
		{"empty state path", func(c *Config) { c.State.Path = "" }, "state.path"},
		{"zero lock timeout", func(c *Config) { c.State.LockTimeout = 0 }, "state.lock_timeout"},
		{"socket too long", func(c *Config) { c.Status.Socket = "/" + strings.Repeat("s", 110) }, "status.socket"},
		{"log format", func(c *Config) { c.Log.Format = "text" }, "log.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantValidation(t, tt.edit, tt.wantKey, "") })
	}
}

// A secret the API clients would refuse is a config problem naming its key, and a secret from
// a credential file is blamed on that file, not on a line of the config file.
func TestSecretProblemsNameTheirSource(t *testing.T) {
	withEmptySecrets := minimalConfig + "  token: \"\"\n"
	withEmptySecrets = strings.Replace(withEmptySecrets, "  account_id: 12345\n", "  account_id: 12345\n  api_key: \"\"\n", 1)
	tests := []struct {
		name        string
		file        string
		env         map[string]string
		credentials map[string]string
		want        []string
		notWant     string
	}{
		{
			name: "control character in the file's token",
			file: minimalConfig + "  token: \"abc\\u0001def\"\n  api_key_unused_guard: x\n",
			env:  map[string]string{EnvBnovoAPIKey: "env-key"},
			want: []string{"probonus.token: contains a control character (byte 4 of the value)", "probonus.api_key_unused_guard: unknown key"},
		},
		{
			name:        "control character in a credential file",
			file:        withEmptySecrets,
			credentials: map[string]string{CredBnovoAPIKey: "key", CredProBonusToken: "abc\ndef\n"},
			want:        []string{"probonus.token: contains a control character", "credential file ", "probonus_token)"},
			notWant:     "(line",
		},
		{
			name:        "empty credential file with nothing to fall back to",
			file:        withEmptySecrets,
			credentials: map[string]string{CredBnovoAPIKey: "\n", CredProBonusToken: "token"},
			want:        []string{"bnovo.api_key: credential file ", "bnovo_api_key is empty"},
			notWant:     "(line",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := withCredentials(t, tt.env, tt.credentials)
			_, _, err := Load(writeConfig(t, tt.file, 0o600), envOf(env))
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v, want a *ValidationError", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%s", want, err)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error mentions %q:\n%s", tt.notWant, err)
			}
		})
	}
}

// withCredentials is the environment vars plus, when credentials is not nil, a
// CREDENTIALS_DIRECTORY holding those files (root-only, as systemd makes them).
func withCredentials(t *testing.T, vars, credentials map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range vars {
		env[k] = v
	}
	if credentials != nil {
		dir := t.TempDir()
		for name, value := range credentials {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o400); err != nil {
				t.Fatal(err)
			}
		}
		env["CREDENTIALS_DIRECTORY"] = dir
	}
	return env
}
