package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/state"
)

// forbidden is what must never appear in syncd's output: secrets verbatim, and guests' phones
// and e-mails in full.
type forbidden struct {
	secrets []string
	phones  []string // as typed in Bnovo
	emails  []string // as typed in Bnovo
}

func (f *forbidden) addPerson(phone, email string) {
	if strings.TrimSpace(phone) != "" {
		f.phones = append(f.phones, phone)
	}
	if strings.TrimSpace(email) != "" {
		f.emails = append(f.emails, email)
	}
}

// addGuests collects the customer and guest records of every booking in bn.
func (f *forbidden) addGuests(bn *bnovotest.Server, ids []int64) {
	for _, id := range ids {
		if b, ok := bn.Booking(id); ok && b.Customer != nil {
			f.addPerson(b.Customer.Phone, b.Customer.Email)
		}
		for _, g := range bn.Guests(id) {
			f.addPerson(g.Phone, g.Email)
		}
	}
}

var (
	nonDigits = regexp.MustCompile(`\D`)
	// A bearer token or a dumped Authorization header, whatever the token.
	authLeak = regexp.MustCompile(`(?i)bearer\s+[A-Za-z0-9._~+/=-]{4,}|"?authorization"?\s*[:=]\s*"?\S`)
)

// leaks lists every forbidden thing found in out, each with the first line that holds it. A
// phone counts as leaked when its last 10 digits (the national number, which identifies the guest
// alone) or its E.164 digits appear in a run of digits, or it appears as typed.
func (f *forbidden) leaks(out string) []string {
	lines := strings.Split(out, "\n")
	var found []string
	report := func(what string, hit func(line string) bool) {
		for _, line := range lines {
			if hit(line) {
				if len(line) > 300 {
					line = line[:300] + "…"
				}
				found = append(found, fmt.Sprintf("%s in: %s", what, line))
				return
			}
		}
	}
	for _, s := range f.secrets {
		if s != "" {
			report(fmt.Sprintf("secret %q", s), func(line string) bool { return strings.Contains(line, s) })
		}
	}
	digitRun := regexp.MustCompile(`\d{10,}`)
	for _, raw := range f.phones {
		var forms []string
		if d := nonDigits.ReplaceAllString(raw, ""); len(d) >= 10 {
			forms = append(forms, d[len(d)-10:])
		}
		if d, ok := contact.Phone(raw); ok {
			forms = append(forms, d, d[len(d)-10:])
		}
		typed := strings.TrimSpace(raw)
		report(fmt.Sprintf("phone %q", raw), func(line string) bool {
			if len(typed) >= 10 && strings.Contains(line, typed) {
				return true
			}
			for _, run := range digitRun.FindAllString(line, -1) {
				for _, form := range forms {
					if strings.Contains(run, form) {
						return true
					}
				}
			}
			return false
		})
	}
	for _, raw := range f.emails {
		e := strings.ToLower(strings.TrimSpace(raw))
		if strings.Contains(e, "@") {
			report(fmt.Sprintf("e-mail %q", raw), func(line string) bool { return strings.Contains(strings.ToLower(line), e) })
		}
	}
	report("an authorization header or bearer token", authLeak.MatchString)
	return found
}

func listLeaks(leaks []string) string { return "  " + strings.Join(leaks, "\n  ") }

func TestLeakDetectorCatchesLeaks(t *testing.T) {
	f := &forbidden{secrets: []string{"s3cr3t-key"}}
	f.addPerson("+7 (916) 123-45-67", "Ivan.Petrov@Example.ru ")
	f.addPerson("+44 7911 123456", "")
	for _, c := range []struct {
		out  string
		leak bool
	}{
		{`{"phone":"7916*****67","email":"i***@example.ru"}`, false},
		{`{"booking":48200036,"took":154.150742,"card":"2000000000123"}`, false},
		{`{"phone":"79161234567"}`, true},
		{`GET /api/v0/accounts/find?identifier=79161234567`, true},
		{`{"phone":"9161234567"}`, true},
		{`guest +7 (916) 123-45-67 has no account`, true},
		{`{"email":"ivan.petrov@example.ru"}`, true},
		{`{"phone":"447911123456"}`, true},
		{`error: key s3cr3t-key refused`, true},
		{`{"header":"Bearer abc.def.ghi"}`, true},
		{`{"Authorization": "Token x"}`, true},
		{`{"message":"the token header is Authorization"}`, false},
	} {
		if got := len(f.leaks(c.out)) > 0; got != c.leak {
			t.Errorf("leaks(%q) = %v, want leak %v", c.out, f.leaks(c.out), c.leak)
		}
	}
}

