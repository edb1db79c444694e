package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in      string
		want    Percent
		wantErr string
	}{
		{in: "5", want: 500},
		{in: "7.5", want: 750},
		{in: "7.25", want: 725},
		{in: " 7.25 ", want: 725},
		{in: "7.50", want: 750},
		{in: "7.250", want: 725},
		{in: "0.01", want: 1},
		{in: "007.5", want: 750},
		{in: "100", want: 10000},
		{in: "100.00", want: 10000},
		{in: "0", want: 0},
		{in: "101", wantErr: "above 100"},
		{in: "100.01", wantErr: "above 100"},
		{in: "99999999999999999999999", wantErr: "above 100"},
		{in: "7.125", wantErr: "more than two decimals"},
		{in: "abc", wantErr: "not a number"},
		{in: "", wantErr: "empty"},
		{in: "-5", wantErr: "not a number"},
		{in: ".5", wantErr: "not a number"},
		{in: "5%", wantErr: "not a number"},
		{in: "1e1", wantErr: "not a number"},
		{in: "7,5", wantErr: "not a number"},
		{in: "7.5.1", wantErr: "not a number"},
	}
	for _, tt := range tests {
		got, err := ParsePercent(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePercent(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case got.Hundredths() != int64(tt.want):
			t.Errorf("Hundredths() = %d, want %d", got.Hundredths(), tt.want)
		}
	}
}

func TestPercentString(t *testing.T) {
	tests := []struct {
		p    Percent
		want string
	}{
		{500, "5"}, {750, "7.5"}, {725, "7.25"}, {5, "0.05"}, {50, "0.5"}, {0, "0"}, {10000, "100"}, {-750, "-7.5"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Percent(%d).String() = %q, want %q", int64(tt.p), got, tt.want)
		}
		if tt.p >= 0 {
			if back, err := ParsePercent(tt.p.String()); err != nil || back != tt.p {
				t.Errorf("ParsePercent(%q) = %d, %v; want %d", tt.p.String(), back, err, tt.p)
			}
		}
	}
}

func TestPercentYAML(t *testing.T) {
	tests := []struct {
		text    string
		want    Percent
		wantErr bool
	}{
		{"p: 5", 500, false},
		{"p: 7.5", 750, false},
		{"p: 7.1", 710, false}, // 7.1 is not exact as a float; the source text is
		{`p: "7.25"`, 725, false},
		{"p: '0.05'", 5, false},
		{"p: 7.125", 0, true},
		{"p: true", 0, true},
		{"p: [5]", 0, true},
	}
	for _, tt := range tests {
		var v struct{ P Percent }
		err := yaml.Unmarshal([]byte(tt.text), &v)
		if (err != nil) != tt.wantErr || (!tt.wantErr && v.P != tt.want) {
			t.Errorf("%s: got %d, %v; want %d (error %v)", tt.text, v.P, err, tt.want, tt.wantErr)
		}
	}
	out, err := yaml.Marshal(map[string]Percent{"a": 750, "b": 500})
	if err != nil || string(out) != "a: 7.5\nb: 5\n" {
		t.Errorf("Marshal = %q, %v; want plain numbers", out, err)
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		text    string
		want    time.Duration
		wantErr bool
	}{
		{"d: 30s", 30 * time.Second, false},
		{"d: 2m", 2 * time.Minute, false},
		{"d: 1h30m", 90 * time.Minute, false},
		{"d: 30", 0, true},
		{"d: soon", 0, true},
		{"d: {s: 1}", 0, true},
	}
	for _, tt := range tests {
		var v struct{ D Duration }
		err := yaml.Unmarshal([]byte(tt.text), &v)
		if (err != nil) != tt.wantErr || (!tt.wantErr && v.D.Std() != tt.want) {
			t.Errorf("%s: got %v, %v; want %v (error %v)", tt.text, v.D, err, tt.want, tt.wantErr)
		}
	}
	out, err := yaml.Marshal(struct{ D Duration }{Duration(90 * time.Second)})
	if err != nil || string(out) != "d: 1m30s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

// Secrets must not escape through any of the ways a config gets printed or logged.
func TestSecretNeverPrinted(t *testing.T) {
	cfg, _, err := Load(privateCopy(t, "testdata/valid-full.yml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{cfg.Bnovo.APIKey.Reveal(), cfg.ProBonus.Token.Reveal(), cfg.Webhook.Secret.Reveal()}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("test config lacks a secret")
		}
	}

	outputs := map[string]string{
		"fmt":         fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		"fmt ptr":     fmt.Sprintf("%v %+v %#v", &cfg, &cfg, &cfg),
		"fmt secret":  fmt.Sprintf("%v %+v %#v %s %q %x %X %10s", cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey, cfg.Bnovo.APIKey),
		"fmt section": fmt.Sprintf("%v %+v %#v", cfg.Bnovo, cfg.ProBonus, cfg.Webhook),
	}
	if out, err := json.Marshal(cfg); err == nil {
		outputs["json"] = string(out)
	} else {
		t.Errorf("json.Marshal: %v", err)
	}
	if out, err := yaml.Marshal(cfg); err == nil {
		outputs["yaml"] = string(out)
	} else {
		t.Errorf("yaml.Marshal: %v", err)
	}
	var logged bytes.Buffer
	logger := zerolog.New(&logged)
	logger.Info().Interface("cfg", cfg).Msg("interface")
	logger.Info().Object("cfg", cfg).Msg("object")
	logger.Info().Any("bnovo", cfg.Bnovo).Stringer("token", cfg.ProBonus.Token).Interface("secret", cfg.Webhook.Secret).Msg("parts")
	outputs["zerolog"] = logged.String()

	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output reveals a secret: %s", name, out)
			}
		}
		if !strings.Contains(out, "[redacted]") && name != "zerolog" {
			t.Errorf("%s output does not show [redacted]: %s", name, out)
		}
	}
	if !strings.Contains(logged.String(), `"probonus_token_set":true`) {
		t.Errorf("zerolog object does not say the token is set: %s", logged.String())
	}

	var empty Secret
	if got := fmt.Sprintf("%v|%s|%#v", empty, empty, empty); got != `||""` {
		t.Errorf("empty secret prints as %q", got)
	}
	if cfg.ProBonus.Token.Reveal() != "probonus-file-token" {
		t.Errorf("Reveal() = %q", cfg.ProBonus.Token.Reveal())
	}
}

func TestRublesExact(t *testing.T) {
	for text, want := range map[string]int64{"1": 100, "0.5": 50, "0.01": 1, "1.10": 110, "'2.25'": 225, "999999.99": 99999999} {
		var r Rubles
		if err := yaml.Unmarshal([]byte(text), &r); err != nil || r.Kopecks() != want {
			t.Errorf("%s: %d kopecks, %v; want %d", text, r.Kopecks(), err, want)
		}
	}
	for _, bad := range []string{"0.505", "1e3", "-1", "abc", "[1]", "1000000", "99999999999999999999999"} {
		var r Rubles
		if err := yaml.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s: accepted as %d kopecks", bad, r.Kopecks())
		}
	}
}
