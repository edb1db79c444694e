// Package contact normalises guests' phones and e-mails to the exact form ProBonus compares
// identifiers in, and masks them for logs.
package contact

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// defaultRegion is where numbers written without a country code are assumed to be: the hotels
// are Russian, and guests type "8 916 ..." or just "916 ...".
const defaultRegion = "RU"

// maxRawPhone bounds the text handed to the parser; longer free text is never one phone number.
const maxRawPhone = 64

// Phone normalises free text to ProBonus's identifier form: digits only, E.164 without '+'
// ("79161234567"), using github.com/nyaruka/phonenumbers with default region RU. ok=false when the
// library does not call it a valid number (Parse does NOT validate: check IsValidNumber).
func Phone(raw string) (digits string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxRawPhone {
		return "", false
	}
	number, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(number) {
		return "", false
	}
	e164 := phonenumbers.Format(number, phonenumbers.E164)
	digits = strings.TrimPrefix(e164, "+")
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", false
	}
	return digits, true
}

// HasExtension tells whether free text is a phone number with an extension ("доб. 101",
// "ext. 5"): a switchboard, whose number (all ProBonus can hold) everyone behind it shares.
func HasExtension(raw string) bool {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxRawPhone {
		return false
	}
	number, err := phonenumbers.Parse(raw, defaultRegion)
	return err == nil && number.GetExtension() != ""
}

// NonPersonal names the kind of a normalised number that the library classifies as one that
// does not belong to one person (toll-free, shared-cost, premium-rate, UAN, voicemail), or ""
// for mobile and fixed lines (and any number the library cannot place). Such numbers are the
// OTAs' relay lines and companies' hotlines: many guests type the same one.
func NonPersonal(digits string) string {
	number, err := phonenumbers.Parse("+"+digits, defaultRegion)
	if err != nil {
		return ""
	}
	switch phonenumbers.GetNumberType(number) {
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.UAN:
		return "UAN"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	}
	return ""
}

// Email normalises an address to the one form ProBonus compares: Unicode NFKC (a full-width
// "＠" is "@"), invisible and zero-width characters removed (they survive copy and paste from
// messengers and would make a second identity of one guest), trimmed, lower-cased. ok=false when
// what is left is not one plain address (net/mail, no display name, one '@', a dot in the domain).
func Email(raw string) (normalized string, ok bool) {
	trimmed := strings.TrimSpace(strings.Map(dropInvisible, norm.NFKC.String(raw)))
	if trimmed == "" || strings.ContainsAny(trimmed, "<>\"()[] \t\r\n,;") {
		// Display names, angle brackets, comments, quoted local parts, domain literals and lists
		// are all legal RFC 5322 but never a single identifier ProBonus could hold.
		return "", false
	}
	addr, err := mail.ParseAddress(trimmed)
	if err != nil || addr.Name != "" || addr.Address != trimmed {
		return "", false
	}
	if strings.Count(trimmed, "@") != 1 {
		return "", false
	}
	local, domain, _ := strings.Cut(trimmed, "@")
	if local == "" || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", false
	}
	return strings.ToLower(trimmed), true
}

// dropInvisible removes characters that render as nothing: format characters (zero-width
// space and joiners, BOM, soft hyphen, bidi marks), the other default-ignorable code points
// and variation selectors. Control characters are kept so that an address broken by one is
// refused rather than silently glued together.
func dropInvisible(r rune) rune {
	if unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) {
		return -1
	}
	return r
}

// Masking keeps enough of a contact for staff to recognise it in logs without the logs becoming
// a copy of the guest list: at least minMaskedDigits digits are hidden, and anything shorter than
// any real phone number is hidden whole.
const (
	phoneHeadAfterCountry = 3
	phoneTail             = 2
	minMaskedDigits       = 4
	minPhoneDigits        = 8
)

// MaskPhone keeps the country code and the first 3 digits after it and the last 2 digits at most
// ("7916*****67"); everything else becomes '*'. It accepts raw text too (only its digits are
// kept), so a parked reason quoting an odd phone can be masked as well. Never the full number.
func MaskPhone(s string) string {
	var digits strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	d := digits.String()
	if d == "" {
		if strings.TrimSpace(s) == "" {
			return ""
		}
		return "***"
	}
	if len(d) < minPhoneDigits {
		return strings.Repeat("*", len(d))
	}
	head := countryCodeLength(d) + phoneHeadAfterCountry
	tail := phoneTail
	// Short numbers give up head digits so the hidden part never shrinks below its minimum.
	if hidden := len(d) - head - tail; hidden < minMaskedDigits {
		head -= minMaskedDigits - hidden
	}
	return d[:head] + strings.Repeat("*", len(d)-head-tail) + d[len(d)-tail:]
}

// countryCodeLength is the length of the calling code at the start of normalised digits; 1 when
// the digits are not a number the library knows, which keeps the mask conservative.
func countryCodeLength(digits string) int {
	number, err := phonenumbers.Parse("+"+digits, defaultRegion)
	if err != nil || number.GetCountryCode() == 0 {
		return 1
	}
	return len(strconv.Itoa(int(number.GetCountryCode())))
}

// MaskEmail keeps the first character of the local part and the whole domain ("a***@example.ru"):
// the domain says little about the guest, and one character is enough to tell two apart.
func MaskEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	local, domain, found := strings.Cut(s, "@")
	if !found {
		return maskedStart(s) + "***"
	}
	if utf8.RuneCountInString(local) <= 1 {
		// Keeping the only character would reveal the whole local part.
		return "***@" + domain
	}
	return maskedStart(local) + "***@" + domain
}

// maskedStart is the first character of s when it is a letter or digit; punctuation is
// dropped so that a mask never starts with something that reads like part of the address.
func maskedStart(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || (!unicode.IsLetter(r) && !unicode.IsDigit(r)) || utf8.RuneCountInString(s) <= 1 {
		return ""
	}
	return string(r)
}