// TestDemoLogsNoSecretsOrContacts runs the full demo in-process and scans everything it prints.
// The demo hard-codes its credentials ("test-key" for Bnovo, "test-token" for ProBonus, see
// demo.go), so those exact values are what is looked for; its guests are regenerated here from
// the same seed.
func TestDemoLogsNoSecretsOrContacts(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo waits for its scaled-down rate limits (~11 s)")
	}
	f := &forbidden{secrets: []string{"test-key", "test-token", demoWebhookSecret}}
	f.addPerson(demoCheckoutPhone, "")
	// The demo's simulated hotel: Seed is deterministic for a seed and a day.
	loc := moscow
	twin := bnovotest.NewServer(bnovotest.Options{Location: loc})
	defer twin.Close()
	now := time.Now().In(loc)
	f.addGuests(twin, twin.Seed(150, 2026, now.AddDate(0, 0, -60), now))
	if len(f.phones) < 100 || len(f.emails) < 100 {
		t.Fatalf("only %d phones and %d e-mails gathered", len(f.phones), len(f.emails))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	// Every booking's line is logged at info, which the demo shows only when asked to.
	env := func(k string) string { return map[string]string{"SYNCD_DEMO_LOG": "debug"}[k] }
	if code := exitCode(run(ctx, []string{"-demo"}, &out, &out, env), &out); code != exitOK {
		t.Fatalf("demo: exit %d\n%s", code, out.String())
	}
	text := out.String()
	// The scan means something only if the logs do talk about these guests, masked.
	if !strings.Contains(text, `"phone":"79`) || !strings.Contains(text, `***@`) {
		t.Fatalf("the demo logged no masked contacts: the guest set or the log format changed\n%s", text)
	}
	if leaks := f.leaks(text); len(leaks) > 0 {
		t.Errorf("the demo's output leaks:\n%s", listLeaks(leaks))
	}
}

