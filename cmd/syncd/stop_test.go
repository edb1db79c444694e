package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo"
)

const paymentsRoute = "GET " + bnovo.APIPrefix + "/bookings/{id}/payments"

// A -once run SIGTERMed in the middle of a page keeps what it paid for: every booking whose
// payments answer arrived is posted and recorded, so the next run reads no payments twice; and
// the run still stops promptly, with exit 0.
func TestSIGTERMMidPageKeepsFetchedPayments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildSyncd(t)
	r := newSimRig(t, rigOptions{bookings: 45})
	earning := 0
	for _, id := range r.ids {
		if b, ok := r.bn.Booking(id); ok && b.StatusName == "Выехал" {
			earning++
		}
	}
	r.bn.SetLatency(60 * time.Millisecond) // the page's payments take ~1.5 s at two workers

	logs, err := os.Create(filepath.Join(r.dir, "syncd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(bin, "-config", r.cfgPath, "-once")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "SYNCD_BNOVO_API_KEY=test-key", "SYNCD_PROBONUS_TOKEN=test-token", "GORACE=atexit_sleep_ms=0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for r.bn.Stats().ByPath[paymentsRoute] < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("syncd read no payments in 20 s (log %s)", logs.Name())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("exit code %d after SIGTERM, want 0 (log %s)", exitErr.ExitCode(), logs.Name())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("syncd did not exit within 10 s of SIGTERM")
	}
	first := r.bn.Stats().ByPath[paymentsRoute]
	if first >= earning {
		t.Fatalf("the first run read all %d payments before the SIGTERM took effect: nothing was tested", first)
	}
	if deposits := len(r.pb.AllOperations()); deposits == 0 {
		t.Fatalf("the first run read %d bookings' payments and posted nothing", first)
	}

	r.bn.SetLatency(0)
	r.runOK(t, "-once")
	if total := r.bn.Stats().ByPath[paymentsRoute]; total != earning {
		t.Errorf("payments read %d times for %d earning bookings (%d in the SIGTERMed run): answers paid for were thrown away and read again", total, earning, first)
	}
}
