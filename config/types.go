package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Percent is a percentage with at most two decimals, held exactly as hundredths of a percent
// (7.5 → 750). YAML number or string. Never a float in arithmetic.
type Percent int64

// percentScale is how many Percent units make one percent.
const percentScale = 100

// maxPercent is 100 %: a bonus larger than what the guest paid is never meant.
const maxPercent Percent = 100 * percentScale

// ParsePercent reads "5", "7.5" or "7.25" exactly (no float on the way) and accepts 0 to 100.
// Whether 0 is allowed is up to the key: accrual.percent must be above 0, while
// accrual.source_percent may give a source 0 (no bonus for its bookings).
func ParsePercent(s string) (Percent, error) {
	v, err := parseHundredths(s, 3)
	if err != nil {
		return 0, err
	}
	p := Percent(v)
	if p > maxPercent {
		return 0, fmt.Errorf("%q is above 100", s)
	}
	return p, nil
}

// parseHundredths reads a decimal with at most two decimals exactly (no float on the way) as
// hundredths, refusing more than maxWhole digits before the point (so it cannot overflow).
func parseHundredths(s string, maxWhole int) (int64, error) {
	text := strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(text, ".")
	// Trailing zeros add no precision: "7.250" is 7.25.
	frac = strings.TrimRight(frac, "0")
	switch {
	case text == "":
		return 0, errors.New("empty, want a number like 5 or 7.5")
	case whole == "" || !allDigits(whole) || (hasDot && !allDigits(frac)):
		return 0, fmt.Errorf("%q is not a number like 5 or 7.5", s)
	case len(frac) > 2:
		return 0, fmt.Errorf("%q has more than two decimals", s)
	case len(strings.TrimLeft(whole, "0")) > maxWhole:
		return 0, fmt.Errorf("%q is above %s", s, "1"+strings.Repeat("0", maxWhole-1))
	}
	wholeValue, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	var fracValue int64
	if frac != "" {
		fracValue, err = strconv.ParseInt((frac + "0")[:2], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
	}
	return wholeValue*percentScale + fracValue, nil
}

// decimalText is the source text of a YAML scalar that should hold a decimal number (want
// describes it for the error): a number or a string, never a list, a map or a boolean.
func decimalText(node *yaml.Node, want string) (string, error) {
	if node.Kind != yaml.ScalarNode {
		return "", errors.New("must be " + want)
	}
	switch node.ShortTag() {
	case "!!int", "!!float", "!!str":
		return node.Value, nil
	}
	return "", fmt.Errorf("must be %s, not %q", want, node.Value)
}

// Rubles is an amount of money with at most two decimals (1, 0.5), held exactly as kopecks.
// YAML number or string. Never a float in arithmetic.
type Rubles int64

// maxRublesDigits bounds the whole rubles of a Rubles value (up to 999 999).
const maxRublesDigits = 6

// Kopecks is the amount in kopecks.
func (r Rubles) Kopecks() int64 { return int64(r) }

// String gives the shortest exact decimal: "1", "0.5", "1.25".
func (r Rubles) String() string { return Percent(r).String() }

// UnmarshalYAML reads the node's source text rather than a decoded float, so 0.1 stays exactly
// 10 kopecks.
func (r *Rubles) UnmarshalYAML(node *yaml.Node) error {
	text, err := decimalText(node, "an amount in rubles like 1 or 0.5")
	if err != nil {
		return err
	}
	v, err := parseHundredths(text, maxRublesDigits)
	if err != nil {
		return err
	}
	*r = Rubles(v)
	return nil
}

// MarshalYAML writes a plain YAML number so that a marshalled config loads back unchanged.
func (r Rubles) MarshalYAML() (any, error) { return Percent(r).MarshalYAML() }

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Hundredths is the percentage in hundredths of a percent, for exact integer arithmetic:
// amount × p.Hundredths() / 10000.
func (p Percent) Hundredths() int64 { return int64(p) }

// String gives the shortest exact decimal: "7.5", "5", "7.25".
func (p Percent) String() string {
	sign := ""
	v := int64(p)
	if v < 0 {
		sign, v = "-", -v
	}
	whole, frac := v/percentScale, v%percentScale
	switch {
	case frac == 0:
		return fmt.Sprintf("%s%d", sign, whole)
	case frac%10 == 0:
		return fmt.Sprintf("%s%d.%d", sign, whole, frac/10)
	default:
		return fmt.Sprintf("%s%d.%02d", sign, whole, frac)
	}
}

// UnmarshalYAML reads the node's source text rather than a decoded float, so 7.1 stays exactly
// 710 hundredths.
func (p *Percent) UnmarshalYAML(node *yaml.Node) error {
	text, err := decimalText(node, "a number like 5 or 7.5")
	if err != nil {
		return err
	}
	parsed, err := ParsePercent(text)
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

// MarshalYAML writes a plain YAML number so that a marshalled config loads back unchanged.
func (p Percent) MarshalYAML() (any, error) {
	tag := "!!int"
	if p%percentScale != 0 {
		tag = "!!float"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: p.String()}, nil
}

// Secret never prints: String/GoString/MarshalText give "[redacted]" (or "" when empty), which
// covers fmt, encoding/json, YAML and zerolog's Interface/Any/Stringer. Only Reveal gives the
// value, and zerolog's Str("k", s.Reveal()) would log it: don't.
type Secret string

const redacted = "[redacted]"

// Reveal is the one way to the secret's value; call it only where the value is sent.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String keeps secrets out of %v, %+v, %s, %q and %x: fmt formats a Stringer's result for
// every verb that applies to strings, including inside structs.
func (s Secret) String() string { return s.mask() }

// GoString keeps secrets out of %#v.
func (s Secret) GoString() string { return strconv.Quote(s.mask()) }

// MarshalText keeps secrets out of JSON (zerolog's Interface, encoding/json) and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// Duration parses "30s", "2m" in YAML.
type Duration time.Duration

// Std is the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML insists on a unit: a bare 30 could mean seconds or nanoseconds.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return errors.New("must be a duration like 30s or 2m")
	}
	parsed, err := time.ParseDuration(strings.TrimSpace(node.Value))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 2m", node.Value)
	}
	*d = Duration(parsed)
	return nil
}

// MarshalYAML writes the form UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