// TestFaultyRunsLogNoSecretsOrContacts runs -once several times at debug level against
// simulators that fail in every way syncd handles — 5xx and dropped connections, deposits that
// commit and then fail, a timed-out deposit, an expired Bnovo token, a malformed booking carrying
// contact data, and wrong credentials for each API — with distinctive secrets, and scans all
// output, stderr included.
func TestFaultyRunsLogNoSecretsOrContacts(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out real retry backoffs and the settling of unclear deposits (~5 s)")
	}
	const (
		apiKey     = "bnk-7Qx9-SECRET-KEY-e41f"
		token      = "pbt-Zr2m-SECRET-TOKEN-9c0d"
		wrongKey   = "bnk-WRONG-KEY-55aa"
		wrongToken = "pbt-WRONG-TOKEN-66bb"
	)
	r := newSimRig(t, rigOptions{apiKey: apiKey, token: token, logLevel: "debug"})
	f := &forbidden{secrets: []string{apiKey, token, wrongKey, wrongToken}}
	f.addGuests(r.bn, r.ids)
	// Two unreadable bookings that carry contact data: a bad date, and a phone typed as an object.
	const rawPhone, rawEmail, objectPhone = "+7 916 555-12-34", "Leaky.Guest@Example.org", "+79165554321"
	f.addPerson(rawPhone, rawEmail)
	f.addPerson(objectPhone, "")
	malformed := r.ids[len(r.ids)-1] + 1000
	r.bn.PutRawBooking(malformed, fmt.Sprintf(`{"id": %d, "dates": {"departure": "someday"}, "customer": {"phone": %q, "email": %q}}`, malformed, rawPhone, rawEmail))
	r.bn.PutRawBooking(malformed+1, fmt.Sprintf(`{"id": %d, "customer": {"phone": {"mobile": %q}}}`, malformed+1, objectPhone))

	var all strings.Builder
	// once runs -once; wantCode < 0 accepts any exit code.
	once := func(name string, wantCode int, wantInOutput string) {
		t.Helper()
		stdout, stderr, code := r.run(t, "-once")
		fmt.Fprintf(&all, "== %s (exit %d)\n%s%s", name, code, stdout, stderr)
		if wantCode >= 0 && code != wantCode {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, wantCode, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, wantInOutput) {
			t.Errorf("%s: the fault did not show (no %q in the output)\n%s%s", name, wantInOutput, stdout, stderr)
		}
		f.secrets = append(f.secrets, storedBnovoToken(t, r)...)
	}

	r.bn.FailNext(2, 502)
	r.pb.FailNext("find", 1, 500)
	r.pb.FailNext("create", 1, 422)
	r.pb.CommitThenFail("deposit", 1)
	r.pb.CommitThenDrop("deposit", 1)
	once("faults", exitOK, "unreadable booking parked")

	credited := creditedBookings(t, r)
	r.bn.ExpireTokens()
	r.pb.HangNext("deposit", 1, 1500*time.Millisecond) // past the 1 s request timeout
	r.bn.AddPayment(bnovo.Payment{BookingID: credited[0], Type: bnovo.PaymentIn, Amount: 500000, PaymentTypeName: "Наличные", Date: time.Now()})
	once("expired token, timed-out deposit", exitOK, "bnovo token refused")

	r.env["SYNCD_PROBONUS_TOKEN"] = wrongToken
	r.bn.AddPayment(bnovo.Payment{BookingID: credited[1], Type: bnovo.PaymentIn, Amount: 500000, PaymentTypeName: "Наличные", Date: time.Now()})
	// A rejected ProBonus token leaves the bookings queued and the run fails naming the key.
	once("wrong ProBonus token", exitFailed, "ProBonus refused syncd's credentials: check probonus.token")

	r.env["SYNCD_PROBONUS_TOKEN"] = token
	r.env["SYNCD_BNOVO_API_KEY"] = wrongKey
	r.bn.ExpireTokens()
	once("wrong Bnovo key", exitFailed, "Bnovo refused syncd's credentials: check bnovo.api_key")

	// -status shows parked reasons to whoever runs it: part of the output too.
	stdout, stderr, _ := r.run(t, "-status")
	fmt.Fprintf(&all, "== -status\n%s%s", stdout, stderr)

	text := all.String()
	if dump := os.Getenv("SYNCD_TEST_DUMP"); dump != "" {
		_ = os.WriteFile(dump, []byte(text), 0o600)
	}
	if !strings.Contains(text, `"level":"debug"`) {
		t.Fatalf("no debug lines: the scan would miss per-request logging\n%s", text)
	}
	if leaks := f.leaks(text); len(leaks) > 0 {
		t.Errorf("faulty runs' output leaks (set SYNCD_TEST_DUMP=file for all of it):\n%s", listLeaks(leaks))
	}
}

// storedBnovoToken reads the Bnovo access token syncd keeps in the state file (none when absent).
func storedBnovoToken(t *testing.T, r *simRig) []string {
	t.Helper()
	db, err := state.Open(r.state, state.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("opening state: %v", err)
	}
	defer db.Close()
	tok, _, err := db.TokenStore(pipeline.BnovoTokenName(1, r.bn.URL)).LoadToken()
	if err != nil || tok == "" {
		return nil
	}
	return []string{tok}
}

func creditedBookings(t *testing.T, r *simRig) []int64 {
	t.Helper()
	db, err := state.Open(r.state, state.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int64
	_ = db.View(func(tx *state.Tx) error {
		for _, id := range r.ids {
			if rec, ok, _ := tx.Booking(id); ok && rec.Posted > 0 {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if len(ids) < 2 {
		t.Fatalf("only %d bookings credited", len(ids))
	}
	return ids
}
