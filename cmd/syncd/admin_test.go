package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/internal/testlog"
	"github.com/hotelsync/syncd/ratelimit"
	syncer "github.com/hotelsync/syncd/sync"
)

// The administrator's first hour (issue 15): what a person sees when something is wrong.

func TestVersionNamesTheBuild(t *testing.T) {
	var out, errOut bytes.Buffer
	code := exitCode(run(context.Background(), []string{"-version"}, &out, &errOut, func(string) string { return "" }), &errOut)
	if code != exitOK {
		t.Fatalf("-version: exit %d, stderr %q", code, errOut.String())
	}
	bi := readBuildInfo()
	if want := fmt.Sprintf("syncd %s, commit %s, %s\n", bi.Version, bi.commitText(), bi.Go); out.String() != want {
		t.Errorf("-version printed %q, want %q", out.String(), want)
	}
	// A test binary carries no VCS stamp; a stamped build shows the hash and a modified tree.
	stamped := buildInfo{Version: "v1.2.0", Commit: "0123456789abcdef0123", Modified: true}
	if got := stamped.commitText(); got != "0123456789abcdef0123 (modified)" {
		t.Errorf("commitText = %q", got)
	}
	if got := stamped.short(); got != "v1.2.0 0123456789ab+modified" {
		t.Errorf("short = %q", got)
	}
}

