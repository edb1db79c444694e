package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	builtOnce sync.Once
	builtBin  string
	builtErr  error
)

// sharedSyncd builds the real binary once for every process test of this test binary that
// needs no fresh build of its own (buildSyncd builds per test).
func sharedSyncd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "syncd-bin")
		if err != nil {
			builtErr = err
			return
		}
		builtBin = filepath.Join(dir, "syncd")
		builtErr = goBuildSyncd(builtBin)
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return builtBin
}

// daemonProc is the real daemon running as a child process.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string
	exited  chan error
	exitErr error
	done    bool
}

func startDaemonProc(t *testing.T, bin string, r *simRig, args []string, env ...string) *daemonProc {
	t.Helper()
	p := &daemonProc{t: t, logPath: filepath.Join(r.dir, "syncd.log"), exited: make(chan error, 1)}
	logs, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	p.cmd = exec.Command(bin, append([]string{"-config", r.cfgPath}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = logs, logs
	p.cmd.Env = daemonEnv(r, env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.done {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", p.log())
		}
	})
	return p
}

func (p *daemonProc) log() string {
	out, _ := os.ReadFile(p.logPath)
	return string(out)
}

// waitLog waits until the daemon's log holds want.
func (p *daemonProc) waitLog(want string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.log(), want) {
		if p.hasExited(0) {
			p.t.Fatalf("the daemon exited (%v) before logging %q", p.exitErr, want)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q in the daemon's log after %v", want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasExited tells whether the process ended within wait.
func (p *daemonProc) hasExited(wait time.Duration) bool {
	if p.done {
		return true
	}
	select {
	case err := <-p.exited:
		p.done, p.exitErr = true, err
		return true
	case <-time.After(wait):
		return false
	}
}

// exitCode is the process's exit code once it ended (-1 for a signal).
func (p *daemonProc) exitCode() int {
	if !p.done {
		p.t.Fatal("exitCode before the process ended")
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *daemonProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// stop sends SIGTERM, as systemd stops the service, and wants the process to end within the
// given time with exit code 0.
func (p *daemonProc) stop(within time.Duration) {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	if !p.hasExited(within) {
		p.t.Fatalf("syncd did not exit within %v of SIGTERM", within)
	}
	if code := p.exitCode(); code != exitOK {
		p.t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// SIGHUP, which systemd's reload and log rotation send, must not end the daemon: it says so in
// the log and keeps running, and SIGTERM still stops it cleanly.
func TestDaemonSurvivesSIGHUP(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 5})
	p := startDaemonProc(t, bin, r, nil)
	p.waitLog("syncd started", 15*time.Second)
	p.signal(syscall.SIGHUP)
	p.waitLog("SIGHUP ignored", 10*time.Second)
	if p.hasExited(time.Second) {
		t.Fatalf("SIGHUP ended the daemon: %v", p.exitErr)
	}
	p.stop(15 * time.Second)
}

// A damaged state file ends every mode in one clear error naming the file, what is wrong and
// what to do, with exit code 1, no stack trace, and no call to ProBonus.
func TestDamagedStateFileEndsInOneClearError(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 60})
	r.runOK(t, "-once")
	data, err := os.ReadFile(r.state)
	if err != nil {
		t.Fatal(err)
	}
	// Tear every page after the two header pages: bbolt reads them without checksums.
	for i := 2*4096 + 16; i < len(data); i++ {
		if i%4096 >= 16 {
			data[i] = 0xAB
		}
	}
	if err := os.WriteFile(r.state, data, 0o600); err != nil {
		t.Fatal(err)
	}
	callsBefore := r.pb.Stats().Calls
	for _, args := range [][]string{{"-once"}, {"-status"}, {}} {
		cmd := exec.Command(bin, append([]string{"-config", r.cfgPath}, args...)...)
		cmd.Env = daemonEnv(r)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("%v: still running on a damaged state file", args)
		}
		errText := strings.TrimSpace(stderr.String())
		if code := cmd.ProcessState.ExitCode(); code != exitFailed {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitFailed, errText)
		}
		if strings.Contains(errText, "goroutine") || strings.Contains(errText, "panic:") {
			t.Errorf("%v: a stack trace instead of an error:\n%s", args, errText)
		}
		last := errText[strings.LastIndex(errText, "\n")+1:]
		for _, want := range []string{r.state, "damaged", "backup", "mv " + r.state} {
			if !strings.Contains(last, want) {
				t.Errorf("%v: the error does not say %q:\n%s", args, want, errText)
			}
		}
	}
	if got := r.pb.Stats().Calls; got != callsBefore {
		t.Errorf("ProBonus got %d calls while the state file was damaged", got-callsBefore)
	}
}

// A state file swapped under the running daemon (a backup moved over it, or deleted) stops the
// daemon at its next run with a clear error and exit 1; a second syncd started meanwhile finds
// the state locked (exit 3) instead of a fresh file: two syncds never post for one hotel.
func TestDaemonStopsWhenItsStateFileIsSwapped(t *testing.T) {
	bin := sharedSyncd(t)
	swapState := func(t *testing.T, r *simRig, swap string) {
		t.Helper()
		switch swap {
		case "deleted":
			if err := os.Remove(r.state); err != nil {
				t.Fatal(err)
			}
			return
		case "copied over": // cp backup.db state.db: the same inode, other bytes under bbolt's map
			backup, err := os.ReadFile(r.state)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(r.state, backup, 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
		backup := r.state + ".backup"
		if err := os.WriteFile(backup, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(backup, r.state); err != nil {
			t.Fatal(err)
		}
	}
	said := map[string]string{"replaced": "was replaced by another file", "deleted": "was deleted", "copied over": "was overwritten in place"}
	for _, swap := range []string{"replaced", "deleted", "copied over"} {
		// A file copied over in place leaves the lock file alone, and the daemon's next write
		// into the copy stops it (the subtest below): from then on a second syncd may rightly
		// open the copy, so there is no lock-out to show.
		if swap != "copied over" {
			t.Run(swap+": a second syncd is locked out", func(t *testing.T) {
				r := newSimRig(t, rigOptions{bookings: 5}) // no cycle but the first for minutes
				p := startDaemonProc(t, bin, r, nil)
				p.waitLog("cycle finished", 20*time.Second)
				swapState(t, r, swap)
				opsBefore := len(r.pb.AllOperations())
				if _, errOut, code := r.run(t, "-once"); code != exitLocked {
					t.Errorf("a second syncd on the swapped path: exit %d, want %d (locked)\n%s", code, exitLocked, errOut)
				}
				if got := len(r.pb.AllOperations()); got != opsBefore {
					t.Errorf("%d operations posted by the second syncd", got-opsBefore)
				}
				p.signal(syscall.SIGTERM)
				p.hasExited(15 * time.Second)
			})
		}
		t.Run(swap+": the daemon stops", func(t *testing.T) {
			r := newSimRig(t, rigOptions{bookings: 5, schedule: "@every 1s"})
			p := startDaemonProc(t, bin, r, nil)
			p.waitLog("cycle finished", 20*time.Second)
			swapState(t, r, swap)
			opsBefore := len(r.pb.AllOperations())
			if !p.hasExited(15 * time.Second) {
				t.Fatal("the daemon still runs on a state file that is no longer at its path")
			}
			if code := p.exitCode(); code != exitFailed {
				t.Errorf("exit %d, want %d", code, exitFailed)
			}
			if log := p.log(); !strings.Contains(log, r.state+" "+said[swap]) || !strings.Contains(log, "two syncds never post") {
				t.Errorf("the daemon's last words do not say what happened:\n%s", log[max(0, len(log)-1500):])
			}
			if got := len(r.pb.AllOperations()); got != opsBefore {
				t.Errorf("%d operations posted after the swap", got-opsBefore)
			}
		})
	}
}

// The watchdog is fed from the engine's progress, not from a timer: while a run hangs (here a
// ProBonus deposit that takes far longer than any healthy run goes without committing), the
// daemon stops feeding it, so systemd would restart it; once the run moves again, so do the
// pings. Idle, the daemon keeps feeding it.
func TestWatchdogStarvesWhileTheEngineIsStuck(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 5})
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// The hang must stay below ProBonus's request timeout, or it is a timeout, not a hang.
	r.writeConfig(t, strings.Replace(string(cfg), "  request_timeout: 1s\n", "  request_timeout: 30s\n", 1), 0o600)
	const hang = 6 * time.Second
	r.pb.HangNext("deposit", 1, hang)
	notify := newNotifySocket(t, r.dir)
	// A watchdog of 300 ms: pings every 150 ms, and a stall is ten intervals (3 s).
	p := startDaemonProc(t, bin, r, nil, "NOTIFY_SOCKET="+notify.path, "WATCHDOG_USEC=300000")
	p.waitLog("no longer feeding the watchdog", 15*time.Second)
	p.waitLog("cycle finished", 20*time.Second)
	// Fed again once the run moved on.
	resumed := time.Now()
	for {
		pings := notify.times("WATCHDOG=1")
		if len(pings) > 0 && pings[len(pings)-1].After(resumed) {
			break
		}
		select {
		case <-notify.arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the watchdog is not fed again after the stuck run finished")
		}
	}
	pings := notify.times("WATCHDOG=1")
	longest := time.Duration(0)
	for i := 1; i < len(pings); i++ {
		longest = max(longest, pings[i].Sub(pings[i-1]))
	}
	if longest < 2*time.Second {
		t.Errorf("the longest gap between watchdog pings was %v: the watchdog was fed while the engine was stuck", longest)
	}
	p.signal(syscall.SIGTERM)
	if !p.hasExited(15 * time.Second) {
		t.Fatal("the daemon did not stop on SIGTERM")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}
