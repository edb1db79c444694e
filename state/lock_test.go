package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// holdLockEnv makes the test binary act as a second process that holds a state file open until
// its stdin closes.
const holdLockEnv = "SYNCD_STATE_TEST_HOLD_LOCK"

// crashWriterEnv makes the test binary commit transactions in a loop, reporting each commit on
// stdout, until it is killed.
const crashWriterEnv = "SYNCD_STATE_TEST_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdLockEnv); path != "" {
		os.Exit(holdLock(path))
	}
	if path := os.Getenv(crashWriterEnv); path != "" {
		os.Exit(writeUntilKilled(path))
	}
	os.Exit(m.Run())
}

func holdLock(path string) int {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "locked" {
			t.Fatalf("helper process: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("helper process did not report holding the lock")
	}

	const timeout = 300 * time.Millisecond
	start := time.Now()
	db, err := Open(path, Options{LockTimeout: timeout})
	waited := time.Since(start)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open succeeded while another process holds the lock")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the path: %v", err)
	}
	// A loose bound: the point is that the timeout is honoured rather than waiting forever.
	if waited > timeout+5*time.Second {
		t.Errorf("Open waited %s with a %s lock timeout", waited, timeout)
	}

	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	db, err = Open(path, Options{LockTimeout: timeout})
	if err != nil {
		t.Fatalf("Open after the other process exited: %v", err)
	}
	_ = db.Close()
}

func TestOpenLockedInProcess(t *testing.T) {
	db := openTemp(t)
	second, err := Open(db.Path(), Options{LockTimeout: 150 * time.Millisecond})
	if err == nil {
		_ = second.Close()
		t.Fatal("second Open in the same process succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), db.Path()) {
		t.Fatalf("err = %v, want ErrLocked naming the path", err)
	}
	// The first handle is unaffected.
	mustUpdate(t, db, func(tx *Tx) error { return tx.SetCursor("changed", "x") })
}

func writeUntilKilled(path string) int {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for id := int64(1); ; id++ {
		err := db.Update(func(tx *Tx) error {
			b := realisticBooking(id)
			op := realisticOp(id)
			intended := op
			intended.State = OpIntended
			return errors.Join(
				tx.PutOp(intended), tx.PutOp(op), tx.PutBooking(b),
				tx.AppendCalls("bnovo", op.IntendedAt), tx.Enqueue(id), tx.Dequeue(QueueEntry{ID: id - 1, Mark: uint64(id - 1)}), // one Enqueue per transaction: marks follow ids
				tx.SetCursor("committed", strconv.FormatInt(id, 10)),
			)
		})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(id)
	}
}

// TestKillDuringWrites kills a writing process at an arbitrary instant: the file must reopen with
// every reported commit present, nothing half-written, and counters matching the data.
func TestKillDuringWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	reported := make(chan int64)
	go func() {
		defer close(reported)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			n, err := strconv.ParseInt(scanner.Text(), 10, 64)
			if err != nil {
				t.Errorf("writer: %s", scanner.Text())
				return
			}
			reported <- n
		}
	}()
	var lastReported int64
	deadline := time.After(20 * time.Second)
	for lastReported < 40 {
		select {
		case n, ok := <-reported:
			if !ok {
				t.Fatal("writer stopped early")
			}
			lastReported = n
		case <-deadline:
			t.Fatalf("writer reported only %d commits", lastReported)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for n := range reported {
		lastReported = n
	}

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	mustView(t, db, func(tx *Tx) error {
		raw, _ := tx.Cursor("committed")
		committed, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("cursor %q: %w", raw, err)
		}
		// The kill may land after a commit but before its report, never the other way round.
		if committed < lastReported || committed > lastReported+1 {
			t.Errorf("committed cursor %d, writer reported %d", committed, lastReported)
		}
		c := tx.Counts()
		if int64(c.Bookings) != committed || int64(c.Ops[OpPosted]) != committed || c.Ops[OpIntended] != 0 || tx.QueueLen() != 1 {
			t.Errorf("counts %+v queue %d after %d commits", c, tx.QueueLen(), committed)
		}
		if calls, _ := tx.Calls("bnovo", time.Time{}); int64(len(calls)) != committed {
			t.Errorf("%d calls logged after %d commits", len(calls), committed)
		}
		return tx.CheckIntegrity()
	})
}
