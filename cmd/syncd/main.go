// Command syncd keeps a hotel's Bnovo PMS and its ProBonus loyalty program in step.
//
// Exit codes: 0 done (also after SIGTERM/SIGINT), 1 failed, 2 bad usage or config,
// 3 the state file is locked by another syncd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitLocked = 3
)

// exitError carries the process exit code for an error; errors without one exit 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// flags are the command line, parsed.
type flags struct {
	configPath  string
	once        bool
	backfill    string
	dryRun      bool
	status      bool
	checkConfig bool
	online      bool
	demo        bool
	version     bool
	untilBudget bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("syncd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configPath, "config", "/etc/syncd/syncd.yaml", "path of the YAML config file")
	fs.BoolVar(&f.once, "once", false, "run one sync cycle, then exit")
	fs.StringVar(&f.backfill, "backfill", "", "one-shot: process bookings that checked out in FROM:TO (YYYY-MM-DD:YYYY-MM-DD, inclusive)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "compute and log; post and write nothing (the state keeps only the Bnovo calls spent and the access token)")
	fs.BoolVar(&f.status, "status", false, "print state (cursors, counts, journal, parked, budget) and exit")
	fs.BoolVar(&f.checkConfig, "check-config", false, "validate the config and exit")
	fs.BoolVar(&f.online, "online", false, "with -check-config: also log in to Bnovo, read one page, and read ProBonus's account groups (a handful of calls)")
	fs.BoolVar(&f.demo, "demo", false, "run everything against built-in simulated Bnovo and ProBonus")
	fs.BoolVar(&f.version, "version", false, "print the version and commit of this binary and exit")
	fs.BoolVar(&f.untilBudget, "until-budget", false, "with -backfill: stop when the hour's or day's Bnovo share is spent (log when it resumes, exit 0) instead of waiting for it; -once always does")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: syncd [-config FILE] [-once | -backfill FROM:TO [-until-budget] | -status | -check-config [-online] | -demo | -version] [-dry-run]\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nexit codes: 0 done, 1 failed, 2 bad usage or config, 3 state locked by another syncd\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, &exitError{code: exitOK, err: err}
		}
		return f, &exitError{code: exitUsage, err: err}
	}
	if fs.NArg() > 0 {
		return f, usageError("unexpected argument %q", fs.Arg(0))
	}
	backfillGiven := false
	fs.Visit(func(fl *flag.Flag) { backfillGiven = backfillGiven || fl.Name == "backfill" })
	if backfillGiven {
		// An empty or mistyped range must not fall through to starting the daemon.
		if err := checkRangeSyntax(f.backfill); err != nil {
			return f, err
		}
	}
	modes := 0
	for _, on := range []bool{f.once, backfillGiven, f.status, f.checkConfig, f.demo, f.version} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return f, usageError("-once, -backfill, -status, -check-config, -demo and -version exclude each other")
	}
	if f.dryRun && (f.status || f.checkConfig || f.version) {
		return f, usageError("-dry-run goes with the daemon, -once or -backfill")
	}
	if f.untilBudget && !backfillGiven {
		return f, usageError("-until-budget goes with -backfill (-once always stops when the budget is spent)")
	}
	if f.online && !f.checkConfig {
		return f, usageError("-online goes with -check-config")
	}
	return f, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err for the operator (plain text on stderr) and maps it to the exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if errors.Is(ee.err, flag.ErrHelp) {
			return exitOK
		}
		printError(stderr, err)
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		// SIGTERM or SIGINT: the in-flight operation was finished; the work resumes next run.
		return exitOK
	}
	printError(stderr, err)
	return exitFailed
}

// printError writes err with the "syncd:" prefix on every line, so each of several config
// problems reads on its own (and greps) like the first.
func printError(stderr io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintln(stderr, "syncd:", line)
	}
}

// run is the whole program behind main: flags, then one mode.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	switch {
	case f.version:
		_, err := fmt.Fprintln(stdout, buildVersion())
		return err
	case f.demo:
		return runDemo(ctx, f, stdout, getenv)
	case f.checkConfig:
		return runCheckConfig(ctx, f, stdout, getenv)
	case f.status:
		return runStatus(ctx, f, stdout, getenv)
	case f.once:
		return runOnce(ctx, f, stdout, getenv)
	case f.backfill != "":
		return runBackfill(ctx, f, stdout, getenv)
	default:
		return runDaemon(ctx, f, stdout, getenv)
	}
}
