package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/state"
	syncer "github.com/hotelsync/syncd/sync"
)

// buildSyncd builds the real binary once per test binary (with -race when the tests run so).
func buildSyncd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "syncd")
	if err := goBuildSyncd(bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// goBuildSyncd builds the real binary at bin (with -race when the tests run so).
func goBuildSyncd(bin string) error {
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

type crashRig struct {
	t       *testing.T
	bin     string
	cfgPath string
	state   string
	bn      *bnovotest.Server
	pb      *probonustest.Server
	ids     []int64
	from    time.Time
	to      time.Time
	logs    *os.File
}

func newCrashRig(t *testing.T, bin string, seed int64) *crashRig {
	t.Helper()
	loc := moscow
	r := &crashRig{t: t, bin: bin}
	wide := []bnovotest.Window{{Limit: 100000, Per: time.Second}}
	r.bn = bnovotest.NewServer(bnovotest.Options{Location: loc, Windows: wide, AuthWindow: bnovotest.Window{Limit: 1000, Per: time.Minute}})
	t.Cleanup(r.bn.Close)
	r.pb = probonustest.NewServer(probonustest.Options{})
	t.Cleanup(r.pb.Close)
	r.bn.SetLatency(time.Millisecond)
	r.pb.SetLatency(10 * time.Millisecond)
	now := time.Now().In(loc)
	r.from, r.to = now.AddDate(0, 0, -40), now.AddDate(0, 0, -1)
	r.ids = r.bn.Seed(120, seed, r.from, r.to)

	dir := t.TempDir()
	r.state = filepath.Join(dir, "state.db")
	r.cfgPath = filepath.Join(dir, "syncd.yaml")
	yaml := fmt.Sprintf(`bnovo:
  base_url: %s
  account_id: 1
  api_key: test-key
  rate_limits: ["100000/1s"]
  auth_rate_limit: "1000/1m"
  request_timeout: 2s
probonus:
  base_url: %s
  token: test-token
  account_group_id: 1
  request_timeout: 1s
state:
  path: %s
status:
  socket: ""
log:
  format: json
`, r.bn.URL, r.pb.URL, r.state)
	if err := os.WriteFile(r.cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(dir, "syncd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	r.logs = logs
	return r
}

func (r *crashRig) backfillCmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, "-config", r.cfgPath, "-backfill", r.from.Format(time.DateOnly)+":"+r.to.Format(time.DateOnly))
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 halt_on_error=1")
	return cmd
}

// killRandomly starts the backfill again and again, SIGKILLing it at a random moment, until
// kills have happened (a run that finishes on its own before its moment counts as done).
func (r *crashRig) killRandomly(rng *rand.Rand, kills int) int {
	done := 0
	for i := 0; i < kills; i++ {
		cmd := r.backfillCmd(context.Background())
		if err := cmd.Start(); err != nil {
			r.t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				r.t.Fatalf("syncd exited on its own with %v (see %s)", err, r.logs.Name())
			}
			return done
		case <-time.After(time.Duration(50+rng.IntN(600)) * time.Millisecond):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			done++
		}
	}
	return done
}

func (r *crashRig) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.backfillCmd(ctx).Run(); err != nil {
		r.t.Fatalf("final backfill: %v (see %s)", err, r.logs.Name())
	}
}

// audit checks the invariant on ProBonus's ledger against targets computed from the
// simulator's own data with the default accrual rules.
func (r *crashRig) audit() syncer.AuditReport {
	r.t.Helper()
	def := config.Default()
	rules := pipeline.RulesFrom(def.Accrual)
	targets := map[int64]int64{}
	for _, id := range r.ids {
		b, ok := r.bn.Booking(id)
		if !ok {
			continue
		}
		targets[id] = 0
		if rules.Earns(b) {
			targets[id] = rules.Target(b, r.bn.Payments(id)).Target
		}
	}
	db, err := state.Open(r.state, state.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	defer db.Close()
	shortfalls, parked := map[int64]int64{}, map[int64]bool{}
	var open int
	_ = db.View(func(tx *state.Tx) error {
		list, _ := tx.Shortfalls()
		for _, b := range list {
			shortfalls[b.ID] = b.Shortfall
		}
		pk, _ := tx.ParkedList()
		for _, p := range pk {
			parked[p.BookingID] = true
		}
		ops, _ := tx.OpenOps()
		open = len(ops)
		return nil
	})
	if open != 0 {
		r.t.Errorf("%d operations still open after the final run", open)
	}
	return syncer.Audit(targets, shortfalls, parked, r.pb.AllOperations())
}

// TestKill9DuringBackfill kills the real binary at random moments of a backfill against slow
// simulators, restarts it, and checks that every booking ends with posted = target and that no
// operation was doubled — also when deposits commit and then fail or lose their connection.
func TestKill9DuringBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildSyncd(t)
	for i, fault := range []string{"none", "commit-then-500", "commit-then-drop"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel() // each fault kills its own processes; their waits overlap
			seed := int64(1000 + i)
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			r := newCrashRig(t, bin, seed)
			switch fault {
			case "commit-then-500":
				r.pb.CommitThenFail("deposit", 8)
			case "commit-then-drop":
				r.pb.CommitThenDrop("deposit", 8)
			}
			kills := r.killRandomly(rng, 12)
			r.finish()
			report := r.audit()
			t.Logf("%d kills; %d bookings (%d parked), %d operations, expected %d, posted %d kopecks",
				kills, report.Bookings, report.Parked, len(r.pb.AllOperations()), report.Expected, report.Posted)
			if kills == 0 {
				t.Errorf("the backfill finished before any kill: slow the simulators down")
			}
			if !report.OK() {
				t.Fatalf("invariant broken:\n%s", strings.Join(append(report.Mismatches, report.Duplicates...), "\n"))
			}
			if report.Posted == 0 {
				t.Fatalf("nothing was posted at all")
			}
		})
	}
}
