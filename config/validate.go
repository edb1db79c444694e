package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hotelsync/syncd/contact"
	"github.com/hotelsync/syncd/ratelimit"
)

// Problem is one thing wrong with the configuration, named by its dotted key.
type Problem struct {
	Key     string // dotted path, e.g. "bnovo.base_url" or "accrual.source_percent[\"Booking.com\"]"
	Message string
	Line    int // line in the config file; 0 when the problem is not tied to one
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// ValidationError lists every problem found, so one edit can fix them all.
type ValidationError struct {
	Problems []Problem
}

// Error gives one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Limits the code relies on elsewhere: Bnovo refuses pages above 50, and a unix socket path
// must fit sun_path (108 bytes with its terminating NUL).
const (
	maxPageSize          = 50
	maxLookbackDays      = 3650
	maxUnixSocketPath    = 107
	minWebhookSecret     = 16
	maxWebhookBody       = 16 << 20
	webhookSecretAllowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)

type problems struct{ list []Problem }

// normalizedContacts is list normalised as guests' contacts are (normalize is contact.Phone or
// contact.Email); an entry that is not one is a problem naming its index under key.
func normalizedContacts(p *problems, key string, list []string, normalize func(string) (string, bool), what string) []string {
	var out []string
	for i, raw := range list {
		v, ok := normalize(raw)
		if !ok {
			p.add(fmt.Sprintf("%s[%d]", key, i), "%q is not %s", raw, what)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (p *problems) add(key, format string, args ...any) {
	p.list = append(p.list, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// Validate fills Location; checks schedule parses with robfig/cron/v3 standard parser (5 fields).
// It also normalises what has one obvious form: base URLs lose a trailing "/", and an empty
// status.socket becomes "<state dir>/syncd.sock". Every problem is reported, as a
// *ValidationError.
func (c *Config) Validate() error {
	var p problems

	c.Bnovo.BaseURL = checkOrigin(&p, "bnovo.base_url", c.Bnovo.BaseURL, "https://api.pms.bnovo.ru", "/api/v1")
	if c.Bnovo.AccountID <= 0 {
		p.add("bnovo.account_id", "required: the Bnovo API account id, a whole number above 0")
	}
	checkSecretSet(&p, "bnovo.api_key", c.Bnovo.APIKey, EnvBnovoAPIKey, CredBnovoAPIKey)
	checkSecretText(&p, "bnovo.api_key", c.Bnovo.APIKey)
	if len(c.Bnovo.RateLimits) == 0 {
		p.add("bnovo.rate_limits", "at least one limit like 30/10s is required")
	}
	for i, limit := range c.Bnovo.RateLimits {
		if _, err := ratelimit.ParseWindow(limit); err != nil {
			p.add(fmt.Sprintf("bnovo.rate_limits[%d]", i), "%v", err)
		}
	}
	if _, err := ratelimit.ParseWindow(c.Bnovo.AuthRateLimit); err != nil {
		p.add("bnovo.auth_rate_limit", "%v", err)
	}
	if share := c.Bnovo.BudgetShare; math.IsNaN(share) || share <= 0 || share > 1 {
		p.add("bnovo.budget_share", "must be above 0 and at most 1, got %v", share)
	}
	checkPositive(&p, "bnovo.request_timeout", c.Bnovo.RequestTimeout)
	if c.Bnovo.PageSize < 1 || c.Bnovo.PageSize > maxPageSize {
		p.add("bnovo.page_size", "must be 1 to %d (Bnovo refuses larger pages), got %d", maxPageSize, c.Bnovo.PageSize)
	}

	c.ProBonus.BaseURL = checkOrigin(&p, "probonus.base_url", c.ProBonus.BaseURL, "http://host:6896", "/api/v0")
	checkSecretSet(&p, "probonus.token", c.ProBonus.Token, EnvProBonusToken, CredProBonusToken)
	checkSecretText(&p, "probonus.token", c.ProBonus.Token)
	if !isHTTPToken(c.ProBonus.TokenHeader) {
		p.add("probonus.token_header", "must be an HTTP header name like Authorization or X-API-Key, got %q", c.ProBonus.TokenHeader)
	}
	switch {
	case c.ProBonus.AccountGroupID < 0:
		p.add("probonus.account_group_id", "must be above 0, got %d", c.ProBonus.AccountGroupID)
	case c.ProBonus.AccountGroupID == 0 && c.ProBonus.CreatesAccounts():
		p.add("probonus.account_group_id", "required when probonus.create_accounts is true: the group new accounts are created in")
	}
	checkPositive(&p, "probonus.request_timeout", c.ProBonus.RequestTimeout)
	c.ProBonus.IgnoredPhones = normalizedContacts(&p, "probonus.ignore_phones", c.ProBonus.IgnorePhones, contact.Phone, "a valid phone number")
	c.ProBonus.IgnoredEmails = normalizedContacts(&p, "probonus.ignore_emails", c.ProBonus.IgnoreEmails, contact.Email, "an e-mail address")

	c.validateAccrual(&p)

	c.Location = nil
	c.validateSchedule(&p)
	c.validateArrivals(&p)
	c.validateRedemption(&p)

	statePathOK := c.validateStatePath(&p)
	checkPositive(&p, "state.lock_timeout", c.State.LockTimeout)

	c.validateWebhook(&p)

	if c.Status.Socket == "" && statePathOK {
		c.Status.Socket = filepath.Join(filepath.Dir(c.State.Path), stateDirSocketName)
	}
	if c.Status.Socket != "" && !filepath.IsAbs(c.Status.Socket) {
		// The daemon and -status would look for it in their own working directories.
		p.add("status.socket", "must be an absolute path like /run/syncd/status.sock, got %q", c.Status.Socket)
	}
	if len(c.Status.Socket) > maxUnixSocketPath {
		p.add("status.socket", "%q is longer than the %d bytes a unix socket path may have", c.Status.Socket, maxUnixSocketPath)
	}
	if samePath(c.Status.Socket, c.State.Path) {
		// The daemon replaces a stale socket at status.socket: it would delete the state file.
		p.add("status.socket", "%q is state.path: the socket and the state file need two different paths", c.Status.Socket)
	}

	if c.Metrics.Listen != "" {
		host, ok := checkListen(&p, "metrics.listen", c.Metrics.Listen)
		if ok && !isLoopbackHost(host) {
			p.add("metrics.listen", "must be a loopback address like 127.0.0.1:9464, got %q: metrics are not for the network", c.Metrics.Listen)
		}
		if ok && c.Webhook.Listen != "" && listenersClash(c.Webhook.Listen, c.Metrics.Listen) {
			// Caught here, -check-config says so; otherwise every start fails to bind.
			p.add("webhook.listen", "%q and metrics.listen %q use one port: give them two", c.Webhook.Listen, c.Metrics.Listen)
		}
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		p.add("log.format", "must be auto, json or console, got %q", c.Log.Format)
	}

	if len(p.list) > 0 {
		return &ValidationError{Problems: p.list}
	}
	return nil
}

func (c *Config) validateAccrual(p *problems) {
	a := &c.Accrual
	if a.Percent <= 0 || a.Percent > maxPercent {
		p.add("accrual.percent", "must be above 0 and at most 100, got %s", a.Percent)
	}
	if len(a.Statuses) == 0 {
		p.add("accrual.statuses", "at least one status (a name like Выехал, or an id) is required")
	}
	for i, status := range a.Statuses {
		if strings.TrimSpace(status) == "" {
			p.add(fmt.Sprintf("accrual.statuses[%d]", i), "must not be empty")
		}
	}
	for source, percent := range a.SourcePercent {
		key := "accrual.source_percent[" + strconv.Quote(source) + "]"
		if strings.TrimSpace(source) == "" {
			p.add(key, "the source name must not be empty")
		}
		if percent < 0 || percent > maxPercent {
			p.add(key, "must be 0 to 100, got %s", percent)
		}
	}
	for i, name := range a.ExcludePaymentTypes {
		if strings.TrimSpace(name) == "" {
			p.add(fmt.Sprintf("accrual.exclude_payment_types[%d]", i), "must not be empty")
		}
	}
	if a.MinPaid < 0 {
		p.add("accrual.min_paid", "must be 0 or more kopecks, got %d", a.MinPaid)
	}
	if a.LookbackDays < 1 || a.LookbackDays > maxLookbackDays {
		p.add("accrual.lookback_days", "must be 1 to %d, got %d", maxLookbackDays, a.LookbackDays)
	}
}

// maxArrivalsDays bounds arrivals.days: the line is for the desk's next days, not the season.
const maxArrivalsDays = 30

func (c *Config) validateArrivals(p *problems) {
	if d := c.Arrivals.Days; d < 0 || d > maxArrivalsDays {
		p.add("arrivals.days", "must be 0 (off) to %d, got %d", maxArrivalsDays, d)
	}
	if c.Arrivals.Enroll && c.Arrivals.Days > 0 && c.ProBonus.AccountGroupID <= 0 {
		p.add("arrivals.enroll", "needs probonus.account_group_id: the group new accounts are created in")
	}
}

// validateRedemption runs after the time zone is known: since is a date in the hotel's zone.
func (c *Config) validateRedemption(p *problems) {
	r := &c.Redemption
	r.SinceDate = time.Time{}
	for i, name := range r.PaymentTypes {
		key := fmt.Sprintf("redemption.payment_types[%d]", i)
		switch {
		case strings.TrimSpace(name) == "":
			p.add(key, "must not be empty")
		case r.Enabled && !slices.Contains(c.Accrual.ExcludePaymentTypes, name):
			p.add(key, "%q must also be in accrual.exclude_payment_types: no bonuses are earned on what was paid with bonuses", name)
		}
	}
	if r.BonusValue <= 0 {
		p.add("redemption.bonus_value", "must be above 0 rubles, got %s", r.BonusValue)
	}
	since := strings.TrimSpace(r.Since)
	switch {
	case since == "" && r.Enabled:
		p.add("redemption.since", "required when redemption.enabled is true: the date (YYYY-MM-DD) from which bonus payments are taken off accounts; those before were settled by hand")
	case since == "":
	default:
		loc := c.Location
		if loc == nil {
			loc = time.UTC // the timezone problem is reported on its own key
		}
		d, err := time.ParseInLocation(time.DateOnly, since, loc)
		if err != nil {
			p.add("redemption.since", "must be a date like 2026-07-01, got %q", r.Since)
			break
		}
		r.SinceDate = d
	}
	if r.Enabled && len(r.PaymentTypes) == 0 {
		p.add("redemption.payment_types", "at least one payment type is required when redemption.enabled is true")
	}
}

// validateStatePath reports whether state.path is usable as the base of status.socket.
func (c *Config) validateStatePath(p *problems) bool {
	path := c.State.Path
	switch {
	case strings.TrimSpace(path) == "":
		p.add("state.path", "required: where the state file lives")
		return false
	case !filepath.IsAbs(path):
		// systemd starts the daemon in /, an operator's -once or cron job elsewhere: a relative
		// path gives them two state files, two locks and two journals, and both may post a stay.
		p.add("state.path", "must be an absolute path like /var/lib/syncd/state.db, got %q", path)
		return false
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		p.add("state.path", "%q is a directory: name the state file in it, like %s", path, filepath.Join(path, stateFileName))
		return false
	}
	return true
}

func (c *Config) validateSchedule(p *problems) {
	spec := strings.TrimSpace(c.Schedule)
	var schedule cron.Schedule
	switch {
	case spec == "":
		p.add("schedule", "required: a cron expression like */5 * * * *")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		p.add("schedule", "set the time zone with the timezone key, not in the schedule")
	default:
		parsed, err := cron.ParseStandard(spec)
		if err != nil {
			p.add("schedule", "%q is not a 5-field cron expression like */5 * * * *: %v", c.Schedule, err)
			break
		}
		schedule = parsed
	}
	defer func() {
		loc := c.Location
		if loc == nil {
			loc = time.UTC // the timezone problem is reported on its own key
		}
		// cron accepts a day that never comes (30 February) and then never runs the job: the
		// daemon would do its start-up cycle and no other, silently.
		if schedule != nil && schedule.Next(time.Now().In(loc)).IsZero() {
			p.add("schedule", "%q never fires (no such day in the next five years): check the day and month fields", c.Schedule)
		}
	}()

	switch zone := strings.TrimSpace(c.Timezone); zone {
	case "":
		p.add("timezone", "required: an IANA zone like Europe/Moscow")
	case "Local":
		// The service's local zone depends on how it is started; the hotel's does not.
		p.add("timezone", "name the hotel's zone, like Europe/Moscow, instead of Local")
	default:
		loc, err := time.LoadLocation(zone)
		if err != nil {
			p.add("timezone", "unknown time zone %q: want an IANA name like Europe/Moscow", c.Timezone)
			return
		}
		c.Location = loc
	}
}

func (c *Config) validateWebhook(p *problems) {
	w := &c.Webhook
	if w.Listen != "" {
		checkListen(p, "webhook.listen", w.Listen)
		secret := w.Secret.Reveal()
		switch {
		case secret == "":
			p.add("webhook.secret", "required when webhook.listen is set (or set %s, or credential %s)", EnvWebhookSecret, CredWebhookSecret)
		case len(secret) < minWebhookSecret:
			p.add("webhook.secret", "must be at least %d characters, got %d", minWebhookSecret, len(secret))
		case strings.Trim(secret, webhookSecretAllowed) != "":
			// It is a URL path segment: anything outside the unreserved set would need escaping
			// and tends to be mangled by whoever types the URL into Bnovo.
			p.add("webhook.secret", "may use only letters, digits and - . _ ~")
		}
	}
	if w.MaxBody <= 0 || w.MaxBody > maxWebhookBody {
		p.add("webhook.max_body", "must be 1 to %d bytes, got %d", maxWebhookBody, w.MaxBody)
	}
}

// checkOrigin validates an API origin and returns it without a trailing "/", so clients can
// append their path prefix.
func checkOrigin(p *problems, key, raw, example, prefix string) string {
	text := strings.TrimSpace(raw)
	if text == "" {
		p.add(key, "required: an origin like %s", example)
		return raw
	}
	u, err := url.Parse(text)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		// url.Error repeats the whole URL, password included; its inner error does not.
		p.add(key, "not a URL: %v", err)
		return raw
	}
	// A URL with user info would put a password in this message: show it redacted.
	shown := u.Redacted()
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		p.add(key, "must start with http:// or https://, got %q", shown)
	case u.Host == "" || u.Hostname() == "":
		p.add(key, "%q has no host", shown)
	case u.User != nil:
		p.add(key, "must not contain a user or password; credentials have their own keys")
	case (u.Path != "" && u.Path != "/") || u.RawPath != "":
		p.add(key, "must be an origin like %s without a path (the client adds %s), got path %q", example, prefix, u.Path)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		// The query is not echoed: it is where people put tokens.
		p.add(key, "must not have a query or fragment")
	default:
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				p.add(key, "port %q is not 1 to 65535", port)
				return raw
			}
		}
		return scheme + "://" + u.Host
	}
	return raw
}

// listenersClash tells whether two host:port addresses would bind the same port: the same
// port on the same host, on localhost and a loopback address, or with either on every interface.
func listenersClash(a, b string) bool {
	hostA, portA, errA := net.SplitHostPort(a)
	hostB, portB, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || portA != portB {
		return false
	}
	wildcard := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || (ip != nil && ip.IsUnspecified())
	}
	named := func(h string) bool { return strings.EqualFold(h, "localhost") }
	return strings.EqualFold(hostA, hostB) || wildcard(hostA) || wildcard(hostB) ||
		(isLoopbackHost(hostA) && isLoopbackHost(hostB) && (named(hostA) || named(hostB)))
}

// checkListen validates host:port and returns the host.
func checkListen(p *problems, key, addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(key, "%q is not host:port like 127.0.0.1:8080", addr)
		return "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.add(key, "port %q is not 1 to 65535", port)
		return "", false
	}
	return host, true
}

func checkSecretSet(p *problems, key string, s Secret, envName, credential string) {
	if strings.TrimSpace(s.Reveal()) == "" {
		p.add(key, "required (in the file, in %s, or as credential %s)", envName, credential)
	}
}

// checkSecretText refuses a secret with a control character inside it (a line break or tab
// picked up while copying it): it cannot be sent in an HTTP header, and no API issues one. The
// message says where, never what the secret is.
func checkSecretText(p *problems, key string, s Secret) {
	for i, r := range s.Reveal() {
		if r < 0x20 || r == 0x7f {
			p.add(key, "contains a control character (byte %d of the value): a line break or tab copied with it?", i+1)
			return
		}
	}
}

func checkPositive(p *problems, key string, d Duration) {
	if d <= 0 {
		p.add(key, "must be a duration above 0 like 30s, got %s", d)
	}
}

// isHTTPToken reports whether s is a valid header field name (RFC 9110 token).
func isHTTPToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// samePath tells whether two configured paths name one file: the same text once cleaned and
// made absolute, or, when both exist, the same file reached through a link.
func samePath(a, b string) bool {
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		return false
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	infoA, errA := os.Stat(a)
	infoB, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(infoA, infoB)
}
