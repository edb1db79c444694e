package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runArgs is one start of syncd.
type runArgs struct {
	Backfill bool // -backfill over the rig's whole range; otherwise -once
	// Interrupt, when it delivers, stops the run: a child gets that signal (SIGTERM is a graceful
	// stop, SIGKILL a crash); in process the run's context is cancelled, whatever the signal.
	Interrupt <-chan syscall.Signal
}

// runResult is what one start cost.
type runResult struct {
	Wall        time.Duration
	Interrupted bool
	MaxRSS      int64         // bytes, peak resident set of the child, sampled (0 in process)
	MaxAnon     int64         // bytes, the most anonymous resident memory sampled (heap, stacks)
	CPU         time.Duration // user + system time of the child (0 in process)
}

// runner starts syncd against a rig: in this process, or as the real binary in a child process.
type runner interface {
	Name() string
	Run(ctx context.Context, r *rig, args runArgs) (runResult, error)
}

// inProcess builds the pipeline in this process for every run and closes it after, so each
// run is a restart: state, limiters and clients are loaded again from the state file.
type inProcess struct{}

func (inProcess) Name() string { return "in-process" }

func (inProcess) Run(ctx context.Context, r *rig, args runArgs) (runResult, error) {
	var res runResult
	cfg, logs, err := r.inProcessStart()
	if err != nil {
		return res, err
	}
	defer logs.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-args.Interrupt:
			cancel()
		case <-stopped:
		}
	}()
	defer close(stopped)

	start := time.Now()
	p, err := openPipeline(cfg, logs)
	if err != nil {
		return res, err
	}
	if args.Backfill {
		_, err = p.Engine.Backfill(ctx, r.from, r.to)
	} else {
		_, err = p.Engine.Cycle(ctx)
	}
	res.Wall = time.Since(start)
	err = errors.Join(err, p.Close())
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		res.Interrupted = true
		err = nil
	}
	return res, err
}

// child runs the real syncd binary, so the pipeline is wired exactly as cmd/syncd wires it.
type child struct{ bin string }

func (c child) Name() string { return "syncd child process" }

func (c child) Run(ctx context.Context, r *rig, args runArgs) (runResult, error) {
	var res runResult
	logs, err := r.openLog()
	if err != nil {
		return res, err
	}
	defer logs.Close()
	argv := []string{"-config", r.cfgPath}
	if args.Backfill {
		argv = append(argv, "-backfill", r.backfillArg())
	} else {
		argv = append(argv, "-once")
	}
	cmd := exec.CommandContext(ctx, c.bin, argv...)
	cmd.Stdout, cmd.Stderr = logs, logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting syncd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// getrusage's maxrss cannot be used: Go starts children with vfork semantics, so the child's
	// figure starts at this process's own peak. VmHWM is read from /proc while the child runs;
	// it only grows, so the last reading is the peak up to the last 20 ms.
	sample := time.NewTicker(20 * time.Millisecond)
	defer sample.Stop()
	statusPath := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var signalled bool
	for exitedNow := false; !exitedNow; {
		select {
		case <-sample.C:
			if st := readProcStatus(statusPath); st["VmHWM"] > 0 {
				res.MaxRSS = st["VmHWM"]
				res.MaxAnon = max(res.MaxAnon, st["RssAnon"])
			}
		case sig := <-args.Interrupt:
			signalled = true
			_ = cmd.Process.Signal(sig)
			args.Interrupt = nil // one signal per run
		case err = <-exited:
			exitedNow = true
		}
	}
	res.Wall = time.Since(start)
	if st := cmd.ProcessState; st != nil {
		res.CPU = st.UserTime() + st.SystemTime()
	}
	if signalled {
		// SIGTERM ends with exit 0 (syncd finishes the in-flight operation); SIGKILL ends with
		// "signal: killed". Either is the interruption we asked for.
		res.Interrupted = true
		var exitErr *exec.ExitError
		if err == nil || errors.As(err, &exitErr) && !exitErr.Exited() {
			err = nil
		}
	}
	if err != nil {
		return res, fmt.Errorf("syncd %s: %w (log: %s)", strings.Join(argv[2:], " "), err, r.logPath)
	}
	return res, nil
}

// buildSyncd builds cmd/syncd from the module this command is run in.
func buildSyncd(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the syncd module: run syncbench from the repository, or pass -syncd")
	}
	bin := filepath.Join(dir, "syncd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/syncd")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/syncd: %w\n%s", err, out)
	}
	return bin, nil
}

// interruptAfter delivers sig once after d (or never, when ctx ends first).
func interruptAfter(ctx context.Context, d time.Duration, sig syscall.Signal) <-chan syscall.Signal {
	ch := make(chan syscall.Signal, 1)
	go func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			ch <- sig
		case <-ctx.Done():
		}
	}()
	return ch
}