// A config with four mistakes of different sorts names all four in one run, each with its key
// and line, each line with the same prefix, and exits 2.
func TestCheckConfigNamesEveryMistakeAtOnce(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	r.writeConfig(t, `bnovo:
  base_url: ""
  account_id: 1
  page_sise: 20
probonus:
  base_url: http://127.0.0.1:6896
  account_group_id: 1
schedule: "every 5 minutes"
timezone: Moscow
`, 0o600)
	stdout, stderr, code := r.run(t, "-check-config")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, want := range []string{
		"syncd: bnovo.base_url: required: an origin like https://api.pms.bnovo.ru (line 2)",
		"syncd: bnovo.page_sise: unknown key (line 4)",
		`syncd: schedule: "every 5 minutes" is not a 5-field cron expression`,
		`syncd: timezone: unknown time zone "Moscow"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "syncd: ") {
			t.Errorf("line without the syncd: prefix: %q", line)
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d lines for 4 mistakes:\n%s", len(lines), stderr)
	}
}

// A token the ProBonus client would refuse fails -check-config naming the key, instead of
// passing it and failing -once with "probonus: probonus: ...".
func TestCheckConfigSeesWhatTheClientsCheck(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	r.env["SYNCD_PROBONUS_TOKEN"] = "abc\x01def"
	for _, mode := range []string{"-check-config", "-once"} {
		stdout, stderr, code := r.run(t, mode)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d\n%s%s", mode, code, exitUsage, stdout, stderr)
		}
		if !strings.Contains(stderr, "syncd: probonus.token: contains a control character") ||
			!strings.Contains(stderr, "SYNCD_PROBONUS_TOKEN") || strings.Contains(stderr, "probonus: probonus:") {
			t.Errorf("%s: stderr does not name the key and its source once:\n%s", mode, stderr)
		}
	}
}

func TestBackfillArgumentIsValidated(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	future := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	farFuture := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	for _, tt := range []struct{ arg, want string }{
		{"", "-backfill needs FROM:TO"},
		{"2026-01-01", "want FROM:TO"},
		{future + ":" + farFuture, "the whole range is after today"},
	} {
		start := time.Now()
		stdout, stderr, code := r.run(t, "-backfill", tt.arg)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("-backfill %q: exit %d, want %d with %q\n%s%s", tt.arg, code, exitUsage, tt.want, stdout, stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("-backfill %q took %v: it must not run anything", tt.arg, took)
		}
	}
	if _, err := os.Stat(r.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused -backfill left a state file (%v)", err)
	}
}

func TestStatusNeverCreatesTheStateFile(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	stdout, _ := r.runOK(t, "-status")
	if _, err := os.Stat(r.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-status created %s (%v)", r.state, err)
	}
	values := statusValues(stdout)
	if values["daemon"] != "stopped" || !strings.Contains(values["state"], "none yet") || values["version"] == "" {
		t.Errorf("-status on a fresh path printed:\n%s", stdout)
	}
}

// After a run, no status key holds a colon (cursor.backfill:FROM:TO and parked.booking:ID were
// unreadable as `key: value`), and the version is shown.
func TestStatusKeysHaveNoColons(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	from := time.Now().AddDate(0, 0, -20).Format(time.DateOnly)
	to := time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	r.runOK(t, "-backfill", from+":"+to)
	stdout, _, _ := r.run(t, "-status")
	backfillCursor := false
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		key, _, ok := strings.Cut(line, ": ")
		if !ok || strings.Contains(key, ":") {
			t.Errorf("status line %q: key with a colon", line)
		}
		backfillCursor = backfillCursor || strings.HasPrefix(key, "cursor.backfill_")
	}
	if !backfillCursor || !strings.HasPrefix(stdout, "version: ") {
		t.Errorf("status lacks the version or the backfill's cursor:\n%s", stdout)
	}
}

// -once against an origin where nothing listens ends in seconds (not after 15 minutes of
// retries), exit 1, naming the origin, the cause and the key to check.
func TestOnceAgainstADeadOriginFailsFast(t *testing.T) {
	for _, dead := range []string{"Bnovo", "ProBonus"} {
		t.Run(dead, func(t *testing.T) {
			r := newSimRig(t, rigOptions{})
			var origin, key string
			if dead == "ProBonus" {
				origin, key = r.killProBonus(t), "probonus.base_url"
			} else {
				origin, key = r.killBnovo(t), "bnovo.base_url"
			}
			start := time.Now()
			stdout, stderr, code := r.run(t, "-once")
			took := time.Since(start)
			if code != exitFailed {
				t.Errorf("exit %d, want %d", code, exitFailed)
			}
			for _, want := range []string{dead + " is unreachable (check " + key, "cannot reach " + origin + ": connection refused"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if took > 10*time.Second {
				t.Errorf("took %v, want seconds", took)
			}
			if strings.Contains(stdout, "cycle finished") {
				t.Errorf("a failed cycle logged as finished:\n%s", stdout)
			}
		})
	}
}

// -check-config -online logs in to Bnovo, reads one page and ProBonus's account groups, one
// line each, within a handful of calls; a refused token is named as a credentials problem.
func TestCheckConfigOnline(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	stdout, _ := r.runOK(t, "-check-config", "-online")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[0], ": ok") {
		t.Fatalf("want the config line and three checks:\n%s", stdout)
	}
	for _, want := range []string{"bnovo login (" + r.bn.URL + ", account 1): ok", "bnovo read one page of bookings: ok", "probonus account groups (" + r.pb.URL + "): ok"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	st := r.bn.Stats()
	if st.AuthCalls+st.Calls > 2 || r.pb.Stats().Calls > 1 {
		t.Errorf("spent %d logins, %d Bnovo calls and %d ProBonus calls; want 1, 1, 1", st.AuthCalls, st.Calls, r.pb.Stats().Calls)
	}
	if _, err := os.Stat(r.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-check-config -online created the state file (%v)", err)
	}

	// A refused login is a credentials error, named as such.
	r.env["SYNCD_BNOVO_API_KEY"] = "wrong-key"
	stdout, _, code := r.run(t, "-check-config", "-online")
	if want := "bnovo login (" + r.bn.URL + ", account 1): FAILED: Bnovo refused syncd's credentials: check bnovo.api_key"; code != exitFailed || !strings.Contains(stdout, want) {
		t.Errorf("with a wrong Bnovo key: exit %d, output lacks %q:\n%s", code, want, stdout)
	}

	r.env["SYNCD_PROBONUS_TOKEN"] = "wrong-token"
	deadBnovo := r.killBnovo(t)
	stdout, stderr, code := r.run(t, "-check-config", "-online")
	if code != exitFailed {
		t.Errorf("with a dead Bnovo and a wrong token: exit %d, want %d\n%s%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{
		"bnovo login (" + deadBnovo + ", account 1): FAILED: Bnovo is unreachable (check bnovo.base_url",
		"bnovo read one page of bookings: FAILED: skipped",
		"probonus account groups (" + r.pb.URL + "): FAILED: ProBonus refused syncd's credentials: check probonus.token",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// The daemon runs a cycle at start; with ProBonus down it warns once, and /healthz and -status
// say it is degraded, naming the API and since when.
func TestDaemonCycleAtStartShowsAnOutage(t *testing.T) {
	r := newSimRig(t, rigOptions{schedule: "0 0 1 1 *"})
	metricsAddr := freeLoopbackAddr(t)
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r.writeConfig(t, string(cfg)+"metrics:\n  listen: "+metricsAddr+"\n", 0o600)
	r.killProBonus(t)

	ctx, cancel := context.WithCancel(context.Background())
	out := &testlog.Buffer{}
	done := make(chan int, 1)
	go func() {
		var errOut bytes.Buffer
		done <- exitCode(run(ctx, []string{"-config", r.cfgPath}, out, &errOut, r.getenv), &errOut)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("daemon exit %d", code)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "cycle failed"); {
		if time.Now().After(deadline) {
			t.Fatalf("no cycle at start within 30 s (the schedule never fires):\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(out.String(), "ProBonus is unreachable: check probonus.base_url"); n != 1 {
		t.Errorf("%d warnings about the outage, want 1:\n%s", n, out.String())
	}
	resp, err := http.Get("http://" + metricsAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	degraded := regexp.MustCompile(`^degraded: ProBonus unreachable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(.*connection refused`)
	if resp.StatusCode != http.StatusServiceUnavailable || !degraded.Match(body) {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	stdout, _, _ := r.run(t, "-status")
	if v := statusValues(stdout)["health"]; !degraded.MatchString(v) {
		t.Errorf("-status health %q:\n%s", v, stdout)
	}
}

// An outage is warned about once; the cycles after it say so quietly, and a success ends it.
func TestOutageWarnedOnce(t *testing.T) {
	var logs bytes.Buffer
	d := &daemonState{app: loggingApp(t, &logs)}
	down := &syncer.UnreachableError{API: "Bnovo", Key: "bnovo.base_url", Err: &bnovo.Error{Op: "GET /bookings", Kind: bnovo.Unreachable, Message: "cannot reach https://pms.example: DNS: no such host pms.example"}}
	d.runFailed(fmt.Errorf("queue: %w", down), "syncing queued bookings failed") // the first to meet it warns
	for range 3 {
		d.logCycle(syncer.Summary{}, time.Second, fmt.Errorf("listing: %w", down))
	}
	d.runFailed(fmt.Errorf("queue: %w", down), "syncing queued bookings failed")
	d.logCycle(syncer.Summary{}, time.Second, nil)
	text := logs.String()
	for want, n := range map[string]int{
		`"level":"warn","api":"Bnovo"`:                 1,
		"Bnovo is unreachable: check bnovo.base_url":   1,
		`"message":"cycle failed"`:                     0,
		"cycle failed again (same outage)":             3,
		"syncing queued bookings failed (same outage)": 1,
		`"message":"Bnovo reachable again"`:            1,
		`"message":"cycle finished"`:                   1,
	} {
		if got := strings.Count(text, want); got != n {
			t.Errorf("%d × %q, want %d:\n%s", got, want, n, text)
		}
	}
	if d.outages.degraded(time.UTC) != nil {
		t.Error("still degraded after a successful cycle")
	}
}

// A cycle cut short by SIGTERM says so, and every duration carries its unit.
func TestRunSummaryLines(t *testing.T) {
	var logs bytes.Buffer
	a := loggingApp(t, &logs)
	a.logSummary("cycle", syncer.Summary{Seen: 3}, 10371007124*time.Nanosecond, fmt.Errorf("page: %w", context.Canceled))
	if text := logs.String(); !strings.Contains(text, `"message":"cycle cancelled by shutdown; the rest resumes next run"`) ||
		!strings.Contains(text, `"took":"10.371s"`) || strings.Contains(text, "finished") {
		t.Errorf("cancelled cycle logged as:\n%s", text)
	}
}

// The first line a run logs names the binary's version and commit.
func TestFirstLogLineNamesTheVersion(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	stdout, _ := r.runOK(t, "-once")
	first, _, _ := strings.Cut(stdout, "\n")
	bi := readBuildInfo()
	if !strings.Contains(first, `"version":"`+bi.Version+`"`) || !strings.Contains(first, `"commit":"`+bi.commitText()+`"`) ||
		!strings.Contains(first, `"message":"syncd -once starting"`) {
		t.Errorf("first log line %s", first)
	}
}

// The demo tells its story in a few headed steps of one line each (no per-booking lines at its
// default level), shows a guest's notes before and after write-back, and ends with a summary
// whose every line the audit of the ledger agrees with (the demo fails otherwise), in seconds.
func TestDemoTellsTheStory(t *testing.T) {
	text, took := sharedDemo(t)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > 40 {
		t.Errorf("%d lines; the story is buried:\n%s", len(lines), text)
	}
	if strings.Contains(text, `"level"`) || strings.Contains(text, "operation posted") {
		t.Errorf("per-booking log lines at the demo's default level:\n%s", text)
	}
	for _, want := range []string{
		"== 1. Backfill", "== 2. Cycle", "== 3. The front desk", "== 4. A guest checks out",
		"write-back, guest notes of booking", "  before: ", "  after:  ", "ProBonus: карта",
		"bookings:    151 in Bnovo", "invariant:   OK",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	// The summary's two sides agree line by line.
	for _, re := range []string{
		`bookings: +(\d+) in Bnovo, (\d+) of them parked .*\| audit: (\d+) checked, (\d+) parked`,
		`accounts: +(\d+) created .*\| ProBonus holds \d+: \d+ before the demo \+ (\d+)`,
		`bonuses: .* = ([\d ]+) \| ledger: ([\d ]+) for syncd's markers`,
		`targets: .* = ([\d ]+) \| audit: Bnovo's payments give ([\d ]+)`,
	} {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no summary line matching %s:\n%s", re, text)
			continue
		}
		half := (len(m) - 1) / 2
		for i := 1; i <= half; i++ {
			if m[i] != m[i+half] {
				t.Errorf("summary line disagrees with the audit: %q", m[0])
			}
		}
	}
	if took > 15*time.Second {
		t.Errorf("the demo took %v; it should take seconds", took)
	}
}

// loggingApp is an app with only what its log lines need: a logger into w and a Bnovo limiter.
func loggingApp(t *testing.T, w io.Writer) *app {
	t.Helper()
	limiter, err := ratelimit.New([]ratelimit.Window{{Limit: 10, Per: time.Second}}, ratelimit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &app{log: zerolog.New(w), limits: ratelimit.Pair{API: limiter}}
}
