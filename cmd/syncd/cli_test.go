package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/state"
)

func TestCheckConfig(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	good, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		yaml     string
		wantCode int
		wantErr  []string // each must appear on stderr
	}{
		{"good", string(good), exitOK, nil},
		{"unknown key", strings.Replace(string(good), "  account_id: 1\n", "  account_id: 1\n  acount_idd: 2\n", 1), exitUsage, []string{"bnovo.acount_idd"}},
		{"unknown section", string(good) + "webhooks:\n  listen: 127.0.0.1:8080\n", exitUsage, []string{"webhooks"}},
		{"missing base_url", removeLine(t, string(good), "  base_url: "+r.bn.URL+"\n"), exitUsage, []string{"bnovo.base_url"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r.writeConfig(t, c.yaml, 0o600)
			stdout, stderr, code := r.run(t, "-check-config")
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.wantCode, stdout, stderr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if c.wantCode == exitOK {
				if want := r.cfgPath + ": ok\n"; !strings.HasSuffix(stdout, want) || stderr != "" {
					t.Errorf("stdout %q, want it to end in %q; stderr %q", stdout, want, stderr)
				}
			} else if strings.Contains(stdout, ": ok") {
				t.Errorf("a bad config was reported ok: %s", stdout)
			}
		})
	}
}

func removeLine(t *testing.T, text, line string) string {
	t.Helper()
	if !strings.Contains(text, line) {
		t.Fatalf("%q not in the config", line)
	}
	return strings.Replace(text, line, "", 1)
}

// TestPermissionWarnings: a config file holding secrets, or a credential file, that others may
// read is worth a warning in -check-config; the same files private, or a config without secrets,
// are not.
func TestPermissionWarnings(t *testing.T) {
	for _, c := range []struct {
		name        string
		inFile      bool
		configMode  os.FileMode
		credentials os.FileMode // 0 = no credentials directory
		want        string      // "" = no warning expected
	}{
		{"secrets in a private config", true, 0o600, 0, ""},
		{"secrets in a world-readable config", true, 0o644, 0, "readable by group or others (mode 0644)"},
		{"secrets in a group-readable config", true, 0o640, 0, "readable by group or others (mode 0640)"},
		{"no secrets in a world-readable config", false, 0o644, 0, ""},
		{"private credential file", false, 0o600, 0o600, ""},
		{"world-readable credential file", false, 0o600, 0o644, "credential file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newSimRig(t, rigOptions{inFile: c.inFile})
			yaml, err := os.ReadFile(r.cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			r.writeConfig(t, string(yaml), c.configMode)
			if c.credentials != 0 {
				creds := filepath.Join(r.dir, "credentials")
				if err := os.Mkdir(creds, 0o700); err != nil {
					t.Fatal(err)
				}
				key := filepath.Join(creds, "bnovo_api_key")
				if err := os.WriteFile(key, []byte("test-key\n"), c.credentials); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(key, c.credentials); err != nil {
					t.Fatal(err)
				}
				r.env["CREDENTIALS_DIRECTORY"] = creds
				delete(r.env, "SYNCD_BNOVO_API_KEY")
			}
			stdout, _ := r.runOK(t, "-check-config")
			var warnings []string
			for _, line := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(line, "warning:") {
					warnings = append(warnings, line)
				}
			}
			switch {
			case c.want == "" && len(warnings) > 0:
				t.Errorf("unexpected warnings: %q", warnings)
			case c.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.want)):
				t.Errorf("warnings %q, want one containing %q", warnings, c.want)
			}
			for _, w := range warnings {
				if strings.Contains(w, "test-key") || strings.Contains(w, "test-token") {
					t.Errorf("a warning shows a secret: %s", w)
				}
			}
		})
	}
}

// TestDryRunOnce: -once -dry-run reads Bnovo but posts nothing, creates no account, writes no
// guest note, journals nothing and leaves no cursor. It does keep the Bnovo calls it spent (the
// rate log) and the access token it got: both were really spent, and forgetting them would let
// the next run overspend the budget or log in again (the README says so).
func TestDryRunOnce(t *testing.T) {
	r := newSimRig(t, rigOptions{})
	stdout, _ := r.runOK(t, "-once", "-dry-run")
	if !strings.Contains(stdout, "dry run") {
		t.Errorf("the log does not say it is a dry run:\n%s", stdout)
	}
	if r.bn.Stats().Calls == 0 {
		t.Fatal("the dry run did not read Bnovo at all")
	}
	if ops := r.pb.AllOperations(); len(ops) != 0 {
		t.Errorf("a dry run posted %d operations", len(ops))
	}
	if accounts := r.pb.Accounts(); len(accounts) != 0 {
		t.Errorf("a dry run created %d accounts", len(accounts))
	}
	if w := r.bn.Stats().GuestWrites; w != 0 {
		t.Errorf("a dry run wrote %d guest notes", w)
	}

	stdout, stderr, code := r.run(t, "-status")
	if code != exitOK {
		t.Fatalf("-status: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	values := statusValues(stdout)
	if cursors := keysWithPrefix(values, "cursor."); len(cursors) != 0 {
		t.Errorf("a dry run left cursors %v:\n%s", cursors, stdout)
	}
	for _, k := range []string{"journal.intended", "journal.posted", "journal.unknown", "journal.failed", "parked", "shortfalls"} {
		if values[k] != "0" {
			t.Errorf("%s: %q after a dry run, want 0", k, values[k])
		}
	}
	if len(keysWithPrefix(values, "budget.")) == 0 {
		t.Errorf("no budget lines:\n%s", stdout)
	}

	if len(storedBnovoToken(t, r)) == 0 {
		t.Error("a dry run did not keep the Bnovo access token it got")
	}
	db, err := state.Open(r.state, state.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spent, err := db.CallLog("bnovo").LoadCalls(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := r.bn.Stats().Calls; len(spent) < want {
		t.Errorf("the rate log holds %d calls after a dry run; Bnovo saw %d", len(spent), want)
	}
}

// TestLockedStateExits3: a second syncd on a state file another one holds exits 3 (systemd
// does not restart it), and says why.
func TestLockedStateExits3(t *testing.T) {
	// The lock is held for the whole test: waiting the default 2 s for it would only be slow.
	r := newSimRig(t, rigOptions{bookings: 1, lockWait: "100ms"})
	held, err := state.Open(r.state, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, stderr, code := r.run(t, "-once")
	if code != exitLocked || !strings.Contains(stderr, "locked") {
		t.Errorf("exit %d, stderr %q: want %d saying the state file is locked", code, stderr, exitLocked)
	}
}
