package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifyMessage is one datagram syncd sent to $NOTIFY_SOCKET.
type notifyMessage struct {
	at    time.Time
	lines []string
}

// notifySocket plays systemd's side of sd_notify: a unixgram socket that records every datagram.
type notifySocket struct {
	path string
	conn *net.UnixConn

	mu       sync.Mutex
	messages []notifyMessage
	arrived  chan struct{} // signalled (without blocking) on each datagram
}

func newNotifySocket(t *testing.T, dir string) *notifySocket {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, conn: conn, arrived: make(chan struct{}, 1)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			size, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			msg := notifyMessage{at: time.Now(), lines: strings.Split(strings.TrimSpace(string(buf[:size])), "\n")}
			n.mu.Lock()
			n.messages = append(n.messages, msg)
			n.mu.Unlock()
			select {
			case n.arrived <- struct{}{}:
			default:
			}
		}
	}()
	return n
}

func (n *notifySocket) snapshot() []notifyMessage {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]notifyMessage(nil), n.messages...)
}

// waitFor waits until some datagram has a line that satisfies match, and returns that line.
func (n *notifySocket) waitFor(t *testing.T, what string, timeout time.Duration, match func(string) bool) (string, time.Time) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for _, m := range n.snapshot() {
			for _, l := range m.lines {
				if match(l) {
					return l, m.at
				}
			}
		}
		select {
		case <-n.arrived:
		case <-deadline:
			t.Fatalf("no %s within %s; got %v", what, timeout, n.snapshot())
		}
	}
}

// times lists when the datagrams holding exactly line arrived.
func (n *notifySocket) times(line string) []time.Time {
	var at []time.Time
	for _, m := range n.snapshot() {
		for _, l := range m.lines {
			if l == line {
				at = append(at, m.at)
			}
		}
	}
	return at
}

// daemonEnv is a clean environment for the real daemon: nothing from the test's own environment
// that systemd or syncd reads (NOTIFY_SOCKET, WATCHDOG_*, *_DIRECTORY, SYNCD_*).
func daemonEnv(r *simRig, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "GORACE=atexit_sleep_ms=0 halt_on_error=1"}
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// TestDaemonUnderSystemd runs the real daemon as systemd would with Type=notify and
// WatchdogSec=2: READY=1 first, a STATUS line after a cycle, WATCHDOG=1 about every second, and
// STOPPING=1 then exit 0 on SIGTERM. Meanwhile and afterwards, -status must tell the same story,
// first over the daemon's socket, then from the state file.
func TestDaemonUnderSystemd(t *testing.T) {
	bin := sharedSyncd(t)
	r := newSimRig(t, rigOptions{schedule: "@every 2s"})
	notify := newNotifySocket(t, r.dir)

	started := time.Now()
	// WATCHDOG_PID stays unset: go-systemd then trusts WATCHDOG_USEC for whichever process reads it.
	p := startDaemonProc(t, bin, r, nil, "NOTIFY_SOCKET="+notify.path, "WATCHDOG_USEC=2000000")

	notify.waitFor(t, "READY=1", 10*time.Second, func(l string) bool { return l == "READY=1" })
	if first := notify.snapshot()[0]; first.lines[0] != "READY=1" {
		t.Errorf("the first notification is %q, want READY=1 first", first.lines)
	}

	statusRE := regexp.MustCompile(`^STATUS=last cycle \d\d:\d\d ok: (\d+) bookings, (\d+) credited, (\d+) parked; budget .+$`)
	cycleLine, _ := notify.waitFor(t, "STATUS after a cycle", 15*time.Second, func(l string) bool { return strings.HasPrefix(l, "STATUS=last cycle") })
	m := statusRE.FindStringSubmatch(cycleLine)
	if m == nil {
		t.Fatalf("STATUS line %q does not read like %s", cycleLine, statusRE)
	}
	// Every cycle credits what is new; the first credits everything, the later ones nothing, so
	// the first cycle's line names every deposit in the ledger.
	credited, _ := strconv.Atoi(m[2])
	if deposits := len(r.pb.AllOperations()); credited != deposits || deposits == 0 {
		t.Errorf("STATUS says %d credited, the ledger holds %d operations", credited, deposits)
	}
	parkedInStatus := m[3]

	// -status while the daemon holds the lock: answered over the socket.
	out, _ := r.runOK(t, "-status")
	running := statusValues(out)
	if running["daemon"] != "running" {
		t.Errorf("-status while running says daemon: %q\n%s", running["daemon"], out)
	}

	// Let the watchdog tick a few times, then stop the daemon as systemd would.
	for len(notify.times("WATCHDOG=1")) < 4 {
		select {
		case <-notify.arrived:
		case <-time.After(5 * time.Second):
			t.Fatalf("watchdog pings stopped: %v", notify.times("WATCHDOG=1"))
		}
	}
	termAt := time.Now()
	p.stop(10 * time.Second)
	_, stoppingAt := notify.waitFor(t, "STOPPING=1", 2*time.Second, func(l string) bool { return l == "STOPPING=1" })
	if stoppingAt.Before(termAt) {
		t.Errorf("STOPPING=1 came before SIGTERM")
	}

	// Watchdog: the first ping within the interval of the start, then every ~second (half of
	// WATCHDOG_USEC); systemd would kill the service at any gap of 2 s.
	pings := notify.times("WATCHDOG=1")
	prev := started
	for i, at := range pings {
		if at.After(termAt) {
			break
		}
		gap := at.Sub(prev)
		if gap >= 2*time.Second || (i > 0 && gap < 300*time.Millisecond) {
			t.Errorf("watchdog ping %d came %s after the previous one, want about 1 s (< 2 s)", i, gap)
		}
		prev = at
	}

	for _, m := range notify.snapshot() {
		t.Logf("+%s %q", m.at.Sub(started).Round(time.Millisecond), m.lines)
	}

	// -status from the file once the daemon is gone: the same numbers.
	out, errOut, code := r.run(t, "-status")
	if code != exitOK {
		t.Fatalf("-status after stop: exit %d\n%s%s", code, out, errOut)
	}
	stopped := statusValues(out)
	if stopped["daemon"] != "stopped" {
		t.Errorf("-status after stop says daemon: %q", stopped["daemon"])
	}
	for _, k := range []string{"parked", "shortfalls", "journal.posted", "journal.intended", "journal.unknown", "journal.failed", "bookings", "accounts"} {
		if running[k] == "" || running[k] != stopped[k] {
			t.Errorf("%s: %q while running, %q after stop", k, running[k], stopped[k])
		}
	}
	if want := strconv.Itoa(len(r.pb.AllOperations())); stopped["journal.posted"] != want {
		t.Errorf("journal.posted: %q, the ledger holds %s operations", stopped["journal.posted"], want)
	}
	if stopped["parked"] != parkedInStatus {
		t.Errorf("parked: %q in -status, %s in the STATUS line", stopped["parked"], parkedInStatus)
	}
	if stopped["shortfalls"] != "0" {
		t.Errorf("shortfalls: %q, want 0 (no guest spent bonuses)", stopped["shortfalls"])
	}
	for name, values := range map[string]map[string]string{"running": running, "stopped": stopped} {
		if len(keysWithPrefix(values, "cursor.")) == 0 {
			t.Errorf("%s: no cursor lines after a cycle", name)
		}
		if len(keysWithPrefix(values, "budget.")) == 0 {
			t.Errorf("%s: no budget lines", name)
		}
	}
	for _, k := range keysWithPrefix(stopped, "cursor.") {
		if running[k] == "" {
			t.Errorf("%s after stop but not while running", k)
		}
	}
}
