package contact

import (
	"strings"
	"testing"
	"unicode"
)

func TestPhone(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		wantOK bool
	}{
		{"+7 (916) 123-45-67", "79161234567", true},
		{"8 916 123 45 67", "79161234567", true},
		{"89161234567", "79161234567", true},
		{"9161234567", "79161234567", true},
		{"  +7 916 123 45 67  ", "79161234567", true},
		{"8 (495) 123-45-67", "74951234567", true},
		{"+44 20 7946 0958", "442079460958", true},
		{"+49 30 901820", "4930901820", true},
		{"+49 151 23456789", "4915123456789", true},
		{"12345", "", false},
		{"call me", "", false},
		{"", "", false},
		{"   ", "", false},
		{"+7 000", "", false},
		{"+7 000 000 00 00", "", false},
		{"8 916 123", "", false},
		{"79161234567891234567", "", false},
		{strings.Repeat("9", 100), "", false},
	}
	for _, tt := range tests {
		got, ok := Phone(tt.raw)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Phone(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		wantOK bool
	}{
		{"Anna@Example.ru", "anna@example.ru", true},
		{"  anna.petrova+hotel@mail.example.ru \n", "anna.petrova+hotel@mail.example.ru", true},
		{"АННА@Пример.РФ", "анна@пример.рф", true},
		{"", "", false},
		{"anna", "", false},
		{"anna@localhost", "", false},
		{"anna@@example.ru", "", false},
		{"anna@exa@mple.ru", "", false},
		{"@example.ru", "", false},
		{"anna@.example.ru", "", false},
		{"anna@example.ru.", "", false},
		{"anna@example..ru", "", false},
		{"Anna Petrova <anna@example.ru>", "", false},
		{"<anna@example.ru>", "", false},
		{`"anna p"@example.ru`, "", false},
		{"anna@example.ru (Anna)", "", false},
		{"anna@example.ru, boris@example.ru", "", false},
		{"anna@[127.0.0.1]", "", false},
		{"anna petrova@example.ru", "", false},
		// Invisible characters pasted from messengers, and full-width forms (NFKC).
		{"an\u200bna@example.ru", "anna@example.ru", true},
		{"\ufeffanna@example.ru\u200d", "anna@example.ru", true},
		{"anna@exam\u00adple.ru", "anna@example.ru", true},
		{"\u00a0anna@example.ru\u00a0", "anna@example.ru", true},
		{"ＡＮＮＡ＠ＥＸＡＭＰＬＥ．ＲＵ", "anna@example.ru", true},
		{"an\u2060na@exam\u200cple.ru\u200e", "anna@example.ru", true},
		{"\u200b", "", false},
		{"anna\u200b@\u200b", "", false},
		{"anna@example\n.ru", "", false},
	}
	for _, tt := range tests {
		got, ok := Email(tt.raw)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Email(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestHasExtension(t *testing.T) {
	for raw, want := range map[string]bool{
		"+7 (495) 123-45-67 доб. 101": true,
		"8 495 123 45 67 ext. 102":    true,
		"8(916)1234567доб.3":          true,
		"+7 916 123 45 67 x5":         true,
		// Two numbers in one field: the library reads the second as the first's extension, so
		// neither decides (whose is the first?), as with the separators it cannot parse at all.
		"79161234567;79037654321": true,
		"+7 (916) 123-45-67":      false,
		"+79161234567x":           false,
		"89161234567":             false,
		"":                        false,
		"call me":                 false,
	} {
		if got := HasExtension(raw); got != want {
			t.Errorf("HasExtension(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestNonPersonal(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"8 800 555-35-35", "toll-free"},
		{"+1 800 555 1234", "toll-free"},
		{"+44 800 123 4567", "toll-free"},
		{"+44 870 123 4567", "premium-rate"},
		{"8 809 505 00 00", "premium-rate"},
		{"+44 55 1234 5678", "UAN"},
		{"+7 916 123 45 67", ""},
		{"+7 495 123 45 67", ""},
		{"+49 30 12345", ""},
	}
	for _, tt := range tests {
		digits, ok := Phone(tt.raw)
		if !ok {
			t.Fatalf("Phone(%q) not valid", tt.raw)
		}
		if got := NonPersonal(digits); got != tt.want {
			t.Errorf("NonPersonal(%s) = %q, want %q", MaskPhone(digits), got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"79161234567", "7916*****67"},
		{"+7 (916) 123-45-67", "7916*****67"},
		{"442079460958", "44207*****58"},
		{"4915123456789", "49151******89"},
		{"12345", "*****"},
		{"123456789", "123****89"},
		{"4930901820", "4930****20"},
		{"1234567", "*******"},
		{"1234", "****"},
		{"7", "*"},
		{"", ""},
		{"call me", "***"},
	}
	for _, tt := range tests {
		got := MaskPhone(tt.in)
		if got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A mask must never give the number away, whatever its length or form.
func TestMaskPhoneNeverRevealsNumber(t *testing.T) {
	inputs := []string{
		"79161234567", "+7 (916) 123-45-67", "442079460958", "4930901820", "123456789",
		"12345678", "1234567", "123456", "12345", "1234", "12", "1", "8 916 123 45 67",
	}
	for _, in := range inputs {
		got := MaskPhone(in)
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, in)
		if strings.Contains(got, in) || strings.Contains(got, digits) {
			t.Errorf("MaskPhone(%q) = %q reveals the number", in, got)
		}
		hidden := strings.Count(got, "*")
		wantHidden := minMaskedDigits
		if len(digits) < minPhoneDigits {
			wantHidden = len(digits)
		}
		if hidden < wantHidden {
			t.Errorf("MaskPhone(%q) = %q hides only %d of %d digits", in, got, hidden, len(digits))
		}
		if len(got) != len(digits) {
			t.Errorf("MaskPhone(%q) = %q, want one character per digit", in, got)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"anna@example.ru", "a***@example.ru"},
		{"a@example.ru", "***@example.ru"},
		{"анна@пример.рф", "а***@пример.рф"},
		{".anna@example.ru", "***@example.ru"},
		{"not-an-email", "n***"},
		{"", ""},
	}
	for _, tt := range tests {
		got := MaskEmail(tt.in)
		if got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.in != "" && strings.Contains(got, tt.in) {
			t.Errorf("MaskEmail(%q) = %q contains the whole address", tt.in, got)
		}
	}
}

// Guests type anything into the e-mail field: Email never panics, and what it accepts is a
// fixed point (normalising again changes nothing) without invisible characters, spaces or
// upper case, so one guest is one identifier in ProBonus.
func FuzzEmail(f *testing.F) {
	for _, seed := range []string{"Anna@Example.ru", "an\u200bna@example.ru", "ＡＮＮＡ＠ＥＸＡＭＰＬＥ．ＲＵ", "\ufeff a@b.c ", "a@b", "x\u00ad@y.z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := Email(raw)
		if !ok {
			return
		}
		again, ok2 := Email(got)
		if !ok2 || again != got {
			t.Fatalf("Email(%q) = %q, which normalises to %q, %v", raw, got, again, ok2)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return dropInvisible(r) < 0 || unicode.IsSpace(r) || unicode.IsUpper(r) }) {
			t.Fatalf("Email(%q) = %q keeps an invisible, space or upper-case character", raw, got)
		}
	})
}
