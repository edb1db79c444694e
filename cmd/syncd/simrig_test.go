package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/deadport"
	"github.com/hotelsync/syncd/probonus/probonustest"
)

// simRig is a pair of simulators in the test process plus a config file pointing at them, for
// running syncd in-process (run) or as a real process.
type simRig struct {
	bn      *bnovotest.Server
	pb      *probonustest.Server
	ids     []int64
	dir     string
	cfgPath string
	state   string
	socket  string
	env     map[string]string // the whole environment an in-process run sees
}

type rigOptions struct {
	bookings  int      // seeded bookings, checked out over the last 20 days; default 30
	apiKey    string   // Bnovo API key: simulator and syncd; default "test-key"
	token     string   // ProBonus token: simulator and syncd; default "test-token"
	inFile    bool     // secrets in the config file; else in the environment only
	schedule  string   // default "*/5 * * * *"
	logLevel  string   // default "info"
	extraYAML string   // appended to the config (top-level keys)
	limits    []string // Bnovo's windows, in the simulator and in bnovo.rate_limits; default generous
	lockWait  string   // state.lock_timeout; default the config's
}

func newSimRig(t testing.TB, o rigOptions) *simRig {
	t.Helper()
	if o.bookings == 0 {
		o.bookings = 30
	}
	if o.apiKey == "" {
		o.apiKey = "test-key"
	}
	if o.token == "" {
		o.token = "test-token"
	}
	if o.schedule == "" {
		o.schedule = "*/5 * * * *"
	}
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	loc := moscow
	if o.limits == nil {
		o.limits = []string{"100000/1s", "100000/1h"}
	}
	var windows []bnovotest.Window
	for _, l := range o.limits {
		w, err := parseSimWindow(l)
		if err != nil {
			t.Fatal(err)
		}
		windows = append(windows, w)
	}
	r := &simRig{env: map[string]string{}}
	r.bn = bnovotest.NewServer(bnovotest.Options{
		Location:   loc,
		APIKey:     o.apiKey,
		Windows:    windows,
		AuthWindow: bnovotest.Window{Limit: 1000, Per: time.Minute},
	})
	t.Cleanup(r.bn.Close)
	r.pb = probonustest.NewServer(probonustest.Options{Token: o.token})
	t.Cleanup(r.pb.Close)
	now := time.Now().In(loc)
	r.ids = r.bn.Seed(o.bookings, 77, now.AddDate(0, 0, -20), now.AddDate(0, 0, -1))

	r.dir = socketDir(t)
	r.state = filepath.Join(r.dir, "state.db")
	r.socket = filepath.Join(r.dir, "status.sock")
	r.cfgPath = filepath.Join(r.dir, "syncd.yaml")

	secrets := ""
	if o.inFile {
		secrets = fmt.Sprintf("  api_key: %s\n", o.apiKey)
	} else {
		r.env["SYNCD_BNOVO_API_KEY"] = o.apiKey
		r.env["SYNCD_PROBONUS_TOKEN"] = o.token
	}
	yaml := fmt.Sprintf(`bnovo:
  base_url: %s
  account_id: 1
%s  rate_limits: %s
  auth_rate_limit: "1000/1m"
  request_timeout: 2s
probonus:
  base_url: %s
  account_group_id: 1
  request_timeout: 1s
%sschedule: %q
state:
  path: %s
%sstatus:
  socket: %s
log:
  format: json
  level: %s
%s`, r.bn.URL, secrets, yamlList(o.limits), r.pb.URL, probonusTokenLine(o), o.schedule, r.state, lockTimeoutLine(o), r.socket, o.logLevel, o.extraYAML)
	r.writeConfig(t, yaml, 0o600)
	return r
}

func yamlList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func lockTimeoutLine(o rigOptions) string {
	if o.lockWait == "" {
		return ""
	}
	return fmt.Sprintf("  lock_timeout: %s\n", o.lockWait)
}

func probonusTokenLine(o rigOptions) string {
	if !o.inFile {
		return ""
	}
	return fmt.Sprintf("  token: %s\n", o.token)
}

func (r *simRig) writeConfig(t testing.TB, yaml string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(r.cfgPath, []byte(yaml), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; the tests need the exact bits.
	if err := os.Chmod(r.cfgPath, mode); err != nil {
		t.Fatal(err)
	}
}

func (r *simRig) getenv(k string) string { return r.env[k] }

// killBnovo and killProBonus stop the simulator and point the config at a port that refuses
// connections for the rest of the test (a closed simulator's port could be taken by another
// test's server); they return the dead origin.
func (r *simRig) killBnovo(t testing.TB) string { return r.kill(t, r.bn.Close, r.bn.URL) }

func (r *simRig) killProBonus(t testing.TB) string { return r.kill(t, r.pb.Close, r.pb.URL) }

func (r *simRig) kill(t testing.TB, closeSim func(), origin string) string {
	t.Helper()
	closeSim()
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	dead := deadport.Origin(t)
	r.writeConfig(t, strings.Replace(string(cfg), "base_url: "+origin+"\n", "base_url: "+dead+"\n", 1), 0o600)
	return dead
}

// run runs syncd in-process and returns its output and exit code.
func (r *simRig) run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = exitCode(run(ctx, append([]string{"-config", r.cfgPath}, args...), &out, &errOut, r.getenv), &errOut)
	return out.String(), errOut.String(), code
}

// socketDir is a temporary directory short enough to hold a Unix socket: their paths are
// limited to ~108 bytes, and t.TempDir() embeds the test's name.
func socketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "syncd-t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runOK runs syncd as run does and fails the test unless it exits 0.
func (r *simRig) runOK(t testing.TB, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := r.run(t, args...)
	if code != exitOK {
		t.Fatalf("syncd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

// statusValues parses -status output ("key: value" lines).
func statusValues(out string) map[string]string {
	values := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			values[k] = v
		}
	}
	return values
}

// keysWithPrefix lists the -status keys that start with prefix.
func keysWithPrefix(values map[string]string, prefix string) []string {
	var keys []string
	for k := range values {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return keys
}
